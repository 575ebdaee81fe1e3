package org.dom0j.it;

import org.dom0j.evtchn.EventChannels;
import org.dom0j.sim.SimDomain;
import org.dom0j.test.fuzz.Hostile;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A frontend that writes what a {@link Hostile} draws into its xenstore directory, at any moment of the backend's
 * lifecycle: the keys of its device type with honest values (grant refs of pages it really granted to dom0, ports it
 * really bound for dom0) or values almost right (out of range, signed, hex, padded, very long, not numbers), keys
 * removed, keys nobody knows, states in any order (skipped, repeated, going back, not states at all), its whole
 * directory removed, a coherent set of keys now and then so that its device does connect, and junk written into the
 * pages its rings may be on. It checks nothing itself; its test judges the service.
 * <p>
 * Not thread safe: the fuzz case's thread.
 */
final class HostileXenbusFrontend implements AutoCloseable
{
    /** The device types it can play, their devid and the toolstack's keys. */
    enum Kind
    {
        VBD("vbd", "51712"),
        VIF("vif", "0"),
        CONSOLE("console", "1");

        final String type;
        final String devid;

        Kind(final String type, final String devid)
        {
            this.type = type;
            this.devid = devid;
        }
    }

    /** Another guest's domain (it must exist): now and then a grant or a port is for it instead of dom0. */
    private static final int WRONG_DOMAIN = 2;
    private static final String[] WEIRD_STATES = { "0", "7", "", "x", "-1", "99999999999", "3 ", "04", "1\n" };

    final Kind kind;
    final SimDomain guest;
    final XenStore xs;
    final String frontendPath;
    final EventChannels evtchn;
    final List<Integer> frames = new ArrayList<>();
    final List<Integer> refs = new ArrayList<>();
    final List<Integer> ports = new ArrayList<>();
    private final Hostile in;
    private final Map<String, Function<Hostile, String>> keys = new LinkedHashMap<>();

    /**
     * @param kind  the device type.
     * @param guest the hostile guest, its device already attached.
     * @param xs    its xenstore connection.
     * @param in    its choices.
     */
    HostileXenbusFrontend(final Kind kind, final SimDomain guest, final XenStore xs, final Hostile in)
    {
        this.kind = kind;
        this.guest = guest;
        this.xs = xs;
        this.in = in;
        this.frontendPath = "/local/domain/" + guest.domid() + "/device/" + kind.type + "/" + kind.devid;
        this.evtchn = guest.openEventChannels();
        for (int i = in.between(2, 8); i > 0; i--)
        {
            final int frame = guest.allocatePage();
            guest.page(frame).setMemory(0, 4096, (byte)0);
            frames.add(frame);
            refs.add(guest.grantAccess(in.chance(5) ? WRONG_DOMAIN : 0, frame, in.chance(5)));
        }
        for (int i = in.between(1, 4); i > 0; i--)
        {
            ports.add(evtchn.bindUnboundPort(in.chance(5) ? WRONG_DOMAIN : 0));
        }
        final Function<Hostile, String> ref = h -> Integer.toString(h.pick(refs));
        final Function<Hostile, String> port = h -> Integer.toString(h.pick(ports));
        final Function<Hostile, String> flag = h -> h.nextBoolean() ? "1" : "0";
        switch (kind)
        {
            case VBD ->
            {
                keys.put("ring-ref", ref);
                keys.put("event-channel", port);
                keys.put("protocol", h -> h.pick("x86_64-abi", "x86_32-abi", "arm-abi"));
                keys.put("ring-page-order", h -> Integer.toString(h.between(0, 2)));
                keys.put("feature-persistent", flag);
                keys.put("multi-queue-num-queues", h -> Integer.toString(h.between(1, 4)));
                for (int i = 0; i < 4; i++)
                {
                    keys.put("ring-ref" + i, ref);
                    keys.put("queue-" + i + "/ring-ref", ref);
                    keys.put("queue-" + i + "/ring-ref0", ref);
                    keys.put("queue-" + i + "/ring-ref1", ref);
                    keys.put("queue-" + i + "/event-channel", port);
                }
            }
            case VIF ->
            {
                keys.put("tx-ring-ref", ref);
                keys.put("rx-ring-ref", ref);
                keys.put("event-channel", port);
                keys.put("event-channel-tx", port);
                keys.put("event-channel-rx", port);
                keys.put("request-rx-copy", h -> h.chance(90) ? "1" : "0");
                for (final String feature : new String[]{ "feature-rx-notify", "feature-sg", "feature-gso-tcpv4",
                    "feature-gso-tcpv6", "feature-no-csum-offload", "feature-ipv6-csum-offload",
                    "request-multicast-control", "feature-split-event-channels" })
                {
                    keys.put(feature, flag);
                }
                keys.put("multi-queue-num-queues", h -> Integer.toString(h.between(1, 3)));
                keys.put("xdp-headroom", h -> Integer.toString(h.between(0, 300)));
                keys.put("ctrl-ring-ref", ref);
                keys.put("event-channel-ctrl", port);
                for (int i = 0; i < 3; i++)
                {
                    keys.put("queue-" + i + "/tx-ring-ref", ref);
                    keys.put("queue-" + i + "/rx-ring-ref", ref);
                    keys.put("queue-" + i + "/event-channel", port);
                    keys.put("queue-" + i + "/event-channel-tx", port);
                    keys.put("queue-" + i + "/event-channel-rx", port);
                }
            }
            default ->
            {
                keys.put("ring-ref", ref);
                keys.put("port", port);
                keys.put("protocol", h -> h.pick("x86_64-abi", "x86_32-abi", "arm-abi"));
            }
        }
    }

