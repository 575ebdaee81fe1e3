package org.dom0j.benchmarks;

import org.HdrHistogram.Histogram;
import org.dom0j.sim.xenstored.SimXenstored;
import org.dom0j.sim.xenstored.SimXenstoredConfig;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XsWatch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.stream.Stream;

/**
 * Round-trip throughput of xenstore READ and WRITE through {@code XenStoreClient}, with 1 and 8 connections (one
 * thread each) and with 8 threads sharing one connection, against the simulator's xenstored (started here) or any
 * xenstored named by {@code XENSTORED_PATH} (C xenstored in the lab). The baseline, measured in the same run, is
 * GET_DOMAIN_PATH: a round trip on which the server does no store work. Then watch-fire latency: the time from
 * calling write() on one connection to the listener running on another, p50/p99 with HdrHistogram.
 * <p>
 * Each throughput case runs three rounds, interleaved with the others, and reports the median.
 * <p>
 * Usage: {@code XenstoreBenchmark [seconds-per-round] [watch-samples]} (defaults 2 and 5000). Main thread only.
 */
public final class XenstoreBenchmark
{
    private static final int ROUNDS = 3;

    private XenstoreBenchmark()
    {
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /**
     * @param args seconds per case, watch samples.
     * @throws Exception when the server cannot start.
     */
    public static void main(final String[] args) throws Exception
    {
        final double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 2.0;
        final int samples = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        final String external = System.getenv(XenStoreClient.PATH_ENV);
        Path tmp = null;
        SimXenstored server = null;
        final Path socket;
        if (null != external && !external.isEmpty())
        {
            socket = Path.of(external);
            System.out.println("xenstored: external, " + socket);
        }
        else
        {
            tmp = Files.createTempDirectory(Path.of("/dev/shm"), "dom0j-bench-");
            server = SimXenstored.start(tmp.resolve("socket"), SimXenstoredConfig.defaults());
            socket = server.socketPath();
            System.out.println("xenstored: dom0j SimXenstored (in this JVM), " + socket);
        }
        try
        {
            try (XenStoreClient setup = XenStoreClient.connect(socket))
            {
                setup.write("/bench/value", "0123456789abcdef0123456789abcdef");
            }
            // warm-up: let the JIT compile client and server paths before anything is measured
            throughput(socket, 2, false, seconds / 2, (xs, id) -> xs.getDomainPath(id));
            throughput(socket, 2, false, seconds / 2, (xs, id) -> xs.read("/bench/value"));
            throughput(socket, 2, false, seconds / 2, (xs, id) -> xs.write("/bench/w" + id, "x"));
            System.out.printf("%-34s %12s %10s%n", "case", "ops/s", "vs base");
            for (final int connections : new int[]{ 1, 8 })
            {
                // rounds alternate the cases so that load from other processes hits them alike; medians reported
                final double[][] r = new double[3][ROUNDS];
                for (int round = 0; round < ROUNDS; round++)
                {
                    r[0][round] = throughput(socket, connections, false, seconds,
                        (xs, id) -> xs.getDomainPath(id));
                    r[1][round] = throughput(socket, connections, false, seconds,
                        (xs, id) -> xs.read("/bench/value"));
                    r[2][round] = throughput(socket, connections, false, seconds,
                        (xs, id) -> xs.write("/bench/w" + id, "x"));
                }
                final double base = median(r[0]);
                report("baseline GET_DOMAIN_PATH, " + connections + " conn", base, base);
                report("read, " + connections + " conn", median(r[1]), base);
                report("write, " + connections + " conn", median(r[2]), base);
            }
            final double shared = throughput(socket, 8, true, seconds, (xs, id) -> xs.read("/bench/value"));
            report("read, 8 threads on 1 conn", shared, Double.NaN);
            watchLatency(socket, samples);
        }
        finally
        {
            if (null != server)
            {
                server.close();
            }
            if (null != tmp)
            {
                try (Stream<Path> s = Files.walk(tmp))
                {
                    s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    private static void report(final String name, final double opsPerSecond, final double base)
    {
        System.out.printf("%-34s %12.0f %10s%n", name, opsPerSecond,
            Double.isNaN(base) ? "" : String.format("%.2f", opsPerSecond / base));
    }

    private static double throughput(final Path socket, final int threads, final boolean shareOneConnection,
        final double seconds, final BiConsumer<XenStoreClient, Integer> op) throws Exception
    {
        final List<XenStoreClient> clients = new ArrayList<>();
        final int connections = shareOneConnection ? 1 : threads;
        for (int i = 0; i < connections; i++)
        {
            clients.add(XenStoreClient.connect(socket));
        }
        final AtomicBoolean measuring = new AtomicBoolean();
        final AtomicBoolean stop = new AtomicBoolean();
        final LongAdder ops = new LongAdder();
        final CyclicBarrier ready = new CyclicBarrier(threads + 1);
        final List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final XenStoreClient xs = clients.get(shareOneConnection ? 0 : t);
            final int id = t;
            final Thread w = new Thread(() ->
            {
                try
                {
                    ready.await();
                }
                catch (final Exception ex)
                {
                    return;
                }
                while (!stop.get())
                {
                    op.accept(xs, id);
                    if (measuring.get())
                    {
                        ops.increment();
                    }
                }
            });
            workers.add(w);
            w.start();
        }
        ready.await();
        TimeUnit.MILLISECONDS.sleep(500);
        measuring.set(true);
        final long start = System.nanoTime();
        TimeUnit.MILLISECONDS.sleep((long)(seconds * 1000));
        measuring.set(false);
        final long elapsed = System.nanoTime() - start;
        stop.set(true);
        for (final Thread w : workers)
        {
            w.join();
        }
        clients.forEach(XenStoreClient::close);
        return ops.sum() * 1e9 / elapsed;
    }

    private static void watchLatency(final Path socket, final int samples) throws Exception
    {
        final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        final SynchronousQueue<Long> fired = new SynchronousQueue<>();
        try (XenStoreClient watcher = XenStoreClient.connect(socket);
            XenStoreClient writer = XenStoreClient.connect(socket))
        {
            writer.mkdir("/bench/watched");
            try (XsWatch w = watcher.watch("/bench/watched", "lat", (path, token) ->
            {
                final long now = System.nanoTime();
                if (!path.equals("/bench/watched"))
                {
                    try
                    {
                        fired.put(now);
                    }
                    catch (final InterruptedException ex)
                    {
                        Thread.currentThread().interrupt();
                    }
                }
            }))
            {
                for (int i = -samples / 5; i < samples; i++)
                {
                    final long before = System.nanoTime();
                    writer.write("/bench/watched/k", Integer.toString(i));
                    final Long at = fired.poll(10, TimeUnit.SECONDS);
                    if (null == at)
                    {
                        throw new IllegalStateException("watch event lost");
                    }
                    if (i >= 0)
                    {
                        histogram.recordValue(at - before);
                    }
                }
            }
        }
        System.out.printf("watch fire latency (write() call to listener, %d samples): p50 %.1f us, p99 %.1f us, " +
            "max %.1f us%n", samples, histogram.getValueAtPercentile(50) / 1e3,
            histogram.getValueAtPercentile(99) / 1e3, histogram.getMaxValue() / 1e3);
    }
}
