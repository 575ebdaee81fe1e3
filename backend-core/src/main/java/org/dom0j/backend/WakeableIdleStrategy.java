package org.dom0j.backend;

import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * An Agrona {@link IdleStrategy} for an agent whose work other threads hand to it (the conductor's watch events and
 * ring violations): when idle it spins, then yields, then parks its thread until a producer calls {@link #wake()} or
 * {@code maxParkNanos} pass, and any work done resets it.
 * <p>
 * Agrona's {@link org.agrona.concurrent.BackoffIdleStrategy} cannot be woken, so an agent that must answer within a
 * millisecond has to park for at most that long: an idle service then wakes a thousand times a second. In a PV dom0
 * each wake-up is a timer, an upcall and a context switch through the hypervisor; under the real-Xen tier's TCG the
 * conductor parked that way took 15% of a dom0 vCPU while serve served nothing. Woken instead, it answers at once
 * and sleeps while nothing happens. {@code maxParkNanos} bounds a park only in case a wake-up were ever lost; before
 * its runner closes, {@link #stopping()} keeps it from parking long, so that the close need not wait for a park to
 * end.
 * <p>
 * <b>Threads</b>: {@link #wake()} from any thread; the rest from the agent's one thread.
 */
public final class WakeableIdleStrategy implements IdleStrategy
{
    /** How long a park lasts at most once {@link #stopping()} was called. */
    static final long STOPPING_PARK_NANOS = 1_000_000;

    private final AtomicBoolean woken = new AtomicBoolean();
    private final int maxSpins;
    private final int maxYields;
    private final long maxParkNanos;
    private volatile Thread agentThread;
    private volatile boolean stopping;
    private int spins;
    private int yields;

    /**
     * @param maxSpins     busy spins before yielding.
     * @param maxYields    yields before parking.
     * @param maxParkNanos longest park in one idle call.
     */
    public WakeableIdleStrategy(final int maxSpins, final int maxYields, final long maxParkNanos)
    {
        if (maxSpins < 0 || maxYields < 0 || maxParkNanos <= 0)
        {
            throw new IllegalArgumentException("spins and yields must be >= 0 and the park time positive");
        }
        this.maxSpins = maxSpins;
        this.maxYields = maxYields;
        this.maxParkNanos = maxParkNanos;
    }

    /**
     * Work has been handed to the agent (any thread): its next idle call returns at once, or its park ends now.
     */
    public void wake()
    {
        woken.set(true);
        final Thread thread = agentThread;
        if (null != thread)
        {
            LockSupport.unpark(thread);
        }
    }

    /**
     * The agent's runner is about to close it (any thread): its park ends now, and from now on it parks for at most
     * a millisecond, so that it sees at once that it must stop.
     */
    public void stopping()
    {
        stopping = true;
        wake();
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
        if (woken.getAndSet(false))
        {
            reset();
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
            agentThread = Thread.currentThread();
            // A wake() after the flag was read above unparks this thread before or during the park: never missed.
            if (!woken.get())
            {
                LockSupport.parkNanos(this, stopping ? STOPPING_PARK_NANOS : maxParkNanos);
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
        return "wakeable";
    }
}
