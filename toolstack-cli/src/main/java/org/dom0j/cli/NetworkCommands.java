package org.dom0j.cli;

import java.security.SecureRandom;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.dom0j.common.Json;
import org.dom0j.common.XenException;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.toolstack.DeviceHotplug;
import org.dom0j.toolstack.HotplugScript;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.toolstack.xl.VifSpec;
import org.dom0j.xenstore.XenStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code dom0j network-attach}, {@code network-detach} and {@code network-list}: {@code xl}'s vif hot-plug, on a
 * running guest, through xenstore as libxl writes it ({@link DeviceHotplug}). Served by {@code dom0j serve}'s
 * netback.
 * <p>
 * On real Xen the vif's hotplug script runs as libxl runs it ({@link HotplugScript}): {@code online} once the
 * backend took the vif (a failure removes the vif again and is the command's failure), {@code offline} once the
 * backend closed, before the directories go (a failure there is a warning). The default script is libxl's,
 * {@code /etc/xen/scripts/vif-bridge}, which puts the vif's interface (dom0j serve's TAP {@code vif<domid>.<devid>})
 * on the backend's {@code bridge}. The simulator runs no scripts (its vifs meet in serve's switch).
 * <p>
 * Runs on the CLI's thread.
 */
final class NetworkCommands
{
    private static final SecureRandom RANDOM = new SecureRandom();

    private NetworkCommands()
    {
    }

    /**
     * @param platform the platform's name.
     * @return whether hotplug scripts run there: on real Xen, not on the simulator.
     */
    static boolean runsScripts(final String platform)
    {
        return !SimPlatformProvider.NAME.equals(platform);
    }

    /**
     * @return a MAC as libxl makes one up: Xen's OUI 00:16:3e and three random bytes.
     */
    static String randomMac()
    {
        final byte[] b = new byte[3];
        RANDOM.nextBytes(b);
        return String.format(Locale.ROOT, "00:16:3e:%02x:%02x:%02x", b[0] & 0x7F, b[1] & 0xFF, b[2] & 0xFF);
    }

    /**
     * @return the lowest handle the domain's vifs do not use, as libxl picks a new vif's devid.
     */
    static int freeHandle(final XenStore xs, final int domid)
    {
        final Set<Integer> used = new HashSet<>();
        for (final DeviceHotplug.Device d : DeviceHotplug.list(xs, "vif", domid))
        {
            used.add(d.devid());
        }
        final String backends = "/local/domain/0/backend/vif/" + domid;
        if (xs.exists(backends))
        {
            for (final String id : xs.directory(backends))
            {
                if (id.matches("[0-9]{1,5}"))
                {
                    used.add(Integer.parseInt(id));
                }
            }
        }
        int handle = 0;
        while (used.contains(handle))
        {
            handle++;
        }
        return handle;
    }

    /**
     * {@code network-attach DOM [VIFSPEC...]}: {@code mac=}, {@code bridge=}, {@code ip=}, ... as in xl.
     */
    @Command(
        name = "network-attach",
        description = "Attach a network interface to a running domain (as xl network-attach does); returns once " +
            "the backend has taken it and, on Xen, its hotplug script (vif-bridge unless script= names another) " +
            "has run 'online' (at most 40 s, as libxl; when it fails the vif is removed again). The simulator runs " +
            "no scripts.",
        footer = {
            "",
            "Examples:",
            "  dom0j network-attach web1",
            "  dom0j network-attach web1 mac=00:16:3e:01:02:03 bridge=xenbr1" })
    static final class Attach extends DeviceCommands.Base
    {
        @Parameters(index = "0", paramLabel = "DOM", description = "The domain: a name or a domid.")
        private String dom;

        @Parameters(index = "1..*", arity = "0..*", paramLabel = "KEY=VALUE",
            description = "The vif, in xl's vif spec (xl-network-configuration(5)): mac=, bridge=, ip=, " +
                "vifname=, rate=, mtu=, script=, ... A MAC is made up (00:16:3e:xx:xx:xx) when none is given; " +
                "a script named without a '/' is looked up in /etc/xen/scripts.")
        private List<String> vif;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
            description = "How long to wait for the backend to take it. Default: ${DEFAULT-VALUE}.")
        private int timeoutSeconds;

