package org.dom0j.evtchn;

import org.agrona.concurrent.IdleStrategy;

import java.util.function.LongSupplier;
import java.util.function.LongBinaryOperator;
import java.util.function.LongUnaryOperator;

/**
 * An Agrona {@link IdleStrategy} for an agent whose work arrives as events on one {@link EventChannels} handle:
 * when idle it polls (spins, and yields now and then), then blocks in {@link EventChannels#awaitEvent} for at most
 * {@code maxParkNanos} (so the agent still runs its periodic duties), or for what the agent says it may wait now
 * (its next timed duty, which may be longer), and any work done resets it.
 * <p>
 * How long it polls before blocking is either fixed (so many spins, then so many yields) or {@link #adaptive}: a
 * window in nanoseconds that grows while work keeps arriving soon after the agent went idle and shrinks, down to
 * none, while it does not, as KVM's halt polling does for a halted vCPU. Polling pays when requests come back to
 * back (the next one is taken without a wake-up) and costs a whole CPU's worth of time when they do not: in a dom0
 * whose few vCPUs serve every guest, and most of all in the real-Xen tier, where one emulated CPU runs dom0 and the
 * guest in turn, every microsecond polled in vain was a microsecond the guest did not run.
 * <p>
 * The agent itself calls {@link EventChannels#pending()} in its duty cycle; this strategy never takes events.
 * <p>
 * <b>Threads</b>: used by the one thread that runs the agent, which is also the thread that calls
 * {@code pending} on the handle.
 */
public final class EventChannelIdleStrategy implements IdleStrategy
{
    /** The window an adaptive strategy starts polling with once a wait shorter than its longest window is seen. */
    public static final long POLL_START_NANOS = 10_000;
    /** Spins at the start of an adaptive window, before it yields for the rest of it (as the fixed strategy does). */
    static final int ADAPTIVE_SPINS = 100;
    /**
     * The longest window serve's agents poll for: a wake-up from a blocked poll(2) on the event channel costs a few
     * microseconds on bare metal and tens in a nested VM, so a request that comes within this is taken cheaper by
     * polling; one that comes later is not worth the CPU (KVM's halt polling stops at 200 us, for a whole vCPU).
     */
    public static final long DEFAULT_MAX_POLL_NANOS = 50_000;
    /**
     * While the adaptive window is closed, one idle spell in this many is timed (a reading of the fine clock before
     * each block and one when work comes, to see whether it came soon enough to open the window); the others read
     * only the coarse clock. The first spell is timed.
     */
    public static final int TIME_EVERY_CLOSED_SPELL = 16;

