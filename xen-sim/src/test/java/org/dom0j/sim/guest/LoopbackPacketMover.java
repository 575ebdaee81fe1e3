package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.XenbusState;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.netif.NetifExtraInfoFlyweight;
import org.dom0j.protocol.netif.NetifRxRequestFlyweight;
import org.dom0j.protocol.netif.NetifRxResponseFlyweight;
import org.dom0j.protocol.netif.NetifTxRequestFlyweight;
import org.dom0j.protocol.netif.NetifTxResponseFlyweight;
import org.dom0j.ring.BackRing;

import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * The data path of {@link LoopbackNetback}: takes each packet off a vif queue's TX ring (its extras and
 * NETTXF_more_data slots), grant-copies it into the peer queue's packet buffer, answers its TX slots, and writes it
 * into the peer's RX ring: page-sized slots chained with NETRXF_more_data, a GSO extra after the first, TX
 * checksum flags turned into RX flags as netback does. A packet that does not fit the posted RX buffers is held
 * (and the TX ring waits behind it). MCAST_ADD/DEL dummies are recorded on the vif, not delivered. A frontend that
 * breaks the protocol fails the loop.
 * <p>
 * Used on the backend's loop thread only; it reads the test hooks and writes the counters of its
 * {@link LoopbackNetback}.
 */
final class LoopbackPacketMover
{
    private static final int HEADERS = NetFrames.TCP_FRAME_HEADERS;

