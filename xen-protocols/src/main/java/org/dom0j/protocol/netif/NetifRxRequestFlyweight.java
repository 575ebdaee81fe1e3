package org.dom0j.protocol.netif;

import java.nio.ByteOrder;

import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * {@code struct netif_rx_request}: a page the guest posted to receive into.
 * <p>
 * A flyweight ({@link NetifFlyweight}); not thread safe, one per agent, held in a field.
 */
public final class NetifRxRequestFlyweight extends NetifFlyweight<NetifRxRequestFlyweight>
{
    /** Bytes of the struct. */
    public static final int LENGTH = RX_REQUEST_LENGTH;

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
