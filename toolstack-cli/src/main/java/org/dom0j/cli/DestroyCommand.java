package org.dom0j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code dom0j destroy DOM}, as {@code xl destroy}: see {@link DomainActions#destroy}.
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "destroy",
    description = "Destroy a domain at once, as xl destroy does (no shutdown asked of the guest), and its " +
        "toolstack entries in xenstore.",
    footer = { "", "Examples:", "  dom0j destroy guest1", "  dom0j destroy 3 --json" })
final class DestroyCommand implements Callable<Integer>
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
        return DomainCommand.apply(root, spec, dom, "destroyed", DomainActions::destroy);
    }
}
