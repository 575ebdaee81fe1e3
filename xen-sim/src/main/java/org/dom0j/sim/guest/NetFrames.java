package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

/**
 * Layouts and builders of the frames {@link SimNetStack} sends and parses: Ethernet II, ARP for IPv4 (RFC 826),
 * IPv4 without options (RFC 791), ICMP echo (RFC 792), UDP (RFC 768) and TCP (RFC 793) with the timestamp option
 * Linux sends on every segment, which makes the MSS of a 1500-byte MTU 1448. Every frame starts at offset 0 of
 * its buffer; multi-byte fields are big-endian.
 * <pre>
 *   0            6            12     14                34                         66
 *   +------------+------------+------+-----------------+--------------------------+---------
 *   | dst mac    | src mac    | type | IPv4 header (20)| TCP header + options (32)| payload
 *   +------------+------------+------+-----------------+--------------------------+---------
 *                                    | ARP (28)        | UDP (8) / ICMP echo (8)  | payload from 42
 * </pre>
 * MAC addresses are held in a {@code long}, first byte in bits 47..40; IPv4 addresses in an {@code int}, first
 * byte in bits 31..24.
 * <p>
 * This class holds the layouts and writes the Ethernet, ARP and IPv4 headers; {@link NetAddresses} reads, writes,
 * parses and formats addresses, {@link TransportHeaders} writes ICMP, UDP and TCP headers with their checksums,
 * and {@link TcpSegmenter} cuts GSO frames into segments.
 * <p>
 * Stateless: any thread.
 */
public final class NetFrames
{
    /** Bytes of the Ethernet header. */
    public static final int ETH_HLEN = 14;
    /** Destination MAC. */
    public static final int ETH_DST_OFFSET = 0;
    /** Source MAC. */
    public static final int ETH_SRC_OFFSET = 6;
    /** EtherType. */
    public static final int ETH_TYPE_OFFSET = 12;
    /** EtherType of IPv4. */
    public static final int ETHERTYPE_IPV4 = 0x0800;
    /** EtherType of ARP. */
    public static final int ETHERTYPE_ARP = 0x0806;
    /** The broadcast MAC. */
    public static final long BROADCAST_MAC = 0xFFFF_FFFF_FFFFL;

    /** Where the ARP packet starts. */
    public static final int ARP_OFFSET = ETH_HLEN;
    /** Bytes of an ARP packet for IPv4 over Ethernet. */
    public static final int ARP_LENGTH = 28;
    /** A whole ARP frame (Linux sends it unpadded on a virtual interface). */
    public static final int ARP_FRAME_LENGTH = ETH_HLEN + ARP_LENGTH;
    /** ARP operation, relative to {@link #ARP_OFFSET}. */
    public static final int ARP_OPER = 6;
    /** Sender hardware address. */
    public static final int ARP_SHA = 8;
    /** Sender protocol address. */
    public static final int ARP_SPA = 14;
    /** Target hardware address. */
    public static final int ARP_THA = 18;
    /** Target protocol address. */
    public static final int ARP_TPA = 24;
    /** ARP request. */
    public static final int ARP_REQUEST = 1;
    /** ARP reply. */
    public static final int ARP_REPLY = 2;

    /** Where the IPv4 header starts. */
    public static final int IP_OFFSET = ETH_HLEN;
    /** Bytes of an IPv4 header without options. */
    public static final int IP_HLEN = 20;
    /** Total length, relative to {@link #IP_OFFSET}. */
    public static final int IP_TOTAL_LENGTH = 2;
    /** Identification. */
    public static final int IP_ID = 4;
    /** Flags and fragment offset. */
    public static final int IP_FLAGS_FRAGMENT = 6;
    /** Time to live. */
    public static final int IP_TTL = 8;
    /** Protocol. */
    public static final int IP_PROTOCOL = 9;
    /** Header checksum. */
    public static final int IP_CHECKSUM = 10;
    /** Source address. */
    public static final int IP_SRC = 12;
    /** Destination address. */
    public static final int IP_DST = 16;
    /** Don't fragment. */
    public static final int IP_DF = 0x4000;
    /** ICMP. */
    public static final int PROTO_ICMP = 1;
    /** TCP. */
    public static final int PROTO_TCP = 6;
    /** UDP. */
    public static final int PROTO_UDP = 17;

