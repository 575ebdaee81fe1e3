package org.dom0j.cli;

import org.dom0j.backend.CountersFile;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.NetFrames;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.NetWorkload;
import org.dom0j.sim.guest.SimNetfront;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The demo's network part: guests 2 and 3, each with a vif whose Linux-like netfront negotiates with serve, ping each
 * other and move verified streams both ways through serve's switch for the demo's time. Once both have stopped
 * sending and drained, and before either disconnects, serve's counters for their vifs are read: nothing moves any
 * more, so they are final, and they can be set beside what each guest counted.
 * <p>
 * Its two guests run on threads of their own; {@link #progress} may be called from any thread.
 */
final class DemoNetwork
{
    private static final int[] DOMIDS = { 2, 3 };

    private final SimMachine machine;
    private final Path countersPath;
    private final long seed;
    private final double seconds;
    private final int queues;
    private final AtomicReferenceArray<NetWorkload.Stats> live = new AtomicReferenceArray<>(2);
    private final CyclicBarrier drained = new CyclicBarrier(2);
    private final CyclicBarrier read = new CyclicBarrier(2);
    private final Map<String, Map<String, Long>> backend = new TreeMap<>();
    private final ExecutorService pool = Executors.newFixedThreadPool(2, r ->
    {
        final Thread t = new Thread(r, "demo-net-guest");
        t.setDaemon(true);
        return t;
    });
    private final NetWorkload.Result[] results = new NetWorkload.Result[2];
    private final String[] failures = new String[2];
    private Future<?>[] guests;

    DemoNetwork(final SimMachine machine, final Path countersPath, final long seed, final double seconds,
        final int queues)
    {
        this.machine = machine;
        this.countersPath = countersPath;
        this.seed = seed;
        this.seconds = seconds;
        this.queues = queues;
    }

    void start()
    {
        guests = new Future<?>[2];
        for (int i = 0; i < 2; i++)
        {
            final int me = i;
            guests[i] = pool.submit(() -> runGuest(me));
        }
    }

    private Void runGuest(final int me) throws Exception
    {
        final int domid = DOMIDS[me];
        final int ip = NetFrames.parseIpv4("10.0.0." + domid);
        final int peer = NetFrames.parseIpv4("10.0.0." + DOMIDS[1 - me]);
        results[me] = NetGuest.withVif(machine, domid, "net-guest-" + domid, 16_384, "0",
            NetGuest.defaultMac(domid, "0"), SimNetfront.Options.linuxDefaults().withQueues(queues), front ->
            {
                final NetWorkload workload = new NetWorkload(front, ip, peer, seed, 10);
                live.set(me, workload.stats());
                final NetWorkload.Result result = workload.run(seconds, null);
                try
                {
                    // Both guests have stopped sending and drained: serve's counters for their vifs are final now.
                    drained.await(30, TimeUnit.SECONDS);
                    if (me == 0)
                    {
                        snapshot();
                    }
                    read.await(30, TimeUnit.SECONDS);
                }
                catch (final InterruptedException | BrokenBarrierException | TimeoutException ex)
                {
                    Thread.currentThread().interrupt();
                }
                return result;
            });
        return null;
    }

    private void snapshot()
    {
        try (CountersFile counters = CountersFile.openForReading(countersPath))
        {
            counters.reader().forEach((value, id, label) ->
            {
                if (label.startsWith("vif "))
                {
                    final int space = label.lastIndexOf(' ');
                    final String vif = label.substring(4, label.indexOf(' ', 4));
                    backend.computeIfAbsent(vif, k -> new TreeMap<>()).merge(label.substring(space + 1), value,
                        Long::sum);
                }
            });
        }
    }

    /**
     * @param secondsNow time since the start.
     * @return the network's part of the progress line.
     */
    String progress(final double secondsNow)
    {
        long bytes = 0;
        long pings = 0;
        for (int i = 0; i < 2; i++)
        {
            final NetWorkload.Stats s = live.get(i);
            if (null != s)
            {
                bytes += s.verifiedBytes;
                pings += s.pingReplies;
            }
        }
        return String.format(Locale.ROOT, " | net %6.1f MB/s %5d pings", bytes / 1e6 / Math.max(secondsNow, 1e-3),
            pings);
    }

    /**
     * @return errors both guests counted so far.
     */
    long errors()
    {
        long n = 0;
        for (int i = 0; i < 2; i++)
        {
            final NetWorkload.Stats s = live.get(i);
            n += null == s ? 0 : s.errors;
        }
        return n;
    }

    /**
     * @return stream and ping bytes both guests found wrong so far.
     */
    long mismatches()
    {
        long n = 0;
        for (int i = 0; i < 2; i++)
        {
            final NetWorkload.Stats s = live.get(i);
            n += null == s ? 0 : s.mismatches;
        }
        return n;
    }

    /**
     * Waits for both guests.
     *
     * @return whether both verified everything and had no problem.
     */
    boolean finish()
    {
        boolean ok = true;
        for (int i = 0; i < 2; i++)
        {
            try
            {
                guests[i].get((long)(seconds * 1000) + 60_000, TimeUnit.MILLISECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                ok = false;
            }
            catch (final ExecutionException | TimeoutException ex)
            {
                failures[i] = String.valueOf(ex.getCause() != null ? ex.getCause() : ex);
                ok = false;
            }
        }
        pool.shutdownNow();
        for (int i = 0; i < 2; i++)
        {
            ok &= null != results[i] && null == results[i].problem() && results[i].stats().errors == 0 &&
                results[i].stats().mismatches == 0;
        }
        return ok;
    }

    /**
     * Prints both guests' results.
     *
     * @param out where to.
     */
    void printResults(final PrintWriter out)
    {
        for (int i = 0; i < 2; i++)
        {
            if (null != results[i])
            {
                DemoCommand.printNetResult(out, "guest " + DOMIDS[i], results[i]);
            }
            else
            {
                out.println("guest " + DOMIDS[i] + ": FAILED: " + failures[i]);
            }
        }
        out.flush();
    }

    /**
     * Prints serve's final counters for each vif beside what its guest counted.
     *
     * @param out where to.
     */
    void printBackend(final PrintWriter out)
    {
        for (int i = 0; i < 2; i++)
        {
            final Map<String, Long> c = backend.get(DOMIDS[i] + "/0");
            if (null == c || null == results[i])
            {
                continue;
            }
            final NetWorkload.Stats s = results[i].stats();
            out.printf(Locale.ROOT, "backend vif%d.0 (serve's final counters, all queues): tx_packets %d (the guest " +
                "sent %d), rx_packets %d (the guest received %d), tx_errors %d, tx_dropped %d, rx_dropped %d, " +
                "gso_segmented %d, checksum_fixups %d%n", DOMIDS[i], c.getOrDefault("tx_packets", 0L), s.txFrames,
                c.getOrDefault("rx_packets", 0L), s.rxFrames, c.getOrDefault("tx_errors", 0L),
                c.getOrDefault("tx_dropped", 0L), c.getOrDefault("rx_dropped", 0L),
                c.getOrDefault("gso_segmented", 0L), c.getOrDefault("checksum_fixups", 0L));
        }
        out.flush();
    }
}
