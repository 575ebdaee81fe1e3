package org.dom0j.sim.guest;

import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A whole simulated guest with one disk: created in the machine as {@code xl create} would, the disk attached as
 * {@code xl block-attach} would, its blkfront connected, a seeded verified random workload run for a while, and
 * the disk detached cleanly. What {@code dom0j sim guest} and {@code dom0j demo} run.
 * <p>
 * Not thread safe: runs on the caller's thread.
 */
public final class BlockGuest
{
    /**
     * Told about progress about four times a second, and once more when every request has been answered, before the
     * disk is disconnected.
     */
    @FunctionalInterface
    public interface Progress
    {
        /**
         * @param elapsedNanos time since the workload started.
         * @param stats        totals so far.
         */
        void onProgress(long elapsedNanos, BlockWorkload.Stats stats);
    }

    /**
     * The outcome.
     *
     * @param stats        totals.
     * @param elapsedNanos how long the workload ran.
     * @param mismatch     the first mismatch, or null.
     * @param seed         the seed.
     * @param queues       queues negotiated.
     * @param persistent   persistent grants negotiated.
     * @param shutdownReason the SHUTDOWN_* reason the guest shut down with when the toolstack asked it to (see
     *                     {@link ShutdownWatcher}), or -1 when the workload ran its time.
     */
    public record Result(
        BlockWorkload.Stats stats, long elapsedNanos, String mismatch, long seed, int queues, boolean persistent,
        int shutdownReason)
    {
        /**
         * @return requests answered per second.
         */
        public double iops()
        {
            return stats.operations() * 1e9 / Math.max(1, elapsedNanos);
        }

        /**
         * @return MB/s of data read and written (10^6 bytes).
         */
        public double megabytesPerSecond()
        {
            return stats.bytes * 1e3 / Math.max(1, elapsedNanos);
        }
    }

    private BlockGuest()
    {
    }

    /**
     * @param machine      the machine (started or joined).
     * @param domid        the new guest's domid.
     * @param disk         the backing file for its disk (must exist).
     * @param options      what its blkfront asks for.
     * @param seed         workload seed.
     * @param readPercent  share of reads.
     * @param maxBlocks    most 4 KiB blocks per request.
     * @param seconds      how long to run.
     * @param progress     told about progress, or null.
     * @return what happened.
     * @throws TimeoutException     when the backend did not connect or close in time.
     * @throws InterruptedException when interrupted.
     */
    public static Result run(
        final SimMachine machine,
        final int domid,
        final Path disk,
        final SimBlkfront.Options options,
        final long seed,
        final int readPercent,
        final int maxBlocks,
        final double seconds,
        final Progress progress) throws TimeoutException, InterruptedException
    {
        return run(machine, domid, disk.toString(), options, seed, readPercent, maxBlocks, seconds, progress);
    }

    /**
     * {@link #run(SimMachine, int, Path, SimBlkfront.Options, long, int, int, double, Progress)} with the disk named
     * as the toolstack names it in {@code params}: a path, or an NBD URI ({@code nbd+unix:///export?socket=...}).
     *
     * @param machine      the machine (started or joined).
     * @param domid        the new guest's domid.
     * @param params       the disk's {@code params}.
     * @param options      what its blkfront asks for.
     * @param seed         workload seed.
     * @param readPercent  share of reads.
     * @param maxBlocks    most 4 KiB blocks per request.
     * @param seconds      how long to run.
     * @param progress     told about progress, or null.
     * @return what happened.
     * @throws TimeoutException     when the backend did not connect or close in time.
     * @throws InterruptedException when interrupted.
     */
    public static Result run(
        final SimMachine machine,
        final int domid,
        final String params,
        final SimBlkfront.Options options,
        final long seed,
        final int readPercent,
        final int maxBlocks,
        final double seconds,
        final Progress progress) throws TimeoutException, InterruptedException
    {
        return run(machine, domid, "demo-guest-" + domid, params, options, seed, readPercent, maxBlocks, seconds,
            progress, false);
    }

