package org.dom0j.ring;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.AtomicBuffer;

import java.lang.invoke.VarHandle;

import static org.dom0j.ring.SharedRingDescriptor.REQ_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.REQ_PROD_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_PROD_OFFSET;

/**
 * The back end of a Xen shared ring ({@code <name>_back_ring_t} and the {@code RING_*} macros of
 * {@code xen/include/public/io/ring.h}) over the mapped ring page(s): takes requests off, puts responses on.
 * Method names follow the C macros so a reviewer can compare them.
 * <p>
 * The frontend is an adversary. The request producer index is read once per pass and checked with
 * {@code RING_REQUEST_PROD_OVERFLOW} before the loop and {@code RING_REQUEST_CONS_OVERFLOW} in it; each request is
 * copied once into the caller's private buffer and only the copy is handed on; each response slot is zeroed before
 * the response is written, so no stale bytes reach the guest (XSA-216). An impossible producer index is a protocol
 * violation: the ring records the reason and reads nothing more.
 * <p>
 * Indices are free-running unsigned 32-bit values kept in Java {@code int}s: subtraction wraps at 2^32 exactly as
 * {@code RING_IDX} arithmetic does, and comparisons are unsigned.
 * <p>
 * Not thread safe: one consuming thread (the ring's agent) owns it. No allocation after construction.
 */
public final class BackRing
{
    /** Returned by {@link #consumeRequests} once the frontend broke the ring protocol. */
    public static final int PROTOCOL_VIOLATION = -1;

    private final RingLayout layout;
    private final AtomicBuffer buffer;
    private final int size;
    private final int requestLength;
    private final int responseLength;
    private int rspProdPvt;
    private int reqCons;
    private String violation;
    private RingJournal journal;
    private RingJournal.Recovery replay;
    private int replayed;
    private int lastEntry = -1;
    private MutableDirectBuffer peekedCopy;
    private int peekedOffset;

    /**
     * {@code BACK_RING_INIT}: a back ring over mapped ring pages, with both private indices at 0.
     *
     * @param layout the protocol's geometry.
     * @param buffer the mapped ring, at least {@code layout.ringBytes()} long, page aligned.
     */
    public BackRing(final RingLayout layout, final AtomicBuffer buffer)
    {
        if (buffer.capacity() < layout.ringBytes())
        {
            throw new IllegalArgumentException(
                "ring buffer of " + buffer.capacity() + " bytes is smaller than " + layout);
        }
        this.layout = layout;
        this.buffer = buffer;
        this.size = layout.size();
        this.requestLength = layout.requestLength();
        this.responseLength = layout.responseLength();
    }

    /**
     * {@code BACK_RING_ATTACH}: sets both private indices, to rejoin a ring already in use.
     *
     * @param index the index to resume at (usually the shared {@code rsp_prod}).
     * @return this.
     */
    public BackRing attach(final int index)
    {
        rspProdPvt = index;
        reqCons = index;
        violation = null;
        return this;
    }

    /**
     * Keeps a journal of the requests taken (by {@link #consumeRequests}, {@link #copyRequest} or
     * {@link #takePeekedRequest}) and not yet answered, so that another
     * process can take the ring over after this one dies ({@link #adopt}). The caller then answers each request with
     * {@link #claimResponse(int)}, naming the record {@link #lastJournalEntry()} gave for it.
     *
     * @param journal a journal made for this ring at the current {@code req_cons}.
     * @return this.
     */
    public BackRing journal(final RingJournal journal)
    {
        this.journal = journal;
        return this;
    }

