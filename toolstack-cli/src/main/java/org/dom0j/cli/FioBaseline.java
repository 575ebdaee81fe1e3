package org.dom0j.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code dom0j bench blk}'s baseline: fio doing a case's I/O natively on the same file (or NBD export), with each of
 * the system-call engines (psync, libaio, io_uring), of which the best is the baseline, and with the mmap engine (no
 * system call per request: what the memory allows) as the limit. On tmpfs psync is often the fastest: its 4 KiB
 * pread is a copy from the page cache with nothing to wait for, which the asynchronous engines only wrap.
 * <p>
 * Stateless; one case at a time.
 */
final class FioBaseline
{
    /** fio's engines, in the order they are run. */
    enum Engine
    {
        /** pread/pwrite, one request at a time per job: queue depth 1. */
        PSYNC("psync", false, false),
        /** Linux AIO at the case's queue depth. */
        LIBAIO("libaio", true, false),
        /** io_uring at the case's queue depth. */
        IO_URING("io_uring", true, false),
        /** memcpy to and from a mapping of the file: the limit, not a baseline. */
        MMAP("mmap", false, false),
        /** fio's own NBD client (libnbd) at the case's queue depth, against the export dom0j serves from. */
        NBD("nbd", true, true);

        private final String fioName;
        private final boolean queued;
        private final boolean nbd;

        Engine(final String fioName, final boolean queued, final boolean nbd)
        {
            this.fioName = fioName;
            this.queued = queued;
            this.nbd = nbd;
        }

        String fioName()
        {
            return fioName;
        }
    }

    /**
     * One engine's run.
     *
     * @param engine    which.
     * @param iops      requests per second, all jobs together.
     * @param mbps      megabytes (10^6) per second.
     * @param cpuPerReq CPU microseconds per request (user and system, all jobs).
     */
    record Result(Engine engine, double iops, double mbps, double cpuPerReq)
    {
    }

    /**
     * What a case is compared with.
     *
     * @param best  the fastest system-call engine (or the NBD engine against an export): the baseline.
     * @param limit the mmap engine, or null when not run.
     * @param all   every engine run.
     */
    record Baseline(Result best, Result limit, List<Result> all)
    {
    }

    private FioBaseline()
    {
    }

    /**
     * @return fio's version line, or null when fio cannot be run.
     */
    static String version()
    {
        try
        {
            final Process p = new ProcessBuilder("fio", "--version").redirectErrorStream(true).start();
            final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : null;
        }
        catch (final IOException ex)
        {
            return null;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Runs every engine for a case on a file: psync, libaio and io_uring (the best of which is the baseline), then
     * mmap (the limit).
     *
     * @param file       the file.
     * @param c          the case's shape.
     * @param seconds    measured seconds (whole, at least 1).
     * @param warmup     ramp time in seconds.
     * @return the baseline.
     * @throws IOException when fio fails.
     */
    static Baseline onFile(final Path file, final Shape c, final double seconds, final double warmup)
        throws IOException, InterruptedException
    {
        final List<Result> all = new ArrayList<>();
        Result best = null;
        for (final Engine e : new Engine[]{ Engine.PSYNC, Engine.LIBAIO, Engine.IO_URING })
        {
            final Result r = run(List.of("--filename=" + file), e, c, seconds, warmup);
            all.add(r);
            if (null == best || r.iops() > best.iops())
            {
                best = r;
            }
        }
        final Result limit = run(List.of("--filename=" + file), Engine.MMAP, c, seconds, warmup);
        all.add(limit);
        return new Baseline(best, limit, all);
    }

    /**
     * Runs fio's NBD engine against an export, at the case's queue depth.
     *
     * @param uri     the export, {@code nbd+unix:///?socket=...} or {@code nbd://host:port/}.
     * @param c       the case's shape.
     * @param seconds measured seconds.
     * @param warmup  ramp time in seconds.
     * @return the baseline (no limit).
     * @throws IOException when fio fails.
     */
    static Baseline onNbd(final String uri, final Shape c, final double seconds, final double warmup)
        throws IOException, InterruptedException
    {
        final Result r = run(List.of("--uri=" + uri), Engine.NBD, c, seconds, warmup);
        return new Baseline(r, null, List.of(r));
    }

    /**
     * A case as fio sees it.
     *
     * @param rw         fio's {@code --rw}.
     * @param write      whether it writes (its IOPS are fio's write IOPS).
     * @param blockBytes request size.
     * @param queueDepth requests in flight, all queues together.
     * @param jobs       one job per queue.
     */
    record Shape(String rw, boolean write, int blockBytes, int queueDepth, int jobs)
    {
    }

    private static Result run(
        final List<String> target, final Engine e, final Shape c, final double seconds, final double warmup)
        throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(List.of("fio", "--name=native"));
        command.addAll(List.of("--rw=" + c.rw(), "--bs=" + c.blockBytes(), "--ioengine=" + e.fioName(),
            "--iodepth=" + (e.queued ? Math.max(1, c.queueDepth() / c.jobs()) : 1), "--numjobs=" + c.jobs(),
            "--group_reporting", "--runtime=" + Math.max(1, Math.round(seconds)), "--time_based",
            "--ramp_time=" + Math.max(0, Math.round(warmup)), "--output-format=terse", "--terse-version=3"));
        // After --ioengine: fio knows an engine's own options (the nbd engine's --uri) only once it is chosen.
        command.addAll(target);
        if (e.nbd)
        {
            // fio's NBD engine takes the size from the export; each job is one connection.
            command.add("--size=100%");
        }
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0)
        {
            p.destroyForcibly();
            throw new IOException("fio (" + e.fioName() + ") failed: " + output.strip());
        }
        final String line = output.lines().filter(l -> l.startsWith("3;")).findFirst()
            .orElseThrow(() -> new IOException("fio printed no terse line: " + output.strip()));
        final String[] f = line.split(";");
        // Terse v3: 8 read IOPS, 49 write IOPS, 88/89 user/system CPU % per job.
        final double iops = Double.parseDouble(c.write() ? f[48] : f[7]);
        final double cpuShare = (percent(f[87]) + percent(f[88])) / 100 * c.jobs();
        return new Result(e, iops, iops * c.blockBytes() / 1e6, cpuShare * 1e6 / Math.max(1, iops));
    }

    private static double percent(final String s)
    {
        return Double.parseDouble(s.replace("%", ""));
    }

    /**
     * @return e.g. "psync 408K, libaio 246K, io_uring 234K, mmap 1883K" (under 10K in full: "nbd 234").
     */
    static String describe(final Baseline b)
    {
        final StringBuilder s = new StringBuilder();
        for (final Result r : b.all())
        {
            if (!s.isEmpty())
            {
                s.append(", ");
            }
            s.append(r.iops() >= 10_000 ?
                String.format(Locale.ROOT, "%s %.0fK", r.engine().fioName(), r.iops() / 1e3) :
                String.format(Locale.ROOT, "%s %.0f", r.engine().fioName(), r.iops()));
        }
        return s.toString();
    }
}
