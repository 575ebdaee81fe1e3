package org.dom0j.cli;

import org.dom0j.common.Json;
import org.dom0j.domctl.DomainInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dom0j list [-l] [DOM...]}: the domains, as {@code xl list} shows them. Names come from xenstore
 * ({@code /local/domain/<domid>/name}); with {@code -l} each domain's configuration as JSON
 * ({@link DomainConfigJson}). On the simulator a machine must be running ({@link DomainSession}).
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "list",
    description = "List domains like xl list: name, id, memory (MiB), vCPUs, state, CPU time (s).",
    footer = { "", "Examples:", "  dom0j list", "  dom0j list -l guest1       its configuration as JSON (xl list -l)",
        "  dom0j --platform sim list --json" })
final class ListCommand implements Callable<Integer>
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Option(names = { "-l", "--long" }, description = "Each domain's configuration as JSON, as xl list -l prints " +
        "it (rebuilt from xenstore and the hypervisor).")
    private boolean longFormat;

    @Parameters(paramLabel = "DOM", arity = "0..*", description = "Only these domains (names or domids).")
    private List<String> only = new ArrayList<>();

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        try (DomainSession session = DomainSession.open(root))
        {
            final List<DomainSession.Domain> domains;
            if (only.isEmpty())
            {
                domains = session.domains();
            }
            else
            {
                domains = new ArrayList<>();
                for (final String dom : only)
                {
                    domains.add(session.resolve(dom));
                }
            }
            if (longFormat)
            {
                final List<Object> doc = new ArrayList<>();
                for (final DomainSession.Domain d : domains)
                {
                    doc.add(DomainConfigJson.describe(session.xenStore(), session.platform().localDomid(), d));
                }
                out.println(Json.write(doc));
            }
            else if (root.options().json())
            {
                final List<Object> doc = new ArrayList<>();
                for (final DomainSession.Domain domain : domains)
                {
                    final DomainInfo d = domain.info();
                    final Map<String, Object> m = new LinkedHashMap<>();
                    m.put("name", domain.name());
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
                for (final DomainSession.Domain domain : domains)
                {
                    final DomainInfo d = domain.info();
                    out.printf("%-40s %5d %5d %5d %8s %9.1f%n", domain.name(), d.domid(), d.memoryKiB() / 1024,
                        d.vcpus(), d.stateLetters(), d.cpuTimeNanos() / 1e9);
                }
            }
            out.flush();
            return ExitCodes.OK;
        }
    }
}
