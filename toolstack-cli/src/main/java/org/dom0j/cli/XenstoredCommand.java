package org.dom0j.cli;

import org.dom0j.sim.xenstored.SimXenstored;
import org.dom0j.sim.xenstored.SimXenstoredConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dom0j xenstored}: runs the simulator's xenstored ({@link SimXenstored}) in the foreground until killed.
 * Runs on the picocli thread; the server has its own thread.
 */
@Command(
    name = "xenstored",
    mixinStandardHelpOptions = true,
    description = {
        "Run the simulator's xenstored (real xs_wire, C xenstored semantics) in the foreground.",
        "Connections on --socket are domain 0. After dom0 introduces domain N, connections on " +
            "<dir>/domain-N.sock are domain N." },
    footer = {
        "",
        "Examples:",
        "  dom0j xenstored --socket /tmp/xs/socket &",
        "  XENSTORED_PATH=/tmp/xs/socket xenstore-ls",
        "  dom0j xenstored --socket /tmp/xs/socket --quota nodes=50 --quota watches=8"
    })
final class XenstoredCommand implements Callable<Integer>
{
    @Spec
    private CommandSpec spec;

    @Option(names = "--socket", required = true, paramLabel = "PATH", description = "The Unix socket to listen on.")
    private Path socket;

    @Option(names = "--quota", paramLabel = "NAME=VALUE",
        description = "Change a quota for unprivileged domains (nodes, watches, outstanding, transactions, " +
            "transaction-nodes, node-size, permissions); C xenstored's defaults otherwise.")
    private Map<String, Long> quotas = new LinkedHashMap<>();

    @Option(names = "--domain-socket-dir", paramLabel = "DIR",
        description = "Where domain-N.sock files go (default: the socket's directory).")
    private Path domainDirectory;

    @Override
    public Integer call() throws java.io.IOException
    {
        SimXenstoredConfig config = SimXenstoredConfig.defaults();
        for (final Map.Entry<String, Long> q : quotas.entrySet())
        {
            try
            {
                config = config.withQuota(q.getKey(), q.getValue());
            }
            catch (final IllegalArgumentException ex)
            {
                spec.commandLine().getErr().println("dom0j: " + ex.getMessage());
                return ExitCodes.USAGE;
            }
        }
        if (null != domainDirectory)
        {
            config = config.withDomainSocketDirectory(domainDirectory);
        }
        final SimXenstored server = SimXenstored.start(socket, config);
        final Thread hook = new Thread(server::close, "xenstored-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        final PrintWriter out = spec.commandLine().getOut();
        out.println("sim-xenstored listening on " + server.socketPath() + " (domain 0); domain N: " +
            server.domainSocketPath(0).getParent().resolve("domain-N.sock"));
        out.flush();
        try
        {
            server.awaitTermination();
        }
        catch (final InterruptedException ex)
        {
            server.close();
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        return ExitCodes.OK;
    }
}
