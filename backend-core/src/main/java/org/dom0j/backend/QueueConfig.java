package org.dom0j.backend;

import org.dom0j.ring.RingLayout;

import java.util.Arrays;

/**
 * One ring a frontend offered, as read and bounds-checked from xenstore: its geometry, the grant refs of its pages
 * and the frontend's event channel port. A queue without a {@link RingLayout} ({@link #rawPages}) is mapped and
 * bound but gets no {@link org.dom0j.ring.BackRing}: for protocols whose shared page is not a request/response
 * ring (the console's {@code xencons_interface}).
 * <p>
 * Immutable (the refs are copied): any thread.
 */
public final class QueueConfig
{
    private final int index;
    private final RingLayout layout;
    private final int[] ringRefs;
    private final int remotePort;

    /**
     * @param index      queue number, 0 for a single-queue device.
     * @param layout     the ring geometry (protocol and pages).
     * @param ringRefs   one grant ref per page, {@code layout.pageCount()} of them.
     * @param remotePort the frontend's unbound port.
     */
    public QueueConfig(final int index, final RingLayout layout, final int[] ringRefs, final int remotePort)
    {
        if (ringRefs.length == 0 || ringRefs.length > org.dom0j.ring.SharedRingDescriptor.MAX_RING_PAGES)
        {
            throw new IllegalArgumentException(ringRefs.length + " ring refs");
        }
        if (layout != null && ringRefs.length != layout.pageCount())
        {
            throw new IllegalArgumentException(
                ringRefs.length + " ring refs for a ring of " + layout.pageCount() + " pages");
        }
        this.index = index;
        this.layout = layout;
        this.ringRefs = ringRefs.clone();
        this.remotePort = remotePort;
    }

    /**
     * @param index      queue number.
     * @param refs       the grant refs of the shared pages, mapped as one contiguous writable mapping.
     * @param remotePort the frontend's unbound port.
     * @return a queue whose pages the device type reads and writes itself (no BackRing).
     */
    public static QueueConfig rawPages(final int index, final int[] refs, final int remotePort)
    {
        return new QueueConfig(index, null, refs, remotePort);
    }

    /**
     * @return queue number.
     */
    public int index()
    {
        return index;
    }

    /**
     * @return the ring geometry, or null for a raw-page queue.
     */
    public RingLayout layout()
    {
        return layout;
    }

    /**
     * @return a copy of the grant refs, page order.
     */
    public int[] ringRefs()
    {
        return ringRefs.clone();
    }

    /**
     * @return the frontend's event channel port.
     */
    public int remotePort()
    {
        return remotePort;
    }

    @Override
    public String toString()
    {
        return "QueueConfig{index=" + index + ", " + layout + ", refs=" + Arrays.toString(ringRefs) +
            ", port=" + remotePort + "}";
    }
}
