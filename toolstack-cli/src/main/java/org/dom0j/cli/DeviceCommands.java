package org.dom0j.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

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
         * @param xs    a privileged xenstore connection.
         * @param domid the domain the DOM argument named.
         * @return the exit code.
         * @throws Exception when it fails: said on stderr, exit 1.
         */
        int run(XenStore xs, int domid) throws Exception;
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
            return action.run(session.xenStore(), domid);
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
}
