package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;

import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

import static org.dom0j.protocol.netif.NetifConstants.NETRXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;
import static org.dom0j.sim.guest.NetFrames.*;

/**
 * The receiving half of a {@link SimNetStack}'s bulk streams: UDP datagrams and TCP segments from the peer, their
 * checksums checked (in full, or the pseudo-header sum of a NETRXF_csum_blank frame, or not at all for
 * NETRXF_data_validated), each byte handed to a {@link StreamVerifier} at its stream offset, a GSO frame taken one
 * MSS at a time. Received TCP data makes an acknowledgment due; the peer's acknowledgments of our own stream go to
 * the {@link StackStreamSender}.
 * <p>
 * Not thread safe: the guest's one thread; the verifiers are readable from any thread.
 */
final class StackStreamReceiver
{
    private final StackLink link;
    private final StackArp arp;
    private final StackStreamSender sender;
    private final long seed;
    private int peerIp;
    private int tcpIsnIn;
    private StreamVerifier tcpIn;
    private StreamVerifier udpIn;
    private boolean ackPending;

    /**
     * @param link   how the stack sends (acknowledgments).
     * @param arp    resolves the peer.
     * @param sender takes the peer's acknowledgments.
     * @param seed   the workload seed.
     */
    StackStreamReceiver(final StackLink link, final StackArp arp, final StackStreamSender sender, final long seed)
    {
        this.link = link;
        this.arp = arp;
        this.sender = sender;
        this.seed = seed;
    }

    /**
     * Starts checking the peer's streams to us.
     *
     * @param peer the peer's IPv4 address.
     */
    void open(final int peer)
    {
        peerIp = peer;
        final long tcpSeedIn = StreamPattern.streamSeed(seed, peer, link.ip(), PROTO_TCP);
        tcpIsnIn = (int)StreamPattern.word(tcpSeedIn, -1);
        tcpIn = new StreamVerifier(tcpSeedIn);
        udpIn = new StreamVerifier(StreamPattern.streamSeed(seed, peer, link.ip(), PROTO_UDP));
    }

    StreamVerifier tcpIn()
    {
        return tcpIn;
    }

    StreamVerifier udpIn()
    {
        return udpIn;
    }

    /**
     * @return whether an acknowledgment was due and went out.
     */
    boolean sendPendingAck()
    {
        return ackPending && sendAck();
    }

