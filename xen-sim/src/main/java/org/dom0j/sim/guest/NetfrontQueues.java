package org.dom0j.sim.guest;

import org.dom0j.evtchn.EventChannels;
import org.dom0j.sim.SimDomain;

import java.util.function.ToLongFunction;

/**
 * The queues of a {@link SimNetfront}: per queue a {@link NetfrontTx} and a {@link NetfrontRx}, bound to one
 * unbound event channel each with split channels, else sharing one. A queue whose TX or RX side the backend broke
 * is stopped and skipped by {@link #poll}; the others go on. Counters are summed over all queues.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class NetfrontQueues
{
    private final EventChannels evtchn;
    private final NetfrontTx[] tx;
    private final NetfrontRx[] rx;

    /**
     * Sets up every queue's rings, page pools and event channels, queue 0 first.
     *
     * @param guest         the guest domain.
     * @param backendDomid  the backend's domain.
     * @param evtchn        the frontend's event channel handle.
     * @param count         queues, 1 to {@link SimNetfront#MAX_QUEUES}.
     * @param split         one channel for TX and one for RX.
     * @param txFirstOffset where in its page a packet's first TX slot starts.
     * @param sg            whether packets may take several slots.
     */
    NetfrontQueues(
        final SimDomain guest,
        final int backendDomid,
        final EventChannels evtchn,
        final int count,
        final boolean split,
        final int txFirstOffset,
        final boolean sg)
    {
        this.evtchn = evtchn;
        this.tx = new NetfrontTx[count];
        this.rx = new NetfrontRx[count];
        for (int q = 0; q < count; q++)
        {
            final int txPort = evtchn.bindUnboundPort(backendDomid);
            final int rxPort = split ? evtchn.bindUnboundPort(backendDomid) : txPort;
            tx[q] = new NetfrontTx(guest, backendDomid, q, evtchn, txPort, txFirstOffset, sg);
            rx[q] = new NetfrontRx(guest, backendDomid, q, evtchn, rxPort);
        }
    }

    /**
     * @return queues in use.
     */
    int count()
    {
        return tx.length;
    }

    /**
     * @param queue a queue.
     * @return its transmit side.
     */
    NetfrontTx tx(final int queue)
    {
        return tx[queue];
    }

    /**
     * @param queue a queue.
     * @return its receive side.
     */
    NetfrontRx rx(final int queue)
    {
        return rx[queue];
    }

    /**
     * Posts RX buffers on every queue (done once at connect, then by each poll).
     */
    void refill()
    {
        for (final NetfrontRx r : rx)
        {
            r.refill();
        }
    }

    /**
     * @param queue a queue.
     * @return why it was stopped, or null while it runs.
     */
    String violation(final int queue)
    {
        return null != tx[queue].violation() ? tx[queue].violation() : rx[queue].violation();
    }

    /**
     * @return why the first stopped queue was stopped, or null.
     */
    String firstViolation()
    {
        for (int q = 0; q < tx.length; q++)
        {
            final String v = violation(q);
            if (null != v)
            {
                return v;
            }
        }
        return null;
    }

    /**
     * One pass over the running queues: TX responses collected, then RX packets taken and buffers refilled.
     *
     * @param handler receives each frame.
     * @return responses and packets taken.
     */
    int poll(final SimNetfront.FrameHandler handler)
    {
        int work = 0;
        for (int q = 0; q < tx.length; q++)
        {
            if (null == violation(q))
            {
                work += tx[q].collect();
            }
            if (null == violation(q))
            {
                work += rx[q].poll(handler);
            }
        }
        return work;
    }

    /**
     * @param counter one of {@link NetfrontTx}'s counters.
     * @return its sum over all queues.
     */
    long sumTx(final ToLongFunction<NetfrontTx> counter)
    {
        return sum(tx, counter);
    }

    /**
     * @param counter one of {@link NetfrontRx}'s counters.
     * @return its sum over all queues.
     */
    long sumRx(final ToLongFunction<NetfrontRx> counter)
    {
        return sum(rx, counter);
    }

    private static <T> long sum(final T[] sides, final ToLongFunction<T> counter)
    {
        long n = 0;
        for (final T side : sides)
        {
            n += counter.applyAsLong(side);
        }
        return n;
    }

    /**
     * Unbinds every queue's event channels (the handle itself is closed by the caller).
     */
    void unbind()
    {
        for (int q = 0; q < tx.length; q++)
        {
            evtchn.unbind(tx[q].port());
            if (rx[q].port() != tx[q].port())
            {
                evtchn.unbind(rx[q].port());
            }
        }
    }

    /**
     * Ends every grant the backend no longer holds and frees those pages, queue by queue.
     *
     * @return grants that could not be ended.
     */
    int release()
    {
        int leaked = 0;
        for (int q = 0; q < tx.length; q++)
        {
            leaked += tx[q].release();
            leaked += rx[q].release();
        }
        return leaked;
    }
}
