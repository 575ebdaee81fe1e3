package org.dom0j.netback;

import org.agrona.CloseHelper;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;

/**
 * A port of the switch that leads out of the service: a TAP into dom0's own network stack ({@link TapUplink}), or an
 * Aeron link to other hosts' dom0j switches ({@link AeronUplink}). Frames come to it whole (it
 * {@link #acceptsReferences() takes no frame by reference}) from whichever agent forwards them, and it sends them
 * without blocking (a full queue or a peer that is gone costs the frame, never a guest's progress); frames it
 * receives are switched from its port by a thread of its own.
 * <p>
 * <b>Threads</b>: {@link #deliver} from any agent; {@link #start} and {@link #close} from the service's thread.
 */
public abstract class Uplink implements SwitchPort, AutoCloseable
{
    static final int COUNTER_TYPE_ID = 0x75706C00;

    private final String name;
    final AtomicCounter txFrames;
    final AtomicCounter txBytes;
    final AtomicCounter txDropped;
    final AtomicCounter rxFrames;
    final AtomicCounter rxBytes;
    final AtomicCounter rxDropped;
    private L2Switch fabric;
    private int port = -1;

    /**
     * @param name     e.g. "tap dom0j0", "aeron".
     * @param counters where its counters go ("uplink NAME tx_frames" and so on).
     */
    Uplink(final String name, final CountersManager counters)
    {
        this.name = name;
        txFrames = counters.newCounter("uplink " + name + " tx_frames", COUNTER_TYPE_ID);
        txBytes = counters.newCounter("uplink " + name + " tx_bytes", COUNTER_TYPE_ID);
        txDropped = counters.newCounter("uplink " + name + " tx_dropped", COUNTER_TYPE_ID);
        rxFrames = counters.newCounter("uplink " + name + " rx_frames", COUNTER_TYPE_ID);
        rxBytes = counters.newCounter("uplink " + name + " rx_bytes", COUNTER_TYPE_ID);
        rxDropped = counters.newCounter("uplink " + name + " rx_dropped", COUNTER_TYPE_ID);
    }

    @Override
    public final String name()
    {
        return name;
    }

    @Override
    public final long fixedMac()
    {
        return -1;
    }

    /**
     * Attaches to the switch and starts receiving.
     *
     * @param fabric the switch.
     */
    final void start(final L2Switch fabric)
    {
        this.fabric = fabric;
        this.port = fabric.attach(this);
        startReceiving();
    }

    /**
     * Starts the thread that receives frames and hands each to {@link #received}.
     */
    abstract void startReceiving();

    /**
     * Stops receiving (the thread has ended when it returns) and releases the link.
     */
    abstract void stopReceiving();

    /**
     * Switches a frame that came in by this uplink (its receiving thread).
     *
     * @param frame    the frame, local.
     * @param headers  scratch for parsing it, the thread's own.
     * @param nowNanos the current time.
     */
    final void received(final Frame frame, final PacketHeaders headers, final long nowNanos)
    {
        rxFrames.incrementRelease();
        rxBytes.getAndAddRelease(frame.length());
        headers.parse(frame.localView(), 0, frame.localLength());
        frame.flowHash(headers.flowHash(frame.localView(), 0));
        if (fabric.forward(frame, port, nowNanos) == 0)
        {
            rxDropped.incrementRelease();
        }
    }

    /**
     * Counts a frame sent out (any thread).
     *
     * @param sent   whether it went.
     * @param length its length.
     * @return sent.
     */
    final boolean countSent(final boolean sent, final int length)
    {
        if (sent)
        {
            txFrames.increment();
            txBytes.getAndAdd(length);
        }
        else
        {
            txDropped.increment();
        }
        return sent;
    }

    @Override
    public final void close()
    {
        if (port >= 0)
        {
            fabric.detach(port);
            port = -1;
        }
        stopReceiving();
        CloseHelper.closeAll(txFrames, txBytes, txDropped, rxFrames, rxBytes, rxDropped);
    }
}
