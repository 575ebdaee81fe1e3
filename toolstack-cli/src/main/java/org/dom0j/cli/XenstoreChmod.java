package org.dom0j.cli;

import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XenStoreTransaction;
import org.dom0j.xenstore.XsPermission;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code dom0j xenstore chmod}, as {@code xenstore-chmod} (a subcommand of {@link XenstoreCommand}).
 * <p>
 * Runs on the picocli thread.
 */
@Command(name = "chmod", mixinStandardHelpOptions = true,
    footer = { "", "Example:",
        "  dom0j xenstore chmod -r /local/domain/1/data n0 r1    owned by dom0, domain 1 may read" },
    description = "Set the permissions of a key: owner entry first, e.g. n0 r5 " +
    "(like xenstore-chmod).")
final class XenstoreChmod implements Callable<Integer>
{
    @ParentCommand
    private XenstoreCommand parent;
    @Spec
    private CommandSpec spec;
    @Option(names = "-u", description = "Also apply to every parent.")
    private boolean upto;
    @Option(names = "-r", description = "Also apply to every child, recursively.")
    private boolean recurse;
    @Parameters(index = "0", paramLabel = "KEY")
    private String key;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "MODE")
    private List<String> modes;

    @Override
    public Integer call()
    {
        final List<XsPermission> perms = new ArrayList<>();
        for (final String m : modes)
        {
            try
            {
                perms.add(XsPermission.parse(m));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), ex.getMessage());
            }
        }
        try (XenStoreClient xs = parent.open())
        {
            xs.transaction(tx ->
            {
                chmod(tx, key, perms, upto, recurse);
                return null;
            });
        }
        return ExitCodes.OK;
    }

    private static void chmod(final XenStoreTransaction tx, final String p, final List<XsPermission> perms,
        final boolean upto, final boolean recurse)
    {
        if (p.isEmpty())
        {
            return;
        }
        tx.setPermissions(p, perms);
        if (upto)
        {
            final int slash = p.lastIndexOf('/');
            if (slash >= 0)
            {
                chmod(tx, p.substring(0, slash), perms, true, false);
            }
        }
        if (recurse)
        {
            for (final String c : tx.directory(p))
            {
                chmod(tx, p + "/" + c, perms, false, true);
            }
        }
    }
}
