package org.dom0j.protocol.netif;

import java.nio.ByteOrder;

import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * {@code struct netif_tx_response}: the answer to one TX slot.
 * <p>
 * A flyweight ({@link NetifFlyweight}); not thread safe, one per agent, held in a field.
 */
public final class NetifTxResponseFlyweight extends NetifFlyweight<NetifTxResponseFlyweight>
{
    /** Bytes of the struct. */
    public static final int LENGTH = TX_RESPONSE_LENGTH;

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
