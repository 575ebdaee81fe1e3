package org.dom0j.cli;

import picocli.CommandLine.Command;

/**
 * {@code dom0j shutdown [-w] DOM|--all}, as {@code xl shutdown}: asks the guest to power off (see
 * {@link DomainPowerControl}).
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "shutdown",
    description = {
        "Ask a PV guest to power off (xl shutdown): 'poweroff' is written to its control/shutdown, and the guest " +
            "acknowledges by clearing it. A guest that does not within --ack-timeout has no PV shutdown support.",
        "With -w, wait until the domain is gone. A domain that shuts down but is not destroyed by the toolstack " +
            "process that owns it ('dom0j serve' for domains 'dom0j create' made, as their on_poweroff says; xl's " +
            "daemon for xl's; 'dom0j sim guest' for its own) is reported as shut down; 'dom0j destroy' frees it." },
    footer = { "", "Examples:", "  dom0j shutdown -w guest1", "  dom0j shutdown --all -w --json" })
final class ShutdownCommand extends PowerCommand
{
    @Override
    String command()
    {
        return "poweroff";
    }

    @Override
    DomainPowerControl.Outcome wait(final DomainPowerControl power, final DomainSession.Domain domain,
        final long deadline) throws InterruptedException
    {
        return power.awaitShutdown(domain.domid(), deadline, graceNanos());
    }

    @Override
    boolean succeeded(final DomainPowerControl.Outcome outcome)
    {
        return "gone".equals(outcome.result()) || "shutdown".equals(outcome.result());
    }

    @Override
    String describe(final String who, final DomainPowerControl.Outcome outcome)
    {
        return switch (outcome.result())
        {
            case "gone" -> who + " has shut down and is gone";
            case "shutdown" -> who + " has shut down (" + outcome.reason() + ") and is still there: no toolstack " +
                "process destroys it here; 'dom0j destroy' frees it";
            default -> who + " acknowledged but has not shut down in time";
        };
    }
}
