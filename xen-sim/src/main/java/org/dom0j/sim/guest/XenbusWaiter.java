package org.dom0j.sim.guest;

import org.dom0j.backend.XenbusState;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsWatch;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * Waits for the other end of a xenbus device to reach a state, the way a frontend driver does: a watch on the
 * other end's {@code state} node wakes it, and the node is read again after each event (events say only that
 * something changed).
 * <p>
 * One waiter per watched node; {@link #await} from one thread at a time.
 */
public final class XenbusWaiter implements AutoCloseable
{
    private final XenStore xs;
    private final String statePath;
    private final Semaphore changed = new Semaphore(0);
    private final XsWatch watch;

    /**
     * @param xs        the connection.
     * @param statePath the {@code state} node to watch.
     * @param token     a token unique on the connection.
     */
    public XenbusWaiter(final XenStore xs, final String statePath, final String token)
    {
        this.xs = xs;
        this.statePath = statePath;
        this.watch = xs.watch(statePath, token, (path, t) -> changed.release());
    }

    /**
     * @return the state now (UNKNOWN when the node is missing or unreadable as a state).
     */
    public XenbusState state()
    {
        final String value = xs.readOrNull(statePath);
        if (null == value)
        {
            return XenbusState.UNKNOWN;
        }
        try
        {
            return XenbusState.parse(value);
        }
        catch (final RuntimeException ex)
        {
            return XenbusState.UNKNOWN;
        }
    }

    /**
     * @param wanted    the states to wait for.
     * @param timeoutMs how long at most.
     * @return the state reached.
     * @throws TimeoutException     when it was not reached in time; the message names the path and the last state.
     * @throws InterruptedException when interrupted.
     */
    public XenbusState await(final Predicate<XenbusState> wanted, final long timeoutMs)
        throws TimeoutException, InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true)
        {
            final XenbusState now = state();
            if (wanted.test(now))
            {
                return now;
            }
            final long left = deadline - System.nanoTime();
            if (left <= 0 || !changed.tryAcquire(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)),
                TimeUnit.NANOSECONDS) && System.nanoTime() - deadline >= 0)
            {
                throw new TimeoutException(statePath + " did not reach the wanted state in " + timeoutMs +
                    " ms (it is " + now + ")");
            }
        }
    }

    @Override
    public void close()
    {
        watch.close();
    }
}
