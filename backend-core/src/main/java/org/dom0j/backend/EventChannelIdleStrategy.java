package org.dom0j.backend;

import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.TimeUnit;

/**
 * Idles a {@link RingAgent} that has a thread to itself by blocking on its queue's event channel
 * ({@link org.dom0j.evtchn.EventChannels#pending(long)}) instead of spinning. Safe because the agent returns no work
 * only after {@code RING_FINAL_CHECK_FOR_REQUESTS} found the ring empty with {@code req_event} set, so the frontend
 * notifies on its next request. The wait is bounded ({@code maxWaitNanos}) so a handler with other sources of work
 * (I/O completions) is still polled; such handlers should keep the bound short.
 * <p>
 * Used only by the agent's own thread (the AgentRunner's).
 */
public final class EventChannelIdleStrategy implements IdleStrategy
{
    /** Property {@code dom0j.ring.maxIdleWaitMicros}: the default bound on one wait, 1000 microseconds. */
    public static final long DEFAULT_MAX_WAIT_NANOS = TimeUnit.MICROSECONDS.toNanos(
        Long.getLong("dom0j.ring.maxIdleWaitMicros", 1000));

    private final ConnectedQueue queue;
    private final long maxWaitNanos;

    /**
     * @param queue        the queue whose event channel to wait on.
     * @param maxWaitNanos longest single wait.
     */
    public EventChannelIdleStrategy(final ConnectedQueue queue, final long maxWaitNanos)
    {
        this.queue = queue;
        this.maxWaitNanos = maxWaitNanos;
    }

    @Override
    public void idle(final int workCount)
    {
        if (workCount <= 0)
        {
            idle();
        }
    }

    @Override
    public void idle()
    {
        final int port = queue.eventChannels().pending(maxWaitNanos);
        if (port >= 0)
        {
            queue.eventChannels().unmask(port);
            queue.counters().eventsReceived().incrementRelease();
        }
    }

    @Override
    public void reset()
    {
    }

    @Override
    public String alias()
    {
        return "evtchn";
    }
}