    /** Where the ICMP, UDP or TCP header starts. */
    public static final int L4_OFFSET = IP_OFFSET + IP_HLEN;

    /** Bytes of an ICMP echo header. */
    public static final int ICMP_HLEN = 8;
    /** Echo reply. */
    public static final int ICMP_ECHO_REPLY = 0;
    /** Echo request. */
    public static final int ICMP_ECHO_REQUEST = 8;
    /** Checksum, relative to {@link #L4_OFFSET}. */
    public static final int ICMP_CHECKSUM = 2;
    /** Identifier. */
    public static final int ICMP_ID = 4;
    /** Sequence number. */
    public static final int ICMP_SEQ = 6;

    /** Bytes of a UDP header. */
    public static final int UDP_HLEN = 8;
    /** Length, relative to {@link #L4_OFFSET}. */
    public static final int UDP_LENGTH = 4;
    /** Checksum. */
    public static final int UDP_CHECKSUM = 6;

    /** Bytes of the TCP header dom0j sends: 20 and the timestamp option (NOP, NOP, kind 8, length 10). */
    public static final int TCP_HLEN = 32;
    /** Sequence number, relative to {@link #L4_OFFSET}. */
    public static final int TCP_SEQ = 4;
    /** Acknowledgment number. */
    public static final int TCP_ACK = 8;
    /** Data offset in the high nibble. */
    public static final int TCP_DATA_OFFSET = 12;
    /** Flags. */
    public static final int TCP_FLAGS = 13;
    /** Window. */
    public static final int TCP_WINDOW = 14;
    /** Checksum. */
    public static final int TCP_CHECKSUM = 16;
    /** Where the options start. */
    public static final int TCP_OPTIONS = 20;
    /** FIN. */
    public static final int TCP_FIN = 0x01;
    /** PSH. */
    public static final int TCP_PSH = 0x08;
    /** ACK. */
    public static final int TCP_ACK_FLAG = 0x10;
    /** Ethernet, IPv4 and TCP headers of a segment: 66 bytes. */
    public static final int TCP_FRAME_HEADERS = L4_OFFSET + TCP_HLEN;

    private NetFrames()
    {
    }

    /**
     * @param buffer a frame.
     * @param offset where the MAC is.
     * @return the six bytes as a long.
     */
    public static long getMac(final DirectBuffer buffer, final int offset)
    {
        return NetAddresses.getMac(buffer, offset);
    }

    /**
     * @param buffer a frame.
     * @param offset where the MAC goes.
     * @param mac    the address.
     */
    public static void putMac(final MutableDirectBuffer buffer, final int offset, final long mac)
    {
        NetAddresses.putMac(buffer, offset, mac);
    }

    /**
     * Parses "aa:bb:cc:dd:ee:ff" as Linux's xen_net_read_mac does: six hexadecimal fields of one or two digits
     * separated by colons.
     *
     * @param text the text.
     * @return the address, or -1 when the text is not one.
     */
    public static long parseMac(final String text)
    {
        return NetAddresses.parseMac(text);
    }

    /**
     * @param mac an address.
     * @return it as "aa:bb:cc:dd:ee:ff".
     */
    public static String formatMac(final long mac)
    {
        return NetAddresses.formatMac(mac);
    }

    /**
     * @param text dotted quad, e.g. "10.0.0.1".
     * @return the address.
     * @throws IllegalArgumentException when it is not one.
     */
    public static int parseIpv4(final String text)
    {
        return NetAddresses.parseIpv4(text);
    }

