package org.dom0j.cli;

import org.agrona.concurrent.ShutdownSignalBarrier;
import org.dom0j.blkback.jna.NativeFile;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.sim.guest.BlockGuest;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.NetWorkload;
import org.dom0j.sim.guest.SimNetfront;
import org.dom0j.sim.guest.SimBlkfront;
import org.dom0j.sim.guest.SimConsoleFront;
import org.dom0j.sim.guest.SimGuestKernel;
import org.dom0j.sim.guest.ShutdownWatcher;
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
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code dom0j sim}: the simulated hypervisor. {@code start} runs a machine (xenstored, memory, grant tables,
 * event channels) in the foreground; {@code guest} creates a guest with a disk in a running machine and drives
 * it with verified random I/O, in its own process, as a real guest would be; {@code console-guest} creates a guest
 * with a primary console that answers what is typed on it (to try {@code dom0j console}).
 */
@Command(
    name = "sim",
    description = "The simulated Xen machine: start one, or run a guest in it.",
    subcommands = { SimCommand.Start.class, SimCommand.Guest.class, SimCommand.ConsoleGuest.class,
        SimCommand.Boot.class },
    footer = { "", "Example:", "  dom0j sim start &  dom0j --platform sim serve &  dom0j sim guest --domid 1" })
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
        "random I/O on it (its blkfront negotiates with whatever serves vbd), answering 'dom0j shutdown' and " +
        "'dom0j reboot' as a Linux guest does (built again under a new domid after a reboot); with --nic, a guest " +
        "with a network " +
        "interface that pings its peer and moves verified streams to it (its netfront negotiates with whatever " +
        "serves vif).",
        footer = { "", "Examples:", "  dom0j sim guest --domid 1 --seconds 10",
            "  dom0j sim guest --domid 1 --name guest1 --seconds 0 &  dom0j shutdown -w guest1",
            "  dom0j sim guest --nic --domid 2 --peer 10.0.0.3 &  dom0j sim guest --nic --domid 3 --peer 10.0.0.2" })
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

        @Option(names = "--seconds", defaultValue = "5", description = "How long to run; 0: until it is asked to " +
            "shut down ('dom0j shutdown'). Default: ${DEFAULT-VALUE}.")
        private double seconds;

        @Option(names = "--name", paramLabel = "NAME", description = "The guest's name (default demo-guest-<domid>).")
        private String name;

        @Option(names = "--seed", description = "Workload seed (default: random, printed).")
        private Long seed;

        @Option(names = "--queues", defaultValue = "1", description = "Queues to ask for. Default: ${DEFAULT-VALUE}.")
        private int queues;

        @Option(names = "--read-percent", defaultValue = "50",
            description = "Share of reads. Default: ${DEFAULT-VALUE}.")
        private int readPercent;

        @Option(names = "--nic", description = "A guest with a network interface instead of a disk.")
        private boolean nic;

        @Option(names = "--ip", paramLabel = "A.B.C.D",
            description = "With --nic: the guest's address (default 10.0.0.<domid>).")
        private String ip;

        @Option(names = "--peer", paramLabel = "A.B.C.D",
            description = "With --nic: the guest to ping and stream to (another 'sim guest --nic' with the same seed).")
        private String peer;

        @Option(names = "--no-offload", description = "With --nic: offer no GSO and no checksum offload.")
        private boolean noOffload;

        @Override
        public Integer call() throws Exception
        {
            final PrintWriter out = spec.commandLine().getOut();
            final Path directory = sim.directory(dir);
            if (nic)
            {
                return network(out, directory);
            }
            try (SimMachine machine = SimMachine.join(directory))
            {
                final Path file = null != disk ? disk : directory.resolve("disk-" + domid + ".img");
                if (!Files.exists(file))
                {
                    NativeFile.createSparse(file, (long)sizeMib << 20);
                }
                final String guestName = null != name ? name : "demo-guest-" + domid;
                int current = domid;
                while (true)
                {
                    final long s = null != seed ? seed : System.nanoTime();
                    final BlockGuest.Result result = BlockGuest.run(machine, current, guestName, file.toString(),
                        new SimBlkfront.Options(queues, 2, true, 32), s, readPercent, 8, seconds,
                        (elapsed, stats) -> DemoCommand.progressLine(out, elapsed, stats), true);
                    DemoCommand.printResult(out, result);
                    if (null != result.mismatch() || result.stats().errors != 0)
                    {
                        return ExitCodes.FAILURE;
                    }
                    if (ShutdownWatcher.SHUTDOWN_REBOOT != result.shutdownReason())
                    {
                        if (ShutdownWatcher.SHUTDOWN_POWEROFF == result.shutdownReason())
                        {
                            out.println("dom0j sim: guest " + current + " (" + guestName + ") powered off");
                        }
                        out.flush();
                        return ExitCodes.OK;
                    }
                    // What xl's daemon does for on_reboot=restart: the same guest, built again under a new domid.
                    // Its workload checks every block against a model that starts from zeros, so the disk starts
                    // empty again too.
                    if (!Files.isRegularFile(file))
                    {
                        out.println("dom0j sim: guest " + current + " asked to reboot, but its disk " + file +
                            " is not a file that can be emptied for the new workload: it stays down");
                        out.flush();
                        return ExitCodes.OK;
                    }
                    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(file.toFile(), "rw"))
                    {
                        final long size = f.length();
                        f.setLength(0);
                        f.setLength(size);
                    }
                    final int next = freeDomid(machine, current);
                    out.println("dom0j sim: guest " + current + " (" + guestName + ") rebooting as domain " + next);
                    out.flush();
                    current = next;
                }
            }
        }

        private static int freeDomid(final SimMachine machine, final int after)
        {
            int domid = after + 1;
            while (machine.host().exists(domid) || machine.xenStore().exists("/local/domain/" + domid))
            {
                domid++;
            }
            return domid;
        }

        private int network(final PrintWriter out, final Path directory) throws Exception
        {
            if (null == peer)
            {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--nic needs --peer (the address of another 'dom0j sim guest --nic')");
            }
            final String address = null != ip ? ip : "10.0.0." + domid;
            final long s = null != seed ? seed : 42;
            out.println("dom0j sim: guest " + domid + " at " + address + " pings " + peer + " and streams to it for " +
                seconds + " s (seed " + s + ")");
            out.flush();
            final NetWorkload.Result result = NetGuest.run(directory, domid, "0", address, peer,
                SimNetfront.Options.linuxDefaults().withQueues(queues).withOffloads(!noOffload), s, seconds,
                (elapsed, stats) ->
                {
                    out.print("\r  " + stats.line(elapsed) + "   ");
                    out.flush();
                });
            DemoCommand.printNetResult(out, "guest " + domid, result);
            return null == result.problem() ? ExitCodes.OK : ExitCodes.FAILURE;
        }
    }

    /**
     * {@code dom0j sim console-guest}.
     */
    @Command(name = "console-guest", description = "Create a guest whose primary console echoes what is typed on " +
        "it, line by line, until Ctrl-C (attach with 'dom0j --platform sim console <domid>').",
        footer = { "", "Example:", "  dom0j sim console-guest --domid 3 &  dom0j --platform sim console 3" })
    static final class ConsoleGuest implements Callable<Integer>
    {
        @ParentCommand
        private SimCommand sim;

        @Spec
        private CommandSpec spec;

        @Option(names = "--dir", paramLabel = "DIR", description = "Machine directory.")
        private Path dir;

        @Option(names = "--domid", defaultValue = "3", description = "The guest's domid. Default: ${DEFAULT-VALUE}.")
        private int domid;

        @Option(names = "--seconds", description = "Stop after this long (default: until Ctrl-C).")
        private Double seconds;

        @Override
        public Integer call() throws Exception
        {
            final PrintWriter out = spec.commandLine().getOut();
            final AtomicBoolean stop = new AtomicBoolean();
            try (ShutdownSignalBarrier barrier = new ShutdownSignalBarrier(() -> stop.set(true));
                SimMachine machine = SimMachine.join(sim.directory(dir)))
            {
                final SimConsoleFront console = SimConsoleFront.primary(
                    machine.createGuest(domid, "console-guest-" + domid, 256), machine.xenStore(), 0);
                out.println("dom0j sim: guest " + domid + " has a console; attach with 'dom0j --platform sim " +
                    "console " + domid + "'");
                out.flush();
                final long end = null == seconds ? Long.MAX_VALUE :
                    System.nanoTime() + (long)(seconds * TimeUnit.SECONDS.toNanos(1));
                final byte[] input = new byte[1024];
                final StringBuilder line = new StringBuilder();
                console.writeFully("\r\ndom0j simulated guest " + domid + "\r\n$ ", 10_000);
                while (!stop.get() && System.nanoTime() - end < 0)
                {
                    final int n = console.read(input, 0, input.length);
                    for (int i = 0; i < n; i++)
                    {
                        final char c = (char)(input[i] & 0xFF);
                        if (c == '\r' || c == '\n')
                        {
                            console.writeFully("\r\nyou typed: " + line + "\r\n$ ", 10_000);
                            line.setLength(0);
                        }
                        else
                        {
                            line.append(c);
                            console.writeFully(String.valueOf(c), 10_000);
                        }
                    }
                    if (0 == n)
                    {
                        console.awaitEvent(TimeUnit.MILLISECONDS.toNanos(100));
                    }
                }
                console.close();
                machine.destroyGuest(domid);
            }
            out.println("dom0j sim: guest " + domid + " destroyed");
            out.flush();
            return ExitCodes.OK;
        }
    }

    /**
     * {@code dom0j sim boot}.
     */
    @Command(name = "boot", description = "Run a guest that 'dom0j create' made, in place of its kernel: connect its " +
        "disks, vifs and console, echo what is typed on the console, and run until it is shut down or destroyed " +
        "('dom0j create' starts this itself).",
        footer = { "", "Example:", "  dom0j --platform sim sim boot --domid 4" })
    static final class Boot implements Callable<Integer>
    {
        @ParentCommand
        private SimCommand sim;

        @Spec
        private CommandSpec spec;

        @Option(names = "--dir", paramLabel = "DIR", description = "Machine directory.")
        private Path dir;

        @Option(names = "--domid", required = true, description = "The guest, as 'dom0j create' printed it.")
        private int domid;

        @Override
        public Integer call() throws Exception
        {
            final PrintWriter out = spec.commandLine().getOut();
            final AtomicBoolean stop = new AtomicBoolean();
            try (ShutdownSignalBarrier barrier = new ShutdownSignalBarrier(() -> stop.set(true)))
            {
                final String end = SimGuestKernel.run(sim.directory(dir), domid, stop::get, out);
                out.println("dom0j sim boot: guest " + domid + " ended: " + end);
                out.flush();
            }
            return ExitCodes.OK;
        }
    }
}
