package org.dom0j.blkback;

import org.agrona.collections.Int2IntHashMap;
import org.dom0j.gnttab.GrantMapping;

import java.util.concurrent.TimeUnit;

/**
 * The persistent grants of one ring ({@code feature-persistent}): guest pages mapped once and kept, so that
 * later requests on the same grant need no map or unmap. Bounded, as Linux's blkback bounds them: at most
 * {@code max} mappings (1056 by default); when full, new grants are mapped for one request only; every
 * {@code 100 ms} grants unused for 60 s are dropped and, after the cache overflowed, 5% of the least recently used.
 * <p>
 * Not thread safe: the ring's agent only. No allocation after construction (the map is sized for the bound).
 */
public final class PersistentGrants implements AutoCloseable
{
    /** Linux's default bound, xen_blkif_max_pgrants. */
    public static final int DEFAULT_MAX = 1056;
    static final long PURGE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    static final long UNUSED_NANOS = TimeUnit.SECONDS.toNanos(60);
    static final int PURGE_PERCENT = 5;

    private final int max;
    private final Int2IntHashMap slotByRef;
    private final int[] refs;
    private final long[] lastUsed;
    private final GrantMapping[] mappings;
    private int count;
    private boolean overflowed;
    private long nextPurge;
    private long now;

    /**
     * @param max the most grants kept mapped.
     */
    public PersistentGrants(final int max)
    {
        this.max = max;
        slotByRef = new Int2IntHashMap(max * 2, 0.65f, -1);
        refs = new int[max];
        lastUsed = new long[max];
        mappings = new GrantMapping[max];
    }

    /**
     * @return grants mapped now.
     */
    public int size()
    {
        return count;
    }

    /**
     * @param ref a grant ref of the frontend.
     * @return its mapping, marked used now, or null when it is not kept.
     */
    public GrantMapping get(final int ref)
    {
        final int slot = slotByRef.get(ref);
        if (slot < 0)
        {
            return null;
        }
        lastUsed[slot] = now;
        return mappings[slot];
    }

    /**
     * Keeps a mapping if there is room.
     *
     * @param ref     the grant ref.
     * @param mapping its one-page mapping.
     * @return true when it is kept (and will be unmapped by this cache); false when full (the caller unmaps).
     */
    public boolean put(final int ref, final GrantMapping mapping)
    {
        if (count == max)
        {
            overflowed = true;
            return false;
        }
        refs[count] = ref;
        lastUsed[count] = now;
        mappings[count] = mapping;
        slotByRef.put(ref, count);
        count++;
        return true;
    }

    /**
     * @param nowNanos the time now.
     * @return how long until {@link #purge} next does something, 0 when it is due.
     */
    public long nanosUntilPurge(final long nowNanos)
    {
        return Math.max(0, nextPurge - nowNanos);
    }

    /**
     * Drops grants unused for 60 s and, after an overflow, the least recently used 5%; runs at most every 100 ms.
     *
     * @param nowNanos the time now.
     * @return how many were unmapped.
     */
    public int purge(final long nowNanos)
    {
        now = nowNanos;
        if (nanosUntilPurge(nowNanos) > 0)
        {
            return 0;
        }
        nextPurge = nowNanos + PURGE_INTERVAL_NANOS;
        int dropped = 0;
        for (int i = count - 1; i >= 0; i--)
        {
            if (nowNanos - lastUsed[i] >= UNUSED_NANOS)
            {
                remove(i);
                dropped++;
            }
        }
        if (overflowed)
        {
            overflowed = false;
            final int target = Math.max(1, max * PURGE_PERCENT / 100);
            while (dropped < target && count > 0)
            {
                int oldest = 0;
                for (int i = 1; i < count; i++)
                {
                    if (lastUsed[i] - lastUsed[oldest] < 0)
                    {
                        oldest = i;
                    }
                }
                remove(oldest);
                dropped++;
            }
        }
        return dropped;
    }

    private void remove(final int i)
    {
        slotByRef.remove(refs[i]);
        mappings[i].close();
        final int last = --count;
        if (i != last)
        {
            slotByRef.put(refs[last], i);
        }
        refs[i] = refs[last];
        lastUsed[i] = lastUsed[last];
        mappings[i] = mappings[last];
        mappings[last] = null;
    }

    /**
     * Unmaps every kept grant.
     */
    @Override
    public void close()
    {
        while (count > 0)
        {
            remove(count - 1);
        }
    }
}