    /**
     * @param ip an address.
     * @return its dotted quad.
     */
    public static String formatIpv4(final int ip)
    {
        return NetAddresses.formatIpv4(ip);
    }

    /**
     * Writes an Ethernet header.
     *
     * @param buffer    the frame.
     * @param dst       destination MAC.
     * @param src       source MAC.
     * @param etherType EtherType.
     */
    public static void ethernet(final MutableDirectBuffer buffer, final long dst, final long src, final int etherType)
    {
        putMac(buffer, ETH_DST_OFFSET, dst);
        putMac(buffer, ETH_SRC_OFFSET, src);
        buffer.putShort(ETH_TYPE_OFFSET, (short)etherType, ByteOrder.BIG_ENDIAN);
    }

    /**
     * Writes a whole ARP frame for IPv4 over Ethernet.
     *
     * @param buffer the frame.
     * @param ethDst Ethernet destination (broadcast for a request).
     * @param oper   {@link #ARP_REQUEST} or {@link #ARP_REPLY}.
     * @param sha    sender MAC.
     * @param spa    sender IP.
     * @param tha    target MAC (0 in a request).
     * @param tpa    target IP.
     * @return the frame length, {@link #ARP_FRAME_LENGTH}.
     */
    public static int arp(
        final MutableDirectBuffer buffer,
        final long ethDst,
        final int oper,
        final long sha,
        final int spa,
        final long tha,
        final int tpa)
    {
        ethernet(buffer, ethDst, sha, ETHERTYPE_ARP);
        buffer.putShort(ARP_OFFSET, (short)1, ByteOrder.BIG_ENDIAN);
        buffer.putShort(ARP_OFFSET + 2, (short)ETHERTYPE_IPV4, ByteOrder.BIG_ENDIAN);
        buffer.putByte(ARP_OFFSET + 4, (byte)6);
        buffer.putByte(ARP_OFFSET + 5, (byte)4);
        buffer.putShort(ARP_OFFSET + ARP_OPER, (short)oper, ByteOrder.BIG_ENDIAN);
        putMac(buffer, ARP_OFFSET + ARP_SHA, sha);
        buffer.putInt(ARP_OFFSET + ARP_SPA, spa, ByteOrder.BIG_ENDIAN);
        putMac(buffer, ARP_OFFSET + ARP_THA, tha);
        buffer.putInt(ARP_OFFSET + ARP_TPA, tpa, ByteOrder.BIG_ENDIAN);
        return ARP_FRAME_LENGTH;
    }

    /**
     * Writes an IPv4 header (no options, DF, TTL 64) with its checksum.
     *
     * @param buffer      the frame.
     * @param totalLength IPv4 total length: header and payload.
     * @param id          identification.
     * @param protocol    {@link #PROTO_ICMP}, {@link #PROTO_TCP} or {@link #PROTO_UDP}.
     * @param src         source address.
     * @param dst         destination address.
     */
    public static void ipv4(
        final MutableDirectBuffer buffer,
        final int totalLength,
        final int id,
        final int protocol,
        final int src,
        final int dst)
    {
        buffer.putByte(IP_OFFSET, (byte)0x45);
        buffer.putByte(IP_OFFSET + 1, (byte)0);
        buffer.putShort(IP_OFFSET + IP_TOTAL_LENGTH, (short)totalLength, ByteOrder.BIG_ENDIAN);
        buffer.putShort(IP_OFFSET + IP_ID, (short)id, ByteOrder.BIG_ENDIAN);
        buffer.putShort(IP_OFFSET + IP_FLAGS_FRAGMENT, (short)IP_DF, ByteOrder.BIG_ENDIAN);
        buffer.putByte(IP_OFFSET + IP_TTL, (byte)64);
        buffer.putByte(IP_OFFSET + IP_PROTOCOL, (byte)protocol);
        buffer.putShort(IP_OFFSET + IP_CHECKSUM, (short)0);
        buffer.putInt(IP_OFFSET + IP_SRC, src, ByteOrder.BIG_ENDIAN);
        buffer.putInt(IP_OFFSET + IP_DST, dst, ByteOrder.BIG_ENDIAN);
        buffer.putShort(IP_OFFSET + IP_CHECKSUM,
            (short)InternetChecksum.checksum(buffer, IP_OFFSET, IP_HLEN), ByteOrder.BIG_ENDIAN);
    }