    /**
     * Takes over a ring whose backend process died (or stopped): the private indices come from the shared
     * {@code rsp_prod} and the journal's {@code req_cons}, and the requests that were taken but whose answers the
     * frontend has not seen are handed out again, in ring order, by {@link #consumeRequests} (or {@link #copyRequest},
     * {@link #peekRequest}) before any new one; {@link #unconsumedRequests()} counts them.
     * Without a usable journal the ring is rejoined at {@code rsp_prod}, as {@code BACK_RING_ATTACH} does.
     *
     * @param journal the journal the old process kept for this ring, or null.
     * @return the number of requests to serve again, or -1 when there was no usable journal (none is kept then:
     *         give the ring a new one).
     */
    public int adopt(final RingJournal journal)
    {
        final int rspProd = buffer.getIntVolatile(RSP_PROD_OFFSET);
        attach(rspProd);
        this.journal = journal;
        this.replay = null;
        this.replayed = 0;
        final RingJournal.Recovery recovery = null == journal ? null : journal.recover(rspProd, sharedReqProd());
        if (null == recovery)
        {
            this.journal = null;
            return -1;
        }
        reqCons = recovery.reqCons();
        replay = recovery.count() > 0 ? recovery : null;
        return recovery.count();
    }

    /**
     * @return the journal record of the request last handed to a handler (-1 without a journal).
     */
    public int lastJournalEntry()
    {
        return lastEntry;
    }

    /**
     * @return the journal kept, or null.
     */
    public RingJournal journal()
    {
        return journal;
    }

    /**
     * @return the geometry.
     */
    public RingLayout layout()
    {
        return layout;
    }

    /**
     * @return the mapped ring, for flyweights wrapped on a claimed response slot.
     */
    public AtomicBuffer buffer()
    {
        return buffer;
    }

    /**
     * @return {@code RING_SIZE}.
     */
    public int size()
    {
        return size;
    }

    /**
     * @return {@code req_cons}: the next request to take.
     */
    public int reqCons()
    {
        return reqCons;
    }

    /**
     * @return {@code rsp_prod_pvt}: the next response slot to fill.
     */
    public int rspProdPvt()
    {
        return rspProdPvt;
    }

    /**
     * @return requests taken off the ring and not yet answered.
     */
    public int outstandingRequests()
    {
        return reqCons - rspProdPvt;
    }

    /**
     * @return whether the frontend broke the protocol and the ring is no longer read.
     */
    public boolean isDisabled()
    {
        return violation != null;
    }

    /**
     * @return why the ring was disabled, or null.
     */
    public String violation()
    {
        return violation;
    }

    /**
     * Stops reading the ring, e.g. when the caller found a request that breaks the protocol. The first reason
     * stays.
     *
     * @param reason for the log and xenstore.
     */
    public void disable(final String reason)
    {
        if (violation == null)
        {
            violation = reason;
        }
    }

    /**
     * @return the shared {@code req_prod}, read with acquire semantics.
     */
    public int sharedReqProd()
    {
        // Acquire: request slots up to this index are read only after the index (xen_rmb after reading req_prod).
        return buffer.getIntVolatile(REQ_PROD_OFFSET);
    }

    /**
     * {@code RING_REQUEST_PROD_OVERFLOW}: could the frontend have posted this many requests?
     *
     * @param reqProd a request producer index read from the ring.
     * @return true when {@code reqProd - rsp_prod_pvt > RING_SIZE} (unsigned).
     */
    public boolean isRequestProdOverflow(final int reqProd)
    {
        return Integer.compareUnsigned(reqProd - rspProdPvt, size) > 0;
    }

    /**
     * {@code RING_REQUEST_CONS_OVERFLOW}: would taking request {@code cons} leave no slot for its response?
     *
     * @param cons a request index.
     * @return true when {@code cons - rsp_prod_pvt >= RING_SIZE} (unsigned).
     */
    public boolean isRequestConsOverflow(final int cons)
    {
        return Integer.compareUnsigned(cons - rspProdPvt, size) >= 0;
    }

    /**
     * {@code RING_HAS_UNCONSUMED_REQUESTS} (as {@code XEN_RING_NR_UNCONSUMED_REQUESTS}): how many requests may be
     * taken now, never more than there are free response slots.
     *
     * @return the count.
     */
    public int unconsumedRequests()
    {
        final int req = sharedReqProd() - reqCons;
        final int rsp = size - (reqCons - rspProdPvt);
        return replayRemaining() + (Integer.compareUnsigned(req, rsp) < 0 ? req : rsp);
    }

