package org.dom0j.sim;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Short benchmark of the simulator (not a test): map+unmap per page, grant copy against a plain memcpy of the
 * same bytes in the same run, and notify-to-wake latency between two processes. Run with
 * {@code java -cp <xen-sim test classpath> org.dom0j.sim.SimBenchmark [seconds-per-part]}.
 */
public final class SimBenchmark
{
    private static final int GUEST = 11;
    private static final int PAGES = 64;

    private SimBenchmark()
    {
    }

    /**
     * @param args optional: rounds multiplier.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final int scale = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        final Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "dom0j-test-bench-");
        try (SimPlatform platform = SimPlatform.open(dir); GrantTables gnttab = platform.openGrantTables())
        {
            final SimDomain guest = platform.host().createDomain(GUEST, 1024);
            final int[] refs = new int[PAGES];
            for (int i = 0; i < PAGES; i++)
            {
                refs[i] = guest.grantAccess(0, guest.allocatePage(), false);
            }
            mapUnmap(gnttab, refs, 1, 20_000 * scale);
            mapUnmap(gnttab, refs, 16, 4_000 * scale);
            copy(gnttab, refs, 2_000 * scale);
            notifyToWake(platform, dir, 5_000 * scale);
        }
        finally
        {
            try (Stream<Path> walk = Files.walk(dir))
            {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void mapUnmap(final GrantTables gnttab, final int[] refs, final int batch, final int rounds)
    {
        long sink = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            final long start = System.nanoTime();
            for (int i = 0; i < rounds; i++)
            {
                try (GrantMapping m = gnttab.map(GUEST, refs, batch, true))
                {
                    sink += m.buffer().getByte(0);
                }
            }
            final long ns = System.nanoTime() - start;
            if (pass == 1)
            {
                System.out.printf("map+unmap %2d page(s) at a time: %7.0f ns per page (%d maps)%n",
                    batch, (double)ns / ((long)rounds * batch), rounds);
            }
        }
        if (sink != 0)
        {
            System.out.println(sink);
        }
    }

    private static void copy(final GrantTables gnttab, final int[] refs, final int rounds)
    {
        final int ops = 16;
        final UnsafeBuffer local = new UnsafeBuffer(ByteBuffer.allocateDirect(ops * 4096));
        final UnsafeBuffer source = new UnsafeBuffer(ByteBuffer.allocateDirect(ops * 4096));
        final GrantCopyBatch batch = new GrantCopyBatch(ops);
        for (int pass = 0; pass < 3; pass++)
        {
            long start = System.nanoTime();
            for (int r = 0; r < rounds; r++)
            {
                batch.clear();
                for (int i = 0; i < ops; i++)
                {
                    batch.addFromForeign(GUEST, refs[i], 0, local.addressOffset() + i * 4096L, 4096);
                }
                gnttab.copy(batch);
            }
            final long copyNs = System.nanoTime() - start;
            if (!batch.allOkay())
            {
                throw new IllegalStateException("copy failed");
            }
            start = System.nanoTime();
            for (int r = 0; r < rounds; r++)
            {
                for (int i = 0; i < ops; i++)
                {
                    local.putBytes(i * 4096, source, i * 4096, 4096);
                }
            }
            final long memcpyNs = System.nanoTime() - start;
            if (pass == 2)
            {
                final double bytes = (double)rounds * ops * 4096;
                System.out.printf("grant copy (batches of %d x 4 KiB): %6.2f GB/s; " +
                    "memcpy of the same bytes: %6.2f GB/s; grant copy takes %.2fx the time of memcpy%n",
                    ops, bytes / copyNs, bytes / memcpyNs, (double)copyNs / memcpyNs);
            }
        }
    }

    private static void notifyToWake(final SimPlatform platform, final Path dir, final int rounds) throws Exception
    {
        try (EventChannels evtchn = platform.openEventChannels(); GuestProcess guest = new GuestProcess(dir, GUEST))
        {
            final int guestPort = Integer.parseInt(guest.ok("unbound 0"));
            final int port = evtchn.bindInterdomain(GUEST, guestPort);
            evtchn.unmask(evtchn.pending(TimeUnit.SECONDS.toNanos(1)));
            final int warm = 2_000;
            guest.send("echo " + guestPort + " " + (rounds + warm));
            final long[] rtt = new long[rounds];
            for (int i = 0; i < rounds + warm; i++)
            {
                final long start = System.nanoTime();
                evtchn.notify(port);
                final int p = evtchn.pending(TimeUnit.SECONDS.toNanos(10));
                final long end = System.nanoTime();
                if (p != port)
                {
                    throw new IllegalStateException("no echo at round " + i);
                }
                evtchn.unmask(port);
                if (i >= warm)
                {
                    rtt[i - warm] = end - start;
                }
            }
            guest.reply();

            // One way: we store System.nanoTime (CLOCK_MONOTONIC, the same clock in both processes) in a page of
            // the guest just before notifying; the guest subtracts it from the time it woke.
            final SimDomain domain = platform.host().domain(GUEST);
            final int frame = domain.allocatePage();
            final UnsafeBuffer page = domain.page(frame);
            guest.send("latency " + guestPort + " " + frame + " " + rounds);
            for (int i = 0; i < rounds; i++)
            {
                page.putLongVolatile(0, System.nanoTime());
                evtchn.notify(port);
                if (evtchn.pending(TimeUnit.SECONDS.toNanos(10)) != port)
                {
                    throw new IllegalStateException("no ack at round " + i);
                }
                evtchn.unmask(port);
            }
            final String[] oneWay = guest.reply().split(" ");
            System.out.printf("notify-to-wake one way (sender's clock to the woken guest thread): p50 %.1f us, " +
                "p99 %.1f us, max %.1f us over %d%n", Long.parseLong(oneWay[1]) / 1e3, Long.parseLong(oneWay[2]) / 1e3,
                Long.parseLong(oneWay[3]) / 1e3, rounds);
            Arrays.sort(rtt);
            System.out.printf("notify-to-wake across processes (blocking futex wait on both sides): round trip " +
                "p50 %.1f us, p99 %.1f us, max %.1f us over %d%n",
                rtt[rounds / 2] / 1e3, rtt[rounds * 99 / 100] / 1e3, rtt[rounds - 1] / 1e3, rounds);
        }
    }
}
