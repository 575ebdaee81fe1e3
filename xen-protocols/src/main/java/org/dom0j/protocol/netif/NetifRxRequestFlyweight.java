package org.dom0j.protocol.netif;

import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * {@code struct netif_rx_request}: a page the guest posted to receive into.
 * <p>
 * A flyweight: wrap it on a ring slot or on a private copy of one, then read or write fields. Not thread safe;
 * one per agent, held in a field.
 */
public final class NetifRxRequestFlyweight
{
    /** Bytes of the struct. */
    public static final int LENGTH = RX_REQUEST_LENGTH;

    private MutableDirectBuffer buffer;
    private int offset;

    /**
     * @param buffer the buffer holding the struct.
     * @param offset where it starts.
     * @return this.
     */
    public NetifRxRequestFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
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
        return buffer.getShort(offset + RX_REQUEST_ID_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code id}.
     * @return this.
     */
    public NetifRxRequestFlyweight id(final int value)
    {
        buffer.putShort(offset + RX_REQUEST_ID_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code gref} (32 bits; unsigned in C).
     */
    public int gref()
    {
        return buffer.getInt(offset + RX_REQUEST_GREF_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code gref}.
     * @return this.
     */
    public NetifRxRequestFlyweight gref(final int value)
    {
        buffer.putInt(offset + RX_REQUEST_GREF_OFFSET, value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }
}
