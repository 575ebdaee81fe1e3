package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * A flow for the hashing tests: its addresses and ports, the frames it sends in several shapes (plain, behind an
 * 802.1Q tag, with IPv4 options or an IPv6 extension header, as a fragment, cut short), and netif.h's hash input for
 * it written out from the flow itself (never parsed back from a frame): source address, destination address, then
 * for the TCP types source port and destination port, in network order.
 *
 * @param ipVersion 4 or 6.
 * @param protocol  an IP protocol number (6 TCP, 17 UDP, ...).
 * @param src       the source address (4 or 16 bytes).
 * @param dst       the destination address.
 * @param sport     the source port.
 * @param dport     the destination port.
 */
record TestFlow(int ipVersion, int protocol, byte[] src, byte[] dst, int sport, int dport)
{
    /** How a flow's frame is laid out. */
    enum Shape
    {
        /** Ethernet, IP, L4 header, payload. */
        PLAIN,
        /** With an 802.1Q tag before the IP header. */
        VLAN,
        /** IPv4 with 4 bytes of options; IPv6 with an 8-byte hop-by-hop header. */
        IP_OPTIONS,
        /** The first fragment (IPv4 MF set; IPv6 with a fragment header). */
        FRAGMENT,
        /** Cut two bytes into the L4 header. */
        TRUNCATED
    }

    static TestFlow ipv4(final int protocol, final String src, final String dst, final int sport, final int dport)
    {
        return new TestFlow(4, protocol, address(src), address(dst), sport, dport);
    }

    static TestFlow ipv6(final int protocol, final String src, final String dst, final int sport, final int dport)
    {
        return new TestFlow(6, protocol, address(src), address(dst), sport, dport);
    }

    private static byte[] address(final String literal)
    {
        try
        {
            return InetAddress.getByName(literal).getAddress();
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException(literal, ex);
        }
    }

    /**
     * @param ports whether the ports follow the addresses (the TCP types).
     * @return netif.h's Buffer[] for this flow.
     */
    byte[] hashInput(final boolean ports)
    {
        final int a = src.length;
        final byte[] input = new byte[2 * a + (ports ? 4 : 0)];
        System.arraycopy(src, 0, input, 0, a);
        System.arraycopy(dst, 0, input, a, a);
        if (ports)
        {
            input[2 * a] = (byte)(sport >>> 8);
            input[2 * a + 1] = (byte)sport;
            input[2 * a + 2] = (byte)(dport >>> 8);
            input[2 * a + 3] = (byte)dport;
        }
        return input;
    }

    /**
     * @param dstMac  the destination MAC.
     * @param srcMac  the source MAC.
     * @param payload bytes after the L4 header.
     * @param marker  the payload's bytes (to tell frames apart).
     * @param shape   the layout.
     * @return the frame, with correct checksums where it is whole.
     */
    byte[] frame(final long dstMac, final long srcMac, final int payload, final int marker, final Shape shape)
    {
        final int tag = shape == Shape.VLAN ? 4 : 0;
        final int l3 = 14 + tag;
        final int extra = shape == Shape.IP_OPTIONS ? (ipVersion == 4 ? 4 : 8) :
            shape == Shape.FRAGMENT && ipVersion == 6 ? 8 : 0;
        final int ipLength = (ipVersion == 4 ? 20 : 40) + extra;
        final int l4 = l3 + ipLength;
        final int l4Length = protocol == PacketHeaders.IPPROTO_TCP ? 20 : 8;
        final int full = l4 + l4Length + payload;
        final byte[] frame = new byte[full];
        final UnsafeBuffer b = new UnsafeBuffer(frame);
        TestFrames.putMac(b, 0, dstMac);
        TestFrames.putMac(b, 6, srcMac);
        if (tag > 0)
        {
            b.putShort(12, (short)PacketHeaders.ETH_P_8021Q, ByteOrder.BIG_ENDIAN);
            b.putShort(14, (short)7, ByteOrder.BIG_ENDIAN);
        }
        b.putShort(l3 - 2, (short)(ipVersion == 4 ? PacketHeaders.ETH_P_IP : PacketHeaders.ETH_P_IPV6),
            ByteOrder.BIG_ENDIAN);
        if (ipVersion == 4)
        {
            b.putByte(l3, (byte)(0x40 | ipLength / 4));
            b.putShort(l3 + 2, (short)(full - l3), ByteOrder.BIG_ENDIAN);
            b.putShort(l3 + 4, (short)marker, ByteOrder.BIG_ENDIAN);
            b.putShort(l3 + 6, (short)(shape == Shape.FRAGMENT ? 0x2000 : 0x4000), ByteOrder.BIG_ENDIAN);
            b.putByte(l3 + 8, (byte)64);
            b.putByte(l3 + 9, (byte)protocol);
            b.putBytes(l3 + 12, src);
            b.putBytes(l3 + 16, dst);
            if (extra > 0)
            {
                b.putByte(l3 + 20, (byte)1); // NOP options
                b.putByte(l3 + 21, (byte)1);
                b.putByte(l3 + 22, (byte)1);
                b.putByte(l3 + 23, (byte)0); // end of options
            }
        }
        else
        {
            b.putInt(l3, 0x6000_0000, ByteOrder.BIG_ENDIAN);
            b.putShort(l3 + 4, (short)(full - l3 - 40), ByteOrder.BIG_ENDIAN);
            b.putByte(l3 + 6, (byte)(extra == 0 ? protocol : shape == Shape.FRAGMENT ? 44 : 0));
            b.putByte(l3 + 7, (byte)64);
            b.putBytes(l3 + 8, src);
            b.putBytes(l3 + 24, dst);
            if (extra > 0)
            {
                b.putByte(l3 + 40, (byte)protocol); // next header; hop-by-hop length 0, or fragment offset 0 with M
                b.putByte(l3 + 41, (byte)0);
                b.putShort(l3 + 42, (short)(shape == Shape.FRAGMENT ? 1 : 0x0104), ByteOrder.BIG_ENDIAN);
            }
        }
        b.putShort(l4, (short)sport, ByteOrder.BIG_ENDIAN);
        b.putShort(l4 + 2, (short)dport, ByteOrder.BIG_ENDIAN);
        if (protocol == PacketHeaders.IPPROTO_TCP)
        {
            b.putInt(l4 + 4, marker, ByteOrder.BIG_ENDIAN);
            b.putByte(l4 + 12, (byte)0x50);
            b.putByte(l4 + 13, (byte)0x18);
            b.putShort(l4 + 14, (short)65535, ByteOrder.BIG_ENDIAN);
        }
        else
        {
            b.putShort(l4 + 4, (short)(l4Length + payload), ByteOrder.BIG_ENDIAN);
        }
        for (int i = l4 + l4Length; i < full; i++)
        {
            frame[i] = (byte)marker;
        }
        final PacketHeaders h = new PacketHeaders().parse(b, 0, full);
        if (ipVersion == 4)
        {
            Checksums.ipv4Header(b, 0, h);
        }
        if (h.hasTransport())
        {
            Checksums.transport(b, 0, full, h);
        }
        return shape == Shape.TRUNCATED ? java.util.Arrays.copyOf(frame, l4 + 2) : frame;
    }
}
