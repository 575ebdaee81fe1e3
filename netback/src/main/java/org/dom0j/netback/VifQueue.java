package org.dom0j.netback;

import org.agrona.concurrent.ControlledMessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.MutableDirectBuffer;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.QueueHandler;
import org.dom0j.gnttab.GrantTables;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One connected queue of a vif, served by its agent ({@code vif-<domid>-<devid>-q<N>}): the guest's transmit side
 * ({@link TxPath}: packets off the TX ring to a {@link TxPath.Sink}) and its receive side ({@link RxPath}: frames
 * from the queue's {@link FrameInbox} into the receive buffers the guest posted).
 * <p>
 * Frames for the guest are settled here before they go in: a large TCP frame is segmented in software when the guest
 * did not offer that GSO type, a partial checksum is completed when the guest did not offer checksum offload for that
 * IP version ({@link TcpSegmenter}, {@link Checksums}). A frame waits in the inbox while the guest has posted too few
 * buffers for it; after the drain timeout it is dropped, and a queue blocked for the stall timeout turns the vif's
 * carrier off (frames for it are dropped at once) until the guest posts buffers again, as Linux's netback does.
 * <p>
 * Other agents reach this queue only through {@link #offer} (any thread): the frame is copied into the inbox and the
 * agent woken through its event channel handle ({@code EventChannels.wakeup}), once per pass of the agent, not once
 * per frame.
 */
final class VifQueue implements QueueHandler
{
    static final int TX_RING = 0;
    static final int RX_RING = 1;
    private static final long NO_FRAME_WAITING = Long.MIN_VALUE;

    private final Vif vif;
    private final ConnectedQueue queue;
    private final TxPath tx;
    private final RxPath rx;
    private final TxPath.Sink sink;
    private final FrameInbox inbox;
    private final NetbackCounters counters;
    private final int txPort;
    private final int rxPort;
    private final long drainNanos;
    private final long stallNanos;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final Frame inFrame = new Frame();
    private final Frame outFrame = new Frame();
    private final PacketHeaders headers = new PacketHeaders();
    private final TcpSegmenter segmenter = new TcpSegmenter();
    private final ControlledMessageHandler inboxHandler = this::onInboxFrame;
    private final TcpSegmenter.SegmentSink segmentSink = this::onSegment;
    private long nowNanos;
    private long blockedSince = NO_FRAME_WAITING;
    private boolean stalled;
    private int segmentHashType;
    private int segmentHash;

    /**
     * @param vif        the vif.
     * @param queue      the connected queue: ring 0 TX, ring 1 RX; port 0 TX (or both), port 1 RX when split.
     * @param gnttab     grant copies.
     * @param features   what the frontend asked for.
     * @param counters   the queue's counters.
     * @param credit     the queue's rate limit.
     * @param sink       where the guest's packets go.
     * @param config     timeouts and the inbox's size.
     */
    VifQueue(
        final Vif vif,
        final ConnectedQueue queue,
        final GrantTables gnttab,
        final VifFeatures features,
        final NetbackCounters counters,
        final CreditLimiter credit,
        final TxPath.Sink sink,
        final NetbackConfiguration config)
    {
        this.vif = vif;
        this.queue = queue;
        this.counters = counters;
        this.sink = sink;
        final int domid = queue.device().frontendDomid();
        this.tx = new TxPath(queue.ring(TX_RING), domid, gnttab, counters, credit, vif.multicast(), queue::disable);
        this.rx = new RxPath(queue.ring(RX_RING), domid, gnttab, counters, features);
        this.inbox = new FrameInbox(config.inboxBytes());
        this.txPort = 0;
        this.rxPort = queue.portCount() > 1 ? 1 : 0;
        // Without feature-rx-notify a frame may wait only 30 ms and the queue is never stalled (Linux's netback).
        this.drainNanos = TimeUnit.MILLISECONDS.toNanos(features.rxNotify() ? config.rxDrainTimeoutMs() : 30);
        this.stallNanos = features.rxNotify() ? TimeUnit.MILLISECONDS.toNanos(config.rxStallTimeoutMs()) : 0;
    }

    /**
     * @return the queue's counters.
     */
    NetbackCounters counters()
    {
        return counters;
    }

    /**
     * Queues a frame for the guest (any thread) and wakes the agent.
     *
     * @param frame    the frame, local.
     * @param now      the current time.
     * @return false when the inbox is full (the frame is dropped and counted).
     */
    boolean offer(final Frame frame, final long now)
    {
        if (!inbox.offer(frame, now))
        {
            countDropped();
            return false;
        }
        if (!wakePending.get() && !wakePending.getAndSet(true))
        {
            queue.eventChannels().wakeup();
        }
        return true;
    }

    /**
     * Counts a frame for the guest dropped before it reached the queue (any thread).
     */
    void countDropped()
    {
        counters.rxDropped.increment();
    }

    @Override
    public int doWork(final ConnectedQueue connected)
    {
        nowNanos = System.nanoTime();
        int work = tx.doWork(sink, nowNanos);
        if (tx.hasResponses())
        {
            queue.pushResponsesAndNotify(TX_RING, txPort);
        }
        if (queue.violation() != null)
        {
            return work;
        }
        // Clear before reading: a frame offered after this is either read below or wakes the agent again.
        wakePending.set(false);
        final int frames = inbox.ring().controlledRead(inboxHandler);
        work += frames;
        flushRx();
        checkStall();
        return work;
    }

    private void flushRx()
    {
        if (rx.flush() > 0)
        {
            queue.pushResponsesAndNotify(RX_RING, rxPort);
        }
    }

    private ControlledMessageHandler.Action onInboxFrame(
        final int msgTypeId, final MutableDirectBuffer buffer, final int index, final int length)
    {
        final long enqueued = FrameInbox.decode((UnsafeBuffer)buffer, index, inFrame);
        if (nowNanos - enqueued > drainNanos)
        {
            counters.rxDropped.incrementRelease();
            return ControlledMessageHandler.Action.CONTINUE;
        }
        headers.parse(inFrame.localView(), 0, inFrame.localLength());
        final VifFeatures features = rx.features();
        if (inFrame.gsoType() != 0 && !features.acceptsGso(inFrame.gsoType()))
        {
            return segment();
        }
        final int slots = rx.slotsNeeded(inFrame);
        if (!features.sg() && rx.dataSlots(inFrame.length()) > 1)
        {
            // Too large for one page, and the guest takes no frame over several slots.
            counters.rxDropped.incrementRelease();
            return ControlledMessageHandler.Action.CONTINUE;
        }
        if (!rx.reserve(slots))
        {
            return blocked();
        }
        final long address = stage(inFrame.length());
        outFrame.local(address, inFrame.length()).csum(inFrame.csum()).gso(inFrame.gsoType(), inFrame.gsoSize())
            .hash(inFrame.hashType(), inFrame.hash());
        outFrame.localView().putBytes(0, inFrame.localView(), 0, inFrame.length());
        if (outFrame.gsoType() != 0 && outFrame.csum() != Frame.CSUM_PARTIAL && headers.hasTransport())
        {
            // A GSO frame goes in with a partial checksum, as Linux's netback makes it (checksum_setup).
            Checksums.partial(outFrame.localView(), 0, outFrame.length(), headers);
            outFrame.csum(Frame.CSUM_PARTIAL);
        }
        else if (outFrame.csum() == Frame.CSUM_PARTIAL && outFrame.gsoType() == 0 &&
            !features.acceptsPartialChecksum(headers.ipVersion()))
        {
            if (!headers.hasTransport())
            {
                counters.rxDropped.incrementRelease();
                return ControlledMessageHandler.Action.CONTINUE;
            }
            Checksums.completePartial(outFrame.localView(), 0, outFrame.length(), headers);
            outFrame.csum(Frame.CSUM_VALIDATED);
            counters.checksumFixups.incrementRelease();
        }
        rx.add(outFrame);
        unblocked();
        return ControlledMessageHandler.Action.CONTINUE;
    }

    /**
     * A large TCP frame for a guest that did not offer its GSO type: cut into segments here.
     */
    private ControlledMessageHandler.Action segment()
    {
        if (!headers.hasTransport() || headers.l4Protocol() != PacketHeaders.IPPROTO_TCP)
        {
            counters.rxDropped.incrementRelease();
            return ControlledMessageHandler.Action.CONTINUE;
        }
        final int headerLength = headers.l4Offset() + headers.l4HeaderLength();
        final int mss = inFrame.gsoSize();
        final int payload = inFrame.length() - headerLength;
        final int segments = (payload + mss - 1) / mss;
        final int segmentLength = Math.min(headerLength + mss, Frame.MAX_LENGTH);
        final int perSegment = rx.slotsNeeded(segmentLength, false, inFrame.hashType() >= 0);
        if (!rx.features().sg() && rx.dataSlots(segmentLength) > 1)
        {
            counters.rxDropped.incrementRelease();
            return ControlledMessageHandler.Action.CONTINUE;
        }
        if (!rx.reserve(segments * perSegment))
        {
            return blocked();
        }
        segmentHashType = inFrame.hashType();
        segmentHash = inFrame.hash();
        segmenter.segment(inFrame.localView(), 0, inFrame.length(), headers, mss, segmentSink);
        counters.segmented.incrementRelease();
        unblocked();
        return ControlledMessageHandler.Action.CONTINUE;
    }

    private boolean onSegment(final UnsafeBuffer segment, final int length)
    {
        final long address = stage(length);
        outFrame.local(address, length).csum(Frame.CSUM_VALIDATED).hash(segmentHashType, segmentHash);
        outFrame.localView().putBytes(0, segment, 0, length);
        rx.add(outFrame);
        return true;
    }

    /**
     * @return a place in the receive side's staging area, flushing what is planned first when it is full.
     */
    private long stage(final int length)
    {
        if (!rx.hasCopyRoom())
        {
            flushRx();
        }
        long address = rx.stage(length);
        if (address == 0)
        {
            flushRx();
            address = rx.stage(length);
        }
        return address;
    }

    private ControlledMessageHandler.Action blocked()
    {
        if (blockedSince == NO_FRAME_WAITING)
        {
            blockedSince = nowNanos;
        }
        return ControlledMessageHandler.Action.ABORT;
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

    private void checkStall()
    {
        if (blockedSince == NO_FRAME_WAITING || inbox.isEmpty())
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
     * @return whether the guest's receive side is stalled now.
     */
    boolean isStalled()
    {
        return stalled;
    }

    @Override
    public void onClose(final ConnectedQueue connected)
    {
        if (stalled)
        {
            vif.carrier(true);
        }
    }
}
