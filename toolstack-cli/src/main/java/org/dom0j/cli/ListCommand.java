package org.dom0j.cli;

import org.dom0j.common.XenException;
import org.dom0j.domctl.DomainControl;
import org.dom0j.domctl.DomainInfo;
import org.dom0j.platform.PlatformUnavailableException;
import org.dom0j.platform.XenPlatform;
import org.dom0j.xenstore.XenStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dom0j list}: the domains, as {@code xl list} shows them. Names come from xenstore
 * ({@code /local/domain/<domid>/name}) when the platform has one; otherwise the column is blank.
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "list",
    description = "List domains like xl list: name, id, memory (MiB), vCPUs, state, CPU time (s).",
    footer = { "", "Examples:", "  dom0j list", "  dom0j --platform sim list --json" })
final class ListCommand implements Callable<Integer>
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        try (XenPlatform platform = root.platforms().open(root.options().platform(), root.environment());
            DomainControl domctl = platform.openDomainControl())
        {
            final List<DomainInfo> domains = domctl.list();
            final List<String> names = names(platform, domains);
            if (root.options().json())
            {
                final List<Object> doc = new ArrayList<>();
                for (int i = 0; i < domains.size(); i++)
                {
                    final DomainInfo d = domains.get(i);
                    final Map<String, Object> m = new LinkedHashMap<>();
                    m.put("name", names.get(i));
                    m.put("domid", d.domid());
                    m.put("memoryKiB", d.memoryKiB());
                    m.put("maxMemoryKiB", d.maxMemoryKiB());
                    m.put("vcpus", d.vcpus());
                    m.put("state", d.stateLetters());
                    m.put("shutdownReason", d.shutdownReason());
                    m.put("cpuTimeNanos", d.cpuTimeNanos());
                    doc.add(m);
                }
                out.println(Json.write(doc));
            }
            else
            {
                out.printf("%-40s %5s %5s %5s %8s %9s%n", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)");
                for (int i = 0; i < domains.size(); i++)
                {
                    final DomainInfo d = domains.get(i);
                    out.printf("%-40s %5d %5d %5d %8s %9.1f%n", names.get(i), d.domid(), d.memoryKiB() / 1024,
                        d.vcpus(), d.stateLetters(), d.cpuTimeNanos() / 1e9);
                }
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    /**
     * Reads names from xenstore; blank when the platform has no xenstore yet or a name is missing.
     */
    private static List<String> names(final XenPlatform platform, final List<DomainInfo> domains)
    {
        final List<String> names = new ArrayList<>();
        XenStore xs = null;
        try
        {
            xs = platform.openXenStore();
        }
        catch (final UnsupportedOperationException | PlatformUnavailableException | XenException ex)
        {
            xs = null;
        }
        try
        {
            for (final DomainInfo d : domains)
            {
                String name = null;
                if (null != xs)
                {
                    try
                    {
                        name = xs.readOrNull("/local/domain/" + d.domid() + "/name");
                    }
                    catch (final XenException ex)
                    {
                        name = null;
                    }
                }
                names.add(null == name ? "" : name);
            }
        }
        finally
        {
            if (null != xs)
            {
                xs.close();
            }
        }
        return names;
    }
}
