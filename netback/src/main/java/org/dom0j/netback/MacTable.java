package org.dom0j.netback;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The switch's forwarding table: MAC address to port, learned from the source addresses of frames and forgotten
 * after an ageing time, in a fixed number of entries (a switch's CAM: when it is full, unknown destinations are
 * flooded; memory never grows). Lock-free open addressing over two {@link AtomicLongArray}s: key = address + 1 (0 is
 * an empty entry), value = port id in the high 32 bits and the second it was last seen in the low 32.
 * <p>
 * Any thread: every agent that forwards learns and looks up.
 */
final class MacTable
{
    private static final int PROBES = 16;

    private final AtomicLongArray keys;
    private final AtomicLongArray values;
    private final int mask;
    private final long agingSeconds;

    /**
     * @param capacity     entries, a power of two.
     * @param agingSeconds how long an entry lasts without being seen again.
     */
    MacTable(final int capacity, final long agingSeconds)
    {
        if (Integer.bitCount(capacity) != 1)
        {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        keys = new AtomicLongArray(capacity);
        values = new AtomicLongArray(capacity);
        mask = capacity - 1;
        this.agingSeconds = agingSeconds;
    }

    private int home(final long mac)
    {
        long h = mac * 0x9E37_79B9_7F4A_7C15L;
        h ^= h >>> 29;
        return (int)h & mask;
    }

    /**
     * @param mac     a unicast source address.
     * @param port    the port it was seen on.
     * @param seconds now, in seconds.
     */
    void learn(final long mac, final int port, final long seconds)
    {
        final long key = mac + 1;
        final long value = (long)port << 32 | (seconds & 0xFFFF_FFFFL);
        final int start = home(mac);
        int free = -1;
        for (int i = 0; i < PROBES; i++)
        {
            final int slot = (start + i) & mask;
            final long k = keys.get(slot);
            if (k == key)
            {
                // Write only when it changed, so a busy sender does not bounce the cache line every frame.
                final long old = values.get(slot);
                if ((int)(old >>> 32) != port || seconds - (old & 0xFFFF_FFFFL) > 0)
                {
                    values.set(slot, value);
                }
                return;
            }
            if (free < 0 && (k == 0 || expired(values.get(slot), seconds)))
            {
                free = slot;
            }
        }
        if (free >= 0)
        {
            final long old = keys.get(free);
            if ((old == 0 || expired(values.get(free), seconds)) && keys.compareAndSet(free, old, key))
            {
                values.set(free, value);
            }
        }
    }

    /**
     * @param mac     a destination address.
     * @param seconds now, in seconds.
     * @return its port, or -1 when unknown or aged out.
     */
    int lookup(final long mac, final long seconds)
    {
        final long key = mac + 1;
        final int start = home(mac);
        for (int i = 0; i < PROBES; i++)
        {
            final int slot = (start + i) & mask;
            final long k = keys.get(slot);
            if (k == key)
            {
                final long value = values.get(slot);
                return expired(value, seconds) ? -1 : (int)(value >>> 32);
            }
            if (k == 0)
            {
                return -1;
            }
        }
        return -1;
    }

    /**
     * Forgets every address learned on a port (it went away).
     *
     * @param port the port.
     */
    void forgetPort(final int port)
    {
        for (int slot = 0; slot <= mask; slot++)
        {
            final long value = values.get(slot);
            if (keys.get(slot) != 0 && (int)(value >>> 32) == port)
            {
                values.compareAndSet(slot, value, (long)port << 32);
            }
        }
    }

    private boolean expired(final long value, final long seconds)
    {
        final long seen = value & 0xFFFF_FFFFL;
        return seen == 0 || seconds - seen > agingSeconds;
    }
}
