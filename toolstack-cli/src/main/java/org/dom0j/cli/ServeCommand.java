package org.dom0j.cli;

import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.ShutdownSignalBarrier;
import org.dom0j.backend.AgentScheduler;
import org.dom0j.backend.BackendConductor;
import org.dom0j.backend.CountersFile;
import org.dom0j.blkback.BlkbackConfiguration;
import org.dom0j.blkback.BlkbackDeviceType;
import org.dom0j.blkback.DataPath;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.platform.XenPlatform;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.xenstore.XenStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code dom0j serve}: the backends as a dom0 service, in the foreground. Runs the conductor (xenstore watches,
 * device lifecycles) on its own thread and one agent thread per ring queue, until SIGINT or SIGTERM; then closes
 * every device (the frontends see Closed) and releases every mapping and port.
 */
@Command(
    name = "serve",
    description = "Run the backends (vbd) as a service in the foreground until Ctrl-C.",
    footer = {
        "",
        "Examples:",
        "  dom0j serve                          on a Xen dom0 (rmmod xen-blkback first; disks attached with",
        "                                       disk=['backendtype=phy,script=/bin/true,...'])",
        "  dom0j --platform sim serve           on the simulator started by 'dom0j sim start'",
        "  dom0j serve --data-path map          map guest pages (persistent grants) instead of grant copy" })
final class ServeCommand implements Callable<Integer>
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Option(names = "--data-path", paramLabel = "auto|copy|map", defaultValue = "auto",
        description = "How blkback moves data: grant copy, or mapped (persistent) grants. Default: ${DEFAULT-VALUE}.")
    private String dataPath;

    @Option(names = "--counters", paramLabel = "FILE",
        description = "Where the counters live for 'dom0j top' (default: /dev/shm/dom0j-counters, or counters in " +
            "the simulator's directory).")
    private Path countersPath;

    @Option(names = "--max-queues", paramLabel = "N", defaultValue = "4",
        description = "multi-queue-max-queues offered to block frontends. Default: ${DEFAULT-VALUE}.")
    private int maxQueues;

    @Override
    public Integer call() throws Exception
    {
        final PrintWriter out = spec.commandLine().getOut();
        final AtomicLong agentErrors = new AtomicLong();
        final ErrorHandler errors = ex ->
        {
            agentErrors.incrementAndGet();
            System.err.println("dom0j serve: " + ex);
        };
        // The barrier's signal handler waits for its close(), so every device is closed before the JVM exits.
        try (ShutdownSignalBarrier barrier = new ShutdownSignalBarrier())
        {
            serve(out, errors, barrier);
            out.println("dom0j serve: stopped cleanly" +
                (agentErrors.get() > 0 ? " (" + agentErrors.get() + " agent errors were logged)" : ""));
            out.flush();
        }
        return agentErrors.get() == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    private void serve(final PrintWriter out, final ErrorHandler errors, final ShutdownSignalBarrier barrier)
        throws Exception
    {
        try (XenPlatform platform = root.platforms().open(root.options().platform(), root.environment()))
        {
            final Path counters = null != countersPath ? countersPath : defaultCountersPath(platform);
            final BlkbackConfiguration base = BlkbackConfiguration.fromSystemProperties();
            final BlkbackConfiguration configuration = new BlkbackConfiguration(
                "auto".equals(dataPath) ? base.dataPath() :
                    DataPath.valueOf(dataPath.toUpperCase(java.util.Locale.ROOT)),
                maxQueues, base.maxRingPageOrder(), base.maxIndirectSegments(), base.maxPersistentGrants(),
                base.direct());
            try (CountersFile countersFile = CountersFile.create(counters, 4096);
                XenStore xs = platform.openXenStore();
                GrantTables gnttab = platform.openGrantTables();
                AgentScheduler scheduler = AgentScheduler.eventDriven(TimeUnit.MILLISECONDS.toNanos(1), errors))
            {
                final BlkbackDeviceType vbd = new BlkbackDeviceType(platform, countersFile.manager(), configuration);
                final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
                    .platform(platform)
                    .xenStore(xs)
                    .grantTables(gnttab)
                    .scheduler(scheduler)
                    .countersManager(countersFile.manager())
                    .deviceType(vbd));
                try (AgentRunner runner = new AgentRunner(
                    new BackoffIdleStrategy(10, 20, 1000, TimeUnit.MILLISECONDS.toNanos(1)), errors, null, conductor))
                {
                    AgentRunner.startOnThread(runner);
                    out.println("dom0j serve: serving vbd on " + platform.description() + " (blkback data path " +
                        vbd.dataPath().name().toLowerCase(java.util.Locale.ROOT) + "); counters in " + counters +
                        "; Ctrl-C stops");
                    out.flush();
                    barrier.await();
                    out.println("dom0j serve: stopping, closing every device");
                    out.flush();
                }
            }
        }
    }

    private Path defaultCountersPath(final XenPlatform platform) throws java.io.IOException
    {
        if (SimPlatformProvider.NAME.equals(platform.name()))
        {
            return SimPlatformProvider.hostDirectory(root.environment()).resolve("counters");
        }
        final Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) ? shm.resolve("dom0j-counters") : Files.createTempFile("dom0j-counters", "");
    }
}
