package org.dom0j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code dom0j pause DOM}, as {@code xl pause}: see {@link DomainActions#pause}.
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "pause",
    description = "Pause a domain (xc_domain_pause): its vCPUs stop until unpaused.",
    footer = { "", "Examples:", "  dom0j pause guest1", "  dom0j pause 3 --json" })
final class PauseCommand implements Callable<Integer>
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
        return DomainCommand.apply(root, spec, dom, "paused", DomainActions::pause);
    }
}
