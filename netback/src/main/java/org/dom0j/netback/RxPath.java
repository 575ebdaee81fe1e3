package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.netif.NetifExtraInfoFlyweight;
import org.dom0j.protocol.netif.NetifRxRequestFlyweight;
import org.dom0j.protocol.netif.NetifRxResponseFlyweight;
import org.dom0j.ring.BackRing;

import java.nio.ByteBuffer;

import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * A vif queue's receive side: puts frames into the pages the guest posted on its RX ring, the way Linux's netback
 * lays them out ({@code xenvif_rx_skb}): the first slot holds data (after the XDP headroom, if the frontend asked
 * for one), then one slot per extra info (GSO, then hash, then XDP), then the rest of the data, a page per slot;
 * each response goes in the slot of the request it answers (Linux's netfront finds its buffers by ring position), with
 * {@code more_data} on every data slot but the last and the checksum flags on the first. A frame's pieces are copied
 * with one grant copy per piece, batched over many frames: from local memory, or straight from another guest's
 * grant.
 * <p>
 * A frame is added only when enough requests are posted for it ({@link #reserve}); otherwise the queue asks to be
 * notified when the guest posts more ({@code req_event = req_prod + 1}) and the frame waits where it is. Each posted
 * request is copied out of the ring once. A copy that fails (a bad receive grant) puts the negative GNTST status in
 * that slot's response, as Linux does, and counts an error; but a copy straight from another guest's page, which
 * fails as well when the sender's grant is bad (never checked by the sender's queue, or ended since), answers
 * NETIF_RSP_DROPPED and counts a drop: the receiver is not told its own grant failed.
 * <p>
 * Agent thread only. No allocation per frame.
 */
final class RxPath
{
    private static final int STAGING_BYTES = 256 * 1024;
    private static final int STAGING_ALIGN = 64;
    private static final int MAX_OPS = 1024;
    private static final int KIND_DATA = 0;
    private static final int KIND_GSO = XEN_NETIF_EXTRA_TYPE_GSO;
    private static final int KIND_HASH = XEN_NETIF_EXTRA_TYPE_HASH;
    private static final int KIND_XDP = XEN_NETIF_EXTRA_TYPE_XDP;

    private final BackRing ring;
    private final int domid;
    private final GrantTables gnttab;
    private final NetbackCounters counters;
    private final UnsafeBuffer request;
    private final NetifRxRequestFlyweight rxReq = new NetifRxRequestFlyweight();
    private final NetifRxResponseFlyweight rxRsp = new NetifRxResponseFlyweight();
    private final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight();
    private final UnsafeBuffer staging = new UnsafeBuffer(ByteBuffer.allocateDirect(STAGING_BYTES));
    private final GrantCopyBatch copies = new GrantCopyBatch(MAX_OPS);
    private int stagingUsed;
    private VifFeatures features;

    // The planned responses, one per request taken, in ring order.
    private final int[] kind;
    private final int[] rspId;
    private final int[] rspEntry;
    private final int[] rspOffset;
    private final int[] rspFlags;
    private final int[] rspBytes;
    private final int[] rspOpStart;
    private final int[] rspOpEnd;
    private final int[] extraA;
    private final int[] extraB;
    private final int[] extraC;
    private int planned;
    private int frames;
    private long frameBytes;

    /**
     * @param ring     the RX ring (attached).
     * @param domid    the guest.
     * @param gnttab   grant copies.
     * @param counters the queue's counters.
     * @param features what the frontend asked for.
     */
    RxPath(
        final BackRing ring,
        final int domid,
        final GrantTables gnttab,
        final NetbackCounters counters,
        final VifFeatures features)
    {
        this.ring = ring;
        this.domid = domid;
        this.gnttab = gnttab;
        this.counters = counters;
        this.features = features;
        this.request = new UnsafeBuffer(new byte[ring.layout().slotLength()]);
        final int n = ring.size();
        kind = new int[n];
        rspId = new int[n];
        rspEntry = new int[n];
        rspOffset = new int[n];
        rspFlags = new int[n];
        rspBytes = new int[n];
        rspOpStart = new int[n];
        rspOpEnd = new int[n];
        extraA = new int[n];
        extraB = new int[n];
        extraC = new int[n];
    }

    /**
     * @return the frontend's features, as this path uses them.
     */
    VifFeatures features()
    {
        return features;
    }

    /**
     * @param length bytes a local frame needs.
     * @return where to put it in this path's staging area, valid until {@link #flush}, or 0 when it is full (flush
     *         first: an empty staging area holds the largest frame).
     */
    long stage(final int length)
    {
        if (stagingUsed + length > STAGING_BYTES)
        {
            return 0;
        }
        final long address = staging.addressOffset() + stagingUsed;
        stagingUsed += (length + STAGING_ALIGN - 1) & -STAGING_ALIGN;
        return address;
    }

    /**
     * Gives back the end of the last block {@link #stage}d: it holds only {@code length} bytes.
     *
     * @param address what {@link #stage} returned last.
     * @param length  the bytes that block keeps.
     */
    void trim(final long address, final int length)
    {
        stagingUsed = (int)(address - staging.addressOffset()) + ((length + STAGING_ALIGN - 1) & -STAGING_ALIGN);
    }

    /**
     * Gives back the last block {@link #stage}d.
     *
     * @param address what {@link #stage} returned last.
     */
    void unstage(final long address)
    {
        stagingUsed = (int)(address - staging.addressOffset());
    }

    /**
     * @param frame a frame this guest accepts as it is (offloads already settled by the caller).
     * @return the receive slots it takes: its data pages, plus one per extra info.
     */
    int slotsNeeded(final Frame frame)
    {
        return slotsNeeded(frame.length(), frame.gsoType() != 0, frame.hashType() >= 0);
    }

    /**
     * @param length a frame's length.
     * @param gso    whether it carries a GSO extra.
     * @param hash   whether it carries a hash extra.
     * @return the receive slots it takes.
     */
    int slotsNeeded(final int length, final boolean gso, final boolean hash)
    {
        return dataSlots(length) + (gso ? 1 : 0) + (hash ? 1 : 0) + (features.xdpHeadroom() > 0 ? 1 : 0);
    }

    /**
     * @param length a frame's length.
     * @return the data slots it takes (the first after the XDP headroom, the others a page each).
     */
    int dataSlots(final int length)
    {
        final int rest = Math.max(0, length - (PAGE_SIZE - features.xdpHeadroom()));
        return 1 + (rest + PAGE_SIZE - 1) / PAGE_SIZE;
    }

    /**
     * Whether {@code slots} receive requests are posted and not yet taken; when not, asks the frontend for a
     * notification when it posts more and checks once more.
     *
     * @param slots the slots a frame needs.
     * @return true when the frame may be added.
     */
    boolean reserve(final int slots)
    {
        if (ring.isDisabled())
        {
            return false;
        }
        if (slots > ring.size() - 2 || planned + slots > ring.size())
        {
            return false;
        }
        if (ring.unconsumedRequests() >= slots)
        {
            return true;
        }
        return ring.armRequestEvent() >= slots;
    }

    /**
     * @return whether the copy batch has room for another frame's pieces (else {@link #flush} first).
     */
    boolean hasCopyRoom()
    {
        return copies.count() + 2 * Frame.MAX_SEGMENTS + 2 * XEN_NETIF_NR_SLOTS_MIN <= MAX_OPS;
    }

    /**
     * Takes the requests a frame needs and plans its copies and responses; the caller has {@link #reserve}d them
     * and checked {@link #hasCopyRoom}. The frame's local bytes must stay where they are until {@link #flush}.
     *
     * @param frame the frame.
     */
    void add(final Frame frame)
    {
        final int length = frame.length();
        final int headroom = features.xdpHeadroom();
        int pos = 0;
        // Slot 0: data.
        final int first = Math.min(length, PAGE_SIZE - headroom);
        int flags = 0;
        if (frame.csum() == Frame.CSUM_PARTIAL)
        {
            flags |= NETRXF_CSUM_BLANK | NETRXF_DATA_VALIDATED;
        }
        else if (frame.csum() == Frame.CSUM_VALIDATED)
        {
            flags |= NETRXF_DATA_VALIDATED;
        }
        final boolean gso = frame.gsoType() != 0;
        final boolean hash = frame.hashType() >= 0;
        final boolean xdp = headroom > 0;
        if (gso || hash || xdp)
        {
            flags |= NETRXF_EXTRA_INFO;
        }
        if (first < length)
        {
            flags |= NETRXF_MORE_DATA;
        }
        planData(frame, pos, first, headroom, flags);
        pos += first;
        if (gso)
        {
            planExtra(KIND_GSO, frame.gsoType(), frame.gsoSize(), 0, hash || xdp);
        }
        if (hash)
        {
            planExtra(KIND_HASH, frame.hashType(), XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, frame.hash(), xdp);
        }
        if (xdp)
        {
            planExtra(KIND_XDP, headroom, 0, 0, false);
        }
        while (pos < length)
        {
            final int chunk = Math.min(length - pos, PAGE_SIZE);
            planData(frame, pos, chunk, 0, pos + chunk < length ? NETRXF_MORE_DATA : 0);
            pos += chunk;
        }
        frames++;
        frameBytes += length;
    }

    private int takeRequest()
    {
        ring.copyRequest(request, 0);
        rxReq.wrap(request, 0);
        final int slot = planned++;
        rspId[slot] = rxReq.id();
        rspEntry[slot] = ring.lastJournalEntry();
        return slot;
    }

    private void planData(final Frame frame, final int from, final int bytes, final int pageOffset, final int flags)
    {
        final int slot = takeRequest();
        final int ref = rxReq.gref();
        kind[slot] = KIND_DATA;
        rspOffset[slot] = pageOffset;
        rspFlags[slot] = flags;
        rspBytes[slot] = bytes;
        rspOpStart[slot] = copies.count();
        // The frame's bytes [from, from + bytes): first what of them is local, then the foreign segments they span.
        int pos = from;
        final int end = from + bytes;
        int dst = pageOffset;
        final int local = frame.localLength();
        if (pos < local)
        {
            final int n = Math.min(end, local) - pos;
            copies.addToForeign(domid, ref, dst, frame.localAddress() + pos, n);
            pos += n;
            dst += n;
        }
        int segStart = local;
        for (int s = 0; s < frame.segmentCount() && pos < end; s++)
        {
            final int segLength = frame.segmentLength(s);
            final int segEnd = segStart + segLength;
            if (pos < segEnd)
            {
                final int n = Math.min(end, segEnd) - pos;
                copies.addForeignToForeign(frame.segmentDomid(s), frame.segmentRef(s),
                    frame.segmentOffset(s) + (pos - segStart), domid, ref, dst, n);
                pos += n;
                dst += n;
            }
            segStart = segEnd;
        }
        rspOpEnd[slot] = copies.count();
    }

    private void planExtra(final int extraKind, final int a, final int b, final int c, final boolean more)
    {
        final int slot = takeRequest();
        kind[slot] = extraKind;
        extraA[slot] = a;
        extraB[slot] = b;
        extraC[slot] = c;
        rspFlags[slot] = more ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
        rspOpStart[slot] = copies.count();
        rspOpEnd[slot] = copies.count();
    }

    /**
     * @return whether frames are planned and not yet flushed.
     */
    boolean hasPlanned()
    {
        return planned > 0;
    }

    /**
     * Copies every planned frame in one grant copy, writes their responses in ring order, and empties the staging
     * area. The caller pushes the responses.
     *
     * @return the frames flushed.
     */
    int flush()
    {
        if (planned == 0)
        {
            stagingUsed = 0;
            return 0;
        }
        if (copies.count() > 0)
        {
            gnttab.copy(copies);
        }
        int errors = 0;
        int dropped = 0;
        for (int i = 0; i < planned; i++)
        {
            final int offset = ring.claimResponse(rspEntry[i]);
            if (kind[i] == KIND_DATA)
            {
                int status = rspBytes[i];
                for (int op = rspOpStart[i]; op < rspOpEnd[i]; op++)
                {
                    if (copies.status(op) != GrantCopyBatch.GNTST_OKAY)
                    {
                        // A copy straight from the sender's page fails for the sender's grant as well as for this
                        // guest's: the frame was lost on its way, not refused by this guest's buffer.
                        if (copies.foreignToForeign(op))
                        {
                            status = NETIF_RSP_DROPPED;
                            dropped++;
                        }
                        else
                        {
                            status = copies.status(op);
                            errors++;
                        }
                        break;
                    }
                }
                rxRsp.wrap(ring.buffer(), offset).id(rspId[i]).pageOffset(rspOffset[i]).flags(rspFlags[i])
                    .status(status);
            }
            else
            {
                extra.wrap(ring.buffer(), offset).type(kind[i]).flags(rspFlags[i]);
                if (kind[i] == KIND_GSO)
                {
                    extra.gsoType(extraA[i]).gsoSize(extraB[i]).gsoFeatures(0);
                }
                else if (kind[i] == KIND_HASH)
                {
                    extra.hashType(extraA[i]).hashAlgorithm(extraB[i]).hashValue(extraC[i]);
                }
                else
                {
                    extra.xdpHeadroom(extraA[i]);
                }
            }
            ring.commitResponse();
        }
        final int flushed = frames;
        counters.rxPackets.getAndAddRelease(frames);
        counters.rxBytes.getAndAddRelease(frameBytes);
        if (errors > 0)
        {
            counters.rxErrors.getAndAddRelease(errors);
        }
        if (dropped > 0)
        {
            counters.rxDropped.getAndAddRelease(dropped);
        }
        planned = 0;
        frames = 0;
        frameBytes = 0;
        stagingUsed = 0;
        copies.clear();
        return flushed;
    }
}
