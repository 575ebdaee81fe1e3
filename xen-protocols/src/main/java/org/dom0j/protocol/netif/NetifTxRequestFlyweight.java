package org.dom0j.protocol.netif;

import java.nio.ByteOrder;

import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * {@code struct netif_tx_request}: one slot of a guest's transmit packet (the first slot's size is the
 * whole packet's).
 * <p>
 * A flyweight ({@link NetifFlyweight}); not thread safe, one per agent, held in a field.
 */
public final class NetifTxRequestFlyweight extends NetifFlyweight<NetifTxRequestFlyweight>
{
    /** Bytes of the struct. */
    public static final int LENGTH = TX_REQUEST_LENGTH;

    /**
     * @return {@code gref} (32 bits; unsigned in C).
     */
    public int gref()
    {
        return buffer.getInt(offset + TX_REQUEST_GREF_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code gref}.
     * @return this.
     */
    public NetifTxRequestFlyweight gref(final int value)
    {
        buffer.putInt(offset + TX_REQUEST_GREF_OFFSET, value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code offset} (0..65535).
     */
    public int pageOffset()
    {
        return buffer.getShort(offset + TX_REQUEST_OFFSET_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code offset}.
     * @return this.
     */
    public NetifTxRequestFlyweight pageOffset(final int value)
    {
        buffer.putShort(offset + TX_REQUEST_OFFSET_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code flags} (0..65535).
     */
    public int flags()
    {
        return buffer.getShort(offset + TX_REQUEST_FLAGS_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code flags}.
     * @return this.
     */
    public NetifTxRequestFlyweight flags(final int value)
    {
        buffer.putShort(offset + TX_REQUEST_FLAGS_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code id} (0..65535).
     */
    public int id()
    {
        return buffer.getShort(offset + TX_REQUEST_ID_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code id}.
     * @return this.
     */
    public NetifTxRequestFlyweight id(final int value)
    {
        buffer.putShort(offset + TX_REQUEST_ID_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code size} (0..65535).
     */
    public int size()
    {
        return buffer.getShort(offset + TX_REQUEST_SIZE_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code size}.
     * @return this.
     */
    public NetifTxRequestFlyweight size(final int value)
    {
        buffer.putShort(offset + TX_REQUEST_SIZE_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }
}
