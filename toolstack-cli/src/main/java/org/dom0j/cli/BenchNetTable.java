package org.dom0j.cli;

import org.dom0j.sim.guest.NetBench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code dom0j bench net}'s report: the heading (what runs, the baseline), a row per case with what went wrong under
 * it, and the summary (the ratios' geometric mean, what the units and columns mean, and notes gathered from the rows:
 * the receive queues' shares, the veth path's losses).
 * <p>
 * One thread uses it: the command's.
 */
final class BenchNetTable
{
    private static final String COLUMNS = "%-22s %-6s %9s %9s %7s %9s %8s %8s %8s %7s%n";

    private final PrintWriter out;
    private final List<Double> ratios = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    /**
     * @param out where the report goes.
     */
    BenchNetTable(final PrintWriter out)
    {
        this.out = out;
    }

    /**
     * Prints what runs and against which baseline.
     *
     * @param seconds     measured time per case.
     * @param warmup      warm-up per case.
     * @param loadAverage the load average before the bench.
     * @param vethProblem why there is no veth baseline, or null.
     * @param rawUdp      whether the UDP cases' baseline is the AF_PACKET blaster (else iperf3 UDP).
     */
    void printHeading(
        final double seconds, final double warmup, final String loadAverage, final String vethProblem,
        final boolean rawUdp)
    {
        out.printf(Locale.ROOT, "dom0j bench net: %.1f s per case after %.1f s of warm-up; sender and receiver " +
            "guests in this JVM, serve (switch) in its own; load average before: %s%n", seconds, warmup,
            loadAverage);
        out.println("baseline: " + (null != vethProblem ? "none: " + vethProblem : "the kernel between two network " +
            "namespaces over a veth pair: " + (rawUdp ? "UDP frames by a raw AF_PACKET sender and " +
            "receiver (sendmmsg/recvmmsg, 64 frames a call; one pair per queue, receivers in a fanout group)" :
            "UDP by iperf3 -u -l") + "; 64 KiB GSO by iperf3 TCP (GSO/GRO; one pair per queue)"));
    }

    /**
     * @param problem what is missing or was skipped, printed as a note before the table.
     */
    void printNote(final String problem)
    {
        out.println("NOTE: " + problem);
    }

    /**
     * Prints the columns' headers.
     */
    void printColumns()
    {
        out.printf(Locale.ROOT, COLUMNS, "case", "unit", "dom0j", "veth", "ratio", "memcpy", "serve", "dom0j", "veth",
            "lost");
        out.printf(Locale.ROOT, COLUMNS, "", "", "", "", "", "", "us/frame", "us/frame", "us/frame", "");
        out.flush();
    }

    /**
     * Prints one case's row, and under it what the receiver found wrong and whether the guests allocated per frame;
     * keeps its ratio and notes for the summary.
     *
     * @param c      the case.
     * @param r      what dom0j did.
     * @param v      what the kernel did, or null without a veth baseline.
     * @param memcpy frames per second the memcpy baseline copied.
     */
    void printRow(final BenchNetCase c, final NetBench.Result r, final VethResult v, final double memcpy)
    {
        final double dom0jRate = c.rate(r.framesPerSecond());
        final double ratio = null == v ? Double.NaN : dom0jRate / c.rate(v.framesPerSecond());
        if (null != v)
        {
            ratios.add(ratio);
        }
        final double frames = Math.max(1, r.frames());
        final double lost = 100.0 * r.lostFrames() / Math.max(1, r.lostFrames() + r.frames());
        out.printf(Locale.ROOT, "%-22s %-6s %9.3f %9s %7s %9.2f %8.2f %8.2f %8s %6.2f%%%n", c.label(),
            c.unit(), dom0jRate, null == v ? "-" : fmt(c.rate(v.framesPerSecond())),
            null == v ? "-" : String.format(Locale.ROOT, "%.2f", ratio), c.rate(memcpy),
            r.externalCpuNanos() / 1e3 / frames,
            (r.externalCpuNanos() + r.senderCpuNanos() + r.receiverCpuNanos()) / 1e3 / frames,
            null == v ? "-" : String.format(Locale.ROOT, "%.2f", v.cpuPerFrameUs()), lost);
        out.flush();
        if (r.errors() > 0 || r.frames() == 0)
        {
            out.println("  WRONG: " + r.errors() + " frames failed the receiver's checks" +
                (null == r.firstError() ? "" : "; first: " + r.firstError()) +
                (r.frames() == 0 ? "; no frame arrived" : ""));
        }
        if (r.allocatedBytes() >= frames)
        {
            // A one-off allocation (some hundred bytes) is no concern; one per frame would be.
            out.printf(Locale.ROOT, "  ALLOCATES: the guests' threads allocated %d bytes while measured " +
                "(%.1f per frame)%n", r.allocatedBytes(), r.allocatedBytes() / frames);
        }
        if (c.queues() > 1)
        {
            notes.add(String.format(Locale.ROOT, "%s: receive queues took %s of the frames",
                c.label(), shares(r.framesPerRxQueue())));
        }
        if (null != v && v.lostPercent() > 0)
        {
            notes.add(String.format(Locale.ROOT, "%s: the veth path lost %.2f%% of its frames", c.label(),
                v.lostPercent()));
        }
    }

    /**
     * Prints the ratios' geometric mean (when there are ratios), what the units and columns mean, and the notes.
     */
    void printSummary()
    {
        if (!ratios.isEmpty())
        {
            out.printf(Locale.ROOT, "ratio = dom0j / veth, same frames, same run; geometric mean %.2f%n",
                Math.exp(ratios.stream().mapToDouble(Math::log).average().orElse(0)));
        }
        out.println("units: Mfps = million frames received per second; Gbit/s of whole frames (1514 B), of TCP " +
            "payload for 64 KiB GSO; memcpy = one thread per queue copying the same bytes frame by frame, an upper " +
            "bound");
        out.println("us/frame (GSO: per 64 KiB frame): serve = the serve process; dom0j = serve and both guests' " +
            "threads (on Xen the guests run on their own vCPUs); veth = the sending and receiving processes " +
            "(AF_PACKET: softirq time not included; iperf3: its own count); lost = frames missing from the " +
            "receiver's sequence");
        for (final String note : notes)
        {
            out.println(note);
        }
        out.flush();
    }

    private static String fmt(final double v)
    {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String shares(final long[] perQueue)
    {
        long total = 0;
        for (final long n : perQueue)
        {
            total += n;
        }
        final StringBuilder s = new StringBuilder();
        for (int q = 0; q < perQueue.length; q++)
        {
            s.append(q == 0 ? "" : " / ").append(String.format(Locale.ROOT, "%.0f%%",
                100.0 * perQueue[q] / Math.max(1, total)));
        }
        return s.toString();
    }
}
