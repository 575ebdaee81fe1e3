package org.dom0j.cli;

import org.dom0j.common.Json;
import picocli.CommandLine;
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
import java.util.concurrent.TimeUnit;

/**
 * What {@link ShutdownCommand} and {@link RebootCommand} share: ask each domain through {@link DomainPowerControl},
 * wait for each acknowledgement, and with {@code -w} for each outcome.
 * <p>
 * Runs on the CLI's thread.
 */
abstract class PowerCommand implements Callable<Integer>
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "DOM", arity = "0..1", description = "The domain: its name or domid.")
    private String dom;

    @Option(names = { "-a", "--all" }, description = "Every domain but this one (domain 0).")
    private boolean all;

    @Option(names = { "-w", "--wait" }, description = "Wait until it is done (see above).")
    private boolean await;

    @Option(names = "--ack-timeout", paramLabel = "SECONDS", defaultValue = "10",
        description = "How long a guest has to acknowledge the request before it is taken to have no PV shutdown " +
            "support. Default: ${DEFAULT-VALUE}.")
    private double ackTimeout;

    @Option(names = { "-t", "--timeout" }, paramLabel = "SECONDS", defaultValue = "120",
        description = "With -w: how long to wait in all. Default: ${DEFAULT-VALUE}.")
    private double timeout;

    /**
     * @return the word written to control/shutdown.
     */
    abstract String command();

    @Override
    public Integer call() throws InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        if (all == (null != dom))
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "give one DOM or --all");
        }
        if (!(ackTimeout > 0) || !(timeout > 0))
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "timeouts must be above 0");
        }
        int exit = ExitCodes.OK;
        try (DomainSession session = DomainSession.open(root);
            DomainPowerControl power = new DomainPowerControl(session))
        {
            final List<DomainSession.Domain> domains = new ArrayList<>();
            if (all)
            {
                for (final DomainSession.Domain d : session.domains())
                {
                    if (d.domid() != 0 && d.domid() != session.platform().localDomid() && !d.info().shutdown() &&
                        !d.info().dying())
                    {
                        domains.add(d);
                    }
                }
            }
            else
            {
                domains.add(session.resolve(dom));
            }
            for (final DomainSession.Domain d : domains)
            {
                power.request(d, command());
            }
            final long start = System.nanoTime();
            final long ackDeadline = start + (long)(ackTimeout * 1e9);
            final long deadline = start + (long)(timeout * 1e9);
            final List<Object> doc = new ArrayList<>();
            for (final DomainSession.Domain d : domains)
            {
                final Map<String, Object> m = new LinkedHashMap<>();
                m.put("domid", d.domid());
                m.put("name", d.name());
                m.put("request", command());
                final String who = "domain " + d.domid() + (d.name().isEmpty() ? "" : " (" + d.name() + ")");
                if (!power.awaitAcknowledgement(d.domid(), ackDeadline))
                {
                    m.put("result", "not acknowledged");
                    err.println("dom0j " + command() + ": " + who + " has not acknowledged the request within " +
                        ackTimeout + " s: it has no PV shutdown support (no PV drivers, or they are not running); " +
                        "'dom0j destroy " + d.domid() + "' stops it at once");
                    exit = ExitCodes.FAILURE;
                    doc.add(m);
                    continue;
                }
                if (!await)
                {
                    m.put("result", "acknowledged");
                    say(out, who + ": " + command() + " acknowledged");
                    doc.add(m);
                    continue;
                }
                final DomainPowerControl.Outcome outcome = wait(power, d, deadline);
                m.put("result", outcome.result());
                m.put("reason", outcome.reason());
                if (outcome.newDomid() >= 0)
                {
                    m.put("newDomid", outcome.newDomid());
                }
                final String said = describe(who, outcome);
                if (!succeeded(outcome))
                {
                    exit = ExitCodes.FAILURE;
                }
                say(out, said);
                doc.add(m);
            }
            if (root.options().json())
            {
                out.println(Json.write(doc));
            }
            out.flush();
            err.flush();
        }
        return exit;
    }

    private void say(final PrintWriter out, final String text)
    {
        if (!root.options().json())
        {
            out.println(text);
            out.flush();
        }
    }

    /**
     * @return the outcome of a -w wait.
     */
    abstract DomainPowerControl.Outcome wait(DomainPowerControl power, DomainSession.Domain domain, long deadline)
        throws InterruptedException;

    /**
     * @return whether {@code outcome} is what -w waited for.
     */
    abstract boolean succeeded(DomainPowerControl.Outcome outcome);

    /**
     * @return the outcome in a sentence.
     */
    abstract String describe(String who, DomainPowerControl.Outcome outcome);

    /** How long a domain that shut down is given to be destroyed or built again by its toolstack process. */
    static long graceNanos()
    {
        return TimeUnit.SECONDS.toNanos(5);
    }
}