    /**
     * @return requests of an {@link #adopt adopted} ring still to be handed out again before the ring's own; a caller
     *         that counts the ring's requests itself (from {@code req_prod}) adds these.
     */
    public int replayRemaining()
    {
        return null == replay ? 0 : replay.count() - replayed;
    }

    /**
     * Hands out the next request to serve again: copies it from the journal and takes it.
     */
    private int replayNext(final MutableDirectBuffer copy, final int copyOffset)
    {
        final int entry = replay.entry(replayed++);
        if (replayed == replay.count())
        {
            replay = null;
        }
        journal.copyRequest(entry, copy, copyOffset);
        lastEntry = entry;
        return journal.index(entry);
    }

    /**
     * Takes up to {@code limit} requests off the ring: reads {@code req_prod} once, checks it, then copies each
     * request into {@code copy} at {@code copyOffset} and hands the copy to {@code handler}, advancing
     * {@code req_cons} before the call (so the handler may answer at once with {@link #putResponse}).
     * <p>
     * A producer index that is impossible ({@code RING_REQUEST_PROD_OVERFLOW}, or behind {@code req_cons}) disables
     * the ring, as Linux's blkback halts ring processing.
     *
     * @param handler    receives each copy.
     * @param copy       the private buffer, at least {@code copyOffset + requestLength} long.
     * @param copyOffset where each request is copied to.
     * @param limit      the most requests to take (e.g. what a pool has room for).
     * @return the number taken, or {@link #PROTOCOL_VIOLATION}.
     */
    public int consumeRequests(
        final RingEntryHandler handler, final MutableDirectBuffer copy, final int copyOffset, final int limit)
    {
        if (violation != null)
        {
            return PROTOCOL_VIOLATION;
        }
        final int rp = sharedReqProd();
        if (isRequestProdOverflow(rp))
        {
            violation = "frontend req_prod overflow (RING_REQUEST_PROD_OVERFLOW): req_prod " +
                Integer.toUnsignedString(rp) + " rsp_prod_pvt " + Integer.toUnsignedString(rspProdPvt) +
                " ring size " + size;
            return PROTOCOL_VIOLATION;
        }
        if (Integer.compareUnsigned(rp - rspProdPvt, reqCons - rspProdPvt) < 0)
        {
            violation = "frontend req_prod went backwards: req_prod " + Integer.toUnsignedString(rp) +
                " req_cons " + Integer.toUnsignedString(reqCons);
            return PROTOCOL_VIOLATION;
        }

        int taken = 0;
        while (null != replay && taken < limit)
        {
            final int index = replayNext(copy, copyOffset);
            taken++;
            handler.onEntry(copy, copyOffset, index);
        }
        int rc = reqCons;
        while (rc != rp && taken < limit)
        {
            if (isRequestConsOverflow(rc))
            {
                break;
            }
            // RING_COPY_REQUEST: the one read of this slot; everything after works on the private copy.
            buffer.getBytes(layout.slotOffset(rc), copy, copyOffset, requestLength);
            if (null != journal)
            {
                // Recorded before anything can overwrite the slot with a response.
                lastEntry = journal.record(rc, copy, copyOffset);
            }
            reqCons = ++rc;
            taken++;
            handler.onEntry(copy, copyOffset, rc - 1);
        }
        return taken;
    }

    /**
     * Copies the request at {@code req_cons} into {@code copy} and takes it, for callers that drive the loop
     * themselves. The caller must have checked {@link #unconsumedRequests()} is positive (which bounds req_cons).
     *
     * @param copy       the private buffer.
     * @param copyOffset where to copy to.
     * @return the index of the request taken.
     */
    public int copyRequest(final MutableDirectBuffer copy, final int copyOffset)
    {
        if (null != replay)
        {
            return replayNext(copy, copyOffset);
        }
        if (isRequestConsOverflow(reqCons))
        {
            throw new IllegalStateException("no response slot free for request " + Integer.toUnsignedString(reqCons));
        }
        // RING_COPY_REQUEST: the one read of this slot.
        buffer.getBytes(layout.slotOffset(reqCons), copy, copyOffset, requestLength);
        if (null != journal)
        {
            lastEntry = journal.record(reqCons, copy, copyOffset);
        }
        return reqCons++;
    }

