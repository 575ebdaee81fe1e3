package org.dom0j.backend;

/**
 * A device type's work on one connected queue: take requests off {@code queue.ring()}, serve them, answer, push
 * with {@link ConnectedQueue#pushResponsesAndNotify()}. Runs inside the queue's {@link RingAgent}.
 * <p>
 * Called only on the agent's thread. Must not block for long (it shares the thread with other queues in the shared
 * mode) and must not allocate per request.
 */
public interface QueueHandler
{
    /**
     * Does one bounded slice of work.
     *
     * @param queue the queue.
     * @return how much work was done (0 lets the agent idle after a final check of the ring).
     */
    int doWork(ConnectedQueue queue);

    /**
     * Whether requests on the first ring should keep the agent from idling. A handler that holds requests back on
     * purpose (netback's rate limit) says no while it does, so that the agent idles (and comes back within its idle
     * strategy's longest wait) instead of spinning on requests it will not take yet. Yes by default.
     *
     * @param queue the queue.
     * @return false while requests waiting on the ring are held back.
     */
    default boolean takesWaitingRequests(final ConnectedQueue queue)
    {
        return true;
    }

    /**
     * How long the agent may sleep on its event channels (no event, no wake-up) before this handler has work that
     * only time brings: a timeout running, a rate limit's next credit. An event-driven agent's idle strategy waits
     * at most this long. A handler whose every piece of work comes with an event or an
     * {@link org.dom0j.evtchn.EventChannels#wakeup} may say so with a long wait while nothing is due, so that an idle
     * queue costs no wake-ups.
     *
     * @param queue    the queue.
     * @param nowNanos the current {@link System#nanoTime()}, or that clock as of its last tick (up to a few
     *                 milliseconds behind: serve's idle strategy reads the coarse clock, which costs no system call):
     *                 for timers of milliseconds and more.
     * @return nanoseconds, or a negative value (the default) for the scheduler's own longest wait.
     */
    default long idleWaitNanos(final ConnectedQueue queue, final long nowNanos)
    {
        return -1;
    }

    /**
     * Called on the agent's thread when the agent stops, before the ring is unmapped: release what the handler
     * holds for this queue (persistent grants, buffers). A queue whose agent never started (a later queue of the same
     * device failed to connect) is closed the same way, on the conductor's thread.
     *
     * @param queue the queue.
     */
    default void onClose(final ConnectedQueue queue)
    {
    }
}
