package org.dom0j.console;

/**
 * How much output one console may still give this period, as xenconsoled limits a guest (30 events, at most a ring
 * each, per 200 ms): an allowance of bytes per period, and once it is spent the guest's output stays on its page
 * until the next period begins, so a guest that writes without end is slowed to the allowance and waits, and the
 * service does not. A period begins at the first look after the previous one ended, as xenconsoled's does.
 * <p>
 * Time is the caller's {@link System#nanoTime()}'s clock (perhaps as of its last tick: a period may begin a few
 * milliseconds late), so tests can drive it.
 * <p>
 * Not thread safe: the console's agent owns it.
 */
final class ConsoleRateLimit
{
    private final long allowance;
    private final long periodNanos;
    private long periodStart;
    private long left;
    private boolean running;
    private boolean heldBack;

    /**
     * @param allowance   bytes per period, 0 for no limit.
     * @param periodNanos the period.
     */
    ConsoleRateLimit(final long allowance, final long periodNanos)
    {
        this.allowance = allowance;
        this.periodNanos = periodNanos;
    }

    /**
     * @param configuration the console settings.
     * @return the limit they describe.
     */
    static ConsoleRateLimit of(final ConsoleConfiguration configuration)
    {
        return new ConsoleRateLimit(configuration.rateLimitBytes(), configuration.rateLimitPeriodNanos());
    }

    /**
     * Bytes that may be taken now; starts a new period (a full allowance) when the last one is over.
     *
     * @param nowNanos the time.
     * @return bytes, {@link Integer#MAX_VALUE} with no limit.
     */
    int available(final long nowNanos)
    {
        if (allowance == 0)
        {
            return Integer.MAX_VALUE;
        }
        if (!running || nowNanos - periodStart >= periodNanos)
        {
            running = true;
            periodStart = nowNanos;
            left = allowance;
            heldBack = false;
        }
        return (int)Math.min(left, Integer.MAX_VALUE);
    }

    /**
     * @param bytes taken after {@link #available}.
     */
    void consume(final int bytes)
    {
        if (allowance > 0)
        {
            left -= bytes;
        }
    }

    /**
     * @param nowNanos the time.
     * @return whether the allowance of a period still running is spent (output waits until it ends).
     */
    boolean spent(final long nowNanos)
    {
        return allowance > 0 && running && left <= 0 && nowNanos - periodStart < periodNanos;
    }

    /**
     * @param nowNanos the time.
     * @return how long the period running now has left, 0 when none is running.
     */
    long periodLeftNanos(final long nowNanos)
    {
        return running ? Math.max(0, periodStart + periodNanos - nowNanos) : 0;
    }

    /**
     * Notes that output was left waiting because the allowance is spent.
     *
     * @return true the first time in a period, so that each throttled period is counted once.
     */
    boolean holdBack()
    {
        if (heldBack)
        {
            return false;
        }
        heldBack = true;
        return true;
    }
}
