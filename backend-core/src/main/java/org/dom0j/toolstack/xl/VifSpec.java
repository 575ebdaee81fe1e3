package org.dom0j.toolstack.xl;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One network interface of a config file's {@code vif = [...]}: comma-separated {@code key=value} settings as xl
 * reads them (xl.cfg(5), docs/misc/xl-network-configuration): {@code mac}, {@code bridge}, {@code ip},
 * {@code script}, {@code backend}, {@code model}, {@code type} ({@code vif} or {@code ioemu}), {@code vifname},
 * {@code rate}, {@code gatewaydev}, {@code devid}, {@code mtu}, and the flags {@code trusted} / {@code untrusted}.
 * xl ignores what it does not know, saying so; here that is a warning. A MAC must be six hex bytes and a unicast
 * address.
 * <p>
 * Immutable; any thread.
 *
 * @param devid              the device id (its index in the list unless {@code devid=} says).
 * @param mac                the MAC, lower case {@code aa:bb:cc:dd:ee:ff}; null lets the toolstack choose.
 * @param bridge             the bridge; null for the default.
 * @param ip                 the addresses for the vif-route/nat scripts; null when none.
 * @param script             the hotplug script; null for the default.
 * @param backend            the backend domain's name; null for dom0.
 * @param model              the emulated NIC model (HVM); null for the default.
 * @param ioemu              {@code type=ioemu} (an emulated NIC as well as the PV one).
 * @param typeGiven          whether {@code type=} was given (libxl's JSON then says it).
 * @param vifname            the backend interface's name; null for {@code vif<domid>.<devid>}.
 * @param rateBytesPerInterval rate limit: bytes per interval, 0 for none.
 * @param rateIntervalUsecs  rate limit: the interval in microseconds, 0 for none.
 * @param gatewaydev         the gateway device for vif-route/nat; null when none.
 * @param mtu                the MTU, 0 for the default.
 * @param trusted            whether the backend is trusted; null for libxl's default.
 * @param warnings           what xl would have ignored, saying so.
 */
public record VifSpec(
    int devid,
    String mac,
    String bridge,
    String ip,
    String script,
    String backend,
    String model,
    boolean ioemu,
    boolean typeGiven,
    String vifname,
    long rateBytesPerInterval,
    long rateIntervalUsecs,
    String gatewaydev,
    int mtu,
    Boolean trusted,
    List<String> warnings)
{
    private static final Pattern MAC = Pattern.compile(
        "([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]" +
        "([0-9a-fA-F]{2})");
    private static final Pattern RATE = Pattern.compile("([0-9]+)([GMK]?)([Bb])/s");
    private static final Pattern INTERVAL = Pattern.compile("([0-9]+)([mu]?)s?");

    /**
     * @param spec  one item of {@code vif = [...]}.
     * @param index its index in the list (the default devid).
     * @return the interface.
     * @throws IllegalArgumentException saying what is wrong.
     */
    public static VifSpec parse(final String spec, final int index)
    {
        int devid = index;
        String mac = null;
        String bridge = null;
        String ip = null;
        String script = null;
        String backend = null;
        String model = null;
        boolean ioemu = false;
        boolean typeGiven = false;
        String vifname = null;
        long[] rate = { 0, 0 };
        String gatewaydev = null;
        int mtu = 0;
        Boolean trusted = null;
        final List<String> warnings = new ArrayList<>();
        for (final String raw : spec.split(","))
        {
            final String token = raw.stripLeading();
            if (token.isEmpty())
            {
                continue;
            }
            final int eq = token.indexOf('=');
            final String key = eq < 0 ? token : token.substring(0, eq);
            final String value = eq < 0 ? null : token.substring(eq + 1);
            if (null == value)
            {
                switch (key)
                {
                    case "trusted" -> trusted = Boolean.TRUE;
                    case "untrusted" -> trusted = Boolean.FALSE;
                    default -> warnings.add("vif spec '" + spec + "': unrecognized argument '" + token +
                        "' (xl ignores it)");
                }
                continue;
            }
            switch (key)
            {
                case "mac" -> mac = mac(spec, value);
                case "bridge" -> bridge = value;
                case "ip" -> ip = value;
                case "script" -> script = value;
                case "backend" -> backend = value;
                case "model" -> model = value;
                case "vifname" -> vifname = value;
                case "gatewaydev" -> gatewaydev = value;
                case "netdev" ->
                {
                    warnings.add("vif spec '" + spec + "': netdev= is deprecated, use gatewaydev=");
                    gatewaydev = value;
                }
                case "type" ->
                {
                    typeGiven = true;
                    if ("vif".equals(value))
                    {
                        ioemu = false;
                    }
                    else if ("ioemu".equals(value))
                    {
                        ioemu = true;
                    }
                    else
                    {
                        throw new IllegalArgumentException("vif spec '" + spec + "': type must be vif or ioemu, not '" +
                            value + "'");
                    }
                }
                case "rate" -> rate = rate(spec, value);
                case "devid" -> devid = (int)number(spec, key, value, 0xFFFF);
                case "mtu" -> mtu = (int)number(spec, key, value, 65535);
                default -> warnings.add("vif spec '" + spec + "': unrecognized argument '" + token +
                    "' (xl ignores it)");
            }
        }
        return new VifSpec(devid, mac, bridge, ip, script, backend, model, ioemu, typeGiven, vifname, rate[0], rate[1],
            gatewaydev, mtu, trusted, List.copyOf(warnings));
    }

    private static String mac(final String spec, final String value)
    {
        final Matcher m = MAC.matcher(value);
        if (!m.matches())
        {
            throw new IllegalArgumentException("vif spec '" + spec + "': mac '" + value + "' is not a MAC address " +
                "(six hex bytes, e.g. 00:16:3e:12:34:56)");
        }
        final int first = Integer.parseInt(m.group(1), 16);
        if ((first & 1) != 0)
        {
            throw new IllegalArgumentException("vif spec '" + spec + "': mac '" + value + "' is a multicast address " +
                "(the low bit of the first byte is set); a NIC needs a unicast one, e.g. 00:16:3e:...");
        }
        final StringBuilder out = new StringBuilder();
        for (int i = 1; i <= 6; i++)
        {
            out.append(i > 1 ? ":" : "").append(m.group(i).toLowerCase(Locale.ROOT));
        }
        if ("00:00:00:00:00:00".contentEquals(out))
        {
            throw new IllegalArgumentException("vif spec '" + spec + "': mac 00:00:00:00:00:00 is not an address " +
                "(leave mac= out to have one chosen)");
        }
        return out.toString();
    }

    private static long number(final String spec, final String key, final String value, final long max)
    {
        try
        {
            final long n = Long.decode(value);
            if (n < 0 || n > max)
            {
                throw new NumberFormatException();
            }
            return n;
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("vif spec '" + spec + "': " + key + " must be a number from 0 to " +
                max + ", not '" + value + "'", ex);
        }
    }

    /**
     * xl's rate: {@code <n>[GMK](B|b)/s[@<interval>[m|u]s]}, the interval 50 ms by default; returns bytes per
     * interval and the interval in microseconds.
     */
    private static long[] rate(final String spec, final String value)
    {
        final int at = value.indexOf('@');
        final String amount = at < 0 ? value : value.substring(0, at);
        final Matcher r = RATE.matcher(amount);
        if (!r.matches())
        {
            throw new IllegalArgumentException("vif spec '" + spec + "': invalid rate '" + amount + "' (e.g. 10Mb/s " +
                "or 1MB/s@20ms)");
        }
        long bytesPerSecond = parseRatePart(spec, r.group(1));
        bytesPerSecond *= switch (r.group(2))
        {
            case "G" -> 1_000_000_000L;
            case "M" -> 1_000_000L;
            case "K" -> 1_000L;
            default -> 1L;
        };
        if ("b".equals(r.group(3)))
        {
            bytesPerSecond /= 8;
        }
        long interval = 50_000;
        if (at >= 0)
        {
            final Matcher i = INTERVAL.matcher(value.substring(at + 1));
            if (!i.matches())
            {
                throw new IllegalArgumentException("vif spec '" + spec + "': invalid replenishment interval '" +
                    value.substring(at + 1) + "' (e.g. 20ms, 500us or 1s)");
            }
            interval = parseRatePart(spec, i.group(1));
            interval *= switch (i.group(2))
            {
                case "m" -> 1_000L;
                case "u" -> 1L;
                default -> 1_000_000L;
            };
            if (interval > 0xFFFF_FFFFL)
            {
                throw new IllegalArgumentException("vif spec '" + spec + "': replenishment interval overflow");
            }
        }
        return new long[]{ bytesPerSecond * interval / 1_000_000L, interval };
    }

    private static long parseRatePart(final String spec, final String digits)
    {
        final long n;
        try
        {
            n = Long.parseLong(digits);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("vif spec '" + spec + "': rate overflow", ex);
        }
        if (n == 0 || n > 0xFFFF_FFFFL)
        {
            throw new IllegalArgumentException("vif spec '" + spec + "': rate overflow (or zero)");
        }
        return n;
    }
}
