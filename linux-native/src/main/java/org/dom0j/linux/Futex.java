package org.dom0j.linux;

import java.nio.ByteBuffer;

/**
 * futex(2) on an int in shared memory: waiting until another thread, or another process that maps the same file
 * ({@code MAP_SHARED}, so no {@code FUTEX_PRIVATE_FLAG}), changes it and wakes the waiters. The system call's number
 * is known for x86_64 and aarch64; on another architecture the class fails to initialise.
 * <p>
 * An instance is one waiter's scratch (the {@code struct timespec} of its timeout), so that a wait allocates
 * nothing: {@link #await} from one thread at a time. {@link #wake} from any thread.
 */
public final class Futex
{
    /** futex(2)'s number on this machine. */
    public static final long SYS_FUTEX = sysFutex();

    private static final int FUTEX_WAIT = 0;
    private static final int FUTEX_WAKE = 1;

    private final ByteBuffer timespec = LibC.allocate(16);
    private final long timespecAddress = LibC.address(timespec);

    private static long sysFutex()
    {
        final String arch = System.getProperty("os.arch");
        if ("amd64".equals(arch) || "x86_64".equals(arch))
        {
            return 202;
        }
        if ("aarch64".equals(arch))
        {
            return 98;
        }
        throw new IllegalStateException("the futex system call number is known only on x86_64 and aarch64");
    }

    /**
     * Waits while the int at {@code address} still holds {@code expected}.
     *
     * @param address      the int's address (4-byte aligned).
     * @param expected     its value when the caller decided to sleep.
     * @param timeoutNanos at most this long.
     * @return 0 when woken (or spuriously), or minus the errno: -EAGAIN when the value had already changed,
     *         -ETIMEDOUT, -EINTR.
     */
    public int await(final long address, final int expected, final long timeoutNanos)
    {
        timespec.putLong(0, timeoutNanos / 1_000_000_000L);
        timespec.putLong(8, timeoutNanos % 1_000_000_000L);
        return (int)Linux.syscall(SYS_FUTEX, address, FUTEX_WAIT, expected, timespecAddress, 0, 0);
    }

    /**
     * Wakes waiters on the int at {@code address}, in any process.
     *
     * @param address the int's address.
     * @param count   at most this many; {@link Integer#MAX_VALUE} for all.
     * @return how many were woken, or minus the errno.
     */
    public static int wake(final long address, final int count)
    {
        return (int)Linux.syscall(SYS_FUTEX, address, FUTEX_WAKE, count, 0, 0, 0);
    }
}