    private boolean sendAck()
    {
        final long peerMac = arp.resolve(peerIp);
        if (peerMac < 0)
        {
            return false;
        }
        NetFrames.ethernet(link.control(), peerMac, link.mac(), ETHERTYPE_IPV4);
        NetFrames.ipv4(link.control(), IP_HLEN + TCP_HLEN, link.nextIpId(1), PROTO_TCP, link.ip(), peerIp);
        NetFrames.tcp(link.control(), SimNetStack.TCP_STREAM_PORT, SimNetStack.STREAM_SOURCE_PORT, 0,
            tcpIsnIn + (int)tcpIn.contiguous(), TCP_ACK_FLAG, (int)TimeUnit.NANOSECONDS.toMillis(System.nanoTime()),
            TCP_HLEN, false);
        if (link.send(SimNetStack.FLOW_ACK, link.control(), TCP_FRAME_HEADERS, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
        {
            ackPending = false;
            link.stats().acksSent++;
            return true;
        }
        return false;
    }

    private static boolean l4ChecksumHolds(
        final DirectBuffer frame, final int checksumOffset, final int protocol, final int src, final int dst,
        final int l4Length, final int rxFlags)
    {
        if ((rxFlags & NETRXF_CSUM_BLANK) != 0)
        {
            // Checksum offload: the sender left only the pseudo-header sum for someone to finish.
            final int field = frame.getShort(L4_OFFSET + checksumOffset, ByteOrder.BIG_ENDIAN) & 0xFFFF;
            return field == InternetChecksum.partial(src, dst, protocol, l4Length);
        }
        if ((rxFlags & NETRXF_DATA_VALIDATED) != 0)
        {
            return true;
        }
        return InternetChecksum.verify(frame, L4_OFFSET, l4Length,
            InternetChecksum.pseudoHeader(src, dst, protocol, l4Length));
    }

    /**
     * Takes a received UDP datagram whose IPv4 header was checked.
     *
     * @param frame    the frame at offset 0.
     * @param src      IPv4 source.
     * @param dst      IPv4 destination.
     * @param l4Length bytes of UDP.
     * @param rxFlags  NETRXF_* flags it came with.
     */
    void receiveUdp(final DirectBuffer frame, final int src, final int dst, final int l4Length, final int rxFlags)
    {
        final NetStats stats = link.stats();
        if (l4Length < UDP_HLEN || (frame.getShort(L4_OFFSET + UDP_LENGTH, ByteOrder.BIG_ENDIAN) & 0xFFFF) != l4Length)
        {
            stats.rxMalformed++;
            return;
        }
        final boolean noChecksum = frame.getShort(L4_OFFSET + UDP_CHECKSUM) == 0 &&
            (rxFlags & NETRXF_CSUM_BLANK) == 0;
        if (!noChecksum && !l4ChecksumHolds(frame, UDP_CHECKSUM, PROTO_UDP, src, dst, l4Length, rxFlags))
        {
            stats.checksumErrors++;
            return;
        }
        final int dport = frame.getShort(L4_OFFSET + 2, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        if (dport != SimNetStack.UDP_STREAM_PORT || null == udpIn || src != peerIp || l4Length < UDP_HLEN + 8)
        {
            stats.rxIgnored++;
            return;
        }
        final int at = L4_OFFSET + UDP_HLEN;
        udpIn.accept(frame, at + 8, frame.getLong(at, ByteOrder.BIG_ENDIAN), l4Length - UDP_HLEN - 8);
    }

    /**
     * Takes a received TCP segment whose IPv4 header was checked: stream data, or an acknowledgment of ours.
     *
     * @param frame    the frame at offset 0.
     * @param src      IPv4 source.
     * @param dst      IPv4 destination.
     * @param l4Length bytes of TCP.
     * @param rxFlags  NETRXF_* flags it came with.
     * @param gsoType  XEN_NETIF_GSO_TYPE_* it came with.
     * @param gsoSize  its gso size, or 0.
     */
    void receiveTcp(
        final DirectBuffer frame, final int src, final int dst, final int l4Length, final int rxFlags,
        final int gsoType, final int gsoSize)
    {
        final NetStats stats = link.stats();
        final int headerLength = l4Length < 20 ? 0 : ((frame.getByte(L4_OFFSET + TCP_DATA_OFFSET) & 0xF0) >>> 2);
        if (headerLength < 20 || headerLength > l4Length)
        {
            stats.rxMalformed++;
            return;
        }
        if (!l4ChecksumHolds(frame, TCP_CHECKSUM, PROTO_TCP, src, dst, l4Length, rxFlags))
        {
            stats.checksumErrors++;
            return;
        }
        final int sport = frame.getShort(L4_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        final int dport = frame.getShort(L4_OFFSET + 2, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        if (null == tcpIn || src != peerIp)
        {
            stats.rxIgnored++;
        }
        else if (dport == SimNetStack.TCP_STREAM_PORT && sport == SimNetStack.STREAM_SOURCE_PORT)
        {
            receiveStreamSegment(frame, headerLength, l4Length - headerLength, gsoType, gsoSize);
        }
        else if (dport == SimNetStack.STREAM_SOURCE_PORT && sport == SimNetStack.TCP_STREAM_PORT &&
            (frame.getByte(L4_OFFSET + TCP_FLAGS) & TCP_ACK_FLAG) != 0)
        {
            sender.acknowledge(frame.getInt(L4_OFFSET + TCP_ACK, ByteOrder.BIG_ENDIAN));
        }
        else
        {
            stats.rxIgnored++;
        }
    }

    private void receiveStreamSegment(
        final DirectBuffer frame, final int headerLength, final int payload, final int gsoType, final int gsoSize)
    {
        final NetStats stats = link.stats();
        final int seq = frame.getInt(L4_OFFSET + TCP_SEQ, ByteOrder.BIG_ENDIAN);
        final long base = tcpIn.contiguous();
        final long offset = base + (seq - (tcpIsnIn + (int)base));
        final int at = L4_OFFSET + headerLength;
        if (gsoType == XEN_NETIF_GSO_TYPE_TCPV4 && gsoSize > 0)
        {
            // What the receiving stack's GRO/GSO would hand on: one MSS at a time, each at its own sequence number.
            stats.gsoFramesReceived++;
            for (int from = 0; from < payload; from += gsoSize)
            {
                tcpIn.accept(frame, at + from, offset + from, Math.min(gsoSize, payload - from));
                stats.tcpSegmentsReceived++;
            }
        }
        else
        {
            if (gsoType != XEN_NETIF_GSO_TYPE_NONE)
            {
                stats.rxMalformed++;
                return;
            }
            tcpIn.accept(frame, at, offset, payload);
            stats.tcpSegmentsReceived++;
        }
        if (payload > 0)
        {
            ackPending = true;
        }
    }
}
