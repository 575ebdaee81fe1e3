package org.dom0j.cli;

import org.agrona.IoUtil;
import org.dom0j.backend.CountersFile;
import org.dom0j.blkback.jna.NativeFile;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.BlockGuest;
import org.dom0j.sim.guest.BlockWorkload;
import org.dom0j.sim.guest.NetWorkload;
import org.dom0j.sim.guest.SimBlkfront;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code dom0j demo}: the whole thing on any Linux machine. Starts a simulated Xen machine, runs
 * {@code dom0j serve} in a separate process as dom0's backend service, creates a guest with a disk whose
 * Linux-like blkfront negotiates with it and runs seeded random I/O verified as it goes, and at the same time two
 * guests with network interfaces whose Linux-like netfronts negotiate with it, joined by serve's switch, that ping
 * each other and move verified streams both ways; a live progress line shows both; then everything stops cleanly
 * and a summary prints each guest's totals beside the backend's own counters for it, read once the guests' traffic
 * had ended (so they are final).
 */
@Command(
    name = "demo",
    description = "Simulated machine + 'dom0j serve' (its own process) + a guest doing verified random disk I/O + " +
        "two guests pinging and streaming verified data to each other through serve's switch.",
    footer = { "", "Example:", "  dom0j demo --seconds 5 --seed 42" })
