package org.dom0j.protocol.netif;

import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * {@code struct netif_tx_response}: the answer to one TX slot.
 * <p>
 * A flyweight: wrap it on a ring slot or on a private copy of one, then read or write fields. Not thread safe;
 * one per agent, held in a field.
 */
public final class NetifTxResponseFlyweight
{
    /** Bytes of the struct. */
    public static final int LENGTH = TX_RESPONSE_LENGTH;

    private MutableDirectBuffer buffer;
    private int offset;

    /**
     * @param buffer the buffer holding the struct.
     * @param offset where it starts.
     * @return this.
     */
    public NetifTxResponseFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
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
     * @return {@code id} (0..65535).
     */
    public int id()
    {
        return buffer.getShort(offset + TX_RESPONSE_ID_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code id}.
     * @return this.
     */
    public NetifTxResponseFlyweight id(final int value)
    {
        buffer.putShort(offset + TX_RESPONSE_ID_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code status} (signed).
     */
    public int status()
    {
        return buffer.getShort(offset + TX_RESPONSE_STATUS_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code status}.
     * @return this.
     */
    public NetifTxResponseFlyweight status(final int value)
    {
        buffer.putShort(offset + TX_RESPONSE_STATUS_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }
}
