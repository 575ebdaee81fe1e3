package org.dom0j.nbd;

/**
 * The requests of one connection, a fixed number of slots allocated once, held as parallel arrays. A slot is
 * {@link #FREE}, {@link #QUEUED} (header, and a write's data, waiting for the socket), {@link #SENT} (the server has
 * it all; a reply is awaited) or {@link #LOCAL} (finished without the server, or failed with the connection; its
 * completion waits to be delivered).
 * <p>
 * The cookie on the wire is this table's own, not the caller's: the slot index in the low 32 bits and the slot's
 * generation, bumped at each release, in the high 32. A reply is matched in O(1), a cookie the server made up or
 * repeated after the request completed is recognised, and the caller's cookies need not be distinct.
 * <p>
 * A read answered with structured replies may come in pieces, in any order; each slot records which bytes of its
 * request have come as sorted, merged, non-overlapping intervals (at most {@link #MAX_PIECES} apart at once), so
 * that an overlap or a gap is a protocol violation, never stale bytes passed off as data.
 * <p>
 * Not thread-safe: the connection's thread only.
 */
final class NbdRequestTable
{
    static final byte FREE = 0;
    static final byte QUEUED = 1;
    static final byte SENT = 2;
    static final byte LOCAL = 3;

    /** Disjoint pieces of one read kept apart at once; contiguous pieces merge, so in-order replies use one. */
    static final int MAX_PIECES = 16;
    static final int PIECE_ADDED = 0;
    static final int PIECE_OVERLAPS = 1;
    static final int PIECE_TOO_FRAGMENTED = 2;

    final byte[] state;
    final long[] cookie;
    final int[] command;
    final long[] offset;
    final long[] length;
    final long[] address;
    final int[] errno;
    final boolean[] chunked;

    private final int capacity;
    private final int[] generation;
    private final int[] pieceCount;
    private final long[] pieces;
    private final int[] freeSlots;
    private int freeCount;
    private final int[] sendQueue;
    private int sendHead;
    private int sendCount;
    private final int[] localQueue;
    private int localHead;
    private int localCount;
    private int remote;

