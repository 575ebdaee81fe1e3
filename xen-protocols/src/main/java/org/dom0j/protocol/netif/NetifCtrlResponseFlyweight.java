package org.dom0j.protocol.netif;

import java.nio.ByteOrder;

import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * {@code struct xen_netif_ctrl_response}: the answer to one control request.
 * <p>
 * A flyweight ({@link NetifFlyweight}); not thread safe, one per agent, held in a field.
 */
public final class NetifCtrlResponseFlyweight extends NetifFlyweight<NetifCtrlResponseFlyweight>
{
    /** Bytes of the struct. */
    public static final int LENGTH = CTRL_RESPONSE_LENGTH;

    /**
     * @return {@code id} (0..65535).
     */
    public int id()
    {
        return buffer.getShort(offset + CTRL_RESPONSE_ID_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code id}.
     * @return this.
     */
    public NetifCtrlResponseFlyweight id(final int value)
    {
        buffer.putShort(offset + CTRL_RESPONSE_ID_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code type} (0..65535).
     */
    public int type()
    {
        return buffer.getShort(offset + CTRL_RESPONSE_TYPE_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code type}.
     * @return this.
     */
    public NetifCtrlResponseFlyweight type(final int value)
    {
        buffer.putShort(offset + CTRL_RESPONSE_TYPE_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code status} (32 bits; unsigned in C).
     */
    public int status()
    {
        return buffer.getInt(offset + CTRL_RESPONSE_STATUS_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code status}.
     * @return this.
     */
    public NetifCtrlResponseFlyweight status(final int value)
    {
        buffer.putInt(offset + CTRL_RESPONSE_STATUS_OFFSET, value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code data} (32 bits; unsigned in C).
     */
    public int data()
    {
        return buffer.getInt(offset + CTRL_RESPONSE_DATA_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code data}.
     * @return this.
     */
    public NetifCtrlResponseFlyweight data(final int value)
    {
        buffer.putInt(offset + CTRL_RESPONSE_DATA_OFFSET, value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }
}
