package org.dom0j.backend;

import org.dom0j.ring.RingLayout;
import org.dom0j.ring.SharedRingDescriptor;

import java.util.Arrays;
import java.util.List;

/**
 * One queue a frontend offered, as read and bounds-checked from xenstore: its shared rings (geometry and the grant
 * refs of their pages) and the frontend's event channel ports. Most protocols have one ring and one port per queue
 * (blkif, console); netif has two rings per queue (TX and RX) and one or two ports (split event channels), and a
 * control ring of its own. A ring without a {@link RingLayout} ({@link #rawPages}) is mapped but gets no
 * {@link org.dom0j.ring.BackRing}: for protocols whose shared page is not a request/response ring (the console's
 * {@code xencons_interface}).
 * <p>
 * All the queue's ports are bound on one event channel handle and served by one agent, named after the queue
 * ({@code <type>-<domid>-<devid>-<name>}).
 * <p>
 * Immutable (the refs are copied): any thread.
 */
public final class QueueConfig
{
    /**
     * One shared ring of a queue.
     *
     * @param layout the ring geometry, or null for raw pages.
     * @param refs   one grant ref per page, mapped as one contiguous writable mapping.
     */
    public record Ring(RingLayout layout, int[] refs)
    {
        /**
         * Checks the page count.
         */
        public Ring
        {
            if (refs.length == 0 || refs.length > SharedRingDescriptor.MAX_RING_PAGES)
            {
                throw new IllegalArgumentException(refs.length + " ring refs");
            }
            if (layout != null && refs.length != layout.pageCount())
            {
                throw new IllegalArgumentException(
                    refs.length + " ring refs for a ring of " + layout.pageCount() + " pages");
            }
            refs = refs.clone();
        }

        /**
         * @return a copy of the grant refs, page order.
         */
        @Override
        public int[] refs()
        {
            return refs.clone();
        }

        @Override
        public String toString()
        {
            return (layout == null ? "raw pages" : layout.toString()) + " refs=" + Arrays.toString(refs);
        }
    }

    private final int index;
    private final String name;
    private final Ring[] rings;
    private final int[] remotePorts;

    /**
     * @param index      queue number, 0 for a single-queue device.
     * @param layout     the ring geometry (protocol and pages).
     * @param ringRefs   one grant ref per page, {@code layout.pageCount()} of them.
     * @param remotePort the frontend's unbound port.
     */
    public QueueConfig(final int index, final RingLayout layout, final int[] ringRefs, final int remotePort)
    {
        this(index, "q" + index, List.of(new Ring(layout, ringRefs)), new int[]{ remotePort });
    }

    /**
     * @param index       queue number.
     * @param name        the queue's name in agent and counter names, e.g. "q0" or "ctrl".
     * @param rings       the queue's rings, at least one; {@link ConnectedQueue#ring(int)} keeps this order.
     * @param remotePorts the frontend's unbound ports, at least one; {@link ConnectedQueue#localPort(int)} keeps
     *                    this order (the same port may not appear twice).
     */
    public QueueConfig(final int index, final String name, final List<Ring> rings, final int[] remotePorts)
    {
        if (rings.isEmpty() || remotePorts.length == 0)
        {
            throw new IllegalArgumentException("a queue needs a ring and a port");
        }
        for (int i = 0; i < remotePorts.length; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (remotePorts[i] == remotePorts[j])
                {
                    throw new IllegalArgumentException("port " + remotePorts[i] + " given twice");
                }
            }
        }
        this.index = index;
        this.name = name;
        this.rings = rings.toArray(new Ring[0]);
        this.remotePorts = remotePorts.clone();
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
     * @return the queue's name, "q" + index unless given.
     */
    public String name()
    {
        return name;
    }

    /**
     * @return the first ring's geometry, or null for raw pages.
     */
    public RingLayout layout()
    {
        return rings[0].layout();
    }

    /**
     * @return a copy of the first ring's grant refs, page order.
     */
    public int[] ringRefs()
    {
        return rings[0].refs();
    }

    /**
     * @return how many rings the queue has.
     */
    public int ringCount()
    {
        return rings.length;
    }

    /**
     * @param i ring number, 0 to {@link #ringCount()} - 1.
     * @return that ring.
     */
    public Ring ring(final int i)
    {
        return rings[i];
    }

    /**
     * @return the frontend's first event channel port.
     */
    public int remotePort()
    {
        return remotePorts[0];
    }

    /**
     * @return how many ports the queue has.
     */
    public int portCount()
    {
        return remotePorts.length;
    }

    /**
     * @param i port number, 0 to {@link #portCount()} - 1.
     * @return the frontend's port.
     */
    public int remotePort(final int i)
    {
        return remotePorts[i];
    }

    @Override
    public String toString()
    {
        return "QueueConfig{" + name + ", " + Arrays.toString(rings) + ", ports=" + Arrays.toString(remotePorts) + "}";
    }
}
