package org.dom0j.sim.guest;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The guest side of a block benchmark: keeps a fixed number of requests in flight, all of one kind and size,
 * at random (or sequential) block-aligned offsets, for a fixed time: an equal share of the depth on each of the
 * frontend's queues, each refilled as its own requests complete (like one job per vCPU, blk-mq mapping each CPU to
 * its queue, and like the fio baseline's one job of that depth per queue); nothing is
 * verified (that is {@link BlockWorkload}'s job), so what is measured is the data path. Each refill is one batch
 * ({@link SimBlkfront#beginBatch()}), published once per queue as Linux's blk-mq does.
 * <p>
 * Not thread safe: the guest's thread.
 */
public final class BlockBench
{
    /** How long the guest polls for answers before it sleeps ({@link #spinPoll}). */
    static final long SPIN_NANOS = 20_000L;

    /**
     * What to run.
     *
     * @param write      writes, else reads.
     * @param sequential sequential offsets, else random.
     * @param blockBytes bytes per request, a multiple of 4096.
     * @param queueDepth requests in flight, over all queues.
     * @param seconds    how long.
     */
    public record Pattern(boolean write, boolean sequential, int blockBytes, int queueDepth, double seconds)
    {
        /**
         * @return e.g. "randread 4k qd32".
         */
        public String name()
        {
            return (sequential ? "seq" : "rand") + (write ? "write" : "read") + " " +
                (blockBytes >= 1 << 20 ? (blockBytes >> 20) + "m" : (blockBytes >> 10) + "k") + " qd" + queueDepth;
        }
    }

    /**
     * What it did.
     *
     * @param operations   requests answered OK.
     * @param errors       requests answered with an error.
     * @param bytes        bytes moved.
     * @param elapsedNanos wall time.
     * @param cpuNanos     CPU time of the guest's thread.
     * @param externalCpuNanos CPU time another party reported over the same measured interval (the backend's
     *                         process, in {@code dom0j bench}), or 0.
     */
    public record Result(
        long operations, long errors, long bytes, long elapsedNanos, long cpuNanos, long externalCpuNanos)
    {
        /**
         * @return requests per second.
         */
        public double iops()
        {
            return operations * 1e9 / elapsedNanos;
        }

        /**
         * @return MB/s (10^6 bytes).
         */
        public double megabytesPerSecond()
        {
            return bytes * 1e3 / elapsedNanos;
        }
    }

    private BlockBench()
    {
    }

    /**
     * @param front   a connected frontend.
     * @param pattern what to run.
     * @param seed    offsets' seed.
     * @return what it did.
     */
    public static Result run(final SimBlkfront front, final Pattern pattern, final long seed)
    {
        return run(front, pattern, seed, 0, () -> 0);
    }

    /**
     * Runs the pattern for {@code warmupNanos} first, unmeasured (so that both ends' code is compiled, as a native
     * baseline's is from the start), then for the pattern's time, measured.
     *
     * @param front       a connected frontend.
     * @param pattern     what to run.
     * @param seed        offsets' seed.
     * @param warmupNanos how long to run before measuring.
     * @param externalCpu CPU time of another party (nanoseconds), read when measuring starts and ends.
     * @return what it did in the measured part.
     */
    public static Result run(
        final SimBlkfront front, final Pattern pattern, final long seed, final long warmupNanos,
        final LongSupplier externalCpu)
    {
        final int sectors = pattern.blockBytes() / 512;
        if (sectors > front.maxSectorsPerRequest())
        {
            throw new IllegalArgumentException(pattern.blockBytes() + " bytes per request exceed what the frontend " +
                "negotiated (" + front.maxSectorsPerRequest() * 512 + ")");
        }
        final long blocks = front.sectors() / sectors;
        final SplittableRandom random = new SplittableRandom(seed);
        final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        final long[] counts = new long[2];
        final SimBlkfront.Completion completion = (tag, op, status, data) -> counts[status == 0 ? 0 : 1]++;
        long next = 0;
        final long warmupEnd = System.nanoTime() + warmupNanos;
        long cpuStart = threads.getCurrentThreadCpuTime();
        long externalStart = externalCpu.getAsLong();
        long start = System.nanoTime();
        long end = warmupNanos > 0 ? warmupEnd : start + (long)(pattern.seconds() * 1e9);
        boolean warmingUp = warmupNanos > 0;
        final int queues = front.queueCount();
        final int[] depth = new int[queues];
        for (int q = 0; q < queues; q++)
        {
            depth[q] = pattern.queueDepth() / queues + (q < pattern.queueDepth() % queues ? 1 : 0);
        }
        while (true)
        {
            final long now = System.nanoTime();
            if (now >= end)
            {
                if (!warmingUp)
                {
                    break;
                }
                // Warm: from here on it counts (requests in flight now are counted when they complete).
                warmingUp = false;
                counts[0] = 0;
                counts[1] = 0;
                cpuStart = threads.getCurrentThreadCpuTime();
                externalStart = externalCpu.getAsLong();
                start = now;
                end = now + (long)(pattern.seconds() * 1e9);
            }
            front.beginBatch();
            for (int q = 0; q < queues; q++)
            {
                while (front.outstanding(q) < depth[q] && front.canSubmit(q))
                {
                    final long block = pattern.sequential() ? next++ % blocks : random.nextLong(blocks);
                    if (pattern.write())
                    {
                        front.submitWrite(q, block * sectors, sectors, 0);
                    }
                    else
                    {
                        front.submitRead(q, block * sectors, sectors, 0);
                    }
                }
            }
            front.endBatch();
            if (front.poll(completion) == 0 && !spinPoll(front, completion))
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
        final long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (front.outstanding() > 0 && System.nanoTime() < drainUntil)
        {
            if (front.poll(completion) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
        final long elapsed = System.nanoTime() - start;
        return new Result(counts[0], counts[1], counts[0] * pattern.blockBytes(), elapsed,
            threads.getCurrentThreadCpuTime() - cpuStart, externalCpu.getAsLong() - externalStart);
    }

    /**
     * Polls for answers for a short while before the caller sleeps on the event channel. A guest asleep costs the
     * backend a futex wake for each answer that finds it so (a system call and a reschedule of this thread: on the
     * 2-core KVM guest of 5 December, a fifth of serve's time with two queues), where a real guest's vCPU takes an
     * interrupt paid by the hypervisor; answers usually follow within microseconds under load.
     *
     * @return whether answers came.
     */
    private static boolean spinPoll(final SimBlkfront front, final SimBlkfront.Completion completion)
    {
        final long until = System.nanoTime() + SPIN_NANOS;
        do
        {
            for (int i = 0; i < 64; i++)
            {
                Thread.onSpinWait();
            }
            if (front.poll(completion) > 0)
            {
                return true;
            }
        }
        while (System.nanoTime() < until);
        return false;
    }
}
