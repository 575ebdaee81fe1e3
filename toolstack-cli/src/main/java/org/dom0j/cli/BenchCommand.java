package org.dom0j.cli;

import org.agrona.IoUtil;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.BlockBench;
import org.dom0j.sim.guest.BlockGuest;
import org.dom0j.sim.guest.SimBlkfront;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code dom0j bench}: benchmarks reported as ratios against a baseline run on the same machine in the same run.
 */
@Command(name = "bench", description = "Benchmarks, each against a native baseline measured in the same run.",
    subcommands = { BenchCommand.Blk.class, BenchNetCommand.class },
    footer = { "", "Examples:", "  dom0j bench blk --seconds 3", "  dom0j bench net --seconds 3" })
final class BenchCommand
{
    @ParentCommand
    Dom0j root;

    /**
     * {@code dom0j bench blk}: a simulated guest's blkfront, through {@code dom0j serve} (its own process), onto a
     * file on tmpfs; against fio doing the same I/O natively on the same file. With {@code --nbd} the file is served by
     * qemu-nbd ({@link BenchNbdServer}), the guest's disk is that export, and fio's nbd engine is the baseline.
     */
    @Command(name = "blk", description = "Block I/O through dom0j on the simulator against fio on the same file.",
        footer = { "", "Examples:", "  dom0j bench blk --seconds 3",
            "  dom0j bench blk --nbd         the disk is qemu-nbd's export of the file, fio's nbd engine baseline" })
    static final class Blk implements Callable<Integer>
    {
        @Spec
        private CommandSpec spec;

        @Option(names = "--seconds", defaultValue = "3", description = "Per case. Default: ${DEFAULT-VALUE}.")
        private double seconds;

        /*
         * 3 s, not 1: serve's JIT and the simulated guest's compile the data path in their first seconds, and with
         * 1 s C2 still took a tenth of the two cores in the measured seconds (perf): two queues of 4 KiB reads made
         * 0.54-0.92 of fio in four runs on 5 December, 0.94-1.18 in four with 3 s. A service is measured warm.
         */
        @Option(names = "--warmup", defaultValue = "3",
            description = "Seconds each case runs before it is measured, for dom0j and fio alike (fio's ramp_time): " +
                "serve's JIT compiles the data path in its first seconds. Default: ${DEFAULT-VALUE}.")
        private double warmup;

        @Option(names = "--size-mib", defaultValue = "256", description = "File size. Default: ${DEFAULT-VALUE}.")
        private int sizeMib;

        @Option(names = "--data-path", defaultValue = "auto", paramLabel = "auto|copy|map",
            description = "serve's blkback data path. Default: ${DEFAULT-VALUE}.")
        private String dataPath;

        @Option(names = "--io-engine", defaultValue = "auto", paramLabel = "auto|io_uring|sync",
            description = "serve's blkback I/O engine. Default: ${DEFAULT-VALUE}.")
        private String ioEngine;

        @Option(names = "--map-page-cache", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "serve's blkback reads (and on tmpfs writes) through the mapped page cache " +
                "(--no-map-page-cache: bounce pages and preadv/pwritev). " +
                "Default: ${DEFAULT-VALUE}.")
        private boolean mapPageCache;

        @Option(names = "--no-fio", description = "Skip the fio baseline.")
        private boolean noFio;

        @Option(names = "--nbd",
            description = "Serve the file with qemu-nbd (a Unix socket) and give the guest that export as its disk " +
                "(params nbd+unix://...); the baseline is fio's nbd engine on the same export.")
        private boolean nbd;

        @Option(names = "--only", paramLabel = "TEXT",
            description = "Run only the cases whose name contains TEXT, e.g. \"randread qd32, 1\".")
        private String only;

        /** What every case should reach against the best fio engine (issue 15). */
        private static final double TARGET_RATIO = 0.8;

        private record Case(String label, BlockBench.Pattern pattern, int queues, String fioRw)
        {
            FioBaseline.Shape shape()
            {
                return new FioBaseline.Shape(fioRw, pattern.write(), pattern.blockBytes(), pattern.queueDepth(),
                    queues);
            }
        }

