package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantTables;

/**
 * Lets frames into one vif queue's guest: settles each frame's offloads for this guest and plans it into the receive
 * buffers the guest posted ({@link RxPath}), or says it must wait. A large TCP frame is segmented in software when the
 * guest did not offer its GSO type ({@link TcpSegmenter}), a partial checksum is completed when the guest did not
 * offer checksum offload for its IP version ({@link Checksums}), a GSO frame goes in with a partial checksum as Linux's
 * netback makes it. A frame by reference (its bytes still in the sender's grants) is copied straight from them into
 * the guest's, and its sender told once the copy is done ({@link TxEndpoints}); one that needs work is made local
 * first.
 * <p>
 * It also keeps the time since a frame first had to wait: after the stall timeout the vif's carrier goes off (frames
 * for it are dropped at once) until the guest posts buffers again, as Linux's netback does.
 * <p>
 * The queue's agent thread only. No allocation per frame.
 */
final class RxAdmission
{
    /** The frame is planned into the guest's buffers. */
    static final int ADDED = 0;
    /** Too few buffers posted: the frame waits. */
    static final int BLOCKED = 1;
    /** The frame was dropped (and counted). */
    static final int DROPPED = 2;
    private static final long NO_FRAME_WAITING = Long.MIN_VALUE;

    private final Vif vif;
    private final ConnectedQueue queue;
    private final RxPath rx;
    private final GrantTables gnttab;
    private final TxEndpoints endpoints;
    private final NetbackCounters counters;
    private final int rxRing;
    private final int rxPort;
    private final long stallNanos;
    private final GrantCopyBatch materialize = new GrantCopyBatch(Frame.MAX_SEGMENTS);
    private final int[] completeEndpoint;
    private final int[] completeToken;
    private int completeCount;
    private final Frame outFrame = new Frame();
    private final Frame workFrame = new Frame();
    private final UnsafeBuffer materialized = new UnsafeBuffer(0, 0);
    private final PacketHeaders headers = new PacketHeaders();
    private final TcpSegmenter segmenter = new TcpSegmenter();
    private final TcpSegmenter.SegmentSink segmentSink = this::onSegment;
    private long nowNanos;
    private long blockedSince = NO_FRAME_WAITING;
    private boolean stalled;
    private int segmentHashType;
    private int segmentHash;

    /**
     * @param vif        the vif (capture, carrier).
     * @param queue      the connected queue (its RX ring's responses are pushed here).
     * @param rxRing     the RX ring's index in the queue.
     * @param rxPort     the port the RX ring is notified on.
     * @param rx         the queue's receive side.
     * @param gnttab     grant copies (frames by reference made local).
     * @param endpoints  where senders of frames by reference are told; null in drop-in mode.
     * @param counters   the queue's counters.
     * @param stallNanos how long a frame may wait before the carrier goes off; 0 for never.
     */
    RxAdmission(
        final Vif vif,
        final ConnectedQueue queue,
        final int rxRing,
        final int rxPort,
        final RxPath rx,
        final GrantTables gnttab,
        final TxEndpoints endpoints,
        final NetbackCounters counters,
        final long stallNanos)
    {
        this.vif = vif;
        this.queue = queue;
        this.rxRing = rxRing;
        this.rxPort = rxPort;
        this.rx = rx;
        this.gnttab = gnttab;
        this.endpoints = endpoints;
        this.counters = counters;
        this.stallNanos = stallNanos;
        this.completeEndpoint = new int[queue.ring(rxRing).size()];
        this.completeToken = new int[queue.ring(rxRing).size()];
    }

    /**
     * Starts a pass of the agent.
     *
     * @param now the current time.
     */
    void begin(final long now)
    {
        nowNanos = now;
    }

    /**
     * Copies what is planned into the guest's buffers, answers and notifies it, and frees the senders of the frames
     * copied by reference.
     */
    void flush()
    {
        if (rx.flush() > 0)
        {
            queue.pushResponsesAndNotify(rxRing, rxPort);
        }
        completeSenders();
    }

    /**
     * Tells the senders of the frames just copied by reference that their guests' pages are free.
     */
    void completeSenders()
    {
        for (int i = 0; i < completeCount; i++)
        {
            endpoints.complete(completeEndpoint[i], completeToken[i]);
        }
        completeCount = 0;
    }

