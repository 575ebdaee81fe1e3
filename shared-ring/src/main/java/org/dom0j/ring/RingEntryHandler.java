package org.dom0j.ring;

import org.agrona.MutableDirectBuffer;

/**
 * Receives each entry taken off a ring, already copied out of shared memory into the caller's private buffer
 * ({@code RING_COPY_REQUEST} / {@code RING_COPY_RESPONSE}). The other end can no longer change the copy, so the
 * handler validates and uses only the copy, never the shared slot (XSA-155: no double fetch).
 * <p>
 * Called on the thread that consumes the ring, synchronously, one entry at a time.
 */
@FunctionalInterface
public interface RingEntryHandler
{
    /**
     * @param copy   the private buffer holding the copied entry.
     * @param offset where the entry starts in {@code copy}; it is {@code requestLength} (or {@code responseLength})
     *               bytes long.
     * @param index  the free-running ring index the entry was taken from.
     */
    void onEntry(MutableDirectBuffer copy, int offset, int index);
}
