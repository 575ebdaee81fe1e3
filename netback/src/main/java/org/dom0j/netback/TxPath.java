package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.netif.NetifExtraInfoFlyweight;
import org.dom0j.protocol.netif.NetifTxRequestFlyweight;
import org.dom0j.protocol.netif.NetifTxResponseFlyweight;
import org.dom0j.ring.BackRing;

import java.nio.ByteBuffer;

import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * A vif queue's transmit side: takes the guest's packets off its TX ring, validates them the way Linux's netback
 * does, copies them out of the guest's pages in one batched grant copy, hands each to a {@link Sink}, and answers
 * every slot.
 * <p>
 * The guest is an adversary. Each request is copied out of the ring once and only the copy is used; {@code req_prod}
 * is read once per pass and checked for overflow. What Linux's {@code xenvif_tx_build_gops} and
 * {@code xenvif_count_requests} reject is rejected here the same way:
 * <ul>
 *   <li>answered with NETIF_RSP_ERROR on every slot (the packet is dropped, the vif goes on): more than
 *       {@link #LEGACY_SLOTS_MAX} data slots, a slot larger than what the first slot says is left, a first slot
 *       shorter than an Ethernet header;</li>
 *   <li>fatal (the queue is disabled and the device fails with the reason): a {@code more_data} chain or an extra
 *       info that runs past the requests produced, {@link #FATAL_SLOTS} slots or more, a slot crossing its page, an
 *       extra info of an unknown type, a GSO extra with size 0 or an unknown type.</li>
 * </ul>
 * A slot of size 0 after the first is answered without being copied (XSA-448: its grant is never used). Each slot
 * gets one response with its id; extra info slots get NETIF_RSP_NULL right after their packet's first response.
 * A multicast control request (an MCAST_ADD or MCAST_DEL extra) changes the vif's filter and is answered like a
 * packet. The rate limit ({@link CreditLimiter}) holds a packet back without taking it.
 * <p>
 * Agent thread only. No allocation per packet.
 */
final class TxPath
{
    /** Receives each good packet. */
    interface Sink
    {
        /**
         * @param frame the packet: whole in local memory, or (when {@link #needsLocal} said no) its first bytes local
         *              and the rest still in the guest's pages, with the sender to tell when each receiver has
         *              copied them; valid only during the call.
         * @return how many destinations took it; 0 when it was dropped after all (counted as tx_dropped).
         */
        int send(Frame frame);

        /**
         * @param frame a packet whose first bytes only are local (the headers).
         * @return whether it must be made whole in local memory before {@link #send}: a destination that cannot
         *         copy it by reference (an uplink), or a sink that always writes whole frames (a TAP).
         */
        default boolean needsLocal(final Frame frame)
        {
            return true;
        }
    }

    /** XEN_NETBK_LEGACY_SLOTS_MAX: a packet of more than this many slots after the first is dropped. */
    static final int LEGACY_SLOTS_MAX = XEN_NETIF_NR_SLOTS_MIN;
    /** Linux's fatal_skb_slots default: a packet of more than this many slots after the first disables the vif. */
    static final int FATAL_SLOTS = 20;
    private static final int BATCH_PACKETS = 64;
    private static final int STAGING_BYTES = 512 * 1024;
    private static final int STAGING_ALIGN = 64;
    /** Bytes of a packet copied out before it is switched (its headers), as Linux's XEN_NETBACK_TX_COPY_LEN. */
    static final int HEADER_COPY = 128;
    /** A packet this short is copied whole: a second copy of it costs less than holding the guest's slots. */
    static final int SMALL_PACKET = 256;

    private final BackRing ring;
    private final int domid;
    private final GrantTables gnttab;
    private final NetbackCounters counters;
    private final CreditLimiter credit;
    private final MulticastFilter multicast;
    private final Violations violations;
    private final UnsafeBuffer request;
    private final NetifTxRequestFlyweight txReq = new NetifTxRequestFlyweight();
    private final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight();
    private final NetifTxResponseFlyweight txRsp = new NetifTxResponseFlyweight();
    private final UnsafeBuffer staging = new UnsafeBuffer(ByteBuffer.allocateDirect(STAGING_BYTES));
    private final GrantCopyBatch copies;
    private final GrantCopyBatch rest;
    private final Frame frame = new Frame();
    private final TxCompletions completions;
    private final TxCompletions.ResponseWriter heldWriter = this::writeHeld;
    private int endpoint = -1;

    // The batch's responses, in the order they go on the ring.
    private final int[] respId;
    private final short[] respStatus;
    private int respCount;

    // The batch's packets.
    private final int[] pktStaging = new int[BATCH_PACKETS];
    private final int[] pktLength = new int[BATCH_PACKETS];
    private final int[] pktRespStart = new int[BATCH_PACKETS];
    private final int[] pktRespEnd = new int[BATCH_PACKETS];
    private final int[] pktCopyStart = new int[BATCH_PACKETS];
    private final int[] pktCopyEnd = new int[BATCH_PACKETS];
    private final int[] pktFlags = new int[BATCH_PACKETS];
    private final int[] pktGsoType = new int[BATCH_PACKETS];
    private final int[] pktGsoSize = new int[BATCH_PACKETS];
    private final int[] pktHashType = new int[BATCH_PACKETS];
    private final int[] pktHash = new int[BATCH_PACKETS];
    private final int[] pktHeader = new int[BATCH_PACKETS];
    private final int[] pktSegStart = new int[BATCH_PACKETS];
    private final int[] pktSegCount = new int[BATCH_PACKETS];
    private final int[] pktRestStart = new int[BATCH_PACKETS];
    private final int[] pktRestEnd = new int[BATCH_PACKETS];
    private final boolean[] pktFailed = new boolean[BATCH_PACKETS];
    private boolean[] respSkipped;
    private final int[] segRef;
    private final int[] segOffset;
    private final int[] segLength;
    private int segments;
    private int packets;
    private int stagingUsed;

    // The packet being parsed: its following slots, and its extra infos by type.
    private final int[] followRef = new int[FATAL_SLOTS + 1];
    private final int[] followOffset = new int[FATAL_SLOTS + 1];
    private final int[] followSize = new int[FATAL_SLOTS + 1];
    private final int[] extraFlags = new int[XEN_NETIF_EXTRA_TYPE_MAX];
    private final long[] extraValue = new long[XEN_NETIF_EXTRA_TYPE_MAX];
    private final int[] extraValue2 = new int[XEN_NETIF_EXTRA_TYPE_MAX];
    private final boolean[] extraSeen = new boolean[XEN_NETIF_EXTRA_TYPE_MAX];

    private int rp;
    private boolean responded;
    private boolean rateLimited;

    /** Where a fatal error goes (the queue disables itself). */
    interface Violations
    {
        /**
         * @param reason what the frontend did.
         */
        void fatal(String reason);
    }

    /**
     * @param ring       the TX ring (attached).
     * @param domid      the guest.
     * @param gnttab     grant copies.
     * @param counters   the queue's counters.
     * @param credit     the vif's rate limit for this queue.
     * @param multicast  the vif's multicast filter.
     * @param violations told of a fatal error.
     */
    TxPath(
        final BackRing ring,
        final int domid,
        final GrantTables gnttab,
        final NetbackCounters counters,
        final CreditLimiter credit,
        final MulticastFilter multicast,
        final Violations violations)
    {
        this.ring = ring;
        this.domid = domid;
        this.gnttab = gnttab;
        this.counters = counters;
        this.credit = credit;
        this.multicast = multicast;
        this.violations = violations;
        this.request = new UnsafeBuffer(new byte[ring.layout().slotLength()]);
        this.respId = new int[ring.size()];
        this.respStatus = new short[ring.size()];
        this.respSkipped = new boolean[ring.size()];
        this.copies = new GrantCopyBatch(ring.size());
        this.rest = new GrantCopyBatch(ring.size());
        this.segRef = new int[ring.size()];
        this.segOffset = new int[ring.size()];
        this.segLength = new int[ring.size()];
        this.completions = new TxCompletions(ring.size());
    }

    /**
     * From now on, packets longer than {@link #SMALL_PACKET} whose destinations take frames by reference go out with
     * only their first {@link #HEADER_COPY} bytes copied: each receiver copies the rest straight from the guest's
     * pages, and the packet is answered when the last has (switch mode).
     *
     * @param id this queue's {@link TxEndpoints} id.
     */
    void forwardByReference(final int id)
    {
        endpoint = id;
    }

    /**
     * @return the packets held until receivers have copied them.
     */
    TxCompletions completions()
    {
        return completions;
    }

    /**
     * Takes one batch of packets off the ring, sends the good ones, answers every slot taken.
     *
     * @param sink     where packets go.
     * @param nowNanos the current time (rate limit).
     * @return the slots taken (0 when there was nothing, or the queue is rate limited or disabled).
     */
    int doWork(final Sink sink, final long nowNanos)
    {
        responded = false;
        rateLimited = false;
        if (ring.isDisabled())
        {
            return 0;
        }
        // Packets receivers have finished copying are answered first (also while the rate limit holds new ones).
        final int answered = completions.drain(heldWriter);
        rp = ring.sharedReqProd();
        if (ring.isRequestProdOverflow(rp) || Integer.compareUnsigned(rp - ring.rspProdPvt(),
            ring.reqCons() - ring.rspProdPvt()) < 0)
        {
            fatal("impossible TX req_prod " + Integer.toUnsignedString(rp) + " (req_cons " +
                Integer.toUnsignedString(ring.reqCons()) + ", ring of " + ring.size() + ")");
            return 0;
        }
        final int startCons = ring.reqCons();
        packets = 0;
        segments = 0;
        stagingUsed = 0;
        respCount = 0;
        copies.clear();
        rest.clear();
        while (packets < BATCH_PACKETS && available() > 0 && !ring.isDisabled())
        {
            if (!takePacket(nowNanos))
            {
                break;
            }
        }
        if (ring.isDisabled())
        {
            return 0;
        }
        if (copies.count() > 0)
        {
            gnttab.copy(copies);
        }
        for (int p = 0; p < packets; p++)
        {
            prepare(p, sink);
        }
        if (rest.count() > 0)
        {
            gnttab.copy(rest);
        }
        for (int p = 0; p < packets; p++)
        {
            deliver(p, sink);
        }
        writeResponses();
        return ring.reqCons() - startCons + answered;
    }

    /**
     * @return requests produced and not taken, bounded by free response slots.
     */
    private int available()
    {
        final int produced = rp - ring.reqCons();
        final int free = ring.size() - (ring.reqCons() - ring.rspProdPvt());
        return Integer.compareUnsigned(produced, free) < 0 ? produced : free;
    }

    /**
     * Parses one packet (or multicast control request) and plans its copies.
     *
     * @return false to end the batch (held back by the rate limit or the staging space), true to go on.
     */
    private boolean takePacket(final long nowNanos)
    {
        ring.peekRequest(request, 0);
        txReq.wrap(request, 0);
        final int firstId = txReq.id();
        final int firstFlags = txReq.flags();
        final int firstRef = txReq.gref();
        final int firstOffset = txReq.pageOffset();
        int size = txReq.size();
        if (stagingUsed + size + STAGING_ALIGN > STAGING_BYTES)
        {
            return false;
        }
        if (!credit.tryTake(size, nowNanos))
        {
            // Held back, not taken: looked at again on the next pass (the agent wakes at least every millisecond).
            rateLimited = true;
            return false;
        }
        ring.takePeekedRequest();
        final int respStart = respCount;
        addResponse(firstId, NETIF_RSP_OKAY);

        int extras = 0;
        for (int t = 0; t < XEN_NETIF_EXTRA_TYPE_MAX; t++)
        {
            extraSeen[t] = false;
        }
        if ((firstFlags & NETTXF_EXTRA_INFO) != 0)
        {
            int flags;
            do
            {
                if (available() == 0)
                {
                    fatal("missing extra info after TX request " + firstId);
                    return false;
                }
                ring.copyRequest(request, 0);
                extra.wrap(request, 0);
                final int type = extra.type();
                flags = extra.flags();
                if (type == XEN_NETIF_EXTRA_TYPE_NONE || type >= XEN_NETIF_EXTRA_TYPE_MAX)
                {
                    fatal("TX extra info of unknown type " + type);
                    return false;
                }
                extraSeen[type] = true;
                extraFlags[type] = type == XEN_NETIF_EXTRA_TYPE_GSO ? extra.gsoType() : extra.hashType();
                extraValue[type] = type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD || type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL ?
                    extra.mcastAddress() : type == XEN_NETIF_EXTRA_TYPE_GSO ? extra.gsoSize() : extra.hashValue();
                extraValue2[type] = extra.hashAlgorithm();
                extras++;
                addResponse(-1, NETIF_RSP_NULL);
            }
            while ((flags & XEN_NETIF_EXTRA_FLAG_MORE) != 0);
        }

        if (extraSeen[XEN_NETIF_EXTRA_TYPE_MCAST_ADD] || extraSeen[XEN_NETIF_EXTRA_TYPE_MCAST_DEL])
        {
            // A multicast control request: no data, answered OKAY (or ERROR when the list is full).
            if (extraSeen[XEN_NETIF_EXTRA_TYPE_MCAST_ADD])
            {
                if (!multicast.add(extraValue[XEN_NETIF_EXTRA_TYPE_MCAST_ADD]))
                {
                    respStatus[respStart] = NETIF_RSP_ERROR;
                }
            }
            else
            {
                multicast.remove(extraValue[XEN_NETIF_EXTRA_TYPE_MCAST_DEL]);
            }
            return true;
        }

        final int staged = stagingUsed;
        int slots = 0;
        boolean drop = false;
        int flags = firstFlags;
        int firstOwn = size;
        // Following slots: counted and checked as Linux's xenvif_count_requests does, kept until the packet is known
        // to be good (a dropped packet is never copied).
        while ((flags & NETTXF_MORE_DATA) != 0)
        {
            if (available() == 0)
            {
                fatal("TX packet " + firstId + " asks for more slots than were produced");
                return false;
            }
            // slots = following slots read so far, as Linux counts: 1 + 19 slots pass, 20 and 21 are dropped, 22 or
            // more disable the vif.
            if (slots >= FATAL_SLOTS)
            {
                fatal("TX packet " + firstId + " has more than " + (slots + 1) + " slots (fatal above " +
                    (FATAL_SLOTS + 1) + ")");
                return false;
            }
            if (slots >= LEGACY_SLOTS_MAX)
            {
                drop = true;
            }
            ring.copyRequest(request, 0);
            txReq.wrap(request, 0);
            final int slotSize = txReq.size();
            final int slotOffset = txReq.pageOffset();
            flags = txReq.flags();
            addResponse(txReq.id(), NETIF_RSP_OKAY);
            if (!drop && slotSize > firstOwn)
            {
                drop = true;
            }
            if (slotOffset + slotSize > PAGE_SIZE)
            {
                fatal("TX slot crosses its page: offset " + slotOffset + " size " + slotSize);
                return false;
            }
            if (!drop)
            {
                firstOwn -= slotSize;
            }
            followRef[slots] = txReq.gref();
            followOffset[slots] = slotOffset;
            followSize[slots] = slotSize;
            slots++;
        }
        if (drop || firstOwn < PacketHeaders.ETH_HLEN)
        {
            dropPacket(respStart);
            return true;
        }
        if (firstOffset + firstOwn > PAGE_SIZE)
        {
            fatal("TX first slot crosses its page: offset " + firstOffset + " size " + firstOwn);
            return false;
        }
        int gsoType = 0;
        int gsoSize = 0;
        if (extraSeen[XEN_NETIF_EXTRA_TYPE_GSO])
        {
            gsoSize = (int)extraValue[XEN_NETIF_EXTRA_TYPE_GSO];
            gsoType = extraFlags[XEN_NETIF_EXTRA_TYPE_GSO];
            if (gsoSize == 0)
            {
                fatal("TX GSO extra with size 0");
                return false;
            }
            if (gsoType != XEN_NETIF_GSO_TYPE_TCPV4 && gsoType != XEN_NETIF_GSO_TYPE_TCPV6)
            {
                fatal("TX GSO extra of unknown type " + gsoType);
                return false;
            }
        }

        // The packet is good. Its bytes are the first slot's, then the following slots' in order; staging space is
        // kept for all of them, and its first bytes (all of them unless it goes by reference) are copied now.
        final int packet = packets;
        final long base = staging.addressOffset() + staged;
        int total = firstOwn;
        for (int i = 0; i < slots; i++)
        {
            total += followSize[i];
        }
        final int header = endpoint >= 0 && total > SMALL_PACKET ? HEADER_COPY : total;
        pktCopyStart[packet] = copies.count();
        pktSegStart[packet] = segments;
        int at = plan(firstRef, firstOffset, firstOwn, 0, header, base);
        for (int i = 0; i < slots; i++)
        {
            if (followSize[i] > 0)
            {
                at = plan(followRef[i], followOffset[i], followSize[i], at, header, base);
            }
        }
        pktCopyEnd[packet] = copies.count();
        pktSegCount[packet] = segments - pktSegStart[packet];
        pktStaging[packet] = staged;
        pktLength[packet] = total;
        pktHeader[packet] = header;
        pktRespStart[packet] = respStart;
        pktRespEnd[packet] = respCount;
        pktFlags[packet] = firstFlags;
        pktGsoType[packet] = gsoType;
        pktGsoSize[packet] = gsoSize;
        pktHashType[packet] = extraSeen[XEN_NETIF_EXTRA_TYPE_HASH] ? extraFlags[XEN_NETIF_EXTRA_TYPE_HASH] : -1;
        pktHash[packet] = (int)extraValue[XEN_NETIF_EXTRA_TYPE_HASH];
        stagingUsed = staged + align(total);
        packets++;
        return true;
    }

    /**
     * Plans one slot's bytes, which are the packet's {@code [at, at + size)}: what lies below {@code header} is
     * copied into the staging area now, the rest becomes a segment left in the guest's page.
     *
     * @return the packet offset after this slot.
     */
    private int plan(final int ref, final int offset, final int size, final int at, final int header, final long base)
    {
        final int copied = Math.max(0, Math.min(size, header - at));
        if (copied > 0)
        {
            copies.addFromForeign(domid, ref, offset, base + at, copied);
        }
        if (copied < size)
        {
            segRef[segments] = ref;
            segOffset[segments] = offset + copied;
            segLength[segments] = size - copied;
            segments++;
        }
        return at + size;
    }

    private void dropPacket(final int respStart)
    {
        for (int i = respStart; i < respCount; i++)
        {
            if (respStatus[i] != NETIF_RSP_NULL)
            {
                respStatus[i] = NETIF_RSP_ERROR;
            }
        }
        counters.txErrors.incrementRelease();
    }

    /**
     * After the first copy: checks it, and plans copying the rest of a packet whose sink needs it whole.
     */
    private void prepare(final int p, final Sink sink)
    {
        pktFailed[p] = false;
        pktRestStart[p] = rest.count();
        pktRestEnd[p] = rest.count();
        if (!copiedOkay(copies, pktCopyStart[p], pktCopyEnd[p]))
        {
            fail(p);
            return;
        }
        if (pktSegCount[p] == 0)
        {
            return;
        }
        describe(p);
        if (sink.needsLocal(frame) || !completions.canOpen(pktRespEnd[p] - pktRespStart[p]))
        {
            final long base = staging.addressOffset() + pktStaging[p];
            int at = pktHeader[p];
            for (int s = pktSegStart[p]; s < pktSegStart[p] + pktSegCount[p]; s++)
            {
                rest.addFromForeign(domid, segRef[s], segOffset[s], base + at, segLength[s]);
                at += segLength[s];
            }
            pktRestEnd[p] = rest.count();
            pktSegCount[p] = 0;
            pktHeader[p] = pktLength[p];
        }
    }

    private void describe(final int p)
    {
        final int flags = pktFlags[p];
        final long base = staging.addressOffset() + pktStaging[p];
        if (pktSegCount[p] == 0)
        {
            frame.local(base, pktLength[p]);
        }
        else
        {
            frame.split(base, pktHeader[p], pktLength[p]);
            for (int s = pktSegStart[p]; s < pktSegStart[p] + pktSegCount[p]; s++)
            {
                frame.addSegment(domid, segRef[s], segOffset[s], segLength[s]);
            }
        }
        frame.csum((flags & NETTXF_CSUM_BLANK) != 0 ? Frame.CSUM_PARTIAL :
                (flags & NETTXF_DATA_VALIDATED) != 0 ? Frame.CSUM_VALIDATED : Frame.CSUM_NONE)
            .gso(pktGsoType[p], pktGsoSize[p])
            .hash(pktHashType[p], pktHash[p]);
    }

    private void deliver(final int p, final Sink sink)
    {
        if (pktFailed[p])
        {
            return;
        }
        if (!copiedOkay(rest, pktRestStart[p], pktRestEnd[p]))
        {
            fail(p);
            return;
        }
        describe(p);
        counters.txPackets.incrementRelease();
        counters.txBytes.getAndAddRelease(pktLength[p]);
        if (pktSegCount[p] == 0)
        {
            if (sink.send(frame) == 0)
            {
                counters.txDropped.incrementRelease();
            }
            return;
        }
        // By reference: the packet is answered when the last receiver has copied it.
        final int token = completions.open(respId, respStatus, pktRespStart[p], pktRespEnd[p]);
        for (int i = pktRespStart[p]; i < pktRespEnd[p]; i++)
        {
            respSkipped[i] = true;
        }
        frame.completion(endpoint, token);
        final int delivered = sink.send(frame);
        if (delivered == 0)
        {
            counters.txDropped.incrementRelease();
        }
        if (completions.hold(token, delivered))
        {
            completions.take(token, heldWriter);
        }
    }

    private static boolean copiedOkay(final GrantCopyBatch batch, final int from, final int to)
    {
        for (int op = from; op < to; op++)
        {
            if (batch.status(op) != GrantCopyBatch.GNTST_OKAY)
            {
                return false;
            }
        }
        return true;
    }

    private void fail(final int p)
    {
        for (int i = pktRespStart[p]; i < pktRespEnd[p]; i++)
        {
            if (respStatus[i] != NETIF_RSP_NULL)
            {
                respStatus[i] = NETIF_RSP_ERROR;
            }
        }
        pktSegCount[p] = 0;
        pktFailed[p] = true;
        counters.txErrors.incrementRelease();
    }

    private void addResponse(final int id, final short status)
    {
        respId[respCount] = id;
        respStatus[respCount] = status;
        respCount++;
    }

    private void writeResponses()
    {
        for (int i = 0; i < respCount; i++)
        {
            if (respSkipped[i])
            {
                respSkipped[i] = false;
                continue;
            }
            writeResponse(respId[i], respStatus[i]);
        }
        respCount = 0;
    }

    private void writeResponse(final int id, final short status)
    {
        final int offset = ring.claimResponse();
        txRsp.wrap(ring.buffer(), offset).status(status);
        if (id >= 0)
        {
            txRsp.id(id);
        }
        ring.commitResponse();
        responded = true;
    }

    /**
     * Writes a packet held until its receivers had copied it (they have).
     */
    private void writeHeld(final int[] ids, final short[] statuses, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            writeResponse(ids[i], statuses[i]);
        }
    }

    /**
     * Answers what receivers have finished copying since the last pass, without taking new requests (the queue's
     * agent, e.g. while closing).
     *
     * @return packets answered.
     */
    int answerCompleted()
    {
        return completions.drain(heldWriter);
    }

    /**
     * @return whether the last pass stopped at a packet the rate limit holds back.
     */
    boolean isRateLimited()
    {
        return rateLimited;
    }

    /**
     * @return whether the last pass wrote responses to push.
     */
    boolean hasResponses()
    {
        return responded;
    }

    private void fatal(final String reason)
    {
        // Responses already planned are not written: the queue stops here, as Linux's netback disables the vif.
        respCount = 0;
        packets = 0;
        violations.fatal(reason);
    }

    private static int align(final int length)
    {
        return (length + STAGING_ALIGN - 1) & -STAGING_ALIGN;
    }
}
