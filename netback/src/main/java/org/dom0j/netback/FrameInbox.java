package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The frames waiting for one vif queue, from any number of other agents (other guests' queues, uplinks): an Agrona
 * {@link ManyToOneRingBuffer} bounded in bytes (Linux bounds a vif queue's receive backlog to 512 KiB, XSA-392), so a
 * guest that stops taking frames costs senders only the frames dropped for it. A frame is either whole in its record
 * or, when it is still in a sending guest's TX pages, its first bytes and the grant segments of the rest together
 * with the sender to tell once the receiver has copied them (a frame by reference):
 * <pre>
 *   0        4     5       6        8      12       13       14          16              24         28       32
 *   +--------+-----+-------+--------+------+--------+--------+-----------+---------------+----------+--------+
 *   | length |csum |gsoType|gsoSize | hash |hashType|segments|localLength| enqueuedNanos | endpoint | token  |
 *   +--------+-----+-------+--------+------+--------+--------+-----------+---------------+----------+--------+
 *   then per segment (12 bytes): domid u16, offset u16, gref u32, length u16, pad; then the local bytes.
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
    static final int SEGMENTS_OFFSET = 13;
    static final int LOCAL_LENGTH_OFFSET = 14;
    static final int ENQUEUED_OFFSET = 16;
    static final int ENDPOINT_OFFSET = 24;
    static final int TOKEN_OFFSET = 28;
    static final int HEADER_LENGTH = 32;
    static final int SEGMENT_LENGTH = 12;

    private final ManyToOneRingBuffer ring;
    private final UnsafeBuffer buffer;

    /**
     * @param capacity bytes of frames it holds (a power of two).
     */
    FrameInbox(final int capacity)
    {
        ring = new ManyToOneRingBuffer(new UnsafeBuffer(
            ByteBuffer.allocateDirect(capacity + RingBufferDescriptor.TRAILER_LENGTH)));
        buffer = (UnsafeBuffer)ring.buffer();
    }

    /**
     * Copies a frame in (any thread): all its bytes when it is local, else its local bytes and its segments.
     *
     * @param frame     the frame.
     * @param nowNanos  the time it is queued, for the drain timeout.
     * @return false when there is no room (the frame is dropped), or it is neither local nor by reference.
     */
    boolean offer(final Frame frame, final long nowNanos)
    {
        final int segments = frame.segmentCount();
        if (segments > 0 && frame.completionEndpoint() < 0)
        {
            return false;
        }
        final int local = frame.localLength();
        final int index = ring.tryClaim(FRAME_MSG_TYPE, HEADER_LENGTH + segments * SEGMENT_LENGTH + local);
        if (index <= 0)
        {
            return false;
        }
        putHeader(index, frame, frame.length(), segments, local, nowNanos);
        int at = index + HEADER_LENGTH;
        for (int s = 0; s < segments; s++)
        {
            buffer.putShort(at, (short)frame.segmentDomid(s), ByteOrder.LITTLE_ENDIAN);
            buffer.putShort(at + 2, (short)frame.segmentOffset(s), ByteOrder.LITTLE_ENDIAN);
            buffer.putInt(at + 4, frame.segmentRef(s), ByteOrder.LITTLE_ENDIAN);
            buffer.putShort(at + 8, (short)frame.segmentLength(s), ByteOrder.LITTLE_ENDIAN);
            at += SEGMENT_LENGTH;
        }
        buffer.putBytes(at, frame.localView(), 0, local);
        ring.commit(index);
        return true;
    }

    /**
     * Claims room for a whole frame of {@code length} bytes with {@code meta}'s offload state, for a caller that
     * fills the bytes itself (at {@link #frameAddress}) and then {@link #commit}s or {@link #abort}s. Single caller
     * at a time per record; any thread.
     *
     * @param meta     the frame whose state to record (its bytes are not copied).
     * @param length   the frame's length.
     * @param nowNanos the time it is queued.
     * @return the record's index, or -1 when there is no room.
     */
    int claim(final Frame meta, final int length, final long nowNanos)
    {
        final int index = ring.tryClaim(FRAME_MSG_TYPE, HEADER_LENGTH + length);
        if (index <= 0)
        {
            return -1;
        }
        putHeader(index, meta, length, 0, length, nowNanos);
        return index;
    }

    /**
     * @param index a claimed record.
     * @return where its frame's bytes go.
     */
    long frameAddress(final int index)
    {
        return buffer.addressOffset() + index + HEADER_LENGTH;
    }

    void commit(final int index)
    {
        ring.commit(index);
    }

    void abort(final int index)
    {
        ring.abort(index);
    }

    private void putHeader(
        final int index, final Frame frame, final int length, final int segments, final int local, final long now)
    {
        buffer.putInt(index + LENGTH_OFFSET, length, ByteOrder.LITTLE_ENDIAN);
        buffer.putByte(index + CSUM_OFFSET, (byte)frame.csum());
        buffer.putByte(index + GSO_TYPE_OFFSET, (byte)frame.gsoType());
        buffer.putShort(index + GSO_SIZE_OFFSET, (short)frame.gsoSize(), ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(index + HASH_OFFSET, frame.hash(), ByteOrder.LITTLE_ENDIAN);
        buffer.putByte(index + HASH_TYPE_OFFSET, (byte)frame.hashType());
        buffer.putByte(index + SEGMENTS_OFFSET, (byte)segments);
        buffer.putShort(index + LOCAL_LENGTH_OFFSET, (short)local, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(index + ENQUEUED_OFFSET, now, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(index + ENDPOINT_OFFSET, segments > 0 ? frame.completionEndpoint() : -1, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(index + TOKEN_OFFSET, frame.completionToken(), ByteOrder.LITTLE_ENDIAN);
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
        final int segments = buffer.getByte(index + SEGMENTS_OFFSET) & 0xFF;
        final int local = buffer.getShort(index + LOCAL_LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        final long bytes = buffer.addressOffset() + index + HEADER_LENGTH + (long)segments * SEGMENT_LENGTH;
        if (segments == 0)
        {
            frame.local(bytes, length);
        }
        else
        {
            frame.split(bytes, local, length);
            int at = index + HEADER_LENGTH;
            for (int s = 0; s < segments; s++)
            {
                frame.addSegment(buffer.getShort(at, ByteOrder.LITTLE_ENDIAN) & 0xFFFF,
                    buffer.getInt(at + 4, ByteOrder.LITTLE_ENDIAN),
                    buffer.getShort(at + 2, ByteOrder.LITTLE_ENDIAN) & 0xFFFF,
                    buffer.getShort(at + 8, ByteOrder.LITTLE_ENDIAN) & 0xFFFF);
                at += SEGMENT_LENGTH;
            }
            frame.completion(buffer.getInt(index + ENDPOINT_OFFSET, ByteOrder.LITTLE_ENDIAN),
                buffer.getInt(index + TOKEN_OFFSET, ByteOrder.LITTLE_ENDIAN));
        }
        frame.csum(buffer.getByte(index + CSUM_OFFSET))
            .gso(buffer.getByte(index + GSO_TYPE_OFFSET),
                buffer.getShort(index + GSO_SIZE_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF)
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
