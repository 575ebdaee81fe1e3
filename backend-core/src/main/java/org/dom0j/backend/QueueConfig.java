package org.dom0j.backend;

import org.dom0j.ring.RingLayout;

import java.util.Arrays;

/**
 * One ring a frontend offered, as read and bounds-checked from xenstore: its geometry, the grant refs of its pages
 * and the frontend's event channel port.
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
        if (ringRefs.length != layout.pageCount())
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
     * @return queue number.
     */
    public int index()
    {
        return index;
    }

    /**
     * @return the ring geometry.
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