final class DemoCommand implements Callable<Integer>
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Option(names = "--seconds", defaultValue = "5",
        description = "How long the guest runs. Default: ${DEFAULT-VALUE}.")
    private double seconds;

    @Option(names = "--seed", description = "Workload seed (default: random, printed).")
    private Long seed;

    @Option(names = "--queues", defaultValue = "2",
        description = "Queues the guest asks for. Default: ${DEFAULT-VALUE}.")
    private int queues;

    @Option(names = "--size-mib", defaultValue = "64", description = "Disk size. Default: ${DEFAULT-VALUE}.")
    private int sizeMib;

    @Option(names = "--keep", description = "Keep the machine directory (disk image, logs) afterwards.")
    private boolean keep;

    @Option(names = "--no-net", description = "Leave out the two network guests.")
    private boolean noNet;

    @Override
    public Integer call() throws Exception
    {
        final PrintWriter out = spec.commandLine().getOut();
        final Path base = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(
            System.getProperty("java.io.tmpdir"));
        final Path dir = base.resolve("dom0j-demo-" + ProcessHandle.current().pid());
        final long s = null != seed ? seed : System.nanoTime() & 0xFFFF_FFFFL;
        out.println("dom0j demo: simulated Xen machine in " + dir);
        out.flush();
        ServeProcess serve = null;
        int exit = ExitCodes.FAILURE;
        try (SimMachine machine = SimMachine.start(dir))
        {
            serve = ServeProcess.start(dir, dir.resolve("serve.log"));
            out.println("dom0j demo: 'dom0j serve' is running as process " + serve.pid() + " (log " + serve.log() +
                ")");
            final Path disk = NativeFile.createSparse(dir.resolve("disk.img"), (long)sizeMib << 20);
            out.println("dom0j demo: guest 1 with a " + sizeMib + " MiB disk; seed " + s + "; running " + seconds +
                " s of verified random I/O (50% reads, 4-32 KiB, flush every 200 writes, some discards)");
            out.flush();
            final Map<String, Long> backend = new TreeMap<>();
            final DemoNetwork network = noNet ? null : new DemoNetwork(machine, dir.resolve("counters"), s,
                seconds, queues);
            if (null != network)
            {
                out.println("dom0j demo: guests 2 (10.0.0.2) and 3 (10.0.0.3) with a network interface each, joined " +
                    "by serve's switch: pings and verified TCP-like streams both ways");
                out.flush();
                network.start();
            }
            final BlockGuest.Result result;
            try (CountersFile counters = CountersFile.openForReading(dir.resolve("counters")))
            {
                // The queues' counters go away with the device, so the last reading taken while it runs is kept.
                result = BlockGuest.run(machine, 1, disk, new SimBlkfront.Options(queues, 2, true, 32), s, 50, 8,
                    seconds, (elapsed, stats) ->
                    {
                        progressLine(out, elapsed, stats, network);
                        snapshot(counters, backend);
                    });
            }
            final boolean netOk = null == network || network.finish();
            printResult(out, result);
            if (null != network)
            {
                network.printResults(out);
            }
            out.println("backend (dom0j serve's counters, all queues): " + backend);
            final String disagreement = disagreement(result.stats(), backend);
            out.println(null == disagreement ? "dom0j demo: the guest's totals and serve's counters agree" :
                "dom0j demo: the guest's totals and serve's counters DISAGREE: " + disagreement);
            if (null != network)
            {
                network.printBackend(out);
            }
            final boolean stoppedCleanly = serve.stop();
            out.println("dom0j demo: 'dom0j serve' " + (stoppedCleanly ? "stopped cleanly" : "did NOT stop cleanly") +
                "; machine stopped");
            final boolean ok = stoppedCleanly && netOk && null == result.mismatch() && result.stats().errors == 0 &&
                null == disagreement;
            out.println(ok ? "dom0j demo: OK" : "dom0j demo: FAILED");
            exit = ok ? ExitCodes.OK : ExitCodes.FAILURE;
        }
        finally
        {
            if (null != serve)
            {
                serve.close();
            }
            if (!keep)
            {
                IoUtil.delete(dir.toFile(), true);
            }
            out.flush();
        }
        return exit;
    }

    static void progressLine(final PrintWriter out, final long elapsedNanos, final BlockWorkload.Stats stats)
    {
        progressLine(out, elapsedNanos, stats, null);
    }

    static void progressLine(
        final PrintWriter out, final long elapsedNanos, final BlockWorkload.Stats stats, final DemoNetwork network)
    {
        final double secondsNow = elapsedNanos / 1e9;
        if (null == network)
        {
            out.printf(Locale.ROOT, "\r  %5.1f s  %9d ops  %9.0f IOPS  %8.1f MB/s  %d errors  %d mismatches   ",
                secondsNow, stats.operations(), stats.operations() / secondsNow, stats.bytes / 1e6 / secondsNow,
                stats.errors, stats.mismatches);
        }
        else
        {
            out.printf(Locale.ROOT, "\r  %5.1f s  disk %7.0f IOPS %7.1f MB/s%s  %d errors  %d mismatches   ",
                secondsNow, stats.operations() / secondsNow, stats.bytes / 1e6 / secondsNow,
                network.progress(secondsNow), stats.errors + network.errors(),
                stats.mismatches + network.mismatches());
        }
        out.flush();
    }

    /**
     * @param out    where to.
     * @param name   e.g. "guest 2".
     * @param result a network guest's outcome.
     */
    static void printNetResult(final PrintWriter out, final String name, final NetWorkload.Result result)
    {
        final NetWorkload.Stats st = result.stats();
        out.printf(Locale.ROOT, "%s: %d frames sent, %d received in %.2f s; %.1f MB of stream verified (%.1f MB/s); " +
            "%d pings answered of %d (rtt min/mean/max %.0f/%.0f/%.0f us); %d errors; %d mismatches; %d queue(s)%s, " +
            "seed %d%n", name, st.txFrames, st.rxFrames, result.elapsedNanos() / 1e9, st.verifiedBytes / 1e6,
            result.megabytesPerSecond(), st.pingReplies, st.pingsSent, st.rttMinNanos / 1e3, st.rttMeanNanos / 1e3,
            st.rttMaxNanos / 1e3, st.errors, st.mismatches, result.queues(), result.gso() ? ", GSO" : "",
            result.seed());
        if (null != result.problem())
        {
            out.println(name + ": PROBLEM: " + result.problem());
        }
        out.flush();
    }

    static void printResult(final PrintWriter out, final BlockGuest.Result result)
    {
        final BlockWorkload.Stats st = result.stats();
        out.println();
        out.printf(Locale.ROOT, "guest: %d requests in %.2f s: %.0f IOPS, %.1f MB/s; %d reads, %d writes, " +
            "%d flushes, %d discards; %d errors; %d blocks read back and checked wrong%n", st.operations(),
            result.elapsedNanos() / 1e9, result.iops(), result.megabytesPerSecond(), st.reads, st.writes, st.flushes,
            st.discards, st.errors, st.mismatches);
        out.printf(Locale.ROOT, "guest: %d queue(s), %s, seed %d%n", result.queues(),
            result.persistent() ? "persistent grants" : "grant copy (no persistent grants)", result.seed());
        if (null != result.mismatch())
        {
            out.println("guest: PROBLEM: " + result.mismatch());
        }
        out.flush();
    }

    /**
     * @return what serve counted differently from what the guest saw answered (read after the last answer, so both are
     *         final), or null when every total agrees.
     */
    static String disagreement(final BlockWorkload.Stats guest, final Map<String, Long> backend)
    {
        final StringBuilder s = new StringBuilder();
        compare(s, "reads", guest.reads, backend.get("rd_req"));
        compare(s, "writes", guest.writes, backend.get("wr_req"));
        compare(s, "flushes", guest.flushes, backend.get("f_req"));
        compare(s, "discards", guest.discards, backend.get("ds_req"));
        compare(s, "errors", guest.errors, backend.get("errors"));
        return s.isEmpty() ? null : s.toString();
    }

    private static void compare(final StringBuilder s, final String what, final long guest, final Long backend)
    {
        if (null == backend || backend != guest)
        {
            s.append(s.isEmpty() ? "" : "; ").append(what).append(": guest ").append(guest).append(", serve ")
                .append(backend);
        }
    }

    private static void snapshot(final CountersFile counters, final Map<String, Long> into)
    {
        into.clear();
        counters.reader().forEach((value, id, label) ->
        {
            if (label.startsWith("blkback-"))
            {
                into.merge(label.substring(label.indexOf(' ') + 1), value, Long::sum);
            }
        });
    }
}
