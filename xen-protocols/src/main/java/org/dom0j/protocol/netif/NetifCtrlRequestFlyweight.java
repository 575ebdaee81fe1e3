package org.dom0j.protocol.netif;

import java.nio.ByteOrder;

import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * {@code struct xen_netif_ctrl_request}: one control request.
 * <p>
 * A flyweight ({@link NetifFlyweight}); not thread safe, one per agent, held in a field.
 */
public final class NetifCtrlRequestFlyweight extends NetifFlyweight<NetifCtrlRequestFlyweight>
{
    /** Bytes of the struct. */
    public static final int LENGTH = CTRL_REQUEST_LENGTH;

    /**
     * @return {@code id} (0..65535).
     */
    public int id()
    {
        return buffer.getShort(offset + CTRL_REQUEST_ID_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code id}.
     * @return this.
     */
    public NetifCtrlRequestFlyweight id(final int value)
    {
        buffer.putShort(offset + CTRL_REQUEST_ID_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code type} (0..65535).
     */
    public int type()
    {
        return buffer.getShort(offset + CTRL_REQUEST_TYPE_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code type}.
     * @return this.
     */
    public NetifCtrlRequestFlyweight type(final int value)
    {
        buffer.putShort(offset + CTRL_REQUEST_TYPE_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code data[0]} (32 bits; unsigned in C).
     */
    public int data0()
    {
        return buffer.getInt(offset + CTRL_REQUEST_DATA_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code data[0]}.
     * @return this.
     */
    public NetifCtrlRequestFlyweight data0(final int value)
    {
        buffer.putInt(offset + CTRL_REQUEST_DATA_OFFSET, value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code data[1]} (32 bits; unsigned in C).
     */
    public int data1()
    {
        return buffer.getInt(offset + CTRL_REQUEST_DATA_OFFSET + 4, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code data[1]}.
     * @return this.
     */
    public NetifCtrlRequestFlyweight data1(final int value)
    {
        buffer.putInt(offset + CTRL_REQUEST_DATA_OFFSET + 4, value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code data[2]} (32 bits; unsigned in C).
     */
    public int data2()
    {
        return buffer.getInt(offset + CTRL_REQUEST_DATA_OFFSET + 8, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code data[2]}.
     * @return this.
     */
    public NetifCtrlRequestFlyweight data2(final int value)
    {
        buffer.putInt(offset + CTRL_REQUEST_DATA_OFFSET + 8, value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }
}
