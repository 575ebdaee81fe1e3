package org.dom0j.cli;

import picocli.CommandLine.Command;

/**
 * {@code dom0j reboot [-w] DOM|--all}, as {@code xl reboot}: asks the guest to reboot (see
 * {@link DomainPowerControl}).
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "reboot",
    description = {
        "Ask a PV guest to reboot (xl reboot): 'reboot' is written to its control/shutdown, and the guest " +
            "acknowledges by clearing it, then shuts down with reason reboot.",
        "Building the domain again is the job of the toolstack process that owns it: 'dom0j serve' for domains " +
            "'dom0j create' made (their on_reboot setting), xl's daemon for those xl created, 'dom0j sim guest' " +
            "for its own. Without one the domain stays shut down (reason reboot). With -w, wait until a domain of " +
            "the same name is back under a new domid, and say so when it stays shut down instead (exit 1)." },
    footer = { "", "Examples:", "  dom0j reboot -w guest1", "  dom0j reboot 3 --json" })
final class RebootCommand extends PowerCommand
{
    @Override
    String command()
    {
        return "reboot";
    }

    @Override
    DomainPowerControl.Outcome wait(final DomainPowerControl power, final DomainSession.Domain domain,
        final long deadline) throws InterruptedException
    {
        return power.awaitReboot(domain, deadline, graceNanos());
    }

    @Override
    boolean succeeded(final DomainPowerControl.Outcome outcome)
    {
        return "rebooted".equals(outcome.result());
    }

    @Override
    String describe(final String who, final DomainPowerControl.Outcome outcome)
    {
        return switch (outcome.result())
        {
            case "rebooted" -> who + " has rebooted: it is now domain " + outcome.newDomid();
            case "shutdown" -> who + " has shut down (" + outcome.reason() + ") and nobody builds it again: " +
                "'dom0j serve' restarts domains 'dom0j create' made when their on_reboot says restart (is it " +
                "running?), xl's daemon those xl created; it stays shut down";
            case "gone" -> who + " shut down and was destroyed, but no domain of that name came back in time";
            default -> who + " acknowledged but has not shut down in time";
        };
    }
}
