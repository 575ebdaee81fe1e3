package org.dom0j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code dom0j rename DOM NEWNAME}, as {@code xl rename}: see {@link DomainActions#rename}.
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "rename",
    description = "Rename a domain (its name in xenstore). Refuses domain 0, a name in use, and names that are " +
        "empty, all digits, or hold spaces, '/' or non-ASCII characters.",
    footer = { "", "Example:", "  dom0j rename guest1 web1" })
final class RenameCommand implements Callable<Integer>
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DOM", description = "The domain: its name or domid.")
    private String dom;

    @Parameters(index = "1", paramLabel = "NEWNAME", description = "Its new name.")
    private String newName;

    @Override
    public Integer call()
    {
        return DomainCommand.apply(root, spec, dom, "renamed to " + newName,
            (session, domain) -> DomainActions.rename(session, domain, newName));
    }
}
