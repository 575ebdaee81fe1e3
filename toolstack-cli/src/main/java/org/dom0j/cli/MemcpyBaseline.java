package org.dom0j.cli;

import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;

/**
 * {@code dom0j bench net}'s memcpy column: the same frames copied between two sets of 256 slots (in cache), one
 * thread per queue, an upper bound of one copy of the same bytes.
 * <p>
 * Stateless: any thread; each call starts and joins its own copying threads.
 */
final class MemcpyBaseline
{
    private static final int MEMCPY_SLOTS = 256;
    private static final double MEMCPY_SECONDS = 0.5;

    private MemcpyBaseline()
    {
    }

    /**
     * Copies frame-sized chunks from one set of slots to another, one thread per queue, as the upper bound of one
     * copy of the same bytes.
     *
     * @param c the case: its frame length and queues.
     * @return frames copied per second, all threads.
     * @throws InterruptedException when interrupted while the threads copy.
     */
    static double framesPerSecond(final BenchNetCase c) throws InterruptedException
    {
        final int length = c.shape().length();
        final int stride = (length + 63) & ~63;
        final long[] copied = new long[c.queues()];
        final long[] elapsed = new long[c.queues()];
        final Thread[] threads = new Thread[c.queues()];
        for (int t = 0; t < threads.length; t++)
        {
            final int index = t;
            threads[t] = new Thread(() ->
            {
                final UnsafeBuffer from = new UnsafeBuffer(ByteBuffer.allocateDirect(stride * MEMCPY_SLOTS));
                final UnsafeBuffer to = new UnsafeBuffer(ByteBuffer.allocateDirect(stride * MEMCPY_SLOTS));
                from.setMemory(0, from.capacity(), (byte)0x5A);
                copy(from, to, length, stride, nanos(MEMCPY_SECONDS / 5));
                final long start = System.nanoTime();
                copied[index] = copy(from, to, length, stride, nanos(MEMCPY_SECONDS));
                elapsed[index] = System.nanoTime() - start;
            }, "bench-net-memcpy-" + t);
            threads[t].start();
        }
        double total = 0;
        for (int t = 0; t < threads.length; t++)
        {
            threads[t].join();
            total += copied[t] * 1e9 / Math.max(1, elapsed[t]);
        }
        return total;
    }

    private static long copy(
        final UnsafeBuffer from, final UnsafeBuffer to, final int length, final int stride, final long nanos)
    {
        final long end = System.nanoTime() + nanos;
        long frames = 0;
        while (System.nanoTime() - end < 0)
        {
            for (int slot = 0; slot < MEMCPY_SLOTS; slot++)
            {
                to.putBytes(slot * stride, from, slot * stride, length);
            }
            frames += MEMCPY_SLOTS;
        }
        return frames;
    }

    private static long nanos(final double s)
    {
        return (long)(s * 1e9);
    }
}
