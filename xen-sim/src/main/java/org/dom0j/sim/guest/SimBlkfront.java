package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.XenbusState;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.protocol.blkif.BlkifAbi;
import org.dom0j.protocol.blkif.BlkifConstants;
import org.dom0j.protocol.blkif.BlkifResponseFlyweight;
import org.dom0j.ring.FrontRing;
import org.dom0j.ring.RingEntryHandler;
import org.dom0j.ring.RingLayout;
import org.dom0j.ring.SharedRingDescriptor;
import org.dom0j.sim.SimDomain;
import org.dom0j.xenstore.XenStore;

import java.nio.ByteOrder;
import java.util.concurrent.TimeoutException;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_INDIRECT;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTORS_PER_PAGE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * A block frontend for simulated guests, negotiating and driving the ring the way Linux's xen-blkfront does:
 * reads the backend's features in InitWait, offers multi-page rings, several queues, persistent grants and the
 * native (x86_64) protocol, goes Initialised, waits for Connected, reads the disk's size and features, and issues
 * requests with indirect segments when the backend offers them.
 * <p>
 * Each ring slot has its own data pages, allocated at connect and, with persistent grants, granted once (as
 * blkfront keeps its persistent grants); otherwise each request grants its pages and ends access when answered.
 * The request id is the slot number, like blkfront's shadow index. A response that names no outstanding slot is
 * the backend breaking the protocol: the frontend stops using that queue.
 * <p>
 * Not thread safe: one guest thread drives it.
 */