    /**
     * Copies the request at {@code req_cons} into {@code copy} without taking it, for a caller that must look at a
     * request before deciding to take it (netif's credit check reads a packet's size first). That copy is the
     * request: take it with {@link #takePeekedRequest()} and keep using the copy, never the slot. The caller must
     * have checked {@link #unconsumedRequests()} is positive.
     *
     * @param copy       the private buffer.
     * @param copyOffset where to copy to.
     * @return the index of the request copied.
     */
    public int peekRequest(final MutableDirectBuffer copy, final int copyOffset)
    {
        if (null != replay)
        {
            final int entry = replay.entry(replayed);
            journal.copyRequest(entry, copy, copyOffset);
            return journal.index(entry);
        }
        peekedCopy = copy;
        peekedOffset = copyOffset;
        if (isRequestConsOverflow(reqCons))
        {
            throw new IllegalStateException("no response slot free for request " + Integer.toUnsignedString(reqCons));
        }
        // RING_COPY_REQUEST: the one read of this slot; takePeekedRequest() does not read it again.
        buffer.getBytes(layout.slotOffset(reqCons), copy, copyOffset, requestLength);
        return reqCons;
    }

    /**
     * Takes the request {@link #peekRequest} copied ({@code req_cons++}).
     *
     * @return the index of the request taken.
     */
    public int takePeekedRequest()
    {
        if (null != replay)
        {
            final int entry = replay.entry(replayed++);
            if (replayed == replay.count())
            {
                replay = null;
            }
            lastEntry = entry;
            return journal.index(entry);
        }
        if (isRequestConsOverflow(reqCons))
        {
            throw new IllegalStateException("no response slot free for request " + Integer.toUnsignedString(reqCons));
        }
        if (null != journal)
        {
            lastEntry = journal.record(reqCons, peekedCopy, peekedOffset);
        }
        return reqCons++;
    }

    /**
     * {@link #claimResponse()} for the request of a journal record: the journal notes the answer first.
     *
     * @param journalEntry the request's record ({@link #lastJournalEntry()} when it was handed out).
     * @return the byte offset of the slot in {@link #buffer()}.
     */
    public int claimResponse(final int journalEntry)
    {
        if (null != journal && reqCons != rspProdPvt)
        {
            journal.answered(journalEntry, rspProdPvt);
            // The journal knows the request is being answered before its slot is overwritten (a kill in between
            // leaves the request to be served again, never lost).
            VarHandle.storeStoreFence();
        }
        return claimResponse();
    }

    /**
     * Claims the slot of the next response ({@code RING_GET_RESPONSE(rsp_prod_pvt)}) and zeroes the response there,
     * so that a flyweight wrapped on {@link #buffer()} at the returned offset writes into a clean slot. Bytes past
     * {@code responseLength} (when requests are longer) hold the guest's own request and are not ours to leak.
     * Finish with {@link #commitResponse()}. With a {@link #journal}, use {@link #claimResponse(int)}.
     *
     * @return the byte offset of the slot in {@link #buffer()}.
     * @throws IllegalStateException when every request taken has been answered (a bug in the caller).
     */
    public int claimResponse()
    {
        if (reqCons == rspProdPvt)
        {
            throw new IllegalStateException("no request outstanding to answer at " +
                Integer.toUnsignedString(rspProdPvt));
        }
        final int offset = layout.slotOffset(rspProdPvt);
        Zeroing.zero(buffer, offset, responseLength);
        return offset;
    }

    /**
     * Makes the claimed response part of the next push: {@code rsp_prod_pvt++}.
     */
    public void commitResponse()
    {
        if (reqCons == rspProdPvt)
        {
            throw new IllegalStateException("no request outstanding to answer at " +
                Integer.toUnsignedString(rspProdPvt));
        }
        rspProdPvt++;
    }