    private final LoopbackNetback owner;
    private final GrantTables gnttab;
    private final EventChannels evtchn;
    private final GrantCopyBatch batch = new GrantCopyBatch(64);
    private final NetifTxRequestFlyweight txRequest = new NetifTxRequestFlyweight();
    private final NetifTxResponseFlyweight txResponse = new NetifTxResponseFlyweight();
    private final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight();
    private final NetifRxRequestFlyweight rxRequest = new NetifRxRequestFlyweight();
    private final NetifRxResponseFlyweight rxResponse = new NetifRxResponseFlyweight();
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[16]);
    private final int[] slotRef = new int[32];
    private final int[] slotOffset = new int[32];
    private final int[] slotSize = new int[32];
    private final int[] slotId = new int[32];

    LoopbackPacketMover(final LoopbackNetback owner, final GrantTables gnttab, final EventChannels evtchn)
    {
        this.owner = owner;
        this.gnttab = gnttab;
        this.evtchn = evtchn;
    }

    /**
     * Moves up to 64 packets from one queue's TX ring to the peer (a held packet first).
     *
     * @param vif the sending vif, connected.
     * @param q   its queue.
     * @return work done.
     */
    int serviceTx(final LoopbackVif vif, final int q)
    {
        final LoopbackQueue queue = vif.queues[q];
        final LoopbackVif peer = vif.peer;
        final LoopbackQueue target = peer.phase == XenbusState.CONNECTED && peer.queues.length > 0 ?
            peer.queues[q % peer.queues.length] : null;
        int work = 0;
        if (null != target && target.held)
        {
            if (!deliver(peer, target))
            {
                return 0;
            }
            work++;
        }
        boolean notify = false;
        while (work < 64 && queue.tx.unconsumedRequests() > 0)
        {
            final boolean multicast = takePacket(vif, queue, null == target ? queue : target);
            notify |= queue.tx.pushResponsesAndCheckNotify();
            work++;
            if (!multicast && null != target)
            {
                owner.txPackets++;
                if (!deliver(peer, target))
                {
                    break;
                }
            }
        }
        if (notify)
        {
            evtchn.notify(queue.txPort);
        }
        if (work == 0 && queue.tx.finalCheckForRequests())
        {
            work++;
        }
        return work;
    }

    /**
     * Takes one packet off the TX ring into {@code into}'s buffer and answers its slots.
     *
     * @return whether it was a multicast control dummy (nothing to deliver).
     */
    private boolean takePacket(final LoopbackVif vif, final LoopbackQueue queue, final LoopbackQueue into)
    {
        final BackRing tx = queue.tx;
        tx.copyRequest(copy, 0);
        txRequest.wrap(copy, 0);
        final int size = txRequest.size();
        final int flags = txRequest.flags();
        int slots = 0;
        slotRef[0] = txRequest.gref();
        slotOffset[0] = txRequest.pageOffset();
        slotId[0] = txRequest.id();
        slots++;
        int extras = 0;
        int gsoType = XEN_NETIF_GSO_TYPE_NONE;
        int gsoSize = 0;
        boolean multicast = false;
        boolean more = (flags & NETTXF_EXTRA_INFO) != 0;
        while (more)
        {
            require(tx.unconsumedRequests() > 0, vif, "missing extra info");
            tx.copyRequest(copy, 0);
            extra.wrap(copy, 0);
            extras++;
            if (extra.type() == XEN_NETIF_EXTRA_TYPE_GSO)
            {
                gsoType = extra.gsoType();
                gsoSize = extra.gsoSize();
            }
            else if (extra.type() == XEN_NETIF_EXTRA_TYPE_MCAST_ADD || extra.type() == XEN_NETIF_EXTRA_TYPE_MCAST_DEL)
            {
                multicast = true;
                vif.multicast.add((extra.type() == XEN_NETIF_EXTRA_TYPE_MCAST_ADD ? "add " : "del ") +
                    NetFrames.formatMac(extra.mcastAddress()));
            }
            more = (extra.flags() & XEN_NETIF_EXTRA_FLAG_MORE) != 0;
        }
        int rest = 0;
        boolean moreData = (flags & NETTXF_MORE_DATA) != 0 && !multicast;
        while (moreData)
        {
            require(tx.unconsumedRequests() > 0 && slots < slotRef.length, vif, "more_data past req_prod");
            tx.copyRequest(copy, 0);
            txRequest.wrap(copy, 0);
            slotRef[slots] = txRequest.gref();
            slotOffset[slots] = txRequest.pageOffset();
            slotSize[slots] = txRequest.size();
            slotId[slots] = txRequest.id();
            rest += slotSize[slots];
            slots++;
            moreData = (txRequest.flags() & NETTXF_MORE_DATA) != 0;
        }
        slotSize[0] = size - rest;
        if (!multicast)
        {
            require(slotSize[0] >= 0 && size <= LoopbackQueue.PACKET_BYTES, vif, "first slot size below 0");
            batch.clear();
            int at = 0;
            for (int s = 0; s < slots; s++)
            {
                require(slotOffset[s] + slotSize[s] <= PAGE_SIZE, vif, "slot crosses its page");
                batch.addFromForeign(vif.domid, slotRef[s], slotOffset[s], into.packet.addressOffset() + at,
                    slotSize[s]);
                at += slotSize[s];
            }
            gnttab.copy(batch);
            require(batch.allOkay(), vif, "grant copy from the frontend failed");
            into.length = size;
            into.flags = ((flags & NETTXF_CSUM_BLANK) != 0 ? NETRXF_CSUM_BLANK | NETRXF_DATA_VALIDATED : 0) |
                ((flags & NETTXF_DATA_VALIDATED) != 0 ? NETRXF_DATA_VALIDATED : 0);
            into.gsoType = gsoType;
            into.gsoSize = gsoSize;
        }
        respond(tx, slotId[0], NETIF_RSP_OKAY);
        for (int e = 0; e < extras; e++)
        {
            respond(tx, 0, NETIF_RSP_NULL);
        }
        for (int s = 1; s < slots; s++)
        {
            respond(tx, slotId[s], NETIF_RSP_OKAY);
        }
        return multicast;
    }

    private void respond(final BackRing tx, final int id, final int status)
    {
        txResponse.wrap(tx.buffer(), tx.claimResponse()).id(id).status(status);
        tx.commitResponse();
    }

    private static void require(final boolean condition, final LoopbackVif vif, final String what)
    {
        if (!condition)
        {
            vif.failure = what;
            throw new IllegalStateException("frontend of vif " + vif.domid + "/" + vif.devid + ": " + what);
        }
    }

    private boolean deliver(final LoopbackVif peer, final LoopbackQueue target)
    {
        final boolean gso = target.gsoType != XEN_NETIF_GSO_TYPE_NONE;
        final int head = owner.splitHeader && gso && target.length > HEADERS ? HEADERS : 0;
        final int dataSlots = (head > 0 ? 1 : 0) + (target.length - head + PAGE_SIZE - 1) / PAGE_SIZE;
        final int needed = dataSlots + (gso ? 1 : 0);
        final BackRing rx = target.rx;
        if (rx.unconsumedRequests() < needed)
        {
            rx.finalCheckForRequests();
            if (rx.unconsumedRequests() < needed)
            {
                if (!target.held)
                {
                    owner.rxWaits++;
                }
                target.held = true;
                return false;
            }
        }
        batch.clear();
        int done = 0;
        for (int s = 0; s < dataSlots; s++)
        {
            final int chunk = s == 0 && head > 0 ? head : Math.min(PAGE_SIZE, target.length - done);
            rx.copyRequest(copy, 0);
            rxRequest.wrap(copy, 0);
            batch.addToForeign(peer.domid, rxRequest.gref(), 0, target.packet.addressOffset() + done, chunk);
            done += chunk;
            final int slotFlags = (done < target.length ? NETRXF_MORE_DATA : 0) |
                (s == 0 ? target.flags | (gso ? NETRXF_EXTRA_INFO : 0) : 0);
            final int at = rx.claimResponse();
            rxResponse.wrap(rx.buffer(), at).id(rxRequest.id()).pageOffset(0).flags(slotFlags).status(chunk);
            if (s == 0)
            {
                owner.tamperOnce(rxResponse);
            }
            rx.commitResponse();
            if (s == 0 && gso)
            {
                rx.copyRequest(copy, 0);
                extra.wrap(rx.buffer(), rx.claimResponse()).type(XEN_NETIF_EXTRA_TYPE_GSO).flags(0)
                    .gsoSize(target.gsoSize).gsoType(target.gsoType).gsoFeatures(0);
                rx.commitResponse();
            }
        }
        gnttab.copy(batch);
        require(batch.allOkay(), peer, "grant copy into the frontend failed");
        if (rx.pushResponsesAndCheckNotify())
        {
            evtchn.notify(target.rxPort);
        }
        target.held = false;
        owner.lastRxSlots = needed;
        owner.rxPackets++;
        return true;
    }
}
