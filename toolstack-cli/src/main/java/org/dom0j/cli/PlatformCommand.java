package org.dom0j.cli;

import org.dom0j.common.Json;
import org.dom0j.platform.Platforms;
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
 * {@code dom0j platform}: lists the platforms, says which one {@code auto} (or {@code --platform}) picks here,
 * and why the others cannot run.
 */
@Command(
    name = "platform",
    description = "List the platforms (real Xen, simulator), which one is chosen here, and why the others are not.",
    footer = {
        "",
        "Examples:",
        "  dom0j platform                 what auto picks on this machine",
        "  dom0j --platform xen platform  fails with exit code 3 and the reason when this is not a Xen dom0",
        "  dom0j platform --json"
    })
final class PlatformCommand implements Callable<Integer>
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        final Platforms.Selection selection = root.platforms().select(root.options().platform(), root.environment());
        if (null == selection.chosen() && !Platforms.AUTO.equals(selection.requested()))
        {
            spec.commandLine().getErr().println("dom0j: " + selection.explanation());
            return ExitCodes.PLATFORM_UNAVAILABLE;
        }
        if (root.options().json())
        {
            final List<Object> platforms = new ArrayList<>();
            for (final Platforms.Candidate c : selection.candidates())
            {
                final Map<String, Object> p = new LinkedHashMap<>();
                p.put("name", c.provider().name());
                p.put("available", c.availability().available());
                p.put("priority", c.provider().priority());
                p.put("summary", c.availability().summary());
                p.put("reasons", c.availability().reasons());
                platforms.add(p);
            }
            final Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("requested", selection.requested());
            doc.put("chosen", null == selection.chosen() ? null : selection.chosen().provider().name());
            doc.put("explanation", selection.explanation());
            doc.put("platforms", platforms);
            out.println(Json.write(doc));
        }
        else
        {
            out.printf("%-8s %-9s %-8s %s%n", "PLATFORM", "AVAILABLE", "PRIORITY", "DETAILS");
            for (final Platforms.Candidate c : selection.candidates())
            {
                final List<String> lines = c.availability().available() ?
                    List.of(c.availability().summary()) : c.availability().reasons();
                out.printf("%-8s %-9s %-8d %s%n", c.provider().name(),
                    c.availability().available() ? "yes" : "no", c.provider().priority(), lines.get(0));
                for (int i = 1; i < lines.size(); i++)
                {
                    out.printf("%-8s %-9s %-8s %s%n", "", "", "", lines.get(i));
                }
            }
            out.println();
            out.println(selection.explanation() + ".");
        }
        out.flush();
        return null == selection.chosen() ? ExitCodes.PLATFORM_UNAVAILABLE : ExitCodes.OK;
    }
}