        @Override
        public Integer call() throws Exception
        {
            final String text = null == vif ? "" : String.join(",", vif);
            return DeviceCommands.run(root, "network-attach", dom, err(), (xs, domid, platform) ->
            {
                final VifSpec spec = VifSpec.parse(text, freeHandle(xs, domid));
                spec.warnings().forEach(w -> err().println("dom0j network-attach: warning: " + w));
                final String mac = null != spec.mac() ? spec.mac() : randomMac();
                final String devid = Integer.toString(spec.devid());
                final String be = DeviceHotplug.attachVif(xs, domid, spec, mac);
                DeviceHotplug.awaitBackendOrRemove(xs, "vif", domid, devid, timeoutSeconds * 1000L);
                if (runsScripts(platform))
                {
                    new HotplugScript(xs).addOrRemove("vif", domid, devid);
                }
                if (root.options().json())
                {
                    out().println(Json.write(java.util.Map.of("domid", domid, "devid", spec.devid(), "mac", mac,
                        "backend", be)));
                }
                else
                {
                    out().println("Attached vif " + devid + " (mac " + mac + ") to domain " + domid);
                }
                out().flush();
                return ExitCodes.OK;
            });
        }
    }

    /**
     * {@code network-detach DOM DEVID|MAC [--force]}.
     */
    @Command(
        name = "network-detach",
        description = "Detach a network interface from a running domain (as xl network-detach does); on Xen its " +
            "hotplug script runs 'offline' once the guest let it go (a failure there is a warning).",
        footer = {
            "",
            "Examples:",
            "  dom0j network-detach web1 1",
            "  dom0j network-detach web1 00:16:3e:01:02:03" })
    static final class Detach extends DeviceCommands.DetachBase
    {
        @Parameters(index = "1", paramLabel = "DEVID|MAC", description = "The vif: its handle or its MAC.")
        private String which;

        @Override
        String name()
        {
            return "network-detach";
        }

        @Override
        String type()
        {
            return "vif";
        }

        @Override
        void beforeRemove(final XenStore xs, final int domid, final String devid, final String platform)
        {
            // A backend already gone (its domain's backend stopped) is not scripted, as libxl cleans up the
            // frontend only then.
            if (runsScripts(platform) && xs.exists(XenbusDevices.backendPath(0, "vif", domid, devid)))
            {
                try
                {
                    new HotplugScript(xs).run("vif", domid, devid, HotplugScript.Action.REMOVE);
                }
                catch (final XenException ex)
                {
                    // libxl goes on with the removal too: the guest has let the vif go.
                    err().println("dom0j network-detach: warning: " + ex.getMessage());
                    err().flush();
                }
            }
        }

        @Override
        String devid(final XenStore xs, final int domid)
        {
            if (which.matches("[0-9]{1,5}"))
            {
                return which;
            }
            for (final DeviceHotplug.Device d : DeviceHotplug.list(xs, "vif", domid))
            {
                if (d.name().equalsIgnoreCase(which))
                {
                    return Integer.toString(d.devid());
                }
            }
            throw new IllegalArgumentException("domain " + domid + " has no vif with handle or MAC '" + which +
                "' (dom0j network-list " + dom + " lists them)");
        }
    }

    /**
     * {@code network-list DOM}.
     */
    @Command(
        name = "network-list",
        description = "List a domain's network interfaces (as xl network-list does), with --json for scripts.",
        footer = {
            "",
            "Example:",
            "  dom0j network-list web1" })
    static final class ListNics extends DeviceCommands.Base
    {
        @Parameters(index = "0", paramLabel = "DOM", description = "The domain: a name or a domid.")
        private String dom;

        @Override
        public Integer call() throws Exception
        {
            return DeviceCommands.run(root, "network-list", dom, err(), (xs, domid, platform) ->
            {
                DeviceCommands.print(out(), DeviceHotplug.list(xs, "vif", domid), root.options().json());
                return ExitCodes.OK;
            });
        }
    }
}