    /**
     * Does one thing a hostile frontend might do now.
     */
    void step()
    {
        final int action = in.nextInt(100);
        if (action < 35)
        {
            final String key = in.pick(new ArrayList<>(keys.keySet()));
            final String honest = keys.get(key).apply(in);
            write(key, in.chance(60) ? honest : in.mutatedValue(honest));
        }
        else if (action < 43)
        {
            remove(in.pick(new ArrayList<>(keys.keySet())));
        }
        else if (action < 68)
        {
            write("state", in.chance(85) ? Integer.toString(in.between(1, 6)) : in.pick(WEIRD_STATES));
        }
        else if (action < 73)
        {
            final String name = in.chance(50) ? in.longString(in.between(1, 40)).replace('/', '_') :
                "a/" + in.longString(in.between(1, 10)).replace('/', '_') + "/b";
            write(name, in.chance(80) ? in.mutatedValue("1") : in.longString(in.between(100, 2000)));
        }
        else if (action < 75)
        {
            remove("");
        }
        else if (action < 85)
        {
            honest(in.chance(70) ? "3" : "4");
        }
        else if (action < 92)
        {
            // Junk on a page a ring may be on.
            final int frame = in.pick(frames);
            final int at = in.nextInt(4096 - 64);
            guest.page(frame).putBytes(at, in.bytes(64));
            evtchn.notify(in.pick(ports));
        }
        else
        {
            for (int i = in.between(10, 200); i > 0; i--)
            {
                evtchn.notify(in.pick(ports));
            }
        }
    }

    /**
     * Writes a coherent set of honest keys, then a state, in one transaction.
     *
     * @param state the state to go to with them.
     */
    void honest(final String state)
    {
        final Map<String, String> values = new LinkedHashMap<>();
        switch (kind)
        {
            case VBD ->
            {
                values.put("ring-ref", Integer.toString(refs.get(0)));
                values.put("event-channel", Integer.toString(ports.get(0)));
                values.put("protocol", "x86_64-abi");
            }
            case VIF ->
            {
                values.put("tx-ring-ref", Integer.toString(refs.get(0)));
                values.put("rx-ring-ref", Integer.toString(refs.get(1)));
                values.put("event-channel", Integer.toString(ports.get(0)));
                values.put("request-rx-copy", "1");
            }
            default ->
            {
                values.put("ring-ref", Integer.toString(refs.get(0)));
                values.put("port", Integer.toString(ports.get(0)));
            }
        }
        values.put("state", state);
        try
        {
            xs.transaction(tx ->
            {
                values.forEach((k, v) -> tx.write(frontendPath + "/" + k, v));
                return null;
            });
        }
        catch (final XenStoreException ex)
        {
            // Refused (a quota, its directory removed by itself): a guest gets errors too.
        }
    }

    /**
     * @param key   a key under the frontend directory.
     * @param value its value.
     */
    void write(final String key, final String value)
    {
        try
        {
            xs.write(frontendPath + "/" + key, value);
        }
        catch (final XenStoreException | IllegalArgumentException ex)
        {
            // Refused (too long, a quota, a bad path): what a guest's xenstore would refuse.
        }
    }

    /**
     * @param key a key under the frontend directory, or "" for the directory itself.
     */
    void remove(final String key)
    {
        try
        {
            xs.rm(key.isEmpty() ? frontendPath : frontendPath + "/" + key);
        }
        catch (final XenStoreException ex)
        {
            // Not there.
        }
    }

    /**
     * Ends every grant it gave.
     *
     * @return refs still in use by dom0.
     */
    List<Integer> endAllGrants()
    {
        final List<Integer> busy = new ArrayList<>();
        for (final int ref : new ArrayList<>(refs))
        {
            try
            {
                guest.endAccess(ref);
                refs.remove((Integer)ref);
            }
            catch (final RuntimeException ex)
            {
                busy.add(ref);
            }
        }
        return busy;
    }

    @Override
    public void close()
    {
        evtchn.close();
    }
}
