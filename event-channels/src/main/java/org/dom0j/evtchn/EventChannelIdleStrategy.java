package org.dom0j.evtchn;

import org.agrona.concurrent.IdleStrategy;

import java.util.function.LongUnaryOperator;

/**
 * An Agrona {@link IdleStrategy} for an agent whose work arrives as events on one {@link EventChannels} handle:
 * when idle it spins, then yields, then blocks in {@link EventChannels#awaitEvent} for at most
 * {@code maxParkNanos} (so the agent still runs its periodic duties), or for what the agent says it may wait now
 * (its next timed duty, which may be longer), and any work done resets it.
 * <p>
 * The agent itself calls {@link EventChannels#pending()} in its duty cycle; this strategy never takes events.
 * <p>
 * <b>Threads</b>: used by the one thread that runs the agent, which is also the thread that calls
 * {@code pending} on the handle.
 */
public final class EventChannelIdleStrategy implements IdleStrategy
{
    private final EventChannels evtchn;
    private final int maxSpins;
    private final int maxYields;
    private final long maxParkNanos;
    private final LongUnaryOperator parkNanos;
    private int spins;
    private int yields;

    /**
     * @param evtchn       the handle the agent takes its events from.
     * @param maxSpins     busy spins before yielding.
     * @param maxYields    yields before blocking.
     * @param maxParkNanos longest block in one idle call.
     */
    public EventChannelIdleStrategy(
        final EventChannels evtchn, final int maxSpins, final int maxYields, final long maxParkNanos)
    {
        this(evtchn, maxSpins, maxYields, maxParkNanos, LongUnaryOperator.identity());
    }

    /**
     * @param evtchn       the handle the agent takes its events from.
     * @param maxSpins     busy spins before yielding.
     * @param maxYields    yields before blocking.
     * @param maxParkNanos the default longest block in one idle call.
     * @param parkNanos    given {@code maxParkNanos}, how long to block now (called on the agent's thread before
     *                     each block; a value below 1 ms blocks for 1 ms at most, 0 does not block).
     */
    public EventChannelIdleStrategy(
        final EventChannels evtchn, final int maxSpins, final int maxYields, final long maxParkNanos,
        final LongUnaryOperator parkNanos)
    {
        if (maxSpins < 0 || maxYields < 0 || maxParkNanos <= 0)
        {
            throw new IllegalArgumentException("spins and yields must be >= 0 and the park time positive");
        }
        this.evtchn = evtchn;
        this.maxSpins = maxSpins;
        this.maxYields = maxYields;
        this.maxParkNanos = maxParkNanos;
        this.parkNanos = parkNanos;
    }

    /**
     * @param evtchn the handle the agent takes its events from.
     */
    public EventChannelIdleStrategy(final EventChannels evtchn)
    {
        this(evtchn, 100, 10, 100_000_000L);
    }

    @Override
    public void idle(final int workCount)
    {
        if (workCount > 0)
        {
            reset();
        }
        else
        {
            idle();
        }
    }

    @Override
    public void idle()
    {
        if (spins < maxSpins)
        {
            spins++;
            Thread.onSpinWait();
        }
        else if (yields < maxYields)
        {
            yields++;
            Thread.yield();
        }
        else
        {
            final long park = parkNanos.applyAsLong(maxParkNanos);
            if (park > 0)
            {
                evtchn.awaitEvent(park);
            }
        }
    }

    @Override
    public void reset()
    {
        spins = 0;
        yields = 0;
    }

    @Override
    public String alias()
    {
        return "evtchn";
    }
}
