package org.dom0j.ring;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.AtomicBuffer;

import java.lang.invoke.VarHandle;

import static org.dom0j.ring.SharedRingDescriptor.ENTRIES_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.PVT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.REQ_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.REQ_PROD_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_PROD_OFFSET;

/**
 * The front end of a Xen shared ring ({@code <name>_front_ring_t} and the {@code RING_*} macros of
 * {@code xen/include/public/io/ring.h}): puts requests on, takes responses off. dom0j uses it for simulated guests
 * and tests; it checks the backend as a hardened Linux frontend does ({@code RING_RESPONSE_PROD_OVERFLOW}) and
 * copies each response out once.
 * <p>
 * Indices are free-running unsigned 32-bit values: subtraction wraps at 2^32, comparisons are unsigned.
 * <p>
 * Not thread safe: one thread owns it. No allocation after construction.
 */
public final class FrontRing
{
    /** Returned by {@link #consumeResponses} once the backend broke the ring protocol. */
    public static final int PROTOCOL_VIOLATION = -1;

    private final RingLayout layout;
    private final AtomicBuffer buffer;
    private final int size;
    private final int requestLength;
    private final int responseLength;
    private int reqProdPvt;
    private int rspCons;
    private String violation;

    /**
     * {@code FRONT_RING_INIT} without touching the shared page: both private indices at 0. Call
     * {@link #init(int)} to also initialise the shared page, or {@link #attach(int)} to rejoin it.
     *
     * @param layout the protocol's geometry.
     * @param buffer the ring memory, at least {@code layout.ringBytes()} long.
     */
    public FrontRing(final RingLayout layout, final AtomicBuffer buffer)
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
     * {@code SHARED_RING_INIT} then {@code FRONT_RING_ATTACH} at {@code index}: a fresh ring whose indices start at
     * {@code index} ({@code req_prod = rsp_prod = index}, {@code req_event = rsp_event = index + 1}, pad zeroed).
     * Xen's own macro starts at 0; another start lets tests cross the 2^32 wrap.
     *
     * @param index the first index.
     * @return this.
     */
    public FrontRing init(final int index)
    {
        buffer.setMemory(PVT_OFFSET, ENTRIES_OFFSET - PVT_OFFSET, (byte)0);
        buffer.putInt(REQ_EVENT_OFFSET, index + 1);
        buffer.putInt(RSP_EVENT_OFFSET, index + 1);
        buffer.putInt(RSP_PROD_OFFSET, index);
        // Release: the header above is complete before req_prod, the field a backend reads first.
        buffer.putIntRelease(REQ_PROD_OFFSET, index);
        return attach(index);
    }

    /**
     * {@code FRONT_RING_ATTACH}: sets both private indices.
     *
     * @param index the index to resume at.
     * @return this.
     */
    public FrontRing attach(final int index)
    {
        reqProdPvt = index;
        rspCons = index;
        violation = null;
        return this;
    }

    /**
     * @return the geometry.
     */
    public RingLayout layout()
    {
        return layout;
    }

    /**
     * @return the ring memory, for flyweights wrapped on a claimed request slot.
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
     * @return {@code req_prod_pvt}: the next request slot to fill.
     */
    public int reqProdPvt()
    {
        return reqProdPvt;
    }

    /**
     * @return {@code rsp_cons}: the next response to take.
     */
    public int rspCons()
    {
        return rspCons;
    }

    /**
     * @return whether the backend broke the protocol and responses are no longer read.
     */
    public boolean isDisabled()
    {
        return violation != null;
    }

    /**
     * @return why, or null.
     */
    public String violation()
    {
        return violation;
    }

    /**
     * @return {@code RING_FREE_REQUESTS}.
     */
    public int freeRequests()
    {
        return size - (reqProdPvt - rspCons);
    }

    /**
     * @return {@code RING_FULL}.
     */
    public boolean isFull()
    {
        return freeRequests() == 0;
    }

    /**
     * Claims the slot of the next request ({@code RING_GET_REQUEST(req_prod_pvt)}) and zeroes it; finish with
     * {@link #commitRequest()}.
     *
     * @return the byte offset of the slot in {@link #buffer()}.
     * @throws IllegalStateException when the ring is full.
     */
    public int claimRequest()
    {
        if (isFull())
        {
            throw new IllegalStateException("ring full at req_prod_pvt " + Integer.toUnsignedString(reqProdPvt));
        }
        final int offset = layout.slotOffset(reqProdPvt);
        Zeroing.zero(buffer, offset, requestLength);
        return offset;
    }

    /**
     * {@code req_prod_pvt++}: the claimed request becomes part of the next push.
     */
    public void commitRequest()
    {
        if (isFull())
        {
            throw new IllegalStateException("ring full at req_prod_pvt " + Integer.toUnsignedString(reqProdPvt));
        }
        reqProdPvt++;
    }