    private final EventChannels evtchn;
    private final int maxSpins;
    private final int maxYields;
    private final long maxParkNanos;
    private final LongBinaryOperator parkNanos;
    private final long maxPollNanos;
    private final LongSupplier nanoClock;
    private final LongSupplier coarseClock;
    private int spins;
    private int yields;
    private long pollNanos;
    private boolean inSpell;
    private boolean timed;
    private long idleSince;
    private int untimedSpells = TIME_EVERY_CLOSED_SPELL - 1;
    private int pollCalls;
    private boolean blocked;

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
        this(evtchn, maxSpins, maxYields, -1, maxParkNanos, (max, now) -> parkNanos.applyAsLong(max), System::nanoTime,
            System::nanoTime);
    }

    /**
     * @param evtchn the handle the agent takes its events from.
     */
    public EventChannelIdleStrategy(final EventChannels evtchn)
    {
        this(evtchn, 100, 10, 100_000_000L);
    }

    private EventChannelIdleStrategy(
        final EventChannels evtchn, final int maxSpins, final int maxYields, final long maxPollNanos,
        final long maxParkNanos, final LongBinaryOperator parkNanos, final LongSupplier nanoClock,
        final LongSupplier coarseClock)
    {
        if (maxSpins < 0 || maxYields < 0 || maxParkNanos <= 0)
        {
            throw new IllegalArgumentException("spins and yields must be >= 0 and the park time positive");
        }
        this.evtchn = evtchn;
        this.maxSpins = maxSpins;
        this.maxYields = maxYields;
        this.maxPollNanos = maxPollNanos;
        this.maxParkNanos = maxParkNanos;
        this.parkNanos = parkNanos;
        this.nanoClock = nanoClock;
        this.coarseClock = coarseClock;
    }

    /**
     * An adaptive strategy whose clock serves both its window and the agent's timers: see
     * {@link #adaptive(EventChannels, long, long, LongBinaryOperator, LongSupplier, LongSupplier)}.
     *
     * @param evtchn       the handle the agent takes its events from.
     * @param maxPollNanos the longest window, 0 for none (block at once).
     * @param maxParkNanos the default longest block in one idle call.
     * @param parkNanos    given {@code maxParkNanos} and the clock's reading, how long to block now.
     * @param nanoClock    the clock.
     * @return the strategy.
     */
    public static EventChannelIdleStrategy adaptive(
        final EventChannels evtchn, final long maxPollNanos, final long maxParkNanos,
        final LongBinaryOperator parkNanos, final LongSupplier nanoClock)
    {
        return adaptive(evtchn, maxPollNanos, maxParkNanos, parkNanos, nanoClock, nanoClock);
    }

    /**
     * An adaptive strategy: it polls (spins, then yields) for a window that starts at none, then blocks. When it
     * blocked and work arrived within {@code maxPollNanos} of going idle, the window doubles (from
     * {@link #POLL_START_NANOS}) up to that bound; when it blocked and the idle spell outlasted {@code maxPollNanos},
     * it halves (below the start, to none); when the poll caught the work it stays.
     * <p>
     * Every reading of {@code nanoClock} counts: where the clock has no vDSO (a PV dom0 whose hypervisor reports no
     * stable TSC) each is a system call through the hypervisor. So while the window is closed only one idle spell in
     * {@link #TIME_EVERY_CLOSED_SPELL} is timed; the others block at once, as a closed window does anyway, and give
     * the agent {@code coarseClock}'s reading for its timers. Such a wake-up reads no fine clock here, where it read
     * it twice (before the block and after it); an agent may still read it for a timer of its own that needs it.
     *
     * @param evtchn       the handle the agent takes its events from.
     * @param maxPollNanos the longest window, 0 for none (block at once, and never time a spell).
     * @param maxParkNanos the default longest block in one idle call.
     * @param parkNanos    given {@code maxParkNanos} and a clock's reading (taken as the strategy went to block: the
     *                     agent need not read it again), how long to block now (as in the other constructors). The
     *                     reading is {@code nanoClock}'s in a timed spell or while polling, {@code coarseClock}'s
     *                     otherwise.
     * @param nanoClock    the clock, {@code System::nanoTime} but in tests.
     * @param coarseClock  the same clock as of its last tick, for timers of milliseconds (behind {@code nanoClock}
     *                     by at most about a tick), read without a system call: a {@code CoarseClock} but in tests.
     * @return the strategy.
     */
    public static EventChannelIdleStrategy adaptive(
        final EventChannels evtchn, final long maxPollNanos, final long maxParkNanos,
        final LongBinaryOperator parkNanos, final LongSupplier nanoClock, final LongSupplier coarseClock)
    {
        if (maxPollNanos < 0)
        {
            throw new IllegalArgumentException("the longest poll window must be >= 0");
        }
        return new EventChannelIdleStrategy(evtchn, 0, 0, maxPollNanos, maxParkNanos, parkNanos, nanoClock,
            coarseClock);
    }

    /**
     * @return the adaptive poll window now, in nanoseconds (0 for a fixed strategy or none).
     */
    public long pollNanos()
    {
        return pollNanos;
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
        if (maxPollNanos >= 0)
        {
            adaptiveIdle();
        }
        else if (spins < maxSpins)
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
            block(-1);
        }
    }

    private void adaptiveIdle()
    {
        final long now;
        if (!inSpell)
        {
            inSpell = true;
            blocked = false;
            pollCalls = 0;
            timed = pollNanos > 0 || (maxPollNanos > 0 && ++untimedSpells >= TIME_EVERY_CLOSED_SPELL);
            if (!timed)
            {
                // The window is closed and this spell is not timed: block at once, as a closed window would.
                blocked = true;
                block(coarseClock.getAsLong());
                return;
            }
            untimedSpells = 0;
            now = nanoClock.getAsLong();
            idleSince = now;
        }
        else if (!timed)
        {
            block(coarseClock.getAsLong());
            return;
        }
        else
        {
            now = nanoClock.getAsLong();
        }
        if (now - idleSince < pollNanos)
        {
            // spins first, then yields: on a small machine a yield hands the CPU to the thread that makes the work
            if (++pollCalls <= ADAPTIVE_SPINS)
            {
                Thread.onSpinWait();
            }
            else
            {
                Thread.yield();
            }
        }
        else
        {
            blocked = true;
            block(now);
        }
    }

    private void block(final long now)
    {
        final long park = parkNanos.applyAsLong(maxParkNanos, now);
        if (park > 0)
        {
            evtchn.awaitEvent(park);
        }
    }

    /**
     * Work was done: the idle spell (if any) is over, and its length adapts the poll window.
     */
    @Override
    public void reset()
    {
        spins = 0;
        yields = 0;
        if (inSpell)
        {
            // only a timed spell that blocked adapts the window (a poll that caught the work leaves it): no clock
            // otherwise
            if (timed && blocked)
            {
                adapt(nanoClock.getAsLong() - idleSince);
            }
            inSpell = false;
        }
    }

    private void adapt(final long idleNanos)
    {
        if (idleNanos > maxPollNanos)
        {
            pollNanos = pollNanos / 2 < POLL_START_NANOS ? 0 : pollNanos / 2;
        }
        else
        {
            // it blocked, yet the work came within the longest window: polling longer would have caught it
            pollNanos = Math.min(maxPollNanos, pollNanos == 0 ? POLL_START_NANOS : pollNanos * 2);
        }
    }

    @Override
    public String alias()
    {
        return "evtchn";
    }
}
