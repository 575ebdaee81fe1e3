package org.dom0j.protocol.blkif;

import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

import static org.dom0j.protocol.blkif.BlkifResponseDescriptor.ID_OFFSET;
import static org.dom0j.protocol.blkif.BlkifResponseDescriptor.OPERATION_OFFSET;
import static org.dom0j.protocol.blkif.BlkifResponseDescriptor.STATUS_OFFSET;

/**
 * {@code struct blkif_response}: the answer to one block request, laid out by {@link BlkifResponseDescriptor}. The
 * backend wraps it on a response slot the ring has zeroed and sets the three fields (nothing else of the slot is
 * written, so no stale byte reaches the guest); a frontend wraps it on its private copy of a response and reads
 * them.
 * <p>
 * A flyweight: wrap it, then read or write fields. Not thread safe; one per agent, held in a field.
 */
public final class BlkifResponseFlyweight
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private MutableDirectBuffer buffer;
    private int offset;

    /**
     * @param buffer the buffer holding the response (a ring, or a private copy of a slot).
     * @param offset where it starts.
     * @return this.
     */
    public BlkifResponseFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    /**
     * @return the wrapped buffer.
     */
    public MutableDirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * @return the wrapped offset.
     */
    public int offset()
    {
        return offset;
    }

    /**
     * @return {@code id}, the request's, as it came (a u64; blkfront uses small numbers).
     */
    public long id()
    {
        return buffer.getLong(offset + ID_OFFSET, LE);
    }

    /**
     * @param value {@code id}.
     * @return this.
     */
    public BlkifResponseFlyweight id(final long value)
    {
        buffer.putLong(offset + ID_OFFSET, value, LE);
        return this;
    }

    /**
     * @return {@code operation} (0..255): the BLKIF_OP_* performed.
     */
    public int operation()
    {
        return buffer.getByte(offset + OPERATION_OFFSET) & 0xFF;
    }

    /**
     * @param value {@code operation}: for an indirect request its indirect_op, as Linux answers (blkfront checks it).
     * @return this.
     */
    public BlkifResponseFlyweight operation(final int value)
    {
        buffer.putByte(offset + OPERATION_OFFSET, (byte)value);
        return this;
    }

    /**
     * @return {@code status}, signed: BLKIF_RSP_OKAY (0), BLKIF_RSP_ERROR (-1), BLKIF_RSP_EOPNOTSUPP (-2).
     */
    public short status()
    {
        return buffer.getShort(offset + STATUS_OFFSET, LE);
    }

    /**
     * @param value {@code status}.
     * @return this.
     */
    public BlkifResponseFlyweight status(final short value)
    {
        buffer.putShort(offset + STATUS_OFFSET, value, LE);
        return this;
    }
}
