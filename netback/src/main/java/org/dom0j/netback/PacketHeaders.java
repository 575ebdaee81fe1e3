package org.dom0j.netback;

import org.agrona.DirectBuffer;

import java.nio.ByteOrder;

/**
 * Where the headers of an Ethernet frame are: the L3 protocol and offset (one 802.1Q tag allowed), IPv4 or IPv6
 * (extension headers walked, a fragment ends the walk), the L4 protocol and offset, and for TCP the header length.
 * What checksum completion, segmentation, the flow hash and the switch need, read from a guest's bytes with every
 * bound checked: a frame whose headers do not fit what it claims parses as "not IP".
 * <p>
 * A mutable result, reused; not thread safe.
 */
final class PacketHeaders
{
    static final int ETH_HLEN = 14;
    static final int ETH_P_IP = 0x0800;
    static final int ETH_P_IPV6 = 0x86DD;
    static final int ETH_P_ARP = 0x0806;
    static final int ETH_P_8021Q = 0x8100;
    static final int IPPROTO_TCP = 6;
    static final int IPPROTO_UDP = 17;
    static final int IPPROTO_ICMP = 1;
    static final int IPPROTO_ICMPV6 = 58;
    private static final int IPV6_HLEN = 40;
    private static final int MAX_EXTENSION_HEADERS = 8;

    private int etherType;
    private int l3Offset;
    private int ipVersion;
    private int ipHeaderLength;
    private int l4Protocol;
    private int l4Offset;
    private int l4HeaderLength;
    private boolean fragment;

    /**
     * Parses what of the headers lies in {@code [offset, offset + available)}.
     *
     * @param buffer    the frame's bytes.
     * @param offset    where the frame starts.
     * @param available how many of its bytes are there.
     * @return this.
     */
    PacketHeaders parse(final DirectBuffer buffer, final int offset, final int available)
    {
        etherType = -1;
        ipVersion = 0;
        l3Offset = -1;
        l4Protocol = -1;
        l4Offset = -1;
        l4HeaderLength = 0;
        ipHeaderLength = 0;
        fragment = false;
        if (available < ETH_HLEN)
        {
            return this;
        }
        int type = u16(buffer, offset + 12);
        int l3 = ETH_HLEN;
        if (type == ETH_P_8021Q)
        {
            if (available < ETH_HLEN + 4)
            {
                return this;
            }
            type = u16(buffer, offset + 16);
            l3 += 4;
        }
        etherType = type;
        l3Offset = l3;
        if (type == ETH_P_IP)
        {
            parseIpv4(buffer, offset, available, l3);
        }
        else if (type == ETH_P_IPV6)
        {
            parseIpv6(buffer, offset, available, l3);
        }
        return this;
    }

    private void parseIpv4(final DirectBuffer buffer, final int offset, final int available, final int l3)
    {
        if (available < l3 + 20)
        {
            return;
        }
        final int versionIhl = buffer.getByte(offset + l3) & 0xFF;
        final int ihl = (versionIhl & 0x0F) * 4;
        if (versionIhl >> 4 != 4 || ihl < 20 || available < l3 + ihl)
        {
            return;
        }
        ipVersion = 4;
        ipHeaderLength = ihl;
        final int fragField = u16(buffer, offset + l3 + 6);
        fragment = (fragField & 0x3FFF) != 0; // MF or a fragment offset
        l4Protocol = buffer.getByte(offset + l3 + 9) & 0xFF;
        l4Offset = l3 + ihl;
        parseL4(buffer, offset, available);
    }

    private void parseIpv6(final DirectBuffer buffer, final int offset, final int available, final int l3)
    {
        if (available < l3 + IPV6_HLEN || (buffer.getByte(offset + l3) & 0xF0) != 0x60)
        {
            return;
        }
        ipVersion = 6;
        int next = buffer.getByte(offset + l3 + 6) & 0xFF;
        int at = l3 + IPV6_HLEN;
        for (int i = 0; i < MAX_EXTENSION_HEADERS; i++)
        {
            if (next == 0 || next == 43 || next == 60)
            {
                if (available < at + 8)
                {
                    return;
                }
                final int hdrLength = ((buffer.getByte(offset + at + 1) & 0xFF) + 1) * 8;
                next = buffer.getByte(offset + at) & 0xFF;
                at += hdrLength;
            }
            else if (next == 44)
            {
                fragment = true;
                if (available < at + 8)
                {
                    return;
                }
                next = buffer.getByte(offset + at) & 0xFF;
                at += 8;
            }
            else
            {
                break;
            }
        }
        ipHeaderLength = at - l3;
        l4Protocol = next;
        l4Offset = at;
        parseL4(buffer, offset, available);
    }

