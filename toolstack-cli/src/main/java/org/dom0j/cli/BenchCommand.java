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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code dom0j bench}: benchmarks reported as ratios against a baseline run on the same machine in the same run.
 */
@Command(name = "bench", description = "Benchmarks, each against a native baseline measured in the same run.",
    subcommands = { BenchCommand.Blk.class, BenchNetCommand.class })
final class BenchCommand
{
    @ParentCommand
    Dom0j root;

    /**
     * {@code dom0j bench blk}: a simulated guest's blkfront, through {@code dom0j serve} (its own process), onto a
     * file on tmpfs; against fio doing the same I/O natively on the same file.
     */
    @Command(name = "blk", description = "Block I/O through dom0j on the simulator against fio on the same file.",
        footer = { "", "Example:", "  dom0j bench blk --seconds 3" })
    static final class Blk implements Callable<Integer>
    {
        @Spec
        private CommandSpec spec;

        @Option(names = "--seconds", defaultValue = "3", description = "Per case. Default: ${DEFAULT-VALUE}.")
        private double seconds;

        @Option(names = "--warmup", defaultValue = "1",
            description = "Seconds each case runs before it is measured, for dom0j and fio alike (fio's ramp_time). " +
                "Default: ${DEFAULT-VALUE}.")
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

        @Option(names = "--only", paramLabel = "TEXT",
            description = "Run only the cases whose name contains TEXT, e.g. \"randread qd32, 1\".")
        private String only;

        private record Case(String label, BlockBench.Pattern pattern, int queues, String fioRw)
        {
        }

        @Override
        public Integer call() throws Exception
        {
            final PrintWriter out = spec.commandLine().getOut();
            final Path dir = Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" :
                System.getProperty("java.io.tmpdir")).resolve("dom0j-bench-" + ProcessHandle.current().pid());
            final boolean fio = !noFio && canRun("fio", "--version");
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
            out.printf(Locale.ROOT, "dom0j bench blk: %d MiB file on tmpfs, %.1f s per case after %.1f s of warm-up, " +
                "serve in its own JVM, guest in this one; baseline: %s%n", sizeMib, seconds, warmup, fio ?
                "fio (libaio, same queue depth, one job per queue) on the same file" : "none (fio not installed)");
            out.printf(Locale.ROOT, "%-28s %10s %9s %12s %9s %10s %9s %12s %7s%n", "case", "dom0j IOPS", "MB/s",
                "CPU us/req", "(serve)", "fio IOPS", "MB/s", "CPU us/req", "ratio");
            out.flush();
            final List<Double> ratios = new ArrayList<>();
            try (SimMachine machine = SimMachine.start(dir))
            {
                final Path disk = dir.resolve("bench.img");
                fillFile(disk, (long)sizeMib << 20);
                try (ServeProcess serve = ServeProcess.start(dir, dir.resolve("serve.log"), "--data-path", dataPath,
                    "--io-engine", ioEngine, mapPageCache ? "--map-page-cache" : "--no-map-page-cache"))
                {
                    int domid = 1;
                    for (final Case c : cases)
                    {
                        if (null != only && !c.label().contains(only))
                        {
                            continue;
                        }
                        final BlockBench.Result r = runGuest(machine, domid++, disk, c, warmupNanos(), serve);
                        final long serveCpu = r.externalCpuNanos();
                        final double cpuPerReq = (r.cpuNanos() + serveCpu) / 1e3 / Math.max(1, r.operations());
                        final double servePerReq = serveCpu / 1e3 / Math.max(1, r.operations());
                        final double[] f = fio ? fio(disk, c) : null;
                        final double ratio = null == f ? Double.NaN : r.iops() / f[0];
                        if (null != f)
                        {
                            ratios.add(ratio);
                        }
                        out.printf(Locale.ROOT, "%-28s %10.0f %9.1f %12.1f %9.1f %10s %9s %12s %7s%n", c.label(),
                            r.iops(), r.megabytesPerSecond(), cpuPerReq, servePerReq,
                            null == f ? "-" : String.format(Locale.ROOT, "%.0f", f[0]),
                            null == f ? "-" : String.format(Locale.ROOT, "%.1f", f[1]),
                            null == f ? "-" : String.format(Locale.ROOT, "%.1f", f[2]),
                            null == f ? "-" : String.format(Locale.ROOT, "%.2f", ratio));
                        out.flush();
                        if (r.errors() > 0)
                        {
                            out.println("  " + r.errors() + " requests failed");
                        }
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
                out.printf(Locale.ROOT, "ratio = dom0j IOPS / fio IOPS, same file, same run; geometric mean %.2f%n",
                    Math.exp(ratios.stream().mapToDouble(Math::log).average().orElse(0)));
                out.println("CPU us/req: dom0j = the guest's thread and the serve process (serve alone in brackets; " +
                    "on Xen the guest runs on its own vCPUs), fio = its jobs");
            }
            out.flush();
            return ExitCodes.OK;
        }

        private long warmupNanos()
        {
            return (long)(warmup * 1e9);
        }

        private static BlockBench.Result runGuest(
            final SimMachine machine, final int domid, final Path disk, final Case c, final long warmupNanos,
            final ServeProcess serve) throws Exception
        {
            final int segments = Math.max(11, c.pattern().blockBytes() / 4096);
            return BlockGuest.withDisk(machine, domid, "bench-" + domid, 65536, disk,
                new SimBlkfront.Options(c.queues(), 0, true, segments),
                front -> BlockBench.run(front, c.pattern(), domid, warmupNanos, serve::cpuNanos));
        }

        /** @return {IOPS, MB/s, CPU microseconds per request} of fio doing the same case natively. */
        private double[] fio(final Path disk, final Case c) throws IOException, InterruptedException
        {
            final List<String> command = List.of("fio", "--name=native", "--filename=" + disk, "--rw=" + c.fioRw(),
                "--bs=" + c.pattern().blockBytes(), "--ioengine=libaio",
                "--iodepth=" + c.pattern().queueDepth() / c.queues(), "--numjobs=" + c.queues(), "--group_reporting",
                "--runtime=" + Math.max(1, Math.round(c.pattern().seconds())), "--time_based",
                "--ramp_time=" + Math.max(0, Math.round(warmup)),
                "--output-format=terse", "--terse-version=3");
            final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0)
            {
                throw new IOException("fio failed: " + output.strip());
            }
            final String line = output.lines().filter(l -> l.startsWith("3;")).findFirst()
                .orElseThrow(() -> new IOException("fio printed no terse line: " + output.strip()));
            final String[] f = line.split(";");
            // Terse v3: 8 read IOPS, 49 write IOPS, 88/89 user/system CPU % per job.
            final double iops = Double.parseDouble(c.pattern().write() ? f[48] : f[7]);
            final double cpuShare = (parsePercent(f[87]) + parsePercent(f[88])) / 100 * c.queues();
            return new double[]{ iops, iops * c.pattern().blockBytes() / 1e6, cpuShare * 1e6 / Math.max(1, iops) };
        }

        private static double parsePercent(final String s)
        {
            return Double.parseDouble(s.replace("%", ""));
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

        private static boolean canRun(final String... command)
        {
            try
            {
                final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
            }
            catch (final IOException | InterruptedException ex)
            {
                return false;
            }
        }

    }
}