    /**
     * A frame whose bytes (but its first) are still in the sending guest's pages: copied once, straight into this
     * guest's buffers, when it takes the frame as it is; made local first when the frame needs work (segmentation, a
     * checksum) or the guest takes no frame over several slots.
     */
    int admitReference(final Frame in)
    {
        headers.parse(in.localView(), 0, in.localLength());
        final VifFeatures features = rx.features();
        final boolean needsWork = (in.gsoType() != 0 && !features.acceptsGso(in.gsoType())) ||
            (in.csum() == Frame.CSUM_PARTIAL && in.gsoType() == 0 &&
            !features.acceptsPartialChecksum(headers.ipVersion())) ||
            (in.gsoType() != 0 && in.csum() != Frame.CSUM_PARTIAL) ||
            (!features.sg() && rx.dataSlots(in.length()) > 1) || vif.isCaptured();
        if (needsWork)
        {
            final int slots = in.gsoType() != 0 && !features.acceptsGso(in.gsoType()) ?
                rx.slotsNeeded(Frame.MAX_LENGTH, false, in.hashType() >= 0) * 2 : rx.slotsNeeded(in);
            if (!rx.reserve(Math.min(slots, queue.ring(rxRing).size() - 2)))
            {
                blocked();
                return BLOCKED;
            }
            final long address = stage(in.length());
            if (!materialize(in, address))
            {
                rx.unstage(address);
                return DROPPED;
            }
            // A frame of its own: segmenting it writes each segment through outFrame.
            workFrame.local(address, in.length()).csum(in.csum()).gso(in.gsoType(), in.gsoSize())
                .hash(in.hashType(), in.hash());
            return admit(workFrame, true);
        }
        if (!rx.reserve(rx.slotsNeeded(in)))
        {
            blocked();
            return BLOCKED;
        }
        final long address = stage(in.localLength());
        outFrame.split(address, in.localLength(), in.length()).csum(in.csum()).gso(in.gsoType(), in.gsoSize())
            .hash(in.hashType(), in.hash());
        outFrame.localView().putBytes(0, in.localView(), 0, in.localLength());
        for (int s = 0; s < in.segmentCount(); s++)
        {
            outFrame.addSegment(in.segmentDomid(s), in.segmentRef(s), in.segmentOffset(s), in.segmentLength(s));
        }
        rx.add(outFrame);
        completeEndpoint[completeCount] = in.completionEndpoint();
        completeToken[completeCount] = in.completionToken();
        completeCount++;
        unblocked();
        return ADDED;
    }

    /**
     * Copies a frame by reference whole into local memory and tells its sender.
     *
     * @return false when its sender's grants could not be read (the frame is dropped and counted).
     */
    boolean materialize(final Frame frame, final long address)
    {
        final UnsafeBuffer target = materialized;
        target.wrap(address, frame.length());
        target.putBytes(0, frame.localView(), 0, frame.localLength());
        materialize.clear();
        long at = address + frame.localLength();
        for (int s = 0; s < frame.segmentCount(); s++)
        {
            materialize.addFromForeign(frame.segmentDomid(s), frame.segmentRef(s), frame.segmentOffset(s), at,
                frame.segmentLength(s));
            at += frame.segmentLength(s);
        }
        gnttab.copy(materialize);
        endpoints.complete(frame.completionEndpoint(), frame.completionToken());
        if (!materialize.allOkay())
        {
            counters.rxErrors.incrementRelease();
            return false;
        }
        return true;
    }

    /**
     * Drops a frame for the guest; one by reference frees its sender.
     */
    void drop(final Frame frame)
    {
        counters.rxDropped.incrementRelease();
        if (!frame.isLocal())
        {
            endpoints.complete(frame.completionEndpoint(), frame.completionToken());
        }
    }