    /**
     * Writes one response: zeroes the slot, copies {@code length} bytes, and commits it.
     *
     * @param src       the response bytes.
     * @param srcOffset where they start.
     * @param length    at most {@code responseLength}; the rest of the response is zero.
     */
    public void putResponse(final DirectBuffer src, final int srcOffset, final int length)
    {
        if (length < 0 || length > responseLength)
        {
            throw new IllegalArgumentException("response length " + length + " not in 0.." + responseLength);
        }
        final int offset = claimResponse();
        buffer.putBytes(offset, src, srcOffset, length);
        rspProdPvt++;
    }

    /**
     * {@code RING_PUSH_RESPONSES}: publishes the committed responses without deciding about a notification.
     */
    public void pushResponses()
    {
        // Release (xen_wmb): the frontend sees the response slots before the new rsp_prod.
        buffer.putIntRelease(RSP_PROD_OFFSET, rspProdPvt);
        if (null != journal)
        {
            journal.pushed();
        }
    }

    /**
     * {@code RING_PUSH_RESPONSES_AND_CHECK_NOTIFY}: publishes the committed responses and says whether the frontend
     * asked to be told ({@code rsp_event} lies in the batch just published). As in the macro, the old
     * {@code rsp_prod} is read from the shared page; a frontend that scribbles on it only changes whether it is
     * notified itself.
     *
     * @return true when the event channel must be notified.
     */
    public boolean pushResponsesAndCheckNotify()
    {
        final int oldProd = buffer.getIntVolatile(RSP_PROD_OFFSET);
        final int newProd = rspProdPvt;
        // Release (xen_wmb): the frontend sees the response slots before the new rsp_prod.
        buffer.putIntRelease(RSP_PROD_OFFSET, newProd);
        if (null != journal)
        {
            journal.pushed();
        }
        // Full fence (xen_mb): the new rsp_prod is visible before we read rsp_event, so a frontend that sets
        // rsp_event and then re-checks rsp_prod cannot miss both the responses and the notification.
        VarHandle.fullFence();
        final int rspEvent = buffer.getIntVolatile(RSP_EVENT_OFFSET);
        return Integer.compareUnsigned(newProd - rspEvent, newProd - oldProd) < 0;
    }

    /**
     * For a backend that needs more requests than are there (netif's RX side, waiting for enough receive buffers for
     * a packet): asks to be notified when the frontend produces past what it has produced now
     * ({@code req_event = req_prod + 1}, as Linux's {@code xenvif_rx_ring_slots_available} does), and reads
     * {@code req_prod} again after a full fence so that requests produced meanwhile are seen.
     *
     * @return how many requests may be taken now (as {@link #unconsumedRequests()}), read after the event was set.
     */
    public int armRequestEvent()
    {
        if (violation != null)
        {
            return 0;
        }
        buffer.putIntRelease(REQ_EVENT_OFFSET, sharedReqProd() + 1);
        // Full fence (xen_mb): req_event is visible before req_prod is read again.
        VarHandle.fullFence();
        return unconsumedRequests();
    }

    /**
     * {@code RING_FINAL_CHECK_FOR_REQUESTS}: before the ring's agent idles, asks to be notified of the very next
     * request ({@code req_event = req_cons + 1}) and checks once more that none slipped in meanwhile.
     *
     * @return true when requests are waiting (do not idle); always false once the ring is disabled.
     */
    public boolean finalCheckForRequests()
    {
        if (violation != null)
        {
            return false;
        }
        if (unconsumedRequests() != 0)
        {
            return true;
        }
        buffer.putIntRelease(REQ_EVENT_OFFSET, reqCons + 1);
        // Full fence (xen_mb): req_event is visible to the frontend before we read req_prod again, so a request
        // posted after our read either is seen here or finds req_event set and notifies us.
        VarHandle.fullFence();
        return unconsumedRequests() != 0;
    }
}
