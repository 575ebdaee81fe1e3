package org.dom0j.backend;

import org.agrona.concurrent.Agent;
import org.dom0j.ring.BackRing;

/**
 * The {@link Agent} serving one ring queue ({@code <type>-<domid>-<devid>-<name>}): drains the queue's event
 * channels, runs the device type's {@link QueueHandler}, and when there is nothing to do performs
 * {@code RING_FINAL_CHECK_FOR_REQUESTS} on the queue's first ring so that an idle strategy may wait safely (a
 * raw-page queue has no ring: its handler alone decides, and reports a violation with
 * {@link ConnectedQueue#disable}; a handler with further rings, such as netif's RX ring, arms those itself). When
 * the frontend breaks a ring's protocol the agent stops reading, counts it and tells the conductor once (through the
 * conductor's command queue). It counts the requests taken and responses produced from the rings' indices.
 * <p>
 * An event storm (XSA-332's class: a frontend that notifies over and over with nothing on its rings) costs only its
 * own queue: after {@link #SPURIOUS_STREAK} passes in a row in which events came and the handler found nothing to
 * do, the agent stops unmasking the queue's ports at once and leaves them masked for a while (1 ms, doubling while
 * the storm goes on, up to {@link #MAX_BACKOFF_NANOS}), as Linux's lateeoi handling delays the end of interrupt, and
 * such events no longer count as work, so the agent idles and its thread (shared with other queues, perhaps) is
 * free. The rings are still looked at on every pass, so a frontend that posts requests meanwhile is served as soon
 * as the agent runs, and any real work ends the backoff.
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

    /** Passes in a row with events and no work before the ports are held masked. */
    static final int SPURIOUS_STREAK = 16;
    /** The longest a storming queue's ports stay masked. */
    static final long MAX_BACKOFF_NANOS = 64_000_000L;
    private static final long FIRST_BACKOFF_NANOS = 1_000_000L;

    private final String roleName;
    private final ConnectedQueue queue;
    private final int[] heldPorts = new int[8];
    private int heldCount;
    private int spuriousStreak;
    private long backoffNanos;
    private long unmaskAt;
    private final QueueHandler handler;
    private final ViolationListener violations;
    private boolean violationReported;
    private final int[] countedReqCons;
    private final int[] countedRspProd;
    private volatile boolean stopping;
    private boolean takeEventsEveryPass = true;
    private boolean takeEventsNext = true;

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
        countedReqCons = new int[queue.ringCount()];
        countedRspProd = new int[queue.ringCount()];
        for (int i = 0; i < queue.ringCount(); i++)
        {
            final BackRing ring = queue.ring(i);
            if (null != ring)
            {
                countedReqCons[i] = ring.reqCons();
                countedRspProd[i] = ring.rspProdPvt();
            }
        }
    }

    /**
     * @return the queue served.
     */
    public ConnectedQueue queue()
    {
        return queue;
    }

    /**
     * Takes the queue's events only on the first pass after its idle strategy blocked (that strategy must call
     * {@link #idleWaitNanos} right before each block, as {@link AgentScheduler#eventDriven}'s does), instead of on
     * every pass. While the agent spins its passes look at the rings' shared indices alone: taking events is a
     * {@code poll(2)} on the event channel device, and in a PV dom0 every system call goes through the hypervisor,
     * so a hundred idle spins cost a hundred of them (the real-Xen tier's profile of serve had its queue thread
     * mostly there). Nothing is missed: a port that fired stays queued in the kernel until it is taken, so the
     * block that follows returns at once; and until it is unmasked the frontend's further notifications only set
     * its pending bit, which unmasking delivers again. The events counter then counts the events taken.
     *
     * @return this.
     */
    public RingAgent takeEventsOnlyAfterWaiting()
    {
        takeEventsEveryPass = false;
        return this;
    }

    @Override
    public int doWork()
    {
        final int events = takeEventsEveryPass || takeEventsNext ? takeEvents() : 0;
        takeEventsNext = false;
        int work = heldCount > 0 ? 0 : events;
        final BackRing ring = queue.ring();
        if (ring == null)
        {
            if (queue.violation() == null)
            {
                final int done = handler.doWork(queue);
                work += done;
                judge(events, done);
            }
            if (queue.violation() != null)
            {
                reportViolation();
            }
            return work;
        }
        if (queue.violation() != null)
        {
            reportViolation();
            return work;
        }
        final int done = handler.doWork(queue);
        work += done;
        judge(events, done);
        countRings();
        if (queue.violation() != null)
        {
            reportViolation();
        }
        else if (done == 0 && handler.takesWaitingRequests(queue) && ring.finalCheckForRequests())
        {
            work++;
        }
        return work;
    }

    /**
     * The longest its idle strategy may wait now: the handler's {@link QueueHandler#idleWaitNanos}, or the
     * scheduler's own bound, no longer than until held ports are due to be unmasked, and 0 once it is
     * {@link #stopping}. Called on the agent's thread, between passes.
     *
     * @param schedulerNanos the scheduler's longest wait.
     * @return nanoseconds to wait at most.
     */
    public long idleWaitNanos(final long schedulerNanos)
    {
        return idleWaitNanos(schedulerNanos, System.nanoTime());
    }

    /**
     * {@link #idleWaitNanos(long)}, with the clock's reading the idle strategy took as it went to block.
     *
     * @param schedulerNanos the scheduler's longest wait.
     * @param now            {@link System#nanoTime()}'s clock, read a moment ago (perhaps as of its last tick: for
     *                        timers of milliseconds).
     * @return nanoseconds to wait at most.
     */
    public long idleWaitNanos(final long schedulerNanos, final long now)
    {
        // Asked right before the idle strategy blocks: the events that wake it are taken on the next pass.
        takeEventsNext = true;
        if (stopping)
        {
            return 0;
        }
        final long handlerNanos = handler.idleWaitNanos(queue, now);
        long wait = handlerNanos < 0 ? schedulerNanos : handlerNanos;
        if (heldCount > 0)
        {
            // A backoff of a millisecond or so, timed by the fine clock: the reading given may be the coarse clock's.
            wait = Math.min(wait, Math.max(0, unmaskAt - System.nanoTime()));
        }
        return wait;
    }

    /**
     * Its scheduler is about to stop it (any thread): it is woken from its wait and no longer sleeps, so that it
     * leaves as soon as its runner says so.
     */
    public void stopping()
    {
        stopping = true;
        queue.eventChannels().wakeup();
    }

    /**
     * Takes the pending events: unmasks their ports at once, or, while the queue's events are held back, keeps them
     * masked until the backoff ends.
     *
     * @return the events taken.
     */
    private int takeEvents()
    {
        if (heldCount > 0 && System.nanoTime() - unmaskAt >= 0)
        {
            for (int i = 0; i < heldCount; i++)
            {
                queue.eventChannels().unmask(heldPorts[i]);
            }
            heldCount = 0;
        }
        int events = 0;
        int port;
        // A port the kernel delivered stays masked until it is unmasked, so once each of the queue's ports has been
        // taken there is nothing more to take: one read fewer a wake-up (a system call through the hypervisor in a
        // PV dom0) than reading on until the device says it has none. Anything further stays queued, and the next
        // wait returns at once for it.
        final int ports = queue.portCount();
        while (events < ports && (port = queue.eventChannels().pending()) >= 0)
        {
            queue.counters().eventsReceived().incrementRelease();
            events++;
            if (backoffNanos > 0 && spuriousStreak >= SPURIOUS_STREAK && heldCount < heldPorts.length)
            {
                if (heldCount == 0)
                {
                    unmaskAt = System.nanoTime() + backoffNanos;
                }
                heldPorts[heldCount++] = port;
            }
            else
            {
                queue.eventChannels().unmask(port);
            }
        }
        return events;
    }

    /**
     * Decides whether a pass's events were spurious: events and no work, in a row, start (or lengthen) the backoff;
     * any work ends it.
     */
    private void judge(final int events, final int done)
    {
        if (done > 0)
        {
            spuriousStreak = 0;
            backoffNanos = 0;
        }
        else if (events > 0 && ++spuriousStreak >= SPURIOUS_STREAK)
        {
            if (spuriousStreak == SPURIOUS_STREAK)
            {
                queue.counters().spuriousStorms().incrementRelease();
            }
            backoffNanos = backoffNanos == 0 ? FIRST_BACKOFF_NANOS : Math.min(backoffNanos * 2, MAX_BACKOFF_NANOS);
        }
    }

    /**
     * Counts what the handler took off and put on the rings, from the rings' own indices, so every ring-based
     * device type gets the requests and responses counters without counting itself.
     */
    private void countRings()
    {
        for (int i = 0; i < countedReqCons.length; i++)
        {
            final BackRing ring = queue.ring(i);
            if (null == ring)
            {
                continue;
            }
            final int reqCons = ring.reqCons();
            final int rspProd = ring.rspProdPvt();
            if (reqCons != countedReqCons[i])
            {
                queue.counters().requests().getAndAddRelease(reqCons - countedReqCons[i] & 0xFFFF_FFFFL);
                countedReqCons[i] = reqCons;
            }
            if (rspProd != countedRspProd[i])
            {
                queue.counters().responses().getAndAddRelease(rspProd - countedRspProd[i] & 0xFFFF_FFFFL);
                countedRspProd[i] = rspProd;
            }
        }
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