    NbdRequestTable(final int capacity)
    {
        this.capacity = capacity;
        state = new byte[capacity];
        cookie = new long[capacity];
        command = new int[capacity];
        offset = new long[capacity];
        length = new long[capacity];
        address = new long[capacity];
        errno = new int[capacity];
        chunked = new boolean[capacity];
        generation = new int[capacity];
        pieceCount = new int[capacity];
        pieces = new long[capacity * MAX_PIECES * 2];
        freeSlots = new int[capacity];
        sendQueue = new int[capacity];
        localQueue = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            freeSlots[i] = capacity - 1 - i;
        }
        freeCount = capacity;
    }

    int capacity()
    {
        return capacity;
    }

    /**
     * @return requests the server has or will have: queued or sent, not yet answered.
     */
    int remote()
    {
        return remote;
    }

    /**
     * @return slots taken: remote ones and local completions not yet delivered.
     */
    int taken()
    {
        return capacity - freeCount;
    }

    /**
     * @return a free slot, filled in, neither queued nor local yet; -1 when every slot is taken.
     */
    int acquire(final long cookie, final int command, final long offset, final long length, final long address)
    {
        if (freeCount == 0)
        {
            return -1;
        }
        final int slot = freeSlots[--freeCount];
        this.cookie[slot] = cookie;
        this.command[slot] = command;
        this.offset[slot] = offset;
        this.length[slot] = length;
        this.address[slot] = address;
        errno[slot] = 0;
        chunked[slot] = false;
        pieceCount[slot] = 0;
        return slot;
    }

    void queueSend(final int slot)
    {
        state[slot] = QUEUED;
        sendQueue[(sendHead + sendCount++) % capacity] = slot;
        remote++;
    }

    void queueLocal(final int slot, final int errno)
    {
        if (state[slot] == QUEUED || state[slot] == SENT)
        {
            remote--;
        }
        state[slot] = LOCAL;
        this.errno[slot] = errno;
        localQueue[(localHead + localCount++) % capacity] = slot;
    }

    int sendCount()
    {
        return sendCount;
    }

    /**
     * @param i 0 for the oldest queued request.
     * @return its slot.
     */
    int sendQueueAt(final int i)
    {
        return sendQueue[(sendHead + i) % capacity];
    }

    /**
     * The oldest queued request has gone to the socket in full.
     */
    void popSent()
    {
        state[sendQueue[sendHead]] = SENT;
        sendHead = (sendHead + 1) % capacity;
        sendCount--;
    }

    int localCount()
    {
        return localCount;
    }

    /**
     * @return the oldest local completion's slot, taken off the queue (its slot is still {@link #LOCAL}).
     */
    int popLocal()
    {
        final int slot = localQueue[localHead];
        localHead = (localHead + 1) % capacity;
        localCount--;
        return slot;
    }

    /**
     * Every queued or sent request becomes a local completion with {@code errno}; the send queue empties.
     */
    void failRemote(final int errno)
    {
        for (int slot = 0; slot < capacity; slot++)
        {
            if (state[slot] == QUEUED || state[slot] == SENT)
            {
                queueLocal(slot, errno);
            }
        }
        sendHead = 0;
        sendCount = 0;
    }

    /**
     * @param slot a slot.
     * @return the cookie to put on the wire for its request.
     */
    long wireCookie(final int slot)
    {
        return (long)generation[slot] << 32 | slot;
    }

    /**
     * @param wireCookie a cookie from a reply.
     * @return the slot of the sent request it answers; -1 when it answers none.
     */
    int slotOf(final long wireCookie)
    {
        final long slot = wireCookie & 0xFFFF_FFFFL;
        if (slot >= capacity || state[(int)slot] != SENT || generation[(int)slot] != (int)(wireCookie >>> 32))
        {
            return -1;
        }
        return (int)slot;
    }

    /**
     * The slot is free again.
     *
     * @return the caller's cookie of the request it held.
     */
    long release(final int slot)
    {
        if (state[slot] == QUEUED || state[slot] == SENT)
        {
            remote--;
        }
        state[slot] = FREE;
        generation[slot]++;
        freeSlots[freeCount++] = slot;
        return cookie[slot];
    }

    /**
     * Records that bytes {@code [start, end)} of the slot's request have come.
     *
     * @return {@link #PIECE_ADDED}, {@link #PIECE_OVERLAPS} when some of them had already come, or
     * {@link #PIECE_TOO_FRAGMENTED} when {@link #MAX_PIECES} disjoint pieces are already apart.
     */
    int addPiece(final int slot, final long start, final long end)
    {
        final int base = slot * MAX_PIECES * 2;
        int count = pieceCount[slot];
        int i = 0;
        while (i < count && pieces[base + 2 * i + 1] <= start)
        {
            i++;
        }
        if (i < count && pieces[base + 2 * i] < end)
        {
            return PIECE_OVERLAPS;
        }
        final boolean joinsPrevious = i > 0 && pieces[base + 2 * (i - 1) + 1] == start;
        final boolean joinsNext = i < count && pieces[base + 2 * i] == end;
        if (joinsPrevious && joinsNext)
        {
            pieces[base + 2 * (i - 1) + 1] = pieces[base + 2 * i + 1];
            System.arraycopy(pieces, base + 2 * (i + 1), pieces, base + 2 * i, 2 * (count - i - 1));
            count--;
        }
        else if (joinsPrevious)
        {
            pieces[base + 2 * (i - 1) + 1] = end;
        }
        else if (joinsNext)
        {
            pieces[base + 2 * i] = start;
        }
        else
        {
            if (count == MAX_PIECES)
            {
                return PIECE_TOO_FRAGMENTED;
            }
            System.arraycopy(pieces, base + 2 * i, pieces, base + 2 * (i + 1), 2 * (count - i));
            pieces[base + 2 * i] = start;
            pieces[base + 2 * i + 1] = end;
            count++;
        }
        pieceCount[slot] = count;
        return PIECE_ADDED;
    }

    /**
     * @return bytes of the slot's request that have come, in all.
     */
    long bytesCovered(final int slot)
    {
        final int base = slot * MAX_PIECES * 2;
        long covered = 0;
        for (int i = 0; i < pieceCount[slot]; i++)
        {
            covered += pieces[base + 2 * i + 1] - pieces[base + 2 * i];
        }
        return covered;
    }
}