    /**
     * {@link #run(SimMachine, int, String, SimBlkfront.Options, long, int, int, double, Progress)} for a guest with a
     * name that may also answer the toolstack's shutdown requests ({@link ShutdownWatcher}): asked to power off or
     * reboot, it stops its workload, lets every request be answered, and shuts down with the reason before its disk
     * is detached and the domain destroyed ({@link Result#shutdownReason()}).
     *
     * @param machine        the machine (started or joined).
     * @param domid          the new guest's domid.
     * @param name           its name.
     * @param params         the disk's {@code params}.
     * @param options        what its blkfront asks for.
     * @param seed           workload seed.
     * @param readPercent    share of reads.
     * @param maxBlocks      most 4 KiB blocks per request.
     * @param seconds        how long to run; 0 or less: until asked to shut down.
     * @param progress       told about progress, or null.
     * @param answerShutdown whether it answers {@code control/shutdown}.
     * @return what happened.
     * @throws TimeoutException     when the backend did not connect or close in time.
     * @throws InterruptedException when interrupted.
     */
    public static Result run(
        final SimMachine machine,
        final int domid,
        final String name,
        final String params,
        final SimBlkfront.Options options,
        final long seed,
        final int readPercent,
        final int maxBlocks,
        final double seconds,
        final Progress progress,
        final boolean answerShutdown) throws TimeoutException, InterruptedException
    {
        if (seconds <= 0 && !answerShutdown)
        {
            throw new IllegalArgumentException("a guest that does not answer shutdown requests needs a time to run");
        }
        return withDisk(machine, domid, name, 32768, params, options, front ->
        {
            try (XenStore guestStore = answerShutdown ? machine.connectAsGuest(domid) : null;
                ShutdownWatcher shutdown = answerShutdown ? ShutdownWatcher.start(guestStore) : null)
            {
                return runWorkload(machine, domid, front, seed, readPercent, maxBlocks, seconds, progress, shutdown);
            }
        });
    }

    private static Result runWorkload(
        final SimMachine machine,
        final int domid,
        final SimBlkfront front,
        final long seed,
        final int readPercent,
        final int maxBlocks,
        final double seconds,
        final Progress progress,
        final ShutdownWatcher shutdown)
    {
        final BlockWorkload workload = new BlockWorkload(front, seed, readPercent, maxBlocks, 200, true);
        final long start = System.nanoTime();
        final long end = seconds > 0 ? start + (long)(seconds * 1e9) : Long.MAX_VALUE;
        long nextReport = start + TimeUnit.MILLISECONDS.toNanos(250);
        long now = start;
        while (now - end < 0 && null == front.violation() && workload.stats().mismatches == 0 &&
            (null == shutdown || null == shutdown.request()))
        {
            workload.submitSome();
            if (front.poll(workload) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(5));
            }
            now = System.nanoTime();
            if (null != progress && now >= nextReport)
            {
                progress.onProgress(now - start, workload.stats());
                nextReport = now + TimeUnit.MILLISECONDS.toNanos(250);
            }
        }
        final long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (front.outstanding() > 0 && System.nanoTime() < drainUntil)
        {
            if (front.poll(workload) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }
        final long elapsed = System.nanoTime() - start;
        if (null != progress)
        {
            // Every request is answered now (or never will be): the last report's totals are final, and the
            // backend's counters, still there while the device is, count exactly what the guest saw answered.
            progress.onProgress(elapsed, workload.stats());
        }
        final String problem;
        if (null != front.violation())
        {
            problem = "backend broke the protocol: " + front.violation();
        }
        else if (front.outstanding() > 0)
        {
            problem = front.outstanding() + " requests never answered";
        }
        else
        {
            problem = workload.firstMismatch();
        }
        final int reason = null == shutdown ? -1 : shutdown.reason();
        if (reason >= 0)
        {
            // SCHEDOP_shutdown: what the toolstack sees until the domain is destroyed.
            machine.shutdown(domid, reason);
        }
        return new Result(workload.stats(), elapsed, problem, seed, front.queueCount(), front.isPersistent(),
            reason);
    }

