package org.dom0j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code dom0j unpause DOM}, as {@code xl unpause}: see {@link DomainActions#unpause}.
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "unpause",
    description = "Unpause a paused domain (xc_domain_unpause).",
    footer = { "", "Examples:", "  dom0j unpause guest1", "  dom0j unpause 3 --json" })
final class UnpauseCommand implements Callable<Integer>
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "DOM", description = "The domain: its name or domid.")
    private String dom;

    @Override
    public Integer call()
    {
        return DomainCommand.apply(root, spec, dom, "unpaused", DomainActions::unpause);
    }
}
