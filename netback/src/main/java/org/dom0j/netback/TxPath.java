package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.ring.BackRing;

import java.nio.ByteBuffer;

import static org.dom0j.protocol.netif.NetifConstants.NETTXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_NR_SLOTS_MIN;

/**
 * A vif queue's transmit side: takes the guest's packets off its TX ring in batches, each judged by a
 * {@link TxPacketParser} the way Linux's netback judges them, copies the good ones out of the guest's pages in one
 * batched grant copy, hands each to a {@link Sink}, and answers every slot through {@link TxResponses}.
 * <p>
 * In switch mode a packet longer than {@link #SMALL_PACKET} bytes may leave with only its headers copied: each
 * receiver copies the rest straight from the guest's pages, and the packet is answered when the last has
 * ({@link TxCompletions}). A copy that fails answers its packet with NETIF_RSP_ERROR.
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
    private final TxResponses responses;
    private final TxPacketParser parser;
    private final Violations violations;
    private final UnsafeBuffer staging = new UnsafeBuffer(ByteBuffer.allocateDirect(STAGING_BYTES));
    private final GrantCopyBatch copies;
    private final GrantCopyBatch rest;
    private final Frame frame = new Frame();
    private final TxCompletions completions;
    private int endpoint = -1;

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
    private final int[] segRef;
    private final int[] segOffset;
    private final int[] segLength;
    private int segments;
    private int packets;
    private int stagingUsed;

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
        this.violations = violations;
        this.responses = new TxResponses(ring);
        this.parser = new TxPacketParser(ring, credit, multicast, responses, violations, counters);
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
        responses.begin();
        if (ring.isDisabled())
        {
            return 0;
        }
        // Packets receivers have finished copying are answered first (also while the rate limit holds new ones).
        final int answered = completions.drain(responses);
        final int rp = ring.sharedReqProd();
        parser.begin(rp);
        if (ring.isRequestProdOverflow(rp) || Integer.compareUnsigned(rp - ring.rspProdPvt(),
            ring.reqCons() - ring.rspProdPvt()) < 0)
        {
            responses.discard();
            violations.fatal("impossible TX req_prod " + Integer.toUnsignedString(rp) + " (req_cons " +
                Integer.toUnsignedString(ring.reqCons()) + ", ring of " + ring.size() + ")");
            return 0;
        }
        final int startCons = ring.reqCons();
        packets = 0;
        segments = 0;
        stagingUsed = 0;
        copies.clear();
        rest.clear();
        while (packets < BATCH_PACKETS && parser.available() > 0)
        {
            final int verdict = parser.parse(nowNanos, STAGING_BYTES - STAGING_ALIGN - stagingUsed);
            if (verdict == TxPacketParser.PACKET)
            {
                planCopies();
            }
            else if (verdict != TxPacketParser.ANSWERED)
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
        responses.writePlanned();
        return ring.reqCons() - startCons + answered;
    }

    /**
     * The parser's packet is good. Its bytes are the first slot's, then the following slots' in order; staging space
     * is kept for all of them, and its first bytes (all of them unless it goes by reference) are copied now.
     */
    private void planCopies()
    {
        final TxPacketParser in = parser;
        final int packet = packets;
        final int staged = stagingUsed;
        final long base = staging.addressOffset() + staged;
        final int total = in.length();
        final int header = endpoint >= 0 && total > SMALL_PACKET ? HEADER_COPY : total;
        pktCopyStart[packet] = copies.count();
        pktSegStart[packet] = segments;
        int at = plan(in.firstRef, in.firstOffset, in.firstSize, 0, header, base);
        for (int i = 0; i < in.slots; i++)
        {
            if (in.followSize[i] > 0)
            {
                at = plan(in.followRef[i], in.followOffset[i], in.followSize[i], at, header, base);
            }
        }
        pktCopyEnd[packet] = copies.count();
        pktSegCount[packet] = segments - pktSegStart[packet];
        pktStaging[packet] = staged;
        pktLength[packet] = total;
        pktHeader[packet] = header;
        pktRespStart[packet] = in.respStart;
        pktRespEnd[packet] = in.respEnd;
        pktFlags[packet] = in.flags;
        pktGsoType[packet] = in.gsoType;
        pktGsoSize[packet] = in.gsoSize;
        pktHashType[packet] = in.hashType;
        pktHash[packet] = in.hash;
        stagingUsed = staged + align(total);
        packets++;
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
        final int token = completions.open(responses.ids(), responses.statuses(), responses.entries(),
            pktRespStart[p], pktRespEnd[p]);
        responses.skip(pktRespStart[p], pktRespEnd[p]);
        frame.completion(endpoint, token);
        final int delivered = sink.send(frame);
        if (delivered == 0)
        {
            counters.txDropped.incrementRelease();
        }
        if (completions.hold(token, delivered))
        {
            completions.take(token, responses);
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
        responses.fail(pktRespStart[p], pktRespEnd[p]);
        pktSegCount[p] = 0;
        pktFailed[p] = true;
        counters.txErrors.incrementRelease();
    }

    /**
     * Answers what receivers have finished copying since the last pass, without taking new requests (the queue's
     * agent, e.g. while closing).
     *
     * @return packets answered.
     */
    int answerCompleted()
    {
        return completions.drain(responses);
    }

    /**
     * @return whether the last pass stopped at a packet the rate limit holds back.
     */
    boolean isRateLimited()
    {
        return parser.isRateLimited();
    }

    /**
     * @return whether the last pass wrote responses to push.
     */
    boolean hasResponses()
    {
        return responses.responded();
    }

    private static int align(final int length)
    {
        return (length + STAGING_ALIGN - 1) & -STAGING_ALIGN;
    }
}
