package org.dom0j.ring;

import static org.dom0j.ring.SharedRingDescriptor.ENTRIES_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.MAX_RING_PAGES;
import static org.dom0j.ring.SharedRingDescriptor.PAGE_SIZE;

/**
 * The geometry of one kind of shared ring: the sizes of its request and response structs (one protocol's ABI)
 * and the number of pages it spans. Everything {@link BackRing} and {@link FrontRing} need to find a slot.
 * <p>
 * Immutable: any thread.
 */
public final class RingLayout
{
    private final int requestLength;
    private final int responseLength;
    private final int slotLength;
    private final int pageCount;
    private final int size;

    private RingLayout(final int requestLength, final int responseLength, final int pageCount)
    {
        this.requestLength = requestLength;
        this.responseLength = responseLength;
        this.pageCount = pageCount;
        this.slotLength = SharedRingDescriptor.slotLength(requestLength, responseLength);
        this.size = SharedRingDescriptor.ringSize(pageCount * PAGE_SIZE, slotLength);
    }

    /**
     * @param requestLength  sizeof the protocol's request struct.
     * @param responseLength sizeof the protocol's response struct.
     * @param pageCount      pages of the ring, 1 to {@link SharedRingDescriptor#MAX_RING_PAGES}.
     * @return the layout.
     * @throws IllegalArgumentException when the sizes are not positive, the page count out of range, or fewer than
     *                                  two entries fit.
     */
    public static RingLayout of(final int requestLength, final int responseLength, final int pageCount)
    {
        if (requestLength <= 0 || responseLength <= 0)
        {
            throw new IllegalArgumentException(
                "request and response lengths must be positive: " + requestLength + ", " + responseLength);
        }
        if (pageCount < 1 || pageCount > MAX_RING_PAGES)
        {
            throw new IllegalArgumentException("ring page count must be 1.." + MAX_RING_PAGES + ": " + pageCount);
        }
        final RingLayout layout = new RingLayout(requestLength, responseLength, pageCount);
        if (layout.size < 2)
        {
            throw new IllegalArgumentException("fewer than two entries of " + layout.slotLength + " bytes fit in " +
                pageCount + " page(s)");
        }
        return layout;
    }

    /**
     * @param requestLength  sizeof the request struct.
     * @param responseLength sizeof the response struct.
     * @param ringPageOrder  log2 of the page count, 0 to {@link SharedRingDescriptor#MAX_RING_PAGE_ORDER}.
     * @return the layout.
     */
    public static RingLayout ofPageOrder(final int requestLength, final int responseLength, final int ringPageOrder)
    {
        if (ringPageOrder < 0 || ringPageOrder > SharedRingDescriptor.MAX_RING_PAGE_ORDER)
        {
            throw new IllegalArgumentException(
                "ring-page-order must be 0.." + SharedRingDescriptor.MAX_RING_PAGE_ORDER + ": " + ringPageOrder);
        }
        return of(requestLength, responseLength, 1 << ringPageOrder);
    }

    /**
     * @return sizeof the request struct.
     */
    public int requestLength()
    {
        return requestLength;
    }

    /**
     * @return sizeof the response struct.
     */
    public int responseLength()
    {
        return responseLength;
    }

    /**
     * @return sizeof one entry, the larger of the two.
     */
    public int slotLength()
    {
        return slotLength;
    }

    /**
     * @return pages the ring spans.
     */
    public int pageCount()
    {
        return pageCount;
    }

    /**
     * @return the bytes of memory the ring needs: {@code pageCount * 4096}.
     */
    public int ringBytes()
    {
        return pageCount * PAGE_SIZE;
    }

    /**
     * @return {@code RING_SIZE}: the number of entries, a power of two.
     */
    public int size()
    {
        return size;
    }

    /**
     * @param index a free-running ring index.
     * @return the byte offset of its slot.
     */
    public int slotOffset(final int index)
    {
        return ENTRIES_OFFSET + (index & (size - 1)) * slotLength;
    }

    @Override
    public String toString()
    {
        return "RingLayout{request=" + requestLength + ", response=" + responseLength + ", slot=" + slotLength +
            ", pages=" + pageCount + ", size=" + size + "}";
    }
}
