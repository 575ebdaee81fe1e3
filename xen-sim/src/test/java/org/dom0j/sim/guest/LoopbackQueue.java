package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.ring.BackRing;
import org.dom0j.ring.RingLayout;
import org.dom0j.ring.SharedRingDescriptor;

import java.nio.ByteBuffer;

import static org.dom0j.protocol.netif.NetifDescriptor.RX_REQUEST_LENGTH;
import static org.dom0j.protocol.netif.NetifDescriptor.RX_RESPONSE_LENGTH;
import static org.dom0j.protocol.netif.NetifDescriptor.TX_REQUEST_LENGTH;
import static org.dom0j.protocol.netif.NetifDescriptor.TX_RESPONSE_LENGTH;

/**
 * One queue of a {@link LoopbackVif}, as {@link LoopbackNetback} serves it: the frontend's TX and RX rings mapped
 * through dom0's grant tables, their event channels bound (one, or two with split channels), and the one packet
 * waiting to go into this queue's RX ring, with its RX flags and GSO extra.
 * <p>
 * Used by the backend's loop thread only.
 */
final class LoopbackQueue
{
    /** Most bytes of one packet. */
    static final int PACKET_BYTES = 80 * 1024;

    final GrantMapping txMap;
    final GrantMapping rxMap;
    final BackRing tx;
    final BackRing rx;
    final int txPort;
    final int rxPort;
    final UnsafeBuffer packet = new UnsafeBuffer(ByteBuffer.allocateDirect(PACKET_BYTES));
    boolean held;
    int length;
    int flags;
    int gsoType;
    int gsoSize;
    private final EventChannels evtchn;

    LoopbackQueue(
        final GrantTables gnttab,
        final EventChannels evtchn,
        final int domid,
        final int txRef,
        final int rxRef,
        final int txRemote,
        final int rxRemote)
    {
        this.evtchn = evtchn;
        txMap = gnttab.mapOne(domid, txRef, true);
        rxMap = gnttab.mapOne(domid, rxRef, true);
        tx = new BackRing(RingLayout.of(TX_REQUEST_LENGTH, TX_RESPONSE_LENGTH, 1), txMap.buffer())
            .attach(txMap.buffer().getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET));
        rx = new BackRing(RingLayout.of(RX_REQUEST_LENGTH, RX_RESPONSE_LENGTH, 1), rxMap.buffer())
            .attach(rxMap.buffer().getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET));
        txPort = evtchn.bindInterdomain(domid, txRemote);
        rxPort = txRemote == rxRemote ? txPort : evtchn.bindInterdomain(domid, rxRemote);
    }

    void close()
    {
        evtchn.unbind(txPort);
        if (rxPort != txPort)
        {
            evtchn.unbind(rxPort);
        }
        txMap.close();
        rxMap.close();
    }
}
