package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A sending vif queue's packets whose bytes other queues still have to copy straight out of the guest's TX pages
 * (a frame forwarded by reference: one grant copy, guest to guest). Such a packet's TX responses are held here until
 * every receiving queue has copied it, since the guest may reuse its pages as soon as it is answered; then the
 * receiver that finishes last posts the packet's slot to this queue's done ring, and the sender answers it on its
 * next pass.
 * <p>
 * A packet is opened with a bias on its count of outstanding copies, so no receiver can finish it before the sender
 * knows how many it delivered to ({@link #hold} removes the bias). Tokens carry a generation, so a completion can
 * never finish a later packet in the same slot.
 * <p>
 * <b>Threads</b>: {@link #open}, {@link #hold} and {@link #drain} on the sending queue's agent; {@link #complete} on
 * any receiving agent.
 */
final class TxCompletions
{
    /** Writes one held packet's responses. */
    interface ResponseWriter
    {
        /**
         * @param ids      the response ids (-1 for a NULL response).
         * @param statuses their statuses.
         * @param entries  the ring journal's records of the slots answered (-1 without a journal).
         * @param count    how many.
         */
        void write(int[] ids, short[] statuses, int[] entries, int count);
    }

    private static final int BIAS = 1 << 24;
    private static final int SLOT_BITS = 12;
    private static final int SLOT_MASK = (1 << SLOT_BITS) - 1;
    private static final int MAX_RESPONSES = 64;
    private static final int DONE_MESSAGE = 1;

    private final AtomicIntegerArray refs;
    private final int[] generation;
    private final int[][] ids;
    private final short[][] statuses;
    private final int[][] entries;
    private final int[] counts;
    private final int[] free;
    private int freeCount;
    private final ManyToOneRingBuffer done;
    private int open;
    private ResponseWriter writer;
    private volatile Runnable onDone = () -> { };
    private final org.agrona.concurrent.MessageHandler doneHandler = (type, buffer, index, length) ->
        release(buffer.getInt(index, ByteOrder.LITTLE_ENDIAN));

    /**
     * @param capacity the most packets held at once (the TX ring's size: a held packet holds at least one slot).
     */
    TxCompletions(final int capacity)
    {
        refs = new AtomicIntegerArray(capacity);
        generation = new int[capacity];
        ids = new int[capacity][MAX_RESPONSES];
        statuses = new short[capacity][MAX_RESPONSES];
        entries = new int[capacity][MAX_RESPONSES];
        counts = new int[capacity];
        free = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            free[freeCount++] = capacity - 1 - i;
        }
        // Each slot is posted at most once per use: capacity messages of 4 bytes (16 with the record header).
        done = new ManyToOneRingBuffer(new UnsafeBuffer(ByteBuffer.allocateDirect(
            Integer.highestOneBit(capacity * 16 * 2 - 1) + RingBufferDescriptor.TRAILER_LENGTH)));
    }

    /**
     * @param count responses a packet has.
     * @return whether a packet of that many responses can be held now.
     */
    boolean canOpen(final int count)
    {
        return freeCount > 0 && count <= MAX_RESPONSES;
    }

    /**
     * Holds a packet's responses until its copies are done (sender).
     *
     * @param respIds     response ids (-1 for NULL).
     * @param respStatus  their statuses.
     * @param respEntries their slots' ring journal records.
     * @param from        the packet's first response.
     * @param to          one past its last.
     * @return the token receivers complete it with.
     */
    int open(final int[] respIds, final short[] respStatus, final int[] respEntries, final int from, final int to)
    {
        final int slot = free[--freeCount];
        final int count = to - from;
        System.arraycopy(respIds, from, ids[slot], 0, count);
        System.arraycopy(respStatus, from, statuses[slot], 0, count);
        System.arraycopy(respEntries, from, entries[slot], 0, count);
        counts[slot] = count;
        refs.set(slot, BIAS);
        open++;
        return generation[slot] << SLOT_BITS | slot;
    }

    /**
     * Says how many receivers took the packet by reference (sender, right after forwarding it).
     *
     * @param token     what {@link #open} returned.
     * @param delivered the receivers that will each {@link #complete} it.
     * @return true when every receiver has already finished (or none took it): the caller answers the packet now,
     *         with {@link #take}.
     */
    boolean hold(final int token, final int delivered)
    {
        return refs.addAndGet(token & SLOT_MASK, delivered - BIAS) == 0;
    }

    /**
     * Answers a packet {@link #hold} found finished (sender).
     *
     * @param token  its token.
     * @param writer writes its responses.
     */
    void take(final int token, final ResponseWriter writer)
    {
        final int slot = token & SLOT_MASK;
        writer.write(ids[slot], statuses[slot], entries[slot], counts[slot]);
        recycle(slot);
    }

    /**
     * One receiver has copied the packet (any thread).
     *
     * @param token the packet's token.
     */
    void complete(final int token)
    {
        final int slot = token & SLOT_MASK;
        if (refs.decrementAndGet(slot) == 0)
        {
            // Never full: each slot is posted once per use and the ring holds every slot.
            int index;
            while ((index = done.tryClaim(DONE_MESSAGE, 4)) <= 0)
            {
                Thread.onSpinWait();
            }
            done.buffer().putInt(index, slot, ByteOrder.LITTLE_ENDIAN);
            done.commit(index);
            onDone.run();
        }
    }

    /**
     * @param waker wakes the sending queue's agent when a packet is finished (any thread calls it).
     */
    void onDone(final Runnable waker)
    {
        onDone = waker;
    }

    /**
     * Answers every packet whose copies are all done (sender).
     *
     * @param responses writes each packet's responses.
     * @return packets answered.
     */
    int drain(final ResponseWriter responses)
    {
        if (open == 0)
        {
            return 0;
        }
        writer = responses;
        return done.read(doneHandler);
    }

    private void release(final int slot)
    {
        writer.write(ids[slot], statuses[slot], entries[slot], counts[slot]);
        recycle(slot);
    }

    private void recycle(final int slot)
    {
        generation[slot] = (generation[slot] + 1) & 0x7FFFF;
        free[freeCount++] = slot;
        open--;
    }

    /**
     * @return packets held now.
     */
    int outstanding()
    {
        return open;
    }
}
