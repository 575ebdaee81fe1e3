package org.dom0j.cli;

import org.agrona.concurrent.ShutdownSignalBarrier;
import org.dom0j.blkback.jna.NativeFile;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.sim.guest.BlockGuest;
import org.dom0j.sim.guest.SimBlkfront;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code dom0j sim}: the simulated hypervisor. {@code start} runs a machine (xenstored, memory, grant tables,
 * event channels) in the foreground; {@code guest} creates a guest with a disk in a running machine and drives
 * it with verified random I/O, in its own process, as a real guest would be.
 */
@Command(
    name = "sim",
    description = "The simulated Xen machine: start one, or run a guest in it.",
    subcommands = { SimCommand.Start.class, SimCommand.Guest.class })
final class SimCommand
{
    @ParentCommand
    Dom0j root;

    Path directory(final Path option)
    {
        return null != option ? option : SimPlatformProvider.hostDirectory(root.environment());
    }

    /**
     * {@code dom0j sim start}.
     */
    @Command(name = "start", description = "Start a simulated machine in the foreground until Ctrl-C.",
        footer = { "", "Example:", "  dom0j sim start &  dom0j --platform sim serve &  dom0j sim guest --domid 1" })
    static final class Start implements Callable<Integer>
    {
        @ParentCommand
        private SimCommand sim;

        @Spec
        private CommandSpec spec;

        @Option(names = "--dir", paramLabel = "DIR", description = "Machine directory (default $DOM0J_SIM_DIR or " +
            SimPlatformProvider.DEFAULT_DIR + ").")
        private Path dir;

        @Override
        public Integer call()
        {
            final PrintWriter out = spec.commandLine().getOut();
            final Path directory = sim.directory(dir);
            try (ShutdownSignalBarrier barrier = new ShutdownSignalBarrier())
            {
                try (SimMachine machine = SimMachine.start(directory))
                {
                    out.println("dom0j sim: machine running in " + machine.directory() + " (xenstored at " +
                        machine.host().xenstoredSocket() + "); Ctrl-C stops");
                    out.flush();
                    barrier.await();
                }
                out.println("dom0j sim: machine stopped");
                out.flush();
            }
            return ExitCodes.OK;
        }
    }

    /**
     * {@code dom0j sim guest}.
     */
    @Command(name = "guest", description = "Create a guest with a disk in a running machine and run verified " +
        "random I/O on it (its blkfront negotiates with whatever serves vbd).")
    static final class Guest implements Callable<Integer>
    {
        @ParentCommand
        private SimCommand sim;

        @Spec
        private CommandSpec spec;

        @Option(names = "--dir", paramLabel = "DIR", description = "Machine directory.")
        private Path dir;

        @Option(names = "--domid", defaultValue = "1", description = "The guest's domid. Default: ${DEFAULT-VALUE}.")
        private int domid;

        @Option(names = "--disk", paramLabel = "FILE", description = "Backing file (default: disk-<domid>.img in " +
            "the machine directory, created sparse).")
        private Path disk;

        @Option(names = "--size-mib", defaultValue = "64",
            description = "Size of a new disk. Default: ${DEFAULT-VALUE}.")
        private int sizeMib;

        @Option(names = "--seconds", defaultValue = "5", description = "How long to run. Default: ${DEFAULT-VALUE}.")
        private double seconds;

        @Option(names = "--seed", description = "Workload seed (default: random, printed).")
        private Long seed;

        @Option(names = "--queues", defaultValue = "1", description = "Queues to ask for. Default: ${DEFAULT-VALUE}.")
        private int queues;

        @Option(names = "--read-percent", defaultValue = "50",
            description = "Share of reads. Default: ${DEFAULT-VALUE}.")
        private int readPercent;

        @Override
        public Integer call() throws Exception
        {
            final PrintWriter out = spec.commandLine().getOut();
            final Path directory = sim.directory(dir);
            try (SimMachine machine = SimMachine.join(directory))
            {
                final Path file = null != disk ? disk : directory.resolve("disk-" + domid + ".img");
                if (!Files.exists(file))
                {
                    try (NativeFile f = NativeFile.open(Files.createFile(file), false, false))
                    {
                        f.truncate((long)sizeMib << 20);
                    }
                }
                final long s = null != seed ? seed : System.nanoTime();
                final BlockGuest.Result result = BlockGuest.run(machine, domid, file,
                    new SimBlkfront.Options(queues, 2, true, 32), s, readPercent, 8, seconds,
                    (elapsed, stats) -> DemoCommand.progressLine(out, elapsed, stats));
                DemoCommand.printResult(out, result);
                return null == result.mismatch() && result.stats().errors == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
            }
        }
    }
}
