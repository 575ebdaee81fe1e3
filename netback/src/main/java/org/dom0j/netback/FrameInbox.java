package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The frames waiting for one vif queue, from any number of other agents (other guests' queues, uplinks): an Agrona
 * {@link ManyToOneRingBuffer} bounded in bytes (Linux bounds a vif queue's receive backlog to 512 KiB, XSA-392), so a
 * guest that stops taking frames costs senders only the frames dropped for it. Each record is a frame's metadata
 * followed by its bytes:
 * <pre>
 *   0        4     5       6        8      12        13       16              24
 *   +--------+-----+-------+--------+------+---------+--------+---------------+----------------
 *   | length |csum |gsoType|gsoSize | hash |hashType | pad    | enqueuedNanos | frame bytes ...
 *   +--------+-----+-------+--------+------+---------+--------+---------------+----------------
 * </pre>
 * <b>Threads</b>: {@link #offer} from any thread (the caller then wakes the queue's agent); the ring is read by the
 * queue's agent only.
 */
final class FrameInbox
{
    /** A frame's record. */
    static final int FRAME_MSG_TYPE = 1;
    static final int LENGTH_OFFSET = 0;
    static final int CSUM_OFFSET = 4;
    static final int GSO_TYPE_OFFSET = 5;
    static final int GSO_SIZE_OFFSET = 6;
    static final int HASH_OFFSET = 8;
    static final int HASH_TYPE_OFFSET = 12;
    static final int ENQUEUED_OFFSET = 16;
    static final int HEADER_LENGTH = 24;

    private final ManyToOneRingBuffer ring;

    /**
     * @param capacity bytes of frames it holds (a power of two).
     */
    FrameInbox(final int capacity)
    {
        ring = new ManyToOneRingBuffer(new UnsafeBuffer(
            ByteBuffer.allocateDirect(capacity + RingBufferDescriptor.TRAILER_LENGTH)));
    }

    /**
     * Copies a frame in (any thread). The frame must be local.
     *
     * @param frame     the frame.
     * @param nowNanos  the time it is queued, for the drain timeout.
     * @return false when there is no room (the frame is dropped) or it is not local.
     */
    boolean offer(final Frame frame, final long nowNanos)
    {
        if (!frame.isLocal())
        {
            return false;
        }
        final int length = frame.length();
        final int index = ring.tryClaim(FRAME_MSG_TYPE, HEADER_LENGTH + length);
        if (index <= 0)
        {
            return false;
        }
        final UnsafeBuffer buffer = (UnsafeBuffer)ring.buffer();
        buffer.putInt(index + LENGTH_OFFSET, length, ByteOrder.LITTLE_ENDIAN);
        buffer.putByte(index + CSUM_OFFSET, (byte)frame.csum());
        buffer.putByte(index + GSO_TYPE_OFFSET, (byte)frame.gsoType());
        buffer.putShort(index + GSO_SIZE_OFFSET, (short)frame.gsoSize(), ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(index + HASH_OFFSET, frame.hash(), ByteOrder.LITTLE_ENDIAN);
        buffer.putByte(index + HASH_TYPE_OFFSET, (byte)frame.hashType());
        buffer.putLong(index + ENQUEUED_OFFSET, nowNanos, ByteOrder.LITTLE_ENDIAN);
        buffer.putBytes(index + HEADER_LENGTH, frame.localView(), 0, length);
        ring.commit(index);
        return true;
    }

    /**
     * @return the ring buffer, for the agent's controlled read.
     */
    ManyToOneRingBuffer ring()
    {
        return ring;
    }

    /**
     * Describes a record as a frame (the bytes stay in the inbox, valid only during the read).
     *
     * @param buffer the ring's buffer.
     * @param index  the record's index.
     * @param frame  filled in.
     * @return when the frame was queued.
     */
    static long decode(final UnsafeBuffer buffer, final int index, final Frame frame)
    {
        final int length = buffer.getInt(index + LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
        frame.local(buffer.addressOffset() + index + HEADER_LENGTH, length)
            .csum(buffer.getByte(index + CSUM_OFFSET))
            .gso(buffer.getByte(index + GSO_TYPE_OFFSET), buffer.getShort(index + GSO_SIZE_OFFSET,
                ByteOrder.LITTLE_ENDIAN) & 0xFFFF)
            .hash(buffer.getByte(index + HASH_TYPE_OFFSET),
                buffer.getInt(index + HASH_OFFSET, ByteOrder.LITTLE_ENDIAN));
        return buffer.getLong(index + ENQUEUED_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return bytes waiting.
     */
    int size()
    {
        return ring.size();
    }

    /**
     * @return whether nothing waits.
     */
    boolean isEmpty()
    {
        return ring.size() == 0;
    }
}
