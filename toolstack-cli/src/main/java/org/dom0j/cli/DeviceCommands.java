package org.dom0j.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.dom0j.common.Json;
import org.dom0j.common.XenException;
import org.dom0j.toolstack.DeviceHotplug;
import org.dom0j.xenstore.XenStore;

/**
 * What {@code block-attach}, {@code block-detach}, {@code block-list} and their {@code network-} siblings share:
 * the platform's xenstore and a DOM argument read as a domid or a name ({@link DomainSession}), and the listing as
 * xl prints it or as JSON.
 * <p>
 * Runs on the CLI's thread.
 */
final class DeviceCommands
{
    private DeviceCommands()
    {
    }

    /**
     * What a device command does once connected.
     */
    @FunctionalInterface
    interface Action
    {
        /**
         * @param xs       a privileged xenstore connection.
         * @param domid    the domain the DOM argument named.
         * @param platform the platform's name ("xen", "sim"): hotplug scripts run on Xen only.
         * @return the exit code.
         * @throws Exception when it fails: said on stderr, exit 1.
         */
        int run(XenStore xs, int domid, String platform) throws Exception;
    }

    /**
     * Opens the platform's xenstore, resolves {@code dom} and runs {@code action}; a failure is said on stderr,
     * prefixed with the command's name, and is exit code 1.
     */
    static int run(final Dom0j root, final String command, final String dom, final PrintWriter err,
        final Action action) throws Exception
    {
        try (DomainSession session = DomainSession.open(root))
        {
            final int domid = session.resolve(dom).domid();
            if (domid == 0)
            {
                throw new IllegalArgumentException("devices are attached to guests, not to Domain-0");
            }
            return action.run(session.xenStore(), domid, session.platform().name());
        }
        catch (final XenException | IllegalArgumentException ex)
        {
            err.println("dom0j " + command + ": " + ex.getMessage());
            err.flush();
            return ExitCodes.FAILURE;
        }
    }

    /**
     * Prints a domain's devices of one type as {@code xl block-list} or {@code xl network-list} does, or as JSON.
     */
    static void print(final PrintWriter out, final List<DeviceHotplug.Device> devices, final boolean json)
    {
        if (json)
        {
            final List<Map<String, Object>> list = new ArrayList<>();
            for (final DeviceHotplug.Device d : devices)
            {
                final Map<String, Object> m = new LinkedHashMap<>();
                m.put("devid", d.devid());
                m.put("backend-id", d.backendDomid());
                m.put("frontend-state", d.frontendState());
                m.put("backend-state", d.backendState());
                m.put("event-channel", d.eventChannel());
                m.put("ring-ref", d.ringRef());
                m.put("vbd".equals(d.type()) ? "vdev" : "mac", d.name());
                m.put("vbd".equals(d.type()) ? "params" : "bridge", d.target());
                m.put("backend", d.backendPath());
                list.add(m);
            }
            out.println(Json.write(list));
        }
        else
        {
            final boolean vbd = !devices.isEmpty() && "vbd".equals(devices.get(0).type());
            out.println(String.format("%-6s %-3s %-17s %-6s %-5s %-6s %-8s %s", vbd || devices.isEmpty() ? "Vdev" :
                "Idx", "BE", vbd || devices.isEmpty() ? "Dev" : "Mac Addr.", "handle", "state", "evt-ch",
                "ring-ref", "BE-path"));
            for (final DeviceHotplug.Device d : devices)
            {
                out.println(String.format("%-6d %-3d %-17s %-6d %-5d %-6d %-8d %s", d.devid(), d.backendDomid(),
                    d.name(), d.devid(), d.frontendState(), d.eventChannel(), d.ringRef(), d.backendPath()));
            }
        }
        out.flush();
    }

    /**
     * The base of the six commands: the root, the spec and {@code --json}.
     */
    abstract static class Base implements Callable<Integer>
    {
        @picocli.CommandLine.ParentCommand
        Dom0j root;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        PrintWriter out()
        {
            return spec.commandLine().getOut();
        }

        PrintWriter err()
        {
            return spec.commandLine().getErr();
        }
    }

    /**
     * The shape of {@code block-detach} and {@code network-detach}: DOM, the device, {@code --force} and
     * {@code --timeout}; the device named on the command line becomes a device id in {@link #devid}.
     */
    abstract static class DetachBase extends Base
    {
        @picocli.CommandLine.Parameters(index = "0", paramLabel = "DOM", description = "The domain: a name or a domid.")
        String dom;

        @picocli.CommandLine.Option(names = "--force",
            description = "Remove it even when the guest does not let it go in time.")
        boolean force;

        @picocli.CommandLine.Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
            description = "How long to wait for the guest to let it go. Default: ${DEFAULT-VALUE}.")
        int timeoutSeconds;

        /**
         * @return the command's name, for messages.
         */
        abstract String name();

        /**
         * @return "vbd" or "vif".
         */
        abstract String type();

        /**
         * @param xs    the connection.
         * @param domid the domain.
         * @return the device id the command line names.
         * @throws IllegalArgumentException saying why when it names none.
         */
        abstract String devid(XenStore xs, int domid);

        /**
         * What is done once the backend closed, before the directories go: nothing here; a vif's hotplug script
         * ({@code offline}) on Xen.
         *
         * @param xs       the connection.
         * @param domid    the domain.
         * @param devid    the device id.
         * @param platform the platform's name.
         */
        void beforeRemove(final XenStore xs, final int domid, final String devid, final String platform)
        {
        }

        @Override
        public Integer call() throws Exception
        {
            return run(root, name(), dom, err(), (xs, domid, platform) ->
            {
                final String devid = devid(xs, domid);
                final boolean closed = DeviceHotplug.detach(xs, type(), domid, devid, timeoutSeconds * 1000L, force,
                    () -> beforeRemove(xs, domid, devid, platform));
                out().println("Detached " + type() + " " + devid + " from domain " + domid +
                    (closed ? "" : " by force: the guest did not let it go"));
                out().flush();
                return ExitCodes.OK;
            });
        }
    }
}