    /**
     * Writes an ICMP echo header and its checksum over the header and the payload already at
     * {@code L4_OFFSET + ICMP_HLEN}.
     *
     * @param buffer        the frame.
     * @param type          {@link #ICMP_ECHO_REQUEST} or {@link #ICMP_ECHO_REPLY}.
     * @param identifier    identifier.
     * @param sequence      sequence number.
     * @param payloadLength bytes after the header.
     */
    public static void icmpEcho(
        final MutableDirectBuffer buffer,
        final int type,
        final int identifier,
        final int sequence,
        final int payloadLength)
    {
        TransportHeaders.icmpEcho(buffer, type, identifier, sequence, payloadLength);
    }

    /**
     * Writes a UDP header and its checksum, over the payload already at {@code L4_OFFSET + UDP_HLEN}.
     *
     * @param buffer    the frame, with its IPv4 header written.
     * @param srcPort   source port.
     * @param dstPort   destination port.
     * @param udpLength header and payload.
     * @param partial   leave the pseudo-header sum for the receiver to finish (checksum offload) instead of the
     *                  full checksum.
     */
    public static void udp(
        final MutableDirectBuffer buffer,
        final int srcPort,
        final int dstPort,
        final int udpLength,
        final boolean partial)
    {
        TransportHeaders.udp(buffer, srcPort, dstPort, udpLength, partial);
    }

    /**
     * Writes a TCP header with the timestamp option and its checksum, over the payload already at
     * {@link #TCP_FRAME_HEADERS}.
     *
     * @param buffer    the frame, with its IPv4 header written.
     * @param srcPort   source port.
     * @param dstPort   destination port.
     * @param seq       sequence number.
     * @param ack       acknowledgment number.
     * @param flags     TCP flags.
     * @param tsval     timestamp value.
     * @param tcpLength header and payload.
     * @param partial   leave the pseudo-header sum (checksum offload) instead of the full checksum.
     */
    public static void tcp(
        final MutableDirectBuffer buffer,
        final int srcPort,
        final int dstPort,
        final int seq,
        final int ack,
        final int flags,
        final int tsval,
        final int tcpLength,
        final boolean partial)
    {
        TransportHeaders.tcp(buffer, srcPort, dstPort, seq, ack, flags, tsval, tcpLength, partial);
    }

    /**
     * @param payload bytes of TCP payload in a GSO frame.
     * @param mss     the segment size (gso_size).
     * @return how many segments it becomes.
     */
    public static int segmentCount(final int payload, final int mss)
    {
        return TcpSegmenter.segmentCount(payload, mss);
    }

    /**
     * Cuts one MSS-sized segment out of a GSO TCP/IPv4 frame (one of {@link NetFrames}' own, with a
     * {@link #TCP_HLEN} header), as Linux's TCP segmentation offload does in software: the headers copied, the IPv4
     * total length, identification (+ index) and checksum redone, the sequence number advanced, PSH and FIN only
     * on the last segment, and the TCP checksum redone in full or left partial.
     *
     * @param gso     the GSO frame.
     * @param length  its length.
     * @param mss     the segment size.
     * @param index   which segment, from 0.
     * @param out     where to write the segment frame (at offset 0).
     * @param partial leave the TCP checksum partial (the pseudo-header sum) instead of full.
     * @return the segment frame's length.
     */
    public static int tcpSegment(
        final DirectBuffer gso,
        final int length,
        final int mss,
        final int index,
        final MutableDirectBuffer out,
        final boolean partial)
    {
        return TcpSegmenter.tcpSegment(gso, length, mss, index, out, partial);
    }
}
