package org.dom0j.backend;

import org.agrona.concurrent.Agent;
import org.dom0j.ring.BackRing;

/**
 * The {@link Agent} serving one ring queue ({@code <type>-<domid>-<devid>-q<N>}): drains the queue's event channel,
 * runs the device type's {@link QueueHandler}, and when there is nothing to do performs
 * {@code RING_FINAL_CHECK_FOR_REQUESTS} so that an idle strategy may wait safely (a raw-page queue has no ring:
 * its handler alone decides, and reports a violation with {@link ConnectedQueue#disable}). When the frontend
 * breaks the ring protocol the agent stops reading, counts it and tells the conductor once (through the
 * conductor's command queue).
 * <p>
 * Runs on whatever thread its {@link AgentScheduler} gives it; nobody else calls it.
 */
public final class RingAgent implements Agent
{
    /** Receives a queue's protocol violation on the conductor's side; must only enqueue. */
    @FunctionalInterface
    public interface ViolationListener
    {
        /**
         * @param agent  the agent whose ring was disabled.
         * @param reason why.
         */
        void onViolation(RingAgent agent, String reason);
    }

    private final String roleName;
    private final ConnectedQueue queue;
    private final QueueHandler handler;
    private final ViolationListener violations;
    private boolean violationReported;

    /**
     * @param roleName   thread/role name, e.g. "vbd-5-51712-q0".
     * @param queue      the connected queue.
     * @param handler    the device type's work.
     * @param violations told once when the ring is disabled.
     */
    public RingAgent(
        final String roleName,
        final ConnectedQueue queue,
        final QueueHandler handler,
        final ViolationListener violations)
    {
        this.roleName = roleName;
        this.queue = queue;
        this.handler = handler;
        this.violations = violations;
    }

    /**
     * @return the queue served.
     */
    public ConnectedQueue queue()
    {
        return queue;
    }

    @Override
    public int doWork()
    {
        int work = 0;
        int port;
        while ((port = queue.eventChannels().pending()) >= 0)
        {
            queue.eventChannels().unmask(port);
            queue.counters().eventsReceived().incrementRelease();
            work++;
        }
        final BackRing ring = queue.ring();
        if (ring == null)
        {
            if (queue.violation() == null)
            {
                work += handler.doWork(queue);
            }
            if (queue.violation() != null)
            {
                reportViolation();
            }
            return work;
        }
        if (ring.isDisabled())
        {
            reportViolation();
            return work;
        }
        final int done = handler.doWork(queue);
        work += done;
        if (ring.isDisabled())
        {
            reportViolation();
        }
        else if (done == 0 && ring.finalCheckForRequests())
        {
            work++;
        }
        return work;
    }

    private void reportViolation()
    {
        if (!violationReported)
        {
            violationReported = true;
            queue.counters().protocolViolations().incrementRelease();
            violations.onViolation(this, queue.violation());
        }
    }

    @Override
    public void onClose()
    {
        handler.onClose(queue);
    }

    @Override
    public String roleName()
    {
        return roleName;
    }
}