    private void parseL4(final DirectBuffer buffer, final int offset, final int available)
    {
        if (fragment)
        {
            return;
        }
        if (l4Protocol == IPPROTO_TCP && available >= l4Offset + 20)
        {
            final int dataOffset = ((buffer.getByte(offset + l4Offset + 12) & 0xFF) >> 4) * 4;
            if (dataOffset >= 20 && available >= l4Offset + dataOffset)
            {
                l4HeaderLength = dataOffset;
            }
        }
        else if (l4Protocol == IPPROTO_UDP && available >= l4Offset + 8)
        {
            l4HeaderLength = 8;
        }
    }

    /**
     * A hash of a parsed frame's flow (the IP addresses and, for TCP and UDP, the ports), so that one flow always
     * lands on one queue. Not the Toeplitz hash the frontend may configure: a cheap mix, for spreading only.
     *
     * @param buffer the frame.
     * @param offset where it starts.
     * @return the hash, 0 for a frame that is not IP.
     */
    int flowHash(final DirectBuffer buffer, final int offset)
    {
        if (ipVersion == 0)
        {
            return 0;
        }
        int h;
        if (ipVersion == 4)
        {
            h = buffer.getInt(offset + l3Offset + 12) * 31 + buffer.getInt(offset + l3Offset + 16);
        }
        else
        {
            h = 0;
            for (int i = 8; i < 40; i += 4)
            {
                h = h * 31 + buffer.getInt(offset + l3Offset + i);
            }
        }
        if (hasTransport())
        {
            h = h * 31 + buffer.getInt(offset + l4Offset);
        }
        // MurmurHash3's finaliser: every input bit reaches the low bits that pick a queue (adjacent ports spread).
        h ^= h >>> 16;
        h *= 0x85EBCA6B;
        h ^= h >>> 13;
        h *= 0xC2B2AE35;
        return h ^ h >>> 16;
    }

    static int u16(final DirectBuffer buffer, final int index)
    {
        return buffer.getShort(index, ByteOrder.BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * @param buffer a frame.
     * @param offset where its destination MAC starts.
     * @return the 48-bit address, first byte in bits 47..40.
     */
    static long mac(final DirectBuffer buffer, final int offset)
    {
        return (long)u16(buffer, offset) << 32 | buffer.getInt(offset + 2, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL;
    }

    /**
     * @param mac a 48-bit address.
     * @return whether it is a group (multicast or broadcast) address.
     */
    static boolean isMulticast(final long mac)
    {
        return (mac & 0x0100_0000_0000L) != 0;
    }

    /** The broadcast address. */
    static final long BROADCAST = 0xFFFF_FFFF_FFFFL;

    int etherType()
    {
        return etherType;
    }

    int l3Offset()
    {
        return l3Offset;
    }

    /**
     * @return 4 or 6 when the frame is IP and its network header is whole, else 0.
     */
    int ipVersion()
    {
        return ipVersion;
    }

    int ipHeaderLength()
    {
        return ipHeaderLength;
    }

    /**
     * @return the L4 protocol number, or -1.
     */
    int l4Protocol()
    {
        return l4Protocol;
    }

    /**
     * @return where the L4 header starts, or -1.
     */
    int l4Offset()
    {
        return l4Offset;
    }

    /**
     * @return the TCP header's length (20..60) or 8 for UDP when it is whole, else 0.
     */
    int l4HeaderLength()
    {
        return l4HeaderLength;
    }

    /**
     * @return whether the packet is an IP fragment (no L4 header to use).
     */
    boolean isFragment()
    {
        return fragment;
    }

    /**
     * @return whether a TCP or UDP header is whole.
     */
    boolean hasTransport()
    {
        return l4HeaderLength > 0 && (l4Protocol == IPPROTO_TCP || l4Protocol == IPPROTO_UDP);
    }

    /**
     * @return where the checksum field of the L4 header is, relative to the L4 header: TCP 16, UDP 6, else -1.
     */
    int l4ChecksumField()
    {
        return l4Protocol == IPPROTO_TCP ? 16 : l4Protocol == IPPROTO_UDP ? 6 : -1;
    }
}