        @Override
        public Integer call() throws Exception
        {
            final PrintWriter out = spec.commandLine().getOut();
            final Path dir = Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" :
                System.getProperty("java.io.tmpdir")).resolve("dom0j-bench-" + ProcessHandle.current().pid());
            final String qemuNbd = nbd ? BenchNbdServer.version() : null;
            if (nbd && null == qemuNbd)
            {
                spec.commandLine().getErr().println("dom0j bench blk --nbd: qemu-nbd is not installed (" +
                    BenchNbdServer.QEMU_NBD + "): install it with 'apt-get install qemu-utils' " +
                    "(scripts/install-deps.sh does), or run without --nbd.");
                spec.commandLine().getErr().flush();
                return ExitCodes.FAILURE;
            }
            final String fioVersion = noFio ? null : FioBaseline.version();
            final boolean fio = null != fioVersion;
            final String noBaseline = noFio ? "none (--no-fio)" : "none: fio is not installed, so no case has a " +
                "baseline or a ratio; install it (apt-get install fio, or scripts/install-deps.sh) or pass --no-fio";
            if (!noFio && !fio)
            {
                spec.commandLine().getErr().println("dom0j bench blk: fio is not installed: no baseline, no ratio. " +
                    "Install it with 'apt-get install fio' (scripts/install-deps.sh does), or pass --no-fio.");
                spec.commandLine().getErr().flush();
            }
            final List<Case> cases = List.of(
                new Case("4k randread qd32, 1 queue", new BlockBench.Pattern(false, false, 4096, 32, seconds), 1,
                    "randread"),
                new Case("4k randwrite qd32, 1 queue", new BlockBench.Pattern(true, false, 4096, 32, seconds), 1,
                    "randwrite"),
                new Case("4k randread qd32, 2 queues", new BlockBench.Pattern(false, false, 4096, 32, seconds), 2,
                    "randread"),
                new Case("4k randwrite qd32, 2 queues", new BlockBench.Pattern(true, false, 4096, 32, seconds), 2,
                    "randwrite"),
                new Case("1m seqread qd4, 1 queue", new BlockBench.Pattern(false, true, 1 << 20, 4, seconds), 1,
                    "read"),
                new Case("1m seqwrite qd4, 1 queue", new BlockBench.Pattern(true, true, 1 << 20, 4, seconds), 1,
                    "write"));
            out.printf(Locale.ROOT, "dom0j bench blk: %d MiB file on tmpfs%s, %.1f s per case after %.1f s of " +
                "warm-up, serve in its own JVM, guest in this one%nbaseline: %s%n", sizeMib, nbd ? ", served by " +
                qemuNbd + " on a Unix socket: the guest's disk is its export" : "", seconds, warmup, !fio ? noBaseline :
                nbd ? fioVersion + "'s nbd engine (libnbd) on the same export, one job (connection) per queue at " +
                "the same queue depth" : fioVersion + " on the same file, one job per queue, the best of psync, " +
                "libaio and io_uring (libaio and io_uring at the same queue depth); mmap (no system call) printed as " +
                "the limit");
            out.printf(Locale.ROOT, "%-28s %10s %8s %10s %8s %9s %10s %10s %6s %10s %8s%n", "case", "dom0j IOPS",
                "MB/s", "CPU us/req", "(serve)", "best fio", "IOPS", "CPU us/req", "ratio", "mmap IOPS", "of mmap");
            out.flush();
            final List<Double> ratios = new ArrayList<>();
            final List<String> under = new ArrayList<>();
            try (SimMachine machine = SimMachine.start(dir))
            {
                final Path disk = dir.resolve("bench.img");
                fillFile(disk, (long)sizeMib << 20);
                try (BenchNbdServer server = nbd ? BenchNbdServer.start(disk) : null;
                    ServeProcess serve = ServeProcess.start(dir, dir.resolve("serve.log"), "--data-path", dataPath,
                        "--io-engine", ioEngine, mapPageCache ? "--map-page-cache" : "--no-map-page-cache"))
                {
                    final String params = null != server ? server.uri() : disk.toString();
                    int domid = 1;
                    for (final Case c : cases)
                    {
                        if (null != only && !c.label().contains(only))
                        {
                            continue;
                        }
                        final BlockBench.Result r = runGuest(machine, domid++, params, c, warmupNanos(), serve);
                        final FioBaseline.Baseline f = !fio ? null : null != server ?
                            FioBaseline.onNbd(server.uri(), c.shape(), seconds, warmup) :
                            FioBaseline.onFile(disk, c.shape(), seconds, warmup);
                        final double ratio = null == f ? Double.NaN : r.iops() / f.best().iops();
                        if (null != f)
                        {
                            ratios.add(ratio);
                            if (ratio < TARGET_RATIO)
                            {
                                under.add(c.label());
                            }
                        }
                        printCase(out, c, r, f, ratio);
                    }
                    if (!serve.stop())
                    {
                        out.println("dom0j bench blk: serve did not stop cleanly; see " + serve.log());
                    }
                }
            }
            finally
            {
                IoUtil.delete(dir.toFile(), true);
            }
            if (!ratios.isEmpty())
            {
                out.printf(Locale.ROOT, "ratio = dom0j IOPS / %s's IOPS, same %s, same run; geometric mean %.2f, " +
                    "lowest %.2f; %s%n", nbd ? "fio's nbd engine" : "the best fio system-call engine",
                    nbd ? "export" : "file", Math.exp(ratios.stream().mapToDouble(Math::log).average().orElse(0)),
                    ratios.stream().mapToDouble(Double::doubleValue).min().orElse(0),
                    under.isEmpty() ? "every case at least " + TARGET_RATIO + "x" :
                        "under " + TARGET_RATIO + "x: " + String.join("; ", under));
                if (!nbd)
                {
                    out.println("of mmap = dom0j IOPS / fio's mmap engine's (memcpy, no system call): how far from " +
                        "the memory's limit");
                }
                out.println("CPU us/req: dom0j = the guest's thread and the serve process (serve alone in brackets; " +
                    "on Xen the guest runs on its own vCPUs" + (nbd ? "; qemu-nbd's CPU is in neither" : "") +
                    "), fio = its jobs");
            }
            else if (!noFio)
            {
                out.println("no ratio: " + noBaseline);
            }
            out.flush();
            return ExitCodes.OK;
        }