public final class SimBlkfront implements AutoCloseable
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * Grants per-request (non-persistent) I/O may hold at once: a guest's grant table is finite (the simulator's
     * has Xen's default 32,768 entries, shared with the guest's other devices), so, like blkfront's grant reference
     * pool, requests wait when it runs low; 1024 is four 1 MiB requests.
     */
    private static final int TRANSIENT_GRANT_BUDGET = 1024;
    private static final BlkifAbi ABI = BlkifAbi.X86_64;

    /**
     * What the frontend asks for; it gets at most what the backend offers.
     *
     * @param queues        queues wanted (multi-queue-num-queues).
     * @param ringPageOrder ring-page-order wanted.
     * @param persistent    offer feature-persistent.
     * @param maxSegments   segments per request wanted: up to 11 direct, more with indirect.
     */
    public record Options(int queues, int ringPageOrder, boolean persistent, int maxSegments)
    {
        /**
         * @return one queue, one page, persistent grants, 11 segments: what a 1-vCPU Linux guest asks.
         */
        public static Options linuxDefaults()
        {
            return new Options(1, 0, true, BLKIF_MAX_SEGMENTS_PER_REQUEST);
        }
    }

    /**
     * Receives answered requests.
     */
    @FunctionalInterface
    public interface Completion
    {
        /**
         * @param tag    the caller's tag given at submit.
         * @param op     the operation.
         * @param status BLKIF_RSP_*.
         * @param data   for a read, the data read (valid only during the call); else the data that was written.
         */
        void onComplete(long tag, int op, short status, DirectBuffer data);
    }

    private final SimDomain guest;
    private final XenStore xs;
    private final String frontendPath;
    private final String backendPath;
    private final int backendDomid;
    private final EventChannels evtchn;
    private final Queue[] queues;
    private final boolean persistent;
    private final int maxSegments;
    private final XenbusWaiter backendState;
    private long sectors;
    private int sectorSize;
    private int info;
    private boolean flush;
    private boolean barrier;
    private boolean discard;
    private final UnsafeBuffer responseCopy = new UnsafeBuffer(new byte[64]);
    private final BlkifResponseFlyweight response = new BlkifResponseFlyweight();
    private String violation;
    private int outstanding;
    private int transientGrants;
    private boolean batching;
    private Completion pollCompletion;

    private final class Queue
    {
        final int index;
        final int ringFrame;
        final int pages;
        final int[] ringRefs;
        final FrontRing ring;
        final UnsafeBuffer ringBuffer;
        final int port;
        final Slot[] slots;
        final int[] free;
        int freeCount;
        boolean unpushed;
        /** Takes this queue's responses for {@link #poll}, made once so that polling allocates nothing. */
        final RingEntryHandler responses = (copy, offset, index) -> complete(this, copy, offset, pollCompletion);

        Queue(final int index, final int order)
        {
            this.index = index;
            pages = 1 << order;
            ringFrame = guest.allocateContiguous(pages);
            ringRefs = new int[pages];
            for (int i = 0; i < pages; i++)
            {
                ringRefs[i] = guest.grantAccess(backendDomid, ringFrame + i, false);
            }
            ringBuffer = guest.pages(ringFrame, pages);
            ring = new FrontRing(RingLayout.of(ABI.requestSize(), ABI.responseSize(), pages), ringBuffer).init(0);
            port = evtchn.bindUnboundPort(backendDomid);
            slots = new Slot[ring.size()];
            free = new int[ring.size()];
            for (int i = 0; i < slots.length; i++)
            {
                slots[i] = new Slot();
                free[freeCount++] = slots.length - 1 - i;
            }
        }
    }

    private final class Slot
    {
        final int dataFrame;
        final UnsafeBuffer data;
        final int[] dataRefs;
        final int indirectFrame;
        final int indirectRef;
        long tag;
        int op;
        int segments;
        boolean busy;

        Slot()
        {
            dataFrame = guest.allocateContiguous(maxSegments);
            data = guest.pages(dataFrame, maxSegments);
            dataRefs = new int[maxSegments];
            if (persistent)
            {
                for (int i = 0; i < maxSegments; i++)
                {
                    dataRefs[i] = guest.grantAccess(backendDomid, dataFrame + i, false);
                }
            }
            if (maxSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
            {
                indirectFrame = guest.allocatePage();
                indirectRef = guest.grantAccess(backendDomid, indirectFrame, true);
            }
            else
            {
                indirectFrame = -1;
                indirectRef = -1;
            }
        }
    }

    private SimBlkfront(
        final SimDomain guest,
        final XenStore xs,
        final String frontendPath,
        final String backendPath,
        final int backendDomid,
        final int queueCount,
        final int order,
        final boolean persistent,
        final int maxSegments,
        final XenbusWaiter backendState)
    {
        this.guest = guest;
        this.xs = xs;
        this.frontendPath = frontendPath;
        this.backendPath = backendPath;
        this.backendDomid = backendDomid;
        this.persistent = persistent;
        this.maxSegments = maxSegments;
        this.backendState = backendState;
        this.evtchn = guest.openEventChannels();
        this.queues = new Queue[queueCount];
        for (int q = 0; q < queueCount; q++)
        {
            queues[q] = new Queue(q, order);
        }
    }

    /**
     * Negotiates with the backend and connects, as blkfront's probe and talk_to_blkback do.
     *
     * @param guest     the guest domain.
     * @param xs        the guest's own xenstore connection.
     * @param devid     the device id, e.g. "51712".
     * @param options   what to ask for.
     * @param timeoutMs how long to wait for the backend at each step.
     * @return the connected frontend.
     * @throws TimeoutException     when the backend does not reach InitWait or Connected in time.
     * @throws InterruptedException when interrupted.
     */
    public static SimBlkfront connect(
        final SimDomain guest, final XenStore xs, final String devid, final Options options, final long timeoutMs)
        throws TimeoutException, InterruptedException
    {
        final String fe = "/local/domain/" + guest.domid() + "/device/vbd/" + devid;
        final String be = xs.read(fe + "/backend");
        final int backendDomid = Integer.parseInt(xs.read(fe + "/backend-id"));
        final XenbusWaiter waiter = new XenbusWaiter(xs, be + "/state", "blkfront-" + devid);
        try
        {
            waiter.await(s -> s == XenbusState.INIT_WAIT || s == XenbusState.CONNECTED, timeoutMs);
            final int maxQueues = (int)readNumber(xs, be + "/multi-queue-max-queues", 1);
            final int maxOrder = (int)readNumber(xs, be + "/max-ring-page-order", 0);
            final boolean persistent = options.persistent() && readNumber(xs, be + "/feature-persistent", 0) == 1;
            final int indirect = (int)readNumber(xs, be + "/feature-max-indirect-segments", 0);
            final int queues = Math.max(1, Math.min(options.queues(), maxQueues));
            final int order = Math.max(0, Math.min(options.ringPageOrder(), maxOrder));
            final int offered = indirect > 0 ? Math.min(indirect, 512) : BLKIF_MAX_SEGMENTS_PER_REQUEST;
            final int segments = Math.max(BLKIF_MAX_SEGMENTS_PER_REQUEST, Math.min(options.maxSegments(), offered));
            final SimBlkfront front = new SimBlkfront(guest, xs, fe, be, backendDomid, queues, order, persistent,
                segments, waiter);
            front.publishRings(order);
            waiter.await(s -> s == XenbusState.CONNECTED, timeoutMs);
            front.readDisk();
            xs.write(fe + "/state", XenbusState.CONNECTED.wireValue());
            return front;
        }
        catch (final TimeoutException | InterruptedException | RuntimeException ex)
        {
            waiter.close();
            throw ex;
        }
    }

    private void publishRings(final int order)
    {
        xs.transaction(tx ->
        {
            if (queues.length == 1)
            {
                writeRing(tx, frontendPath, queues[0], order);
            }
            else
            {
                tx.write(frontendPath + "/multi-queue-num-queues", Integer.toString(queues.length));
                for (final Queue q : queues)
                {
                    writeRing(tx, frontendPath + "/queue-" + q.index, q, order);
                }
            }
            if (order > 0)
            {
                tx.write(frontendPath + "/ring-page-order", Integer.toString(order));
            }
            tx.write(frontendPath + "/protocol", ABI.protocol());
            tx.write(frontendPath + "/feature-persistent", persistent ? "1" : "0");
            tx.write(frontendPath + "/state", XenbusState.INITIALISED.wireValue());
            return null;
        });
    }

    private static void writeRing(
        final org.dom0j.xenstore.XenStoreTransaction tx, final String dir, final Queue q, final int order)
    {
        if (order == 0)
        {
            tx.write(dir + "/ring-ref", Integer.toString(q.ringRefs[0]));
        }
        else
        {
            for (int i = 0; i < q.ringRefs.length; i++)
            {
                tx.write(dir + "/ring-ref" + i, Integer.toString(q.ringRefs[i]));
            }
        }
        tx.write(dir + "/event-channel", Integer.toString(q.port));
    }

    private void readDisk()
    {
        sectors = readNumber(xs, backendPath + "/sectors", 0);
        sectorSize = (int)readNumber(xs, backendPath + "/sector-size", SECTOR_SIZE);
        info = (int)readNumber(xs, backendPath + "/info", 0);
        flush = readNumber(xs, backendPath + "/feature-flush-cache", 0) == 1;
        barrier = readNumber(xs, backendPath + "/feature-barrier", 0) == 1;
        discard = readNumber(xs, backendPath + "/feature-discard", 0) == 1;
    }

    private static long readNumber(final XenStore xs, final String path, final long defaultValue)
    {
        final String v = xs.readOrNull(path);
        if (null == v)
        {
            return defaultValue;
        }
        try
        {
            return Long.parseLong(v.trim());
        }
        catch (final NumberFormatException ex)
        {
            return defaultValue;
        }
    }

    /**
     * @return the disk size in 512-byte sectors, as last read.
     */
    public long sectors()
    {
        return sectors;
    }

    /**
     * Reads the capacity again, as blkfront does when the backend writes Connected while connected (online
     * resize).
     *
     * @return the disk size in 512-byte sectors now.
     */
    public long refreshCapacity()
    {
        sectors = readNumber(xs, backendPath + "/sectors", sectors);
        return sectors;
    }

    /**
     * @return the backend's sector-size.
     */
    public int sectorSize()
    {
        return sectorSize;
    }

    /**
     * @return VDISK_* info bits.
     */
    public int info()
    {
        return info;
    }

    /**
     * @return whether the disk is read-only (VDISK_READONLY).
     */
    public boolean isReadOnly()
    {
        return (info & 4) != 0;
    }

    /**
     * @return whether FLUSH_DISKCACHE is offered.
     */
    public boolean hasFlush()
    {
        return flush;
    }

    /**
     * @return whether WRITE_BARRIER is offered.
     */
    public boolean hasBarrier()
    {
        return barrier;
    }

    /**
     * @return whether DISCARD is offered.
     */
    public boolean hasDiscard()
    {
        return discard;
    }

    /**
     * @return whether persistent grants were negotiated.
     */
    public boolean isPersistent()
    {
        return persistent;
    }

    /**
     * @return queues in use.
     */
    public int queueCount()
    {
        return queues.length;
    }

    /**
     * @return ring slots per queue.
     */
    public int ringSize()
    {
        return queues[0].ring.size();
    }

    /**
     * @return the most sectors one read or write may carry.
     */
    public int maxSectorsPerRequest()
    {
        return maxSegments * SECTORS_PER_PAGE;
    }

    /**
     * @return requests submitted and not yet answered.
     */
    public int outstanding()
    {
        return outstanding;
    }

    /**
     * @param queue a queue.
     * @return requests submitted on it and not yet answered.
     */
    public int outstanding(final int queue)
    {
        final Queue q = queues[queue];
        return q.slots.length - q.freeCount;
    }

    /**
     * @return why the frontend stopped trusting the backend, or null.
     */
    public String violation()
    {
        return violation;
    }

    /**
     * @param queue a queue.
     * @return whether a request can be submitted on it now.
     */
    public boolean canSubmit(final int queue)
    {
        return queues[queue].freeCount > 0 && !queues[queue].ring.isFull() && null == violation &&
            (persistent || transientGrants + maxSegments <= TRANSIENT_GRANT_BUDGET);
    }

    /**
     * Claims the data buffer of the next request on a queue, for the caller to fill before {@link #submitWrite}.
     *
     * @param queue a queue with {@link #canSubmit} true.
     * @return a buffer of {@link #maxSectorsPerRequest()} sectors.
     */
    public UnsafeBuffer nextWriteBuffer(final int queue)
    {
        final Queue q = queues[queue];
        return q.slots[q.free[q.freeCount - 1]].data;
    }

    /**
     * @param queue     the queue.
     * @param sector    the first sector.
     * @param nrSectors sectors to read, 1 to {@link #maxSectorsPerRequest()}.
     * @param tag       returned with the completion.
     */
    public void submitRead(final int queue, final long sector, final int nrSectors, final long tag)
    {
        submit(queues[queue], BLKIF_OP_READ, sector, nrSectors, tag);
    }

    /**
     * Writes what the caller put in {@link #nextWriteBuffer}.
     *
     * @param queue     the queue.
     * @param sector    the first sector.
     * @param nrSectors sectors to write.
     * @param tag       returned with the completion.
     */
    public void submitWrite(final int queue, final long sector, final int nrSectors, final long tag)
    {
        submit(queues[queue], BLKIF_OP_WRITE, sector, nrSectors, tag);
    }

    /**
     * A flush without data (FLUSH_DISKCACHE, or WRITE_BARRIER when only that is offered).
     *
     * @param queue the queue.
     * @param tag   returned with the completion.
     */
    public void submitFlush(final int queue, final long tag)
    {
        // Sector -1, as Linux's blkfront sends a flush without data (its block layer's request has no position).
        submit(queues[queue], flush ? BLKIF_OP_FLUSH_DISKCACHE : BLKIF_OP_WRITE_BARRIER, -1L, 0, tag);
    }

    /**
     * @param queue     the queue.
     * @param sector    the first sector.
     * @param nrSectors sectors to discard.
     * @param tag       returned with the completion.
     */
    public void submitDiscard(final int queue, final long sector, final long nrSectors, final long tag)
    {
        final Queue q = queues[queue];
        final int id = take(q, BLKIF_OP_DISCARD, 0, tag);
        final int at = q.ring.claimRequest();
        q.ringBuffer.putByte(at, (byte)BLKIF_OP_DISCARD);
        q.ringBuffer.putShort(at + 2, (short)0, LE);
        q.ringBuffer.putLong(at + ABI.idOffset(), id, LE);
        q.ringBuffer.putLong(at + ABI.sectorNumberOffset(), sector, LE);
        q.ringBuffer.putLong(at + ABI.discardNrSectorsOffset(), nrSectors, LE);
        push(q);
    }

    private int take(final Queue q, final int op, final int segments, final long tag)
    {
        if (!canSubmit(q.index))
        {
            throw new IllegalStateException("queue " + q.index + " has no free slot");
        }
        final int id = q.free[--q.freeCount];
        final Slot slot = q.slots[id];
        slot.busy = true;
        slot.tag = tag;
        slot.op = op;
        slot.segments = segments;
        outstanding++;
        return id;
    }

    private void submit(final Queue q, final int op, final long sector, final int nrSectors, final long tag)
    {
        if (nrSectors < 0 || nrSectors > maxSectorsPerRequest())
        {
            throw new IllegalArgumentException("sectors per request must be 0.." + maxSectorsPerRequest());
        }
        final int segments = (nrSectors + SECTORS_PER_PAGE - 1) / SECTORS_PER_PAGE;
        final int id = take(q, op, segments, tag);
        final Slot slot = q.slots[id];
        if (!persistent)
        {
            for (int i = 0; i < segments; i++)
            {
                slot.dataRefs[i] = guest.grantAccess(backendDomid, slot.dataFrame + i, op != BLKIF_OP_READ);
            }
            transientGrants += segments;
        }
        final int at = q.ring.claimRequest();
        final UnsafeBuffer r = q.ringBuffer;
        r.putLong(at + ABI.idOffset(), id, LE);
        r.putLong(at + ABI.sectorNumberOffset(), sector, LE);
        if (segments <= BLKIF_MAX_SEGMENTS_PER_REQUEST)
        {
            r.putByte(at, (byte)op);
            r.putByte(at + 1, (byte)segments);
            r.putShort(at + 2, (short)51712, LE);
            for (int i = 0; i < segments; i++)
            {
                segment(r, at + ABI.segmentsOffset() + i * 8, slot, i, nrSectors);
            }
        }
        else
        {
            final UnsafeBuffer list = guest.page(slot.indirectFrame);
            for (int i = 0; i < segments; i++)
            {
                segment(list, i * BlkifConstants.INDIRECT_SEGMENT_SIZE, slot, i, nrSectors);
            }
            r.putByte(at, (byte)BLKIF_OP_INDIRECT);
            r.putByte(at + 1, (byte)op);
            r.putShort(at + 2, (short)segments, LE);
            r.putShort(at + ABI.indirectHandleOffset(), (short)51712, LE);
            r.putInt(at + ABI.indirectGrefsOffset(), slot.indirectRef, LE);
        }
        push(q);
    }

    private static void segment(
        final UnsafeBuffer to, final int at, final Slot slot, final int i, final int nrSectors)
    {
        final int last = Math.min(SECTORS_PER_PAGE, nrSectors - i * SECTORS_PER_PAGE) - 1;
        to.putInt(at, slot.dataRefs[i], LE);
        to.putByte(at + 4, (byte)0);
        to.putByte(at + 5, (byte)last);
    }

    private void push(final Queue q)
    {
        q.ring.commitRequest();
        if (batching)
        {
            q.unpushed = true;
        }
        else
        {
            kick(q);
        }
    }

    private void kick(final Queue q)
    {
        q.unpushed = false;
        if (q.ring.pushRequestsAndCheckNotify())
        {
            evtchn.notify(q.port);
        }
    }

    /**
     * Holds back what is submitted from now on: the requests are written to their rings but published (and the
     * backend notified, if it asked) only at {@link #endBatch()}, once per queue, as Linux's blkfront publishes a
     * blk-mq batch at its last request ({@code bd->last}). Without a batch every request is published at once.
     */
    public void beginBatch()
    {
        batching = true;
    }

    /**
     * @param queue a queue.
     * @return requests written to its ring but not yet published to the backend (inside a batch).
     */
    public int unpublished(final int queue)
    {
        final Queue q = queues[queue];
        return q.ring.reqProdPvt() - q.ringBuffer.getIntVolatile(SharedRingDescriptor.REQ_PROD_OFFSET);
    }

    /**
     * Publishes what was submitted since {@link #beginBatch()}, one push and at most one notification per queue.
     */
    public void endBatch()
    {
        batching = false;
        for (final Queue q : queues)
        {
            if (q.unpushed)
            {
                kick(q);
            }
        }
    }

    /**
     * Takes every response waiting on every queue.
     *
     * @param completion receives each.
     * @return how many were taken.
     */
    public int poll(final Completion completion)
    {
        int taken = 0;
        for (final Queue q : queues)
        {
            while (true)
            {
                pollCompletion = completion;
                final int n = q.ring.consumeResponses(q.responses, responseCopy, 0, Integer.MAX_VALUE);
                if (n < 0)
                {
                    violation = q.ring.violation();
                    break;
                }
                taken += n;
                if (!q.ring.finalCheckForResponses())
                {
                    break;
                }
            }
        }
        return taken;
    }

    private void complete(
        final Queue q, final MutableDirectBuffer copy, final int offset, final Completion completion)
    {
        final BlkifResponseFlyweight rsp = response.wrap(copy, offset);
        final long id = rsp.id();
        final short status = rsp.status();
        if (id < 0 || id >= q.slots.length || !q.slots[(int)id].busy)
        {
            violation = "backend answered request id " + id + " that is not outstanding on queue " + q.index;
            return;
        }
        final Slot slot = q.slots[(int)id];
        final int operation = rsp.operation();
        if (operation != slot.op)
        {
            // Linux's blkfront (since XSA-376) refuses a response whose operation is not the one it asked for
            // (for an indirect request: its indirect_op), and so does this one.
            violation = "backend answered request " + id + " with operation " + operation + " instead of " +
                slot.op + " on queue " + q.index;
            return;
        }
        if (!persistent)
        {
            for (int i = 0; i < slot.segments; i++)
            {
                guest.endAccess(slot.dataRefs[i]);
            }
            transientGrants -= slot.segments;
        }
        slot.busy = false;
        q.free[q.freeCount++] = (int)id;
        outstanding--;
        completion.onComplete(slot.tag, slot.op, status, slot.data);
    }

    /**
     * Waits for the backend's event (or a timeout), as the guest's interrupt handler would.
     *
     * @param timeoutNanos how long at most.
     * @return whether an event came.
     */
    public boolean awaitEvent(final long timeoutNanos)
    {
        final int port = evtchn.pending(timeoutNanos);
        if (port >= 0)
        {
            evtchn.unmask(port);
            int more;
            while ((more = evtchn.pending()) >= 0)
            {
                evtchn.unmask(more);
            }
            return true;
        }
        return false;
    }

    /**
     * Disconnects as blkfront does on removal: Closing, wait for the backend to close, Closed; then
     * {@link #close()}.
     *
     * @param timeoutMs how long to wait for the backend.
     * @throws TimeoutException     when the backend does not close in time (resources are freed anyway).
     * @throws InterruptedException when interrupted.
     */
    public void disconnect(final long timeoutMs) throws TimeoutException, InterruptedException
    {
        try
        {
            xs.write(frontendPath + "/state", XenbusState.CLOSING.wireValue());
            backendState.await(s -> s == XenbusState.CLOSING || s == XenbusState.CLOSED ||
                s == XenbusState.UNKNOWN, timeoutMs);
            xs.write(frontendPath + "/state", XenbusState.CLOSED.wireValue());
        }
        finally
        {
            close();
        }
    }

    /**
     * Stops watching the backend and unbinds the event channels, without a handshake. The ring and data pages
     * and their grants stay with the guest; they go when the domain is destroyed, as a crashed guest's would.
     */
    @Override
    public void close()
    {
        backendState.close();
        evtchn.close();
    }
}
