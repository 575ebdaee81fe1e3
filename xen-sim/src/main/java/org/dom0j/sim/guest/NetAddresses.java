package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

/**
 * MAC and IPv4 addresses for {@link NetFrames}: read from and written into frames, parsed from and formatted as
 * text. A MAC is held in a {@code long}, first byte in bits 47..40; an IPv4 address in an {@code int}, first byte
 * in bits 31..24.
 * <p>
 * Stateless: any thread.
 */
final class NetAddresses
{
    private NetAddresses()
    {
    }

    /** See {@link NetFrames#getMac}. */
    static long getMac(final DirectBuffer buffer, final int offset)
    {
        return (buffer.getInt(offset, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL) << 16 |
            buffer.getShort(offset + 4, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    /** See {@link NetFrames#putMac}. */
    static void putMac(final MutableDirectBuffer buffer, final int offset, final long mac)
    {
        buffer.putInt(offset, (int)(mac >>> 16), ByteOrder.BIG_ENDIAN);
        buffer.putShort(offset + 4, (short)mac, ByteOrder.BIG_ENDIAN);
    }

    /** See {@link NetFrames#parseMac}. */
    static long parseMac(final String text)
    {
        if (null == text)
        {
            return -1;
        }
        final String[] parts = text.trim().split(":", -1);
        if (parts.length != 6)
        {
            return -1;
        }
        long mac = 0;
        for (final String part : parts)
        {
            if (part.isEmpty() || part.length() > 2)
            {
                return -1;
            }
            final int v;
            try
            {
                v = Integer.parseInt(part, 16);
            }
            catch (final NumberFormatException ex)
            {
                return -1;
            }
            mac = mac << 8 | v;
        }
        return mac;
    }

    /** See {@link NetFrames#formatMac}. */
    static String formatMac(final long mac)
    {
        final StringBuilder sb = new StringBuilder(17);
        for (int i = 5; i >= 0; i--)
        {
            final int b = (int)(mac >>> (8 * i)) & 0xFF;
            sb.append(Character.forDigit(b >>> 4, 16)).append(Character.forDigit(b & 0xF, 16));
            if (i > 0)
            {
                sb.append(':');
            }
        }
        return sb.toString();
    }

    /** See {@link NetFrames#parseIpv4}. */
    static int parseIpv4(final String text)
    {
        final String[] parts = text.trim().split("\\.", -1);
        if (parts.length != 4)
        {
            throw new IllegalArgumentException("not an IPv4 address: " + text);
        }
        int ip = 0;
        for (final String part : parts)
        {
            final int v;
            try
            {
                v = Integer.parseInt(part);
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException("not an IPv4 address: " + text, ex);
            }
            if (v < 0 || v > 255 || part.isEmpty() || part.length() > 3)
            {
                throw new IllegalArgumentException("not an IPv4 address: " + text);
            }
            ip = ip << 8 | v;
        }
        return ip;
    }

    /** See {@link NetFrames#formatIpv4}. */
    static String formatIpv4(final int ip)
    {
        return (ip >>> 24) + "." + (ip >>> 16 & 0xFF) + "." + (ip >>> 8 & 0xFF) + "." + (ip & 0xFF);
    }
}
