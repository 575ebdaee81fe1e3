package org.dom0j.netback;

import org.agrona.concurrent.status.AtomicCounter;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A learning L2 switch inside the service, joining the guests' vifs and the uplinks (a TAP into dom0's stack, Aeron
 * links to other hosts): a frame's source address is learned on the port it came in by (a guest's port has its
 * {@code mac} from the start), a unicast frame to a known address goes to that port only, and broadcast, multicast
 * and unknown unicast frames are flooded to every other port (each guest's multicast filter applies). A frame never
 * goes back out of the port it came in by. Learned addresses age out after {@link #AGING_SECONDS}; the table is
 * bounded.
 * <p>
 * Port ids carry a generation, so an address learned on a port that went away never reaches a new port in its slot.
 * <p>
 * <b>Threads</b>: {@link #forward} from any agent, concurrently; {@link #attach} and {@link #detach} from the
 * conductor. No allocation per frame.
 */
final class L2Switch
{
    /** How long a learned address lasts (the IEEE 802.1D default). */
    static final long AGING_SECONDS = 300;
    private static final int GENERATION_SHIFT = 16;
    private static final int SLOT_MASK = (1 << GENERATION_SHIFT) - 1;

    private final AtomicReferenceArray<SwitchPort> ports;
    private final int[] ids;
    private final MacTable table;
    private final long epochNanos = System.nanoTime();
    private final AtomicCounter floods;
    private final AtomicCounter unknownDrops;
    private volatile int highestSlot = -1;

    /**
     * @param maxPorts   the most ports at once (at most 65536).
     * @param macEntries the forwarding table's size, a power of two.
     * @param floods     counts frames flooded (may be null).
     * @param drops      counts frames that had nowhere to go (may be null).
     */
    L2Switch(final int maxPorts, final int macEntries, final AtomicCounter floods, final AtomicCounter drops)
    {
        if (maxPorts < 1 || maxPorts > SLOT_MASK + 1)
        {
            throw new IllegalArgumentException("maxPorts must be 1.." + (SLOT_MASK + 1));
        }
        ports = new AtomicReferenceArray<>(maxPorts);
        ids = new int[maxPorts];
        table = new MacTable(macEntries, AGING_SECONDS);
        this.floods = floods;
        this.unknownDrops = drops;
    }

    /**
     * @param port a port.
     * @return its id, to {@link #detach} it and to {@link #forward} frames that come in by it.
     * @throws IllegalStateException when every port is taken.
     */
    synchronized int attach(final SwitchPort port)
    {
        for (int slot = 0; slot < ports.length(); slot++)
        {
            if (ports.get(slot) == null)
            {
                final int generation = (ids[slot] >>> GENERATION_SHIFT) + 1 & 0x7FFF;
                final int id = generation << GENERATION_SHIFT | slot;
                ids[slot] = id;
                ports.set(slot, port);
                if (slot > highestSlot)
                {
                    highestSlot = slot;
                }
                if (port.fixedMac() >= 0)
                {
                    table.learn(port.fixedMac(), id, seconds(System.nanoTime()));
                }
                return id;
            }
        }
        throw new IllegalStateException("all " + ports.length() + " switch ports are in use");
    }

    /**
     * @param id a port's id; frames stop going to it, and the addresses learned on it are forgotten.
     */
    synchronized void detach(final int id)
    {
        final int slot = id & SLOT_MASK;
        if (ids[slot] == id && ports.get(slot) != null)
        {
            ports.set(slot, null);
            table.forgetPort(id);
        }
    }

    /**
     * @param id a port id.
     * @return the port, or null when it is gone.
     */
    SwitchPort port(final int id)
    {
        final int slot = id & SLOT_MASK;
        final SwitchPort port = ports.get(slot);
        return port != null && ids[slot] == id ? port : null;
    }

    /**
     * @param frame    a frame whose first 12 bytes are local.
     * @param ingress  the port it comes in by.
     * @param nowNanos the current time.
     * @return whether every port {@link #forward} would deliver it to takes frames by reference.
     */
    boolean acceptsReferences(final Frame frame, final int ingress, final long nowNanos)
    {
        if (frame.localLength() < PacketHeaders.ETH_HLEN)
        {
            return false;
        }
        final long dst = PacketHeaders.mac(frame.localView(), 0);
        if (!PacketHeaders.isMulticast(dst))
        {
            final int id = table.lookup(dst, seconds(nowNanos));
            final SwitchPort port = id >= 0 ? port(id) : null;
            if (port != null)
            {
                return port.acceptsReferences();
            }
        }
        final int last = highestSlot;
        for (int slot = 0; slot <= last; slot++)
        {
            final SwitchPort port = ports.get(slot);
            if (port != null && ids[slot] != ingress && !port.acceptsReferences())
            {
                return false;
            }
        }
        return true;
    }

    /**
     * Switches one frame.
     *
     * @param frame    the frame, local (at least its first 12 bytes).
     * @param ingress  the id of the port it came in by.
     * @param nowNanos the current time.
     * @return how many ports it was delivered to.
     */
    int forward(final Frame frame, final int ingress, final long nowNanos)
    {
        if (frame.localLength() < PacketHeaders.ETH_HLEN)
        {
            return 0;
        }
        final long dst = PacketHeaders.mac(frame.localView(), 0);
        final long src = PacketHeaders.mac(frame.localView(), 6);
        final long seconds = seconds(nowNanos);
        if (!PacketHeaders.isMulticast(src))
        {
            table.learn(src, ingress, seconds);
        }
        if (!PacketHeaders.isMulticast(dst))
        {
            final int id = table.lookup(dst, seconds);
            if (id >= 0)
            {
                if (id == ingress)
                {
                    return 0;
                }
                final SwitchPort port = port(id);
                if (port != null)
                {
                    return port.deliver(frame, nowNanos) ? 1 : 0;
                }
            }
        }
        if (floods != null)
        {
            floods.increment();
        }
        int delivered = 0;
        final int last = highestSlot;
        for (int slot = 0; slot <= last; slot++)
        {
            final SwitchPort port = ports.get(slot);
            if (port != null && ids[slot] != ingress && port.deliver(frame, nowNanos))
            {
                delivered++;
            }
        }
        if (delivered == 0 && unknownDrops != null)
        {
            unknownDrops.increment();
        }
        return delivered;
    }

    private long seconds(final long nowNanos)
    {
        return (nowNanos - epochNanos) / 1_000_000_000L + 1;
    }
}
