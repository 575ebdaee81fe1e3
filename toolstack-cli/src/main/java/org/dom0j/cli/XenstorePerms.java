package org.dom0j.cli;

import org.dom0j.common.Json;
import org.dom0j.xenstore.XenStoreClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dom0j xenstore perms}: permissions as {@code xenstore-ls -p} shows them (a subcommand of
 * {@link XenstoreCommand}).
 * <p>
 * Runs on the picocli thread.
 */
@Command(name = "perms", mixinStandardHelpOptions = true,
    footer = { "", "Example:", "  dom0j xenstore perms -p /local/domain/1/name" },
    description = "Print the permissions of keys, owner entry first (as xenstore-ls -p " +
    "shows them, comma-separated).")
final class XenstorePerms implements Callable<Integer>
{
    @ParentCommand
    private XenstoreCommand parent;
    @Spec
    private CommandSpec spec;
    @Option(names = "-p", description = "Prefix each line with its key.")
    private boolean prefix;
    @Parameters(arity = "1..*", paramLabel = "KEY")
    private List<String> keys;

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        try (XenStoreClient xs = parent.open())
        {
            final Map<String, Object> doc = new LinkedHashMap<>();
            for (final String k : keys)
            {
                final List<String> p = XenstoreCommand.permStrings(xs.getPermissions(k));
                if (parent.json())
                {
                    doc.put(k, p);
                }
                else
                {
                    out.println((prefix ? k + ": " : "") + String.join(",", p));
                }
            }
            if (parent.json())
            {
                out.println(Json.write(doc));
            }
        }
        out.flush();
        return ExitCodes.OK;
    }
}
