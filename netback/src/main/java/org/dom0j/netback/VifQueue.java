package org.dom0j.netback;

import org.agrona.concurrent.ControlledMessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.MutableDirectBuffer;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.QueueHandler;
import org.dom0j.gnttab.GrantTables;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One connected queue of a vif, served by its agent ({@code vif-<domid>-<devid>-q<N>}): the guest's transmit side
 * ({@link TxPath}: packets off the TX ring to a {@link TxPath.Sink}) and its receive side ({@link RxPath}: frames
 * from the queue's {@link FrameInbox} into the receive buffers the guest posted).
 * <p>
 * Frames for the guest are settled and let in by its {@link RxAdmission} (software segmentation and checksums, copies
 * by reference, the stall timeout). A frame waits while the guest has posted too few buffers for it: in the inbox, or,
 * when it came by reference, copied out into the parked queue so that its sender is free within a pass. After the
 * drain timeout it is dropped, as Linux's netback does.
 * <p>
 * Other agents reach this queue only through {@link #offer} (any thread): the frame is copied into the inbox and the
 * agent woken through its event channel handle ({@code EventChannels.wakeup}), once per pass of the agent, not once
 * per frame.
 * <p>
 * <b>Hashing in drop-in mode</b>: in switch mode {@link Vif#deliver} hashes a frame and picks its queue by the
 * frontend's mapping before it reaches a queue. In drop-in mode the kernel's tun driver has already picked the TAP
 * queue, hence this vif queue, by its own flow steering, so the mapping cannot be followed (that would take a tun
 * steering eBPF program computing the same Toeplitz hash and table, or handing frames between this vif's queues;
 * neither is done). The hash itself is still computed here, for each frame read from the TAP while the frontend has
 * Toeplitz hashing on, and delivered as the HASH extra info: it costs a header parse and a 12 to 36 byte hash per
 * frame, only for frontends that asked, and the guest's stack can still spread its own processing by the value it
 * configured (what the HASH extra is for), whichever ring the frame came on.
 */
final class VifQueue implements QueueHandler
{
    static final int TX_RING = 0;
    static final int RX_RING = 1;
    /** The largest frame a TAP hands out with TSO: 64 KiB of IP packet, an Ethernet header and a VLAN tag. */
    private static final int MAX_TAP_FRAME = 65536 + 18;
    /** Without TSO the TAP's MTU bounds its frames; the largest MTU a TAP takes is 65535. */
    private static final int MAX_TAP_FRAME_NO_GSO = 65535 + 18;
    private static final int TAP_BUDGET = 64;
    private static final long CLOSE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);
    /**
     * How long an idle queue sleeps at most while nothing is due: everything else comes with an event (the guest's
     * notifications) or a wake-up (frames offered, the TAP readable, packets of its own copied by other queues).
     */
    static final long IDLE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** While a timeout runs or the rate limit holds a packet back: how often the queue looks. */
    static final long DUTY_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final System.Logger LOG = System.getLogger(VifQueue.class.getName());

    private final Vif vif;
    private final ConnectedQueue queue;
    private final TxPath tx;
    private final RxPath rx;
    private final RxAdmission admission;
    private final TxPath.Sink sink;
    private final FrameInbox inbox;
    private final FrameInbox parked;
    private final TapQueue tap;
    private final TxEndpoints endpoints;
    private final int endpoint;
    private final AtomicInteger senders = new AtomicInteger();
    private volatile boolean closed;
    private boolean parking;
    private final NetbackCounters counters;
    private final int txPort;
    private final int rxPort;
    private final long drainNanos;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final Frame inFrame = new Frame();
    private final PacketHeaders headers = new PacketHeaders();
    private final ControlledMessageHandler inboxHandler = this::onInboxFrame;
    private final ControlledMessageHandler parkedHandler = this::onParkedFrame;
    private final ControlledMessageHandler closeHandler = this::onClosedFrame;
    private long nowNanos;

    /**
     * @param vif        the vif.
     * @param queue      the connected queue: ring 0 TX, ring 1 RX; port 0 TX (or both), port 1 RX when split.
     * @param gnttab     grant copies.
     * @param features   what the frontend asked for.
     * @param counters   the queue's counters.
     * @param credit     the queue's rate limit.
     * @param sink       where the guest's packets go (in drop-in mode, {@code tap}).
     * @param tap        in drop-in mode, where frames for the guest come from; null in switch mode (they come
     *                   through the inbox).
     * @param endpoints  in switch mode, where senders of frames by reference are told they were copied (and this
     *                   queue registers as one); null in drop-in mode.
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
        final TapQueue tap,
        final TxEndpoints endpoints,
        final NetbackConfiguration config)
    {
        this.vif = vif;
        this.queue = queue;
        this.counters = counters;
        this.sink = sink;
        final int domid = queue.device().frontendDomid();
        this.tx = new TxPath(queue.ring(TX_RING), domid, gnttab, counters, credit, vif.multicast(), queue::disable);
        this.rx = new RxPath(queue.ring(RX_RING), domid, gnttab, counters, features);
        this.tap = tap;
        this.endpoints = endpoints;
        this.inbox = null == tap ? new FrameInbox(config.inboxBytes()) : null;
        this.parked = null == tap ? new FrameInbox(config.inboxBytes()) : null;
        tx.completions().onDone(this::wake);
        this.endpoint = null == endpoints ? -1 : endpoints.register(tx.completions());
        if (endpoint >= 0)
        {
            tx.forwardByReference(endpoint);
        }
        this.txPort = 0;
        this.rxPort = queue.portCount() > 1 ? 1 : 0;
        // Without feature-rx-notify a frame may wait only 30 ms and the queue is never stalled (Linux's netback).
        this.drainNanos = TimeUnit.MILLISECONDS.toNanos(features.rxNotify() ? config.rxDrainTimeoutMs() : 30);
        this.admission = new RxAdmission(vif, queue, RX_RING, rxPort, rx, gnttab, endpoints, counters,
            features.rxNotify() ? TimeUnit.MILLISECONDS.toNanos(config.rxStallTimeoutMs()) : 0);
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
        // Counted in and out, so that closing can wait until no sender is between its check and its offer.
        senders.incrementAndGet();
        try
        {
            if (closed || null == inbox || !inbox.offer(frame, now))
            {
                countDropped();
                return false;
            }
        }
        finally
        {
            senders.decrementAndGet();
        }
        wake();
        return true;
    }

    /**
     * Wakes the agent (any thread): once per pass of the agent, however many call.
     */
    void wake()
    {
        if (!wakePending.get() && !wakePending.getAndSet(true))
        {
            queue.eventChannels().wakeup();
        }
    }

    /**
     * @return the queue's share of the vif's TAP, or null in switch mode.
     */
    TapQueue tap()
    {
        return tap;
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
        // Clear first: whatever is offered or completed after this is seen below, or wakes the agent again.
        wakePending.set(false);
        nowNanos = System.nanoTime();
        admission.begin(nowNanos);
        int work = tx.doWork(sink, nowNanos);
        if (tx.hasResponses())
        {
            queue.pushResponsesAndNotify(TX_RING, txPort);
        }
        if (queue.violation() != null)
        {
            return work;
        }
        if (null != tap)
        {
            work += readTap();
        }
        else
        {
            // What waits in the parked queue goes first; while anything waits there, what comes in is parked
            // behind it, so a frame by reference never holds its sender's slots for longer than a pass.
            work += parked.ring().controlledRead(parkedHandler);
            parking = !parked.isEmpty();
            work += inbox.ring().controlledRead(inboxHandler);
        }
        admission.flush();
        admission.checkStall(null != inbox ? !inbox.isEmpty() || !parked.isEmpty() : tap.readable().get());
        return work;
    }

    private ControlledMessageHandler.Action onParkedFrame(
        final int msgTypeId, final MutableDirectBuffer buffer, final int index, final int length)
    {
        final long enqueued = FrameInbox.decode((UnsafeBuffer)buffer, index, inFrame);
        if (nowNanos - enqueued > drainNanos)
        {
            counters.rxDropped.incrementRelease();
            return ControlledMessageHandler.Action.CONTINUE;
        }
        return admission.admit(inFrame, false) == RxAdmission.BLOCKED ? ControlledMessageHandler.Action.ABORT :
            ControlledMessageHandler.Action.CONTINUE;
    }

    private ControlledMessageHandler.Action onInboxFrame(
        final int msgTypeId, final MutableDirectBuffer buffer, final int index, final int length)
    {
        final long enqueued = FrameInbox.decode((UnsafeBuffer)buffer, index, inFrame);
        if (nowNanos - enqueued > drainNanos)
        {
            admission.drop(inFrame);
            return ControlledMessageHandler.Action.CONTINUE;
        }
        if (!parking)
        {
            final int verdict = inFrame.isLocal() ? admission.admit(inFrame, false) : admission.admitReference(inFrame);
            if (verdict != RxAdmission.BLOCKED)
            {
                return ControlledMessageHandler.Action.CONTINUE;
            }
            parking = true;
        }
        return park(inFrame, enqueued) ? ControlledMessageHandler.Action.CONTINUE :
            ControlledMessageHandler.Action.ABORT;
    }

    /**
     * Moves a frame the guest cannot take now behind those already waiting, in local memory, so that a frame by
     * reference frees its sender at once. When the parked queue is full a frame by reference is dropped (its sender
     * is told), a local one waits in the inbox.
     *
     * @return whether the frame left the inbox.
     */
    private boolean park(final Frame frame, final long enqueued)
    {
        if (frame.isLocal())
        {
            return parked.offer(frame, enqueued);
        }
        final int index = parked.claim(frame, frame.length(), enqueued);
        if (index < 0)
        {
            admission.drop(frame);
            return true;
        }
        if (admission.materialize(frame, parked.frameAddress(index)))
        {
            parked.commit(index);
        }
        else
        {
            parked.abort(index);
        }
        return true;
    }

    /**
     * Reads frames from the TAP while the guest has buffers posted for the largest frame the TAP may hand out.
     */
    private int readTap()
    {
        if (!tap.readable().getAndSet(false))
        {
            return 0;
        }
        final VifFeatures features = rx.features();
        final boolean gso = features.acceptsGso(1) || features.acceptsGso(2);
        final int largest = gso ? MAX_TAP_FRAME : MAX_TAP_FRAME_NO_GSO;
        final HashConfig hashing = vif.hashConfig();
        int frames = 0;
        while (frames < TAP_BUDGET)
        {
            if (!rx.reserve(rx.slotsNeeded(largest, gso, hashing.isActive())))
            {
                // Leave the rest in the kernel's queue until the guest posts buffers.
                tap.readable().set(true);
                admission.blocked();
                break;
            }
            final long address = admission.stage(largest);
            final int length = tap.read(address, largest, inFrame);
            if (length == 0)
            {
                rx.unstage(address);
                break;
            }
            frames++;
            if (length < 0)
            {
                rx.unstage(address);
                counters.rxDropped.incrementRelease();
                continue;
            }
            rx.trim(address, length);
            if (hashing.isActive())
            {
                final long hash = hashing.hash(inFrame.localView(), inFrame.localLength(), headers);
                inFrame.hash(HashConfig.typeOf(hash), HashConfig.valueOf(hash));
            }
            if (admission.admit(inFrame, true) != RxAdmission.ADDED)
            {
                rx.unstage(address);
            }
        }
        if (frames == TAP_BUDGET)
        {
            tap.readable().set(true);
        }
        return frames;
    }

    /**
     * While the rate limit holds a packet back the agent idles instead of spinning on it.
     */
    @Override
    public boolean takesWaitingRequests(final ConnectedQueue connected)
    {
        return !tx.isRateLimited();
    }

    /**
     * Sleeps long while idle, so that a quiet vif costs no wake-ups; looks every millisecond while a frame waits for
     * the guest's buffers (the drain and stall timeouts), the rate limit holds a packet back (its next credit), or
     * packets of this guest are held by other queues.
     */
    @Override
    public long idleWaitNanos(final ConnectedQueue connected, final long nowNanos)
    {
        final boolean due = tx.isRateLimited() || admission.isBlocked() || tx.completions().outstanding() > 0 ||
            (null != inbox && (!inbox.isEmpty() || !parked.isEmpty()));
        return due ? DUTY_WAIT_NANOS : IDLE_WAIT_NANOS;
    }

    @Override
    public void onClose(final ConnectedQueue connected)
    {
        admission.close();
        if (null == inbox)
        {
            return;
        }
        // No sender may offer after this: wait out any between its check and its offer, then free every sender whose
        // frame by reference waits here.
        closed = true;
        while (senders.get() != 0)
        {
            Thread.onSpinWait();
        }
        admission.completeSenders();
        inbox.ring().controlledRead(closeHandler);
        // And wait, boundedly, for the receivers still copying this guest's own packets: its pages stay granted to
        // them until then, and its ring is unmapped only after this returns.
        final long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
        while (tx.completions().outstanding() > 0 && System.nanoTime() - deadline < 0)
        {
            tx.answerCompleted();
            Thread.onSpinWait();
        }
        if (tx.completions().outstanding() > 0)
        {
            LOG.log(System.Logger.Level.WARNING, vif.name() + " q" + queue.index() + ": " +
                tx.completions().outstanding() + " packet(s) still being copied by other queues at close");
        }
        if (endpoint >= 0)
        {
            endpoints.unregister(endpoint);
        }
    }

    private ControlledMessageHandler.Action onClosedFrame(
        final int msgTypeId, final MutableDirectBuffer buffer, final int index, final int length)
    {
        FrameInbox.decode((UnsafeBuffer)buffer, index, inFrame);
        admission.drop(inFrame);
        return ControlledMessageHandler.Action.CONTINUE;
    }
}
