package org.dom0j.netback;

import java.util.Locale;

/**
 * What the network backend offers guests and how it moves their frames, with Linux's xen-netback defaults. Each
 * setting has a system property.
 *
 * @param mode                {@code dom0j.netback.mode}: {@link Mode#TAP} (drop-in: a TAP interface
 *                            {@code vif<domid>.<handle>} per vif, as Linux's netback makes a netdev) or
 *                            {@link Mode#SWITCH} (a learning switch inside the service). Default TAP.
 * @param maxQueues           {@code dom0j.netback.maxQueues} (multi-queue-max-queues), default min(8, CPUs).
 * @param splitEventChannels  {@code dom0j.netback.splitEventChannels} (feature-split-event-channels), default true.
 * @param ctrlRing            {@code dom0j.netback.ctrlRing} (feature-ctrl-ring: Toeplitz hashing), default true.
 * @param rxDrainTimeoutMs    {@code dom0j.netback.rxDrainTimeoutMs}: a frame waiting this long for the guest to post
 *                            receive buffers is dropped, default 10,000 (Linux's rx_drain_timeout_msecs).
 * @param rxStallTimeoutMs    {@code dom0j.netback.rxStallTimeoutMs}: a queue whose guest has posted too few receive
 *                            buffers for this long is stalled and the carrier goes off until it posts again, default
 *                            60,000 (rx_stall_timeout_msecs).
 * @param allowSpoofing       {@code dom0j.netback.allowSpoofing}: in switch mode, let a guest send from MAC addresses
 *                            other than its {@code mac}, default false.
 * @param inboxBytes          {@code dom0j.netback.inboxBytes}: frames waiting for one guest queue, in bytes (a power
 *                            of two), default 512 KiB (Linux's XENVIF_RX_QUEUE_BYTES).
 */
public record NetbackConfiguration(
    Mode mode,
    int maxQueues,
    boolean splitEventChannels,
    boolean ctrlRing,
    long rxDrainTimeoutMs,
    long rxStallTimeoutMs,
    boolean allowSpoofing,
    int inboxBytes)
{
    /**
     * Where a vif's frames go.
     */
    public enum Mode
    {
        /** A TAP interface per vif in dom0, named as Linux's netback names its netdevs. */
        TAP,
        /** A learning L2 switch inside the service, with uplinks. */
        SWITCH
    }

    /**
     * @throws IllegalArgumentException when a value is out of range.
     */
    public NetbackConfiguration
    {
        if (maxQueues < 1 || maxQueues > 64)
        {
            throw new IllegalArgumentException("maxQueues must be 1..64: " + maxQueues);
        }
        if (rxDrainTimeoutMs < 1 || rxStallTimeoutMs < 1)
        {
            throw new IllegalArgumentException("timeouts must be positive");
        }
        if (inboxBytes < 128 * 1024 || Integer.bitCount(inboxBytes) != 1)
        {
            throw new IllegalArgumentException("inboxBytes must be a power of two of at least 128 KiB: " + inboxBytes);
        }
    }

    /**
     * @return the defaults, overridden by system properties.
     */
    public static NetbackConfiguration fromSystemProperties()
    {
        return new NetbackConfiguration(
            Mode.valueOf(System.getProperty("dom0j.netback.mode", "tap").toUpperCase(Locale.ROOT)),
            Integer.getInteger("dom0j.netback.maxQueues", Math.min(8, Runtime.getRuntime().availableProcessors())),
            Boolean.parseBoolean(System.getProperty("dom0j.netback.splitEventChannels", "true")),
            Boolean.parseBoolean(System.getProperty("dom0j.netback.ctrlRing", "true")),
            Long.getLong("dom0j.netback.rxDrainTimeoutMs", 10_000L),
            Long.getLong("dom0j.netback.rxStallTimeoutMs", 60_000L),
            Boolean.getBoolean("dom0j.netback.allowSpoofing"),
            Integer.getInteger("dom0j.netback.inboxBytes", 512 * 1024));
    }

    /**
     * @param newMode the mode.
     * @return a copy with it.
     */
    public NetbackConfiguration withMode(final Mode newMode)
    {
        return new NetbackConfiguration(newMode, maxQueues, splitEventChannels, ctrlRing, rxDrainTimeoutMs,
            rxStallTimeoutMs, allowSpoofing, inboxBytes);
    }

    /**
     * @param queues multi-queue-max-queues.
     * @return a copy with it.
     */
    public NetbackConfiguration withMaxQueues(final int queues)
    {
        return new NetbackConfiguration(mode, queues, splitEventChannels, ctrlRing, rxDrainTimeoutMs,
            rxStallTimeoutMs, allowSpoofing, inboxBytes);
    }

    /**
     * @param on ctrlRing.
     * @return a copy with it.
     */
    public NetbackConfiguration withCtrlRing(final boolean on)
    {
        return new NetbackConfiguration(mode, maxQueues, splitEventChannels, on, rxDrainTimeoutMs, rxStallTimeoutMs,
            allowSpoofing, inboxBytes);
    }

    /**
     * @param drainMs  rxDrainTimeoutMs.
     * @param stallMs  rxStallTimeoutMs.
     * @return a copy with them.
     */
    public NetbackConfiguration withRxTimeouts(final long drainMs, final long stallMs)
    {
        return new NetbackConfiguration(mode, maxQueues, splitEventChannels, ctrlRing, drainMs, stallMs,
            allowSpoofing, inboxBytes);
    }
}
