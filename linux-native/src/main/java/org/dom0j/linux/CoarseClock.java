package org.dom0j.linux;

import java.nio.ByteBuffer;

/**
 * {@code CLOCK_MONOTONIC_COARSE}: {@code CLOCK_MONOTONIC} (what {@link System#nanoTime()} reads on Linux) as it was
 * at the last timer tick, so behind it by at most about a tick ({@link #resolutionNanos()}: 4 ms at Debian's
 * {@code HZ=250}), and never a system call. The vDSO answers it from the kernel's timekeeping page without reading
 * any clock source, where {@code CLOCK_MONOTONIC} falls back to a real system call when the clock source has no
 * vDSO mode: in a PV dom0 whose hypervisor does not report a stable TSC (the real-Xen tier's TCG among them), where
 * each system call is two transitions through the hypervisor. For timers of milliseconds and more; not for timing
 * microseconds.
 * <p>
 * An instance holds the {@code struct timespec} it reads into, so that a reading allocates nothing: one thread at a
 * time.
 */
public final class CoarseClock
{
    /** {@code CLOCK_MONOTONIC_COARSE} in {@code <linux/time.h>}. */
    static final int CLOCK_MONOTONIC_COARSE = 6;

    private final ByteBuffer timespec = LibC.allocate(16);
    private final long timespecAddress = LibC.address(timespec);

    /**
     * @return the clock's reading in nanoseconds, on {@link System#nanoTime()}'s scale (at most about a tick behind).
     */
    public long nanos()
    {
        if (LibC.clock_gettime(CLOCK_MONOTONIC_COARSE, timespecAddress) != 0)
        {
            // Not seen on a kernel since 2.6.32; System.nanoTime() reads the same clock at full resolution.
            return System.nanoTime();
        }
        return timespec.getLong(0) * 1_000_000_000L + timespec.getLong(8);
    }

    /**
     * @return how far apart its readings step (the kernel's tick), in nanoseconds.
     */
    public long resolutionNanos()
    {
        if (LibC.clock_getres(CLOCK_MONOTONIC_COARSE, timespecAddress) != 0)
        {
            throw new LinuxException(LibC.errno(), "clock_getres(CLOCK_MONOTONIC_COARSE)");
        }
        return timespec.getLong(0) * 1_000_000_000L + timespec.getLong(8);
    }
}
