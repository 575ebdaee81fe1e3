package org.dom0j.protocol.netif;

import java.nio.ByteOrder;

import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * {@code struct netif_extra_info}: GSO, multicast, hash or XDP information in a TX request slot or an RX
 * response slot. Which union member is valid depends on {@link #type()}.
 * <p>
 * A flyweight ({@link NetifFlyweight}); not thread safe, one per agent, held in a field.
 */
public final class NetifExtraInfoFlyweight extends NetifFlyweight<NetifExtraInfoFlyweight>
{
    /** Bytes of the struct. */
    public static final int LENGTH = EXTRA_LENGTH;

    /**
     * @return {@code type} (0..255).
     */
    public int type()
    {
        return buffer.getByte(offset + EXTRA_TYPE_OFFSET) & 0xFF;
    }

    /**
     * @param value {@code type}.
     * @return this.
     */
    public NetifExtraInfoFlyweight type(final int value)
    {
        buffer.putByte(offset + EXTRA_TYPE_OFFSET, (byte)value);
        return this;
    }

    /**
     * @return {@code flags} (0..255).
     */
    public int flags()
    {
        return buffer.getByte(offset + EXTRA_FLAGS_OFFSET) & 0xFF;
    }

    /**
     * @param value {@code flags}.
     * @return this.
     */
    public NetifExtraInfoFlyweight flags(final int value)
    {
        buffer.putByte(offset + EXTRA_FLAGS_OFFSET, (byte)value);
        return this;
    }

    /**
     * @return {@code u.gso.size} (0..65535).
     */
    public int gsoSize()
    {
        return buffer.getShort(offset + EXTRA_GSO_SIZE_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code u.gso.size}.
     * @return this.
     */
    public NetifExtraInfoFlyweight gsoSize(final int value)
    {
        buffer.putShort(offset + EXTRA_GSO_SIZE_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code u.gso.type} (0..255).
     */
    public int gsoType()
    {
        return buffer.getByte(offset + EXTRA_GSO_TYPE_OFFSET) & 0xFF;
    }

    /**
     * @param value {@code u.gso.type}.
     * @return this.
     */
    public NetifExtraInfoFlyweight gsoType(final int value)
    {
        buffer.putByte(offset + EXTRA_GSO_TYPE_OFFSET, (byte)value);
        return this;
    }

    /**
     * @return {@code u.gso.features} (0..65535).
     */
    public int gsoFeatures()
    {
        return buffer.getShort(offset + EXTRA_GSO_FEATURES_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code u.gso.features}.
     * @return this.
     */
    public NetifExtraInfoFlyweight gsoFeatures(final int value)
    {
        buffer.putShort(offset + EXTRA_GSO_FEATURES_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code u.hash.type} (0..255).
     */
    public int hashType()
    {
        return buffer.getByte(offset + EXTRA_HASH_TYPE_OFFSET) & 0xFF;
    }

    /**
     * @param value {@code u.hash.type}.
     * @return this.
     */
    public NetifExtraInfoFlyweight hashType(final int value)
    {
        buffer.putByte(offset + EXTRA_HASH_TYPE_OFFSET, (byte)value);
        return this;
    }

    /**
     * @return {@code u.hash.algorithm} (0..255).
     */
    public int hashAlgorithm()
    {
        return buffer.getByte(offset + EXTRA_HASH_ALGORITHM_OFFSET) & 0xFF;
    }

    /**
     * @param value {@code u.hash.algorithm}.
     * @return this.
     */
    public NetifExtraInfoFlyweight hashAlgorithm(final int value)
    {
        buffer.putByte(offset + EXTRA_HASH_ALGORITHM_OFFSET, (byte)value);
        return this;
    }

    /**
     * @return {@code u.hash.value} (32 bits; unsigned in C).
     */
    public int hashValue()
    {
        return buffer.getInt(offset + EXTRA_HASH_VALUE_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param value {@code u.hash.value}.
     * @return this.
     */
    public NetifExtraInfoFlyweight hashValue(final int value)
    {
        buffer.putInt(offset + EXTRA_HASH_VALUE_OFFSET, value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code u.xdp.headroom} (0..65535).
     */
    public int xdpHeadroom()
    {
        return buffer.getShort(offset + EXTRA_XDP_HEADROOM_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value {@code u.xdp.headroom}.
     * @return this.
     */
    public NetifExtraInfoFlyweight xdpHeadroom(final int value)
    {
        buffer.putShort(offset + EXTRA_XDP_HEADROOM_OFFSET, (short)value, ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    /**
     * @return {@code u.mcast.addr}: the six bytes of the MAC address, first byte in bits 47..40.
     */
    public long mcastAddress()
    {
        long mac = 0;
        for (int i = 0; i < 6; i++)
        {
            mac = mac << 8 | buffer.getByte(offset + EXTRA_MCAST_ADDR_OFFSET + i) & 0xFF;
        }
        return mac;
    }

    /**
     * @param mac {@code u.mcast.addr}, first byte in bits 47..40.
     * @return this.
     */
    public NetifExtraInfoFlyweight mcastAddress(final long mac)
    {
        for (int i = 0; i < 6; i++)
        {
            buffer.putByte(offset + EXTRA_MCAST_ADDR_OFFSET + i, (byte)(mac >>> (40 - 8 * i)));
        }
        return this;
    }
}
