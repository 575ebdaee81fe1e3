package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.Random;

/**
 * Ethernet frames for tests: raw frames with a seeded payload, and IPv4/IPv6 UDP and TCP frames with correct (or
 * partial) checksums.
 */
final class TestFrames
{
    static final long BROADCAST = 0xFFFF_FFFF_FFFFL;

    private TestFrames()
    {
    }

    static byte[] raw(final long dst, final long src, final int length, final long seed)
    {
        final byte[] frame = new byte[length];
        new Random(seed).nextBytes(frame);
        final UnsafeBuffer b = new UnsafeBuffer(frame);
        putMac(b, 0, dst);
        putMac(b, 6, src);
        b.putShort(12, (short)0x88B5, ByteOrder.BIG_ENDIAN); // IEEE local experimental ethertype
        return frame;
    }

    static void putMac(final UnsafeBuffer b, final int offset, final long mac)
    {
        for (int i = 0; i < 6; i++)
        {
            b.putByte(offset + i, (byte)(mac >>> (40 - 8 * i)));
        }
    }

    /**
     * An IPv4 (or IPv6) TCP frame with {@code payload} seeded bytes; its TCP checksum complete, or only the
     * pseudo-header sum when {@code partial}.
     */
    static byte[] tcp(final long dst, final long src, final boolean ipv6, final int payload, final long seq,
        final boolean partial, final long seed)
    {
        final int l3 = 14;
        final int ipLength = ipv6 ? 40 : 20;
        final int l4 = l3 + ipLength;
        final int length = l4 + 20 + payload;
        final byte[] frame = new byte[length];
        final UnsafeBuffer b = new UnsafeBuffer(frame);
        new Random(seed).nextBytes(frame);
        putMac(b, 0, dst);
        putMac(b, 6, src);
        if (ipv6)
        {
            b.putShort(12, (short)0x86DD, ByteOrder.BIG_ENDIAN);
            b.putInt(l3, 0x6000_0000, ByteOrder.BIG_ENDIAN);
            b.putShort(l3 + 4, (short)(20 + payload), ByteOrder.BIG_ENDIAN);
            b.putByte(l3 + 6, (byte)6);
            b.putByte(l3 + 7, (byte)64);
        }
        else
        {
            b.putShort(12, (short)0x0800, ByteOrder.BIG_ENDIAN);
            b.putByte(l3, (byte)0x45);
            b.putByte(l3 + 1, (byte)0);
            b.putShort(l3 + 2, (short)(length - l3), ByteOrder.BIG_ENDIAN);
            b.putShort(l3 + 4, (short)0x1234, ByteOrder.BIG_ENDIAN);
            b.putShort(l3 + 6, (short)0x4000, ByteOrder.BIG_ENDIAN);
            b.putByte(l3 + 8, (byte)64);
            b.putByte(l3 + 9, (byte)6);
        }
        b.putShort(l4, (short)40000, ByteOrder.BIG_ENDIAN);
        b.putShort(l4 + 2, (short)5001, ByteOrder.BIG_ENDIAN);
        b.putInt(l4 + 4, (int)seq, ByteOrder.BIG_ENDIAN);
        b.putInt(l4 + 8, 1, ByteOrder.BIG_ENDIAN);
        b.putByte(l4 + 12, (byte)0x50);
        b.putByte(l4 + 13, (byte)0x18); // PSH|ACK
        b.putShort(l4 + 14, (short)65535, ByteOrder.BIG_ENDIAN);
        b.putShort(l4 + 18, (short)0);
        final PacketHeaders h = new PacketHeaders().parse(b, 0, length);
        if (!ipv6)
        {
            Checksums.ipv4Header(b, 0, h);
        }
        if (partial)
        {
            Checksums.partial(b, 0, length, h);
        }
        else
        {
            Checksums.transport(b, 0, length, h);
        }
        return frame;
    }

    /**
     * @return whether a frame's IPv4 header checksum (if IPv4) and TCP/UDP checksum are right.
     */
    static boolean checksumsRight(final byte[] frame)
    {
        final UnsafeBuffer b = new UnsafeBuffer(frame);
        final PacketHeaders h = new PacketHeaders().parse(b, 0, frame.length);
        if (h.ipVersion() == 4 && Checksums.fold(Checksums.sum(b, h.l3Offset(), h.ipHeaderLength(), 0)) != 0xFFFF)
        {
            return false;
        }
        return !h.hasTransport() || Checksums.verifyTransport(b, 0, frame.length, h);
    }
}