    /**
     * What a guest does with its connected disk.
     *
     * @param <T> what it returns.
     */
    @FunctionalInterface
    public interface Session<T>
    {
        /**
         * @param front the connected frontend.
         * @return the outcome.
         */
        T run(SimBlkfront front);
    }

    /**
     * Creates a guest, attaches {@code disk} as xvda (51712) as {@code xl block-attach} would, connects its
     * blkfront, runs {@code session}, disconnects, detaches the disk once the backend has closed, and destroys
     * the guest, whatever happened.
     *
     * @param machine the machine (started or joined).
     * @param domid   the new guest's domid.
     * @param name    its name.
     * @param pages   its memory in 4 KiB pages.
     * @param disk    the backing file (must exist).
     * @param options what its blkfront asks for.
     * @param session what to do with the disk.
     * @param <T>     what the session returns.
     * @return what the session returned.
     * @throws TimeoutException     when the backend did not connect or close in time.
     * @throws InterruptedException when interrupted.
     */
    public static <T> T withDisk(
        final SimMachine machine,
        final int domid,
        final String name,
        final int pages,
        final Path disk,
        final SimBlkfront.Options options,
        final Session<T> session) throws TimeoutException, InterruptedException
    {
        return withDisk(machine, domid, name, pages, disk.toString(), options, session);
    }

    /**
     * {@link #withDisk(SimMachine, int, String, int, Path, SimBlkfront.Options, Session)} with the disk named as the
     * toolstack names it in {@code params} (libxl writes the disk line's {@code target=} there): a path, or an NBD
     * URI, {@code nbd://host[:port]/export} or {@code nbd+unix:///export?socket=/path}.
     *
     * @param machine the machine (started or joined).
     * @param domid   the new guest's domid.
     * @param name    its name.
     * @param pages   its memory in 4 KiB pages.
     * @param params  the disk's {@code params}.
     * @param options what its blkfront asks for.
     * @param session what to do with the disk.
     * @param <T>     what the session returns.
     * @return what the session returned.
     * @throws TimeoutException     when the backend did not connect or close in time.
     * @throws InterruptedException when interrupted.
     */
    public static <T> T withDisk(
        final SimMachine machine,
        final int domid,
        final String name,
        final int pages,
        final String params,
        final SimBlkfront.Options options,
        final Session<T> session) throws TimeoutException, InterruptedException
    {
        final SimDomain guest = machine.createGuest(domid, name, pages);
        try
        {
            XenbusDevices.attach(machine.xenStore(), 0, "vbd", domid, "51712",
                Map.of("params", params, "mode", "w", "type", "phy", "dev", "xvda", "device-type", "disk",
                    "removable", "0", "discard-enable", "1"),
                Map.of("virtual-device", "51712", "device-type", "disk"));
            try (XenStore xs = machine.connectAsGuest(domid))
            {
                final SimBlkfront front = SimBlkfront.connect(guest, xs, "51712", options, 15_000);
                final T result = session.run(front);
                front.disconnect(10_000);
                return result;
            }
        }
        finally
        {
            XenbusDevices.requestDetach(machine.xenStore(), 0, "vbd", domid, "51712");
            waitForBackendClosed(machine.xenStore(), XenbusDevices.backendPath(0, "vbd", domid, "51712"));
            XenbusDevices.remove(machine.xenStore(), 0, "vbd", domid, "51712");
            machine.destroyGuest(domid);
        }
    }

    private static void waitForBackendClosed(final XenStore xs, final String backendPath) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline)
        {
            final String state = xs.readOrNull(backendPath + "/state");
            if (null == state || "6".equals(state))
            {
                return;
            }
            Thread.sleep(5);
        }
    }
}