    /**
     * Writes one request: zeroes the slot, copies {@code length} bytes, commits it.
     *
     * @param src       the request bytes.
     * @param srcOffset where they start.
     * @param length    at most {@code requestLength}.
     */
    public void putRequest(final DirectBuffer src, final int srcOffset, final int length)
    {
        if (length < 0 || length > requestLength)
        {
            throw new IllegalArgumentException("request length " + length + " not in 0.." + requestLength);
        }
        final int offset = claimRequest();
        buffer.putBytes(offset, src, srcOffset, length);
        reqProdPvt++;
    }

    /**
     * {@code RING_PUSH_REQUESTS}: publishes without deciding about a notification.
     */
    public void pushRequests()
    {
        // Release (xen_wmb): the backend sees the request slots before the new req_prod.
        buffer.putIntRelease(REQ_PROD_OFFSET, reqProdPvt);
    }

    /**
     * {@code RING_PUSH_REQUESTS_AND_CHECK_NOTIFY}.
     *
     * @return true when the backend asked to be told ({@code req_event} lies in the batch just published).
     */
    public boolean pushRequestsAndCheckNotify()
    {
        final int oldProd = buffer.getIntVolatile(REQ_PROD_OFFSET);
        final int newProd = reqProdPvt;
        // Release (xen_wmb): the backend sees the request slots before the new req_prod.
        buffer.putIntRelease(REQ_PROD_OFFSET, newProd);
        // Full fence (xen_mb): the new req_prod is visible before we read req_event, pairing with the fence in
        // the backend's RING_FINAL_CHECK_FOR_REQUESTS.
        VarHandle.fullFence();
        final int reqEvent = buffer.getIntVolatile(REQ_EVENT_OFFSET);
        return Integer.compareUnsigned(newProd - reqEvent, newProd - oldProd) < 0;
    }

    /**
     * @return the shared {@code rsp_prod}, read with acquire semantics.
     */
    public int sharedRspProd()
    {
        // Acquire (xen_rmb): response slots up to this index are read only after the index.
        return buffer.getIntVolatile(RSP_PROD_OFFSET);
    }

    /**
     * {@code RING_RESPONSE_PROD_OVERFLOW}: could the backend have produced this many responses?
     *
     * @param rspProd a response producer index read from the ring.
     * @return true when {@code rspProd - rsp_cons > RING_SIZE} (unsigned).
     */
    public boolean isResponseProdOverflow(final int rspProd)
    {
        return Integer.compareUnsigned(rspProd - rspCons, size) > 0;
    }

    /**
     * {@code RING_HAS_UNCONSUMED_RESPONSES}.
     *
     * @return {@code rsp_prod - rsp_cons}.
     */
    public int unconsumedResponses()
    {
        return sharedRspProd() - rspCons;
    }

    /**
     * Takes up to {@code limit} responses: reads {@code rsp_prod} once, checks it (more responses than the ring
     * holds, or than requests posted, disables the ring), copies each response once into {@code copy} and hands it
     * to {@code handler}.
     *
     * @param handler    receives each copy.
     * @param copy       the private buffer.
     * @param copyOffset where each response is copied to.
     * @param limit      the most to take.
     * @return the number taken, or {@link #PROTOCOL_VIOLATION}.
     */
    public int consumeResponses(
        final RingEntryHandler handler, final MutableDirectBuffer copy, final int copyOffset, final int limit)
    {
        if (violation != null)
        {
            return PROTOCOL_VIOLATION;
        }
        final int rp = sharedRspProd();
        if (isResponseProdOverflow(rp) || Integer.compareUnsigned(rp - rspCons, reqProdPvt - rspCons) > 0)
        {
            violation = "backend rsp_prod overflow (RING_RESPONSE_PROD_OVERFLOW): rsp_prod " +
                Integer.toUnsignedString(rp) + " rsp_cons " + Integer.toUnsignedString(rspCons) +
                " req_prod_pvt " + Integer.toUnsignedString(reqProdPvt);
            return PROTOCOL_VIOLATION;
        }
        int rc = rspCons;
        int taken = 0;
        while (rc != rp && taken < limit)
        {
            // RING_COPY_RESPONSE: the one read of this slot.
            buffer.getBytes(layout.slotOffset(rc), copy, copyOffset, responseLength);
            rspCons = ++rc;
            taken++;
            handler.onEntry(copy, copyOffset, rc - 1);
        }
        return taken;
    }

    /**
     * {@code RING_FINAL_CHECK_FOR_RESPONSES}: asks to be notified of the very next response
     * ({@code rsp_event = rsp_cons + 1}) and checks once more.
     *
     * @return true when responses are waiting.
     */
    public boolean finalCheckForResponses()
    {
        if (violation != null)
        {
            return false;
        }
        if (unconsumedResponses() != 0)
        {
            return true;
        }
        buffer.putIntRelease(RSP_EVENT_OFFSET, rspCons + 1);
        // Full fence (xen_mb): rsp_event is visible to the backend before we read rsp_prod again.
        VarHandle.fullFence();
        return unconsumedResponses() != 0;
    }
}