        private static void printCase(
            final PrintWriter out, final Case c, final BlockBench.Result r, final FioBaseline.Baseline f,
            final double ratio)
        {
            final long serveCpu = r.externalCpuNanos();
            final double cpuPerReq = (r.cpuNanos() + serveCpu) / 1e3 / Math.max(1, r.operations());
            final double servePerReq = serveCpu / 1e3 / Math.max(1, r.operations());
            final FioBaseline.Result limit = null == f ? null : f.limit();
            out.printf(Locale.ROOT, "%-28s %10.0f %8.1f %10.1f %8.1f %9s %10s %10s %6s %10s %8s%n",
                c.label(), r.iops(), r.megabytesPerSecond(), cpuPerReq, servePerReq,
                null == f ? "-" : f.best().engine().fioName(),
                null == f ? "-" : String.format(Locale.ROOT, "%.0f", f.best().iops()),
                null == f ? "-" : String.format(Locale.ROOT, "%.1f", f.best().cpuPerReq()),
                null == f ? "-" : String.format(Locale.ROOT, "%.2f", ratio),
                null == limit ? "-" : String.format(Locale.ROOT, "%.0f", limit.iops()),
                null == limit ? "-" : String.format(Locale.ROOT, "%.2f", r.iops() / limit.iops()));
            if (null != f)
            {
                out.println("  fio IOPS: " + FioBaseline.describe(f));
            }
            if (r.errors() > 0)
            {
                out.println("  " + r.errors() + " requests failed");
            }
            out.flush();
        }

        private long warmupNanos()
        {
            return (long)(warmup * 1e9);
        }

        private static BlockBench.Result runGuest(
            final SimMachine machine, final int domid, final String params, final Case c, final long warmupNanos,
            final ServeProcess serve) throws Exception
        {
            final int segments = Math.max(11, c.pattern().blockBytes() / 4096);
            return BlockGuest.withDisk(machine, domid, "bench-" + domid, 65536, params,
                new SimBlkfront.Options(c.queues(), 0, true, segments),
                front -> BlockBench.run(front, c.pattern(), domid, warmupNanos, serve::cpuNanos));
        }

        private static void fillFile(final Path file, final long size) throws IOException
        {
            final ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
            final SplittableRandom random = new SplittableRandom(1);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))
            {
                for (long at = 0; at < size; at += chunk.capacity())
                {
                    chunk.clear();
                    while (chunk.hasRemaining())
                    {
                        chunk.putLong(random.nextLong());
                    }
                    chunk.flip();
                    while (chunk.hasRemaining())
                    {
                        ch.write(chunk);
                    }
                }
            }
        }
    }
}