    /**
     * Settles a frame's offloads for this guest and plans it into the guest's receive buffers.
     *
     * @param in        the frame.
     * @param inStaging whether it is already in the receive staging area (else it is copied there).
     * @return ADDED, BLOCKED (too few buffers posted; it waits) or DROPPED.
     */
    int admit(final Frame in, final boolean inStaging)
    {
        headers.parse(in.localView(), 0, in.localLength());
        final VifFeatures features = rx.features();
        if (in.gsoType() != 0 && !features.acceptsGso(in.gsoType()))
        {
            return segment(in);
        }
        final int slots = rx.slotsNeeded(in);
        if (!features.sg() && rx.dataSlots(in.length()) > 1)
        {
            // Too large for one page, and the guest takes no frame over several slots.
            counters.rxDropped.incrementRelease();
            return DROPPED;
        }
        if (!rx.reserve(slots))
        {
            blocked();
            return BLOCKED;
        }
        final Frame out;
        if (inStaging)
        {
            out = in;
        }
        else
        {
            final long address = stage(in.length());
            out = outFrame.local(address, in.length()).csum(in.csum()).gso(in.gsoType(), in.gsoSize())
                .hash(in.hashType(), in.hash());
            out.localView().putBytes(0, in.localView(), 0, in.length());
        }
        if (out.gsoType() != 0 && out.csum() != Frame.CSUM_PARTIAL && headers.hasTransport())
        {
            // A GSO frame goes in with a partial checksum, as Linux's netback makes it (checksum_setup).
            Checksums.partial(out.localView(), 0, out.length(), headers);
            out.csum(Frame.CSUM_PARTIAL);
        }
        else if (out.csum() == Frame.CSUM_PARTIAL && out.gsoType() == 0 &&
            !features.acceptsPartialChecksum(headers.ipVersion()))
        {
            if (!headers.hasTransport())
            {
                counters.rxDropped.incrementRelease();
                return DROPPED;
            }
            Checksums.completePartial(out.localView(), 0, out.length(), headers);
            out.csum(Frame.CSUM_VALIDATED);
            counters.checksumFixups.incrementRelease();
        }
        vif.captured(out, CaptureRing.TO_GUEST);
        rx.add(out);
        unblocked();
        return ADDED;
    }

    /**
     * A large TCP frame for a guest that did not offer its GSO type: cut into segments here.
     */
    private int segment(final Frame in)
    {
        if (!headers.hasTransport() || headers.l4Protocol() != PacketHeaders.IPPROTO_TCP)
        {
            counters.rxDropped.incrementRelease();
            return DROPPED;
        }
        final int headerLength = headers.l4Offset() + headers.l4HeaderLength();
        final int mss = in.gsoSize();
        final int payload = in.length() - headerLength;
        final int segments = (payload + mss - 1) / mss;
        final int segmentLength = Math.min(headerLength + mss, Frame.MAX_LENGTH);
        final int perSegment = rx.slotsNeeded(segmentLength, false, in.hashType() >= 0);
        if (!rx.features().sg() && rx.dataSlots(segmentLength) > 1)
        {
            counters.rxDropped.incrementRelease();
            return DROPPED;
        }
        if (!rx.reserve(segments * perSegment))
        {
            blocked();
            return BLOCKED;
        }
        segmentHashType = in.hashType();
        segmentHash = in.hash();
        segmenter.segment(in.localView(), 0, in.length(), headers, mss, segmentSink);
        counters.segmented.incrementRelease();
        unblocked();
        return ADDED;
    }

    private boolean onSegment(final UnsafeBuffer segment, final int length)
    {
        final long address = stage(length);
        outFrame.local(address, length).csum(Frame.CSUM_VALIDATED).hash(segmentHashType, segmentHash);
        outFrame.localView().putBytes(0, segment, 0, length);
        vif.captured(outFrame, CaptureRing.TO_GUEST);
        rx.add(outFrame);
        return true;
    }

    /**
     * @return a place in the receive side's staging area, flushing what is planned first when it is full.
     */
    long stage(final int length)
    {
        if (!rx.hasCopyRoom())
        {
            flush();
        }
        long address = rx.stage(length);
        if (address == 0)
        {
            flush();
            address = rx.stage(length);
        }
        return address;
    }

    /**
     * @return whether a frame waits because the guest has posted too few buffers (its timeouts are running).
     */
    boolean isBlocked()
    {
        return blockedSince != NO_FRAME_WAITING;
    }

    void blocked()
    {
        if (blockedSince == NO_FRAME_WAITING)
        {
            blockedSince = nowNanos;
        }
    }

    private void unblocked()
    {
        blockedSince = NO_FRAME_WAITING;
        if (stalled)
        {
            stalled = false;
            vif.carrier(true);
        }
    }

    /**
     * Ends a pass: turns the carrier off when a frame has waited for the stall timeout.
     *
     * @param framesWaiting whether frames still wait for this guest.
     */
    void checkStall(final boolean framesWaiting)
    {
        if (blockedSince == NO_FRAME_WAITING || !framesWaiting)
        {
            blockedSince = NO_FRAME_WAITING;
            return;
        }
        if (!stalled && stallNanos > 0 && nowNanos - blockedSince > stallNanos)
        {
            stalled = true;
            counters.rxStalls.incrementRelease();
            vif.carrier(false);
        }
    }

    /**
     * The queue closes: a carrier turned off by a stall goes back on.
     */
    void close()
    {
        if (stalled)
        {
            stalled = false;
            vif.carrier(true);
        }
    }
}
