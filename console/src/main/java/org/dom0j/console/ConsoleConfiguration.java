package org.dom0j.console;

import java.util.concurrent.TimeUnit;

/**
 * What one guest's console may cost the service: how big its log grows and how fast its output is taken. Each
 * setting has a system property.
 * <p>
 * The rate limit is xenconsoled's: a budget per period, and a guest that has spent its budget is not read again
 * until the next period, so its ring fills and the guest waits (hvc_xen retries), rather than the service.
 * xenconsoled counts events (30 per 200 ms) and takes at most the ring (2048 bytes) per event, so it reads at most
 * 61,440 bytes per 200 ms from a guest; that is the default here, counted in bytes because the pump also reads
 * without an event.
 *
 * @param logMaxBytes       {@code dom0j.console.logMaxBytes}: when a write would take a console's log past this
 *                          size the log is renamed {@code <log>.1} (replacing the previous one) and a new log begun,
 *                          so a console keeps at most twice this on disk; 0 means no cap (xenconsoled leaves its
 *                          logs to logrotate). Default 4 MiB.
 * @param rateLimitBytes    {@code dom0j.console.rateLimitBytes}: output taken from one console per period; 0 means no
 *                          limit. Default 61,440 (xenconsoled's RATE_LIMIT_ALLOWANCE of 30 events times a 2048-byte
 *                          ring).
 * @param rateLimitPeriodMs {@code dom0j.console.rateLimitPeriodMs}: the period, default 200 (RATE_LIMIT_PERIOD).
 */
public record ConsoleConfiguration(long logMaxBytes, int rateLimitBytes, long rateLimitPeriodMs)
{
    /** The default log cap. */
    public static final long DEFAULT_LOG_MAX_BYTES = 4L * 1024 * 1024;
    /** The default budget per period. */
    public static final int DEFAULT_RATE_LIMIT_BYTES = 30 * 2048;
    /** The default period. */
    public static final long DEFAULT_RATE_LIMIT_PERIOD_MS = 200;
    /** The smallest log cap (two rings of output). */
    public static final long MIN_LOG_MAX_BYTES = 4096;

    /**
     * @throws IllegalArgumentException when a value is out of range.
     */
    public ConsoleConfiguration
    {
        if (logMaxBytes != 0 && logMaxBytes < MIN_LOG_MAX_BYTES)
        {
            throw new IllegalArgumentException("logMaxBytes must be 0 (no cap) or at least " + MIN_LOG_MAX_BYTES +
                ": " + logMaxBytes);
        }
        if (rateLimitBytes < 0)
        {
            throw new IllegalArgumentException("rateLimitBytes must be 0 (no limit) or positive: " + rateLimitBytes);
        }
        if (rateLimitPeriodMs < 1 || rateLimitPeriodMs > 60_000)
        {
            throw new IllegalArgumentException("rateLimitPeriodMs must be 1..60000: " + rateLimitPeriodMs);
        }
    }

    /**
     * @return the defaults.
     */
    public static ConsoleConfiguration defaults()
    {
        return new ConsoleConfiguration(DEFAULT_LOG_MAX_BYTES, DEFAULT_RATE_LIMIT_BYTES, DEFAULT_RATE_LIMIT_PERIOD_MS);
    }

    /**
     * @return the defaults, overridden by system properties.
     */
    public static ConsoleConfiguration fromSystemProperties()
    {
        return new ConsoleConfiguration(
            Long.getLong("dom0j.console.logMaxBytes", DEFAULT_LOG_MAX_BYTES),
            Integer.getInteger("dom0j.console.rateLimitBytes", DEFAULT_RATE_LIMIT_BYTES),
            Long.getLong("dom0j.console.rateLimitPeriodMs", DEFAULT_RATE_LIMIT_PERIOD_MS));
    }

    /**
     * @param maxBytes logMaxBytes.
     * @return a copy with it.
     */
    public ConsoleConfiguration withLogMaxBytes(final long maxBytes)
    {
        return new ConsoleConfiguration(maxBytes, rateLimitBytes, rateLimitPeriodMs);
    }

    /**
     * @param bytes    rateLimitBytes.
     * @param periodMs rateLimitPeriodMs.
     * @return a copy with them.
     */
    public ConsoleConfiguration withRateLimit(final int bytes, final long periodMs)
    {
        return new ConsoleConfiguration(logMaxBytes, bytes, periodMs);
    }

    /**
     * @return the period in nanoseconds.
     */
    public long rateLimitPeriodNanos()
    {
        return TimeUnit.MILLISECONDS.toNanos(rateLimitPeriodMs);
    }
}
