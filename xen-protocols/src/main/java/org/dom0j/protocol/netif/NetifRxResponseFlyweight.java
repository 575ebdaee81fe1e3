package org.dom0j.protocol.netif;

import java.nio.ByteOrder;

import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * {@code struct netif_rx_response}: what was received into one posted page (status is the byte count, or
 * a negative NETIF_RSP_*).
 * <p>
 * A flyweight ({@link NetifFlyweight}); not thread safe, one per agent, held in a field.
 */
public final class NetifRxResponseFlyweight extends NetifFlyweight<NetifRxResponseFlyweight>
{
    /** Bytes of the struct. */
    public static final int LENGTH = RX_RESPONSE_LENGTH;

    /**
     * @return {@code id} (0..65535).
     */
    public int id()
    {
        return buffer.getShort(offset + RX_RESPONSE_ID_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code id}.
     * @return this.
     */
    public NetifRxResponseFlyweight id(final int value)
    {
        buffer.putShort(offset + RX_RESPONSE_ID_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code offset} (0..65535).
     */
    public int pageOffset()
    {
        return buffer.getShort(offset + RX_RESPONSE_OFFSET_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code offset}.
     * @return this.
     */
    public NetifRxResponseFlyweight pageOffset(final int value)
    {
        buffer.putShort(offset + RX_RESPONSE_OFFSET_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code flags} (0..65535).
     */
    public int flags()
    {
        return buffer.getShort(offset + RX_RESPONSE_FLAGS_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code flags}.
     * @return this.
     */
    public NetifRxResponseFlyweight flags(final int value)
    {
        buffer.putShort(offset + RX_RESPONSE_FLAGS_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code status} (signed).
     */
    public int status()
    {
        return buffer.getShort(offset + RX_RESPONSE_STATUS_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code status}.
     * @return this.
     */
    public NetifRxResponseFlyweight status(final int value)
    {
        buffer.putShort(offset + RX_RESPONSE_STATUS_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }
}
