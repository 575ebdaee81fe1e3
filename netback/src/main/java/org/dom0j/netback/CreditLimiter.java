package org.dom0j.netback;

/**
 * A vif's transmit rate limit as Linux's netback applies it ({@code tx_credit_exceeded}): the toolstack's
 * {@code rate} node, "{@code <bytes>,<usec>}", allows {@code bytes} every {@code usec} microseconds. Credit is added
 * once per window, capped at the larger of 128 KiB and one window's worth (so a 64 KiB packet can always pass), and a
 * packet is held back, not dropped, when it needs more credit than is left: the queue stops taking the guest's
 * requests until the next window.
 * <p>
 * The limit may change while connected ({@link #set}, from xenstore's watch thread): the new rate applies at once,
 * with the credit left clamped to it (as Linux's {@code xen_net_rate_changed}). Everything else runs on the queue's
 * agent.
 */
final class CreditLimiter
{
    private static final long UNLIMITED = -1;
    private static final long MIN_CAP = 128 * 1024;

    private volatile long creditBytes = UNLIMITED;
    private volatile long creditNanos;
    private volatile int generation;
    private int seenGeneration;
    private long remaining;
    private long windowStart;

    /**
     * @param bytes bytes per window, or -1 for unlimited.
     * @param usec  the window in microseconds.
     */
    synchronized void set(final long bytes, final long usec)
    {
        final long newBytes = bytes <= 0 || usec <= 0 ? UNLIMITED : bytes;
        final long newNanos = usec * 1000;
        if (newBytes == creditBytes && newNanos == creditNanos)
        {
            // The same rate again (a watch fires once when set): nothing changes, the window goes on.
            return;
        }
        creditNanos = newNanos;
        creditBytes = newBytes;
        generation++;
    }

    /**
     * Parses the toolstack's {@code rate} value as Linux's {@code xen_net_read_rate} does: a missing or malformed
     * value means unlimited.
     *
     * @param value the node's value, or null.
     * @return {bytes, usec}, or {-1, 0} for unlimited.
     */
    static long[] parseRate(final String value)
    {
        if (value == null)
        {
            return new long[]{ UNLIMITED, 0 };
        }
        final int comma = value.indexOf(',');
        try
        {
            if (comma <= 0 || comma == value.length() - 1)
            {
                return new long[]{ UNLIMITED, 0 };
            }
            final long bytes = Long.parseUnsignedLong(value.substring(0, comma));
            final long usec = Long.parseUnsignedLong(value.substring(comma + 1));
            if (bytes <= 0 || usec <= 0 || usec > 3_600_000_000L)
            {
                return new long[]{ UNLIMITED, 0 };
            }
            return new long[]{ bytes, usec };
        }
        catch (final NumberFormatException ex)
        {
            return new long[]{ UNLIMITED, 0 };
        }
    }

    /**
     * @return whether a limit is set.
     */
    boolean isLimited()
    {
        return creditBytes != UNLIMITED;
    }

    /**
     * Takes {@code size} bytes of credit if there is enough (refilling once per window).
     *
     * @param size    the packet's total size.
     * @param nowNanos the current time.
     * @return true when the packet may go; false to hold it back until {@link #nanosUntilNextWindow}.
     */
    boolean tryTake(final int size, final long nowNanos)
    {
        final long bytes = creditBytes;
        if (bytes == UNLIMITED)
        {
            return true;
        }
        final int g = generation;
        if (g != seenGeneration)
        {
            // The toolstack changed the rate: a new window starts now, with no more credit than the new rate gives.
            seenGeneration = g;
            remaining = Math.min(remaining, bytes);
            windowStart = nowNanos - creditNanos;
        }
        if (size > remaining)
        {
            if (nowNanos - windowStart >= creditNanos)
            {
                windowStart = nowNanos;
                remaining = Math.min(remaining + bytes, Math.max(MIN_CAP, bytes));
            }
            if (size > remaining)
            {
                return false;
            }
        }
        remaining -= size;
        return true;
    }

    /**
     * @param nowNanos the current time.
     * @return how long until credit is added again.
     */
    long nanosUntilNextWindow(final long nowNanos)
    {
        return Math.max(0, windowStart + creditNanos - nowNanos);
    }
}
