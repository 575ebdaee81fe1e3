package org.dom0j.netback;

import java.util.Arrays;

/**
 * A vif's multicast filter, as Linux's netback keeps it: the frontend adds and removes addresses with
 * {@code XEN_NETIF_EXTRA_TYPE_MCAST_ADD}/{@code _DEL} extra infos (at most 64, duplicates counted, a delete removes
 * the first match), and while the frontend's {@code request-multicast-control} is set, multicast frames to an address
 * not in the list are not delivered to it (broadcast always is).
 * <p>
 * Changed by the vif's queues' agents (under this object's lock, rarely) and read by any agent delivering a frame
 * (a volatile snapshot: no lock on the hot path).
 */
final class MulticastFilter
{
    /** XEN_NETBK_MCAST_MAX. */
    static final int MAX_ADDRESSES = 64;

    private volatile long[] addresses = new long[0];
    private volatile boolean enabled;

    /**
     * @param mac the address.
     * @return false when the list is full.
     */
    synchronized boolean add(final long mac)
    {
        final long[] now = addresses;
        if (now.length >= MAX_ADDRESSES)
        {
            return false;
        }
        final long[] next = Arrays.copyOf(now, now.length + 1);
        next[now.length] = mac;
        addresses = next;
        return true;
    }

    /**
     * @param mac the address; its first entry is removed, if any.
     */
    synchronized void remove(final long mac)
    {
        final long[] now = addresses;
        for (int i = 0; i < now.length; i++)
        {
            if (now[i] == mac)
            {
                final long[] next = new long[now.length - 1];
                System.arraycopy(now, 0, next, 0, i);
                System.arraycopy(now, i + 1, next, i, now.length - i - 1);
                addresses = next;
                return;
            }
        }
    }

    /**
     * @param on the frontend's {@code request-multicast-control}.
     */
    void enable(final boolean on)
    {
        enabled = on;
    }

    /**
     * @return whether filtering applies.
     */
    boolean isEnabled()
    {
        return enabled;
    }

    /**
     * @param dst a frame's destination address.
     * @return whether the frame may be delivered to this vif.
     */
    boolean accepts(final long dst)
    {
        if (!enabled || !PacketHeaders.isMulticast(dst) || dst == PacketHeaders.BROADCAST)
        {
            return true;
        }
        for (final long mac : addresses)
        {
            if (mac == dst)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @return how many addresses are in the list.
     */
    int size()
    {
        return addresses.length;
    }

    /**
     * Empties the list (the frontend disconnected).
     */
    synchronized void clear()
    {
        addresses = new long[0];
    }
}
