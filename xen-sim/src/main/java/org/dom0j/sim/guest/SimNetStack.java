package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.dom0j.protocol.netif.NetifConstants.NETRXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_MAX_TX_SIZE;
import static org.dom0j.sim.guest.NetFrames.*;

/**
 * A tiny IPv4 stack that checks what a network path does to its frames: Ethernet, ARP (answers for its address,
 * resolves peers into a bounded cache), IPv4 without options or fragments, ICMP echo both ways (pings with a
 * measured round trip), and a verified bulk stream to one peer, carried both in UDP datagrams and in TCP segments
 * that the peer acknowledges (go-back-N after 200 ms without progress; a window of unacknowledged bytes). TCP
 * frames are one MSS, or with GSO up to 45 MSS (one frame of at most 64 KiB, gso type TCPv4, gso size = MSS, the
 * checksum left partial) as Linux sends them with segmentation and checksum offload. Every byte received is
 * checked against {@link StreamPattern} at its stream offset.
 * <p>
 * Checksums received: the IPv4 header checksum always; ICMP always; TCP and UDP in full unless the frame came with
 * NETRXF_data_validated, and a frame with NETRXF_csum_blank must carry the pseudo-header sum the sender left.
 * <p>
 * No handshake, no options parsed, no reassembly: both ends are this stack (or something that answers ARP and
 * ping). Frames are built in two buffers made once; nothing is allocated per frame.
 * <p>
 * Not thread safe: the guest's one thread calls everything; {@link #stats()} and the verifiers are readable from
 * any thread.
 */
public final class SimNetStack
{
    /** Where the TCP bulk stream goes. */
    public static final int TCP_STREAM_PORT = 5001;
    /** Where the UDP bulk stream goes. */
    public static final int UDP_STREAM_PORT = 5002;
    /** The source port of both streams (and where acknowledgments come back). */
    public static final int STREAM_SOURCE_PORT = 40001;
    /** Flow of ARP and ICMP frames. */
    public static final int FLOW_CONTROL = 0;
    /** Flow of TCP stream frames. */
    public static final int FLOW_TCP = 1;
    /** Flow of UDP stream datagrams. */
    public static final int FLOW_UDP = 2;
    /** Flow of TCP acknowledgments. */
    public static final int FLOW_ACK = 3;

    private static final int ARP_CACHE_SIZE = 16;
    private static final long ARP_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long RTO_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final int PING_PAYLOAD = 56;
    private static final int PING_SLOTS = 64;
    private static final int CONTROL_FRAME = 2048;
    private static final int MAX_FRAMES_PER_PUMP = 64;

    /**
     * Sends a frame.
     */
    @FunctionalInterface
    public interface Transmitter
    {
        /**
         * @param flow    which of the stack's flows ({@code FLOW_*}), e.g. to pick a queue.
         * @param frame   the frame, at offset 0; valid only during the call.
         * @param length  its length.
         * @param txFlags NETTXF_csum_blank and NETTXF_data_validated as they apply.
         * @param gsoType XEN_NETIF_GSO_TYPE_*.
         * @param gsoSize the MSS of a GSO frame, else 0.
         * @return false when there is no room now (the stack tries again later).
         */
        boolean transmit(int flow, DirectBuffer frame, int length, int txFlags, int gsoType, int gsoSize);
    }

    /**
     * How the stack sends.
     *
     * @param mtu             the IPv4 MTU (68..9000); the MSS is {@code mtu - 52}.
     * @param checksumOffload leave TCP and UDP checksums partial with NETTXF_csum_blank.
     * @param gso             send TCP frames of several MSS with GSO (needs checksum offload).
     * @param windowBytes     most unacknowledged TCP stream bytes.
     * @param maxGsoSegments  most MSS in one GSO frame (clamped so the frame fits 64 KiB).
     * @param udp             send a UDP datagram of the stream after each TCP frame.
     */
    public record Config(
        int mtu, boolean checksumOffload, boolean gso, int windowBytes, int maxGsoSegments, boolean udp)
    {
        /**
         * @return MTU 1500, checksum offload and GSO on, a 512 KiB window, up to 45 MSS per frame, UDP on.
         */
        public static Config defaults()
        {
            return new Config(1500, true, true, 512 * 1024, 45, true);
        }

        /**
         * @param offload checksum offload and GSO both on or both off.
         * @return a copy.
         */
        public Config withOffload(final boolean offload)
        {
            return new Config(mtu, offload, offload, windowBytes, maxGsoSegments, udp);
        }
    }

    private final long mac;
    private final int ip;
    private final long seed;
    private final Config config;
    private final Transmitter transmitter;
    private final int mss;
    private final int maxSegments;
    private final NetStats stats = new NetStats();
    private final UnsafeBuffer control = new UnsafeBuffer(new byte[CONTROL_FRAME]);
    private final UnsafeBuffer bulk = new UnsafeBuffer(new byte[XEN_NETIF_MAX_TX_SIZE + 1]);
    private final SplittableRandom random;
    private final int[] arpIps = new int[ARP_CACHE_SIZE];
    private final long[] arpMacs = new long[ARP_CACHE_SIZE];
    private int arpCount;
    private int arpNext;
    private long lastArpRequest;
    private final int[] pingSeqs = new int[PING_SLOTS];
    private final long[] pingSentAt = new long[PING_SLOTS];
    private final int pingIdentifier;
    private int ipId;

    private int peerIp;
    private boolean streaming;
    private boolean sending;
    private int tcpIsnOut;
    private long tcpSeedOut;
    private long udpSeedOut;
    private long tcpNext;
    private long tcpHighest;
    private long tcpAcked;
    private long lastProgress;
    private long udpNext;
    private boolean udpTurn;
    private int tcpIsnIn;
    private StreamVerifier tcpIn;
    private StreamVerifier udpIn;
    private boolean ackPending;

    private int pendingLength;
    private int pendingFlow;
    private int pendingFlags;
    private int pendingGsoType;
    private int pendingGsoSize;
    private int pendingPayload;
    private int pendingResent;

    /**
     * @param mac         this stack's MAC.
     * @param ip          its IPv4 address.
     * @param seed        the workload seed, the same at both ends of a stream.
     * @param config      how to send.
     * @param transmitter where frames go.
     */
    public SimNetStack(
        final long mac, final int ip, final long seed, final Config config, final Transmitter transmitter)
    {
        if (config.mtu() < 68 || config.mtu() > 9000)
        {
            throw new IllegalArgumentException("MTU must be 68..9000: " + config.mtu());
        }
        if (config.gso() && !config.checksumOffload())
        {
            throw new IllegalArgumentException("GSO needs checksum offload, as in Linux");
        }
        this.mac = mac;
        this.ip = ip;
        this.seed = seed;
        this.config = config;
        this.transmitter = transmitter;
        this.mss = config.mtu() - IP_HLEN - TCP_HLEN;
        this.maxSegments = config.gso() ?
            Math.max(1, Math.min(config.maxGsoSegments(), (XEN_NETIF_MAX_TX_SIZE - TCP_FRAME_HEADERS) / mss)) : 1;
        this.random = new SplittableRandom(seed ^ ip);
        this.pingIdentifier = (int)(ip ^ (ip >>> 16)) & 0xFFFF;
        Arrays.fill(pingSeqs, -1);
    }

    /**
     * @return this stack's MAC.
     */
    public long mac()
    {
        return mac;
    }

    /**
     * @return its IPv4 address.
     */
    public int ip()
    {
        return ip;
    }

    /**
     * @return the MSS of its TCP frames.
     */
    public int mss()
    {
        return mss;
    }

    /**
     * @return the live counters.
     */
    public NetStats stats()
    {
        return stats;
    }

    /**
     * Starts the bulk streams to {@code peer} and the checking of the peer's streams to us (the peer may be this
     * stack's own address, for a loopback).
     *
     * @param peer the peer's IPv4 address.
     */
    public void openStream(final int peer)
    {
        peerIp = peer;
        tcpSeedOut = StreamPattern.streamSeed(seed, ip, peer, PROTO_TCP);
        udpSeedOut = StreamPattern.streamSeed(seed, ip, peer, PROTO_UDP);
        tcpIsnOut = (int)StreamPattern.word(tcpSeedOut, -1);
        final long tcpSeedIn = StreamPattern.streamSeed(seed, peer, ip, PROTO_TCP);
        tcpIsnIn = (int)StreamPattern.word(tcpSeedIn, -1);
        tcpIn = new StreamVerifier(tcpSeedIn);
        udpIn = new StreamVerifier(StreamPattern.streamSeed(seed, peer, ip, PROTO_UDP));
        lastProgress = System.nanoTime();
        streaming = true;
        sending = true;
    }

    /**
     * Stops sending new stream data; what is unacknowledged is still retransmitted, so that {@link #drained()}
     * becomes true.
     */
    public void stopSending()
    {
        sending = false;
    }

    /**
     * @return whether every stream byte sent over TCP was acknowledged.
     */
    public boolean drained()
    {
        return tcpAcked == tcpHighest && pendingLength == 0;
    }

    /**
     * @return the verifier of the peer's TCP stream to us (null before {@link #openStream}).
     */
    public StreamVerifier tcpReceiver()
    {
        return tcpIn;
    }

    /**
     * @return the verifier of the peer's UDP stream to us (null before {@link #openStream}).
     */
    public StreamVerifier udpReceiver()
    {
        return udpIn;
    }

    /**
     * @param address an IPv4 address.
     * @return its MAC from the cache (this stack's own for its own address), or -1 after asking (at most every
     *         100 ms) with an ARP request.
     */
    public long resolve(final int address)
    {
        if (address == ip)
        {
            return mac;
        }
        for (int i = 0; i < arpCount; i++)
        {
            if (arpIps[i] == address)
            {
                return arpMacs[i];
            }
        }
        final long now = System.nanoTime();
        if (stats.arpRequests == 0 || now - lastArpRequest >= ARP_RETRY_NANOS)
        {
            final int length = NetFrames.arp(control, BROADCAST_MAC, ARP_REQUEST, mac, ip, 0, address);
            if (send(FLOW_CONTROL, control, length, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
            {
                lastArpRequest = now;
                stats.arpRequests++;
            }
        }
        return -1;
    }

    private void learn(final int address, final long hw)
    {
        for (int i = 0; i < arpCount; i++)
        {
            if (arpIps[i] == address)
            {
                arpMacs[i] = hw;
                return;
            }
        }
        final int slot = arpCount < ARP_CACHE_SIZE ? arpCount++ : arpNext++ % ARP_CACHE_SIZE;
        arpIps[slot] = address;
        arpMacs[slot] = hw;
    }

    /**
     * Sends an ICMP echo request with 56 bytes of payload (a timestamp and a pattern of the sequence number).
     *
     * @param dst the address to ping.
     * @param seq the sequence number (16 bits).
     * @return false when the address is not resolved yet (an ARP request went out) or there was no room.
     */
    public boolean ping(final int dst, final int seq)
    {
        final long dstMac = resolve(dst);
        if (dstMac < 0)
        {
            return false;
        }
        final long now = System.nanoTime();
        NetFrames.ethernet(control, dstMac, mac, ETHERTYPE_IPV4);
        final int payloadAt = L4_OFFSET + ICMP_HLEN;
        control.putLong(payloadAt, now, ByteOrder.BIG_ENDIAN);
        for (int i = 8; i < PING_PAYLOAD; i++)
        {
            control.putByte(payloadAt + i, (byte)(seq * 7 + i));
        }
        NetFrames.ipv4(control, IP_HLEN + ICMP_HLEN + PING_PAYLOAD, ipId++, PROTO_ICMP, ip, dst);
        NetFrames.icmpEcho(control, ICMP_ECHO_REQUEST, pingIdentifier, seq, PING_PAYLOAD);
        if (!send(FLOW_CONTROL, control, L4_OFFSET + ICMP_HLEN + PING_PAYLOAD, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
        {
            return false;
        }
        final int slot = seq & (PING_SLOTS - 1);
        pingSeqs[slot] = seq & 0xFFFF;
        pingSentAt[slot] = now;
        stats.pingsSent++;
        return true;
    }

    private boolean send(
        final int flow, final DirectBuffer frame, final int length, final int flags, final int gsoType,
        final int gsoSize)
    {
        if (transmitter.transmit(flow, frame, length, flags, gsoType, gsoSize))
        {
            stats.txFrames++;
            stats.txBytes += length;
            return true;
        }
        stats.txBusy++;
        return false;
    }

    /**
     * Sends what is due: an acknowledgment of the peer's stream, then stream frames while the window and the
     * frontend have room (at most 64 per call), a UDP datagram after each TCP frame.
     *
     * @return frames sent.
     */
    public int pump()
    {
        int sent = 0;
        if (ackPending && sendAck())
        {
            sent++;
        }
        if (!streaming)
        {
            return sent;
        }
        final long peerMac = resolve(peerIp);
        if (peerMac < 0)
        {
            return sent;
        }
        final long now = System.nanoTime();
        if (tcpHighest != tcpAcked && now - lastProgress > RTO_NANOS)
        {
            // Go-back-N: nothing acknowledged for a while; whatever is unacknowledged goes again. A UDP datagram
            // built and not yet sent stays: its bytes are not sent again.
            if (pendingFlow == FLOW_TCP)
            {
                pendingLength = 0;
            }
            tcpNext = tcpAcked;
            lastProgress = now;
            stats.retransmits++;
        }
        while (sent < MAX_FRAMES_PER_PUMP)
        {
            if (pendingLength > 0)
            {
                if (!send(pendingFlow, bulk, pendingLength, pendingFlags, pendingGsoType, pendingGsoSize))
                {
                    break;
                }
                accountSent();
                sent++;
            }
            if (udpTurn && config.udp() && sending)
            {
                buildUdp(peerMac);
                udpTurn = false;
            }
            else if (!buildTcp(peerMac))
            {
                break;
            }
        }
        return sent;
    }

    private void accountSent()
    {
        if (pendingFlow == FLOW_TCP)
        {
            stats.tcpFramesSent++;
            stats.tcpBytesSent += pendingPayload;
            stats.tcpBytesResent += pendingResent;
            if (pendingGsoType != XEN_NETIF_GSO_TYPE_NONE)
            {
                stats.gsoFramesSent++;
            }
        }
        else
        {
            stats.udpDatagramsSent++;
            stats.udpBytesSent += pendingPayload;
        }
        pendingLength = 0;
    }

    private boolean buildTcp(final long peerMac)
    {
        final long limit = sending ? tcpAcked + config.windowBytes() : tcpHighest;
        final long room = limit - tcpNext;
        if (room <= 0)
        {
            return false;
        }
        final int segments = (int)Math.min(1 + random.nextInt(maxSegments), (room + mss - 1) / mss);
        final int payload = (int)Math.min((long)segments * mss, room);
        final boolean gso = payload > mss;
        NetFrames.ethernet(bulk, peerMac, mac, ETHERTYPE_IPV4);
        StreamPattern.fill(bulk, TCP_FRAME_HEADERS, tcpSeedOut, tcpNext, payload);
        NetFrames.ipv4(bulk, IP_HLEN + TCP_HLEN + payload, ipId, PROTO_TCP, ip, peerIp);
        ipId += segments;
        NetFrames.tcp(bulk, STREAM_SOURCE_PORT, TCP_STREAM_PORT, tcpIsnOut + (int)tcpNext, 0,
            TCP_ACK_FLAG | TCP_PSH, (int)TimeUnit.NANOSECONDS.toMillis(System.nanoTime()), TCP_HLEN + payload,
            config.checksumOffload());
        pending(FLOW_TCP, TCP_FRAME_HEADERS + payload, gso ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_NONE,
            gso ? mss : 0, payload);
        pendingResent = (int)Math.max(0, Math.min(payload, tcpHighest - tcpNext));
        tcpNext += payload;
        tcpHighest = Math.max(tcpHighest, tcpNext);
        udpTurn = true;
        return true;
    }

    private void buildUdp(final long peerMac)
    {
        final int max = config.mtu() - IP_HLEN - UDP_HLEN - 8;
        final int data = 1 + random.nextInt(max);
        NetFrames.ethernet(bulk, peerMac, mac, ETHERTYPE_IPV4);
        final int at = L4_OFFSET + UDP_HLEN;
        bulk.putLong(at, udpNext, ByteOrder.BIG_ENDIAN);
        StreamPattern.fill(bulk, at + 8, udpSeedOut, udpNext, data);
        NetFrames.ipv4(bulk, IP_HLEN + UDP_HLEN + 8 + data, ipId++, PROTO_UDP, ip, peerIp);
        NetFrames.udp(bulk, STREAM_SOURCE_PORT, UDP_STREAM_PORT, UDP_HLEN + 8 + data, config.checksumOffload());
        pending(FLOW_UDP, at + 8 + data, XEN_NETIF_GSO_TYPE_NONE, 0, data);
        udpNext += data;
    }

    private void pending(final int flow, final int length, final int gsoType, final int gsoSize, final int payload)
    {
        pendingFlow = flow;
        pendingLength = length;
        pendingFlags = config.checksumOffload() ? NETTXF_CSUM_BLANK | NETTXF_DATA_VALIDATED : 0;
        pendingGsoType = gsoType;
        pendingGsoSize = gsoSize;
        pendingPayload = payload;
    }

    private boolean sendAck()
    {
        final long peerMac = resolve(peerIp);
        if (peerMac < 0)
        {
            return false;
        }
        NetFrames.ethernet(control, peerMac, mac, ETHERTYPE_IPV4);
        NetFrames.ipv4(control, IP_HLEN + TCP_HLEN, ipId++, PROTO_TCP, ip, peerIp);
        NetFrames.tcp(control, TCP_STREAM_PORT, STREAM_SOURCE_PORT, 0, tcpIsnIn + (int)tcpIn.contiguous(),
            TCP_ACK_FLAG, (int)TimeUnit.NANOSECONDS.toMillis(System.nanoTime()), TCP_HLEN, false);
        if (send(FLOW_ACK, control, TCP_FRAME_HEADERS, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
        {
            ackPending = false;
            stats.acksSent++;
            return true;
        }
        return false;
    }

    /**
     * Takes one received frame.
     *
     * @param frame   the frame at offset 0 (read during the call only).
     * @param length  its length.
     * @param rxFlags NETRXF_* flags it came with.
     * @param gsoType XEN_NETIF_GSO_TYPE_* it came with.
     * @param gsoSize its gso size, or 0.
     */
    public void receive(
        final DirectBuffer frame, final int length, final int rxFlags, final int gsoType, final int gsoSize)
    {
        stats.rxFrames++;
        stats.rxBytes += length;
        if (length < ETH_HLEN)
        {
            stats.rxMalformed++;
            return;
        }
        final long dst = getMac(frame, ETH_DST_OFFSET);
        if (dst != mac && dst != BROADCAST_MAC)
        {
            stats.rxIgnored++;
            return;
        }
        final int type = frame.getShort(ETH_TYPE_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        if (type == ETHERTYPE_ARP)
        {
            receiveArp(frame, length);
        }
        else if (type == ETHERTYPE_IPV4)
        {
            receiveIpv4(frame, length, rxFlags, gsoType, gsoSize);
        }
        else
        {
            stats.rxIgnored++;
        }
    }

    private void receiveArp(final DirectBuffer frame, final int length)
    {
        if (length < ARP_FRAME_LENGTH || frame.getShort(ARP_OFFSET, ByteOrder.BIG_ENDIAN) != 1 ||
            frame.getShort(ARP_OFFSET + 2, ByteOrder.BIG_ENDIAN) != ETHERTYPE_IPV4 ||
            frame.getByte(ARP_OFFSET + 4) != 6 || frame.getByte(ARP_OFFSET + 5) != 4)
        {
            stats.rxMalformed++;
            return;
        }
        final int oper = frame.getShort(ARP_OFFSET + ARP_OPER, ByteOrder.BIG_ENDIAN);
        final long sha = getMac(frame, ARP_OFFSET + ARP_SHA);
        final int spa = frame.getInt(ARP_OFFSET + ARP_SPA, ByteOrder.BIG_ENDIAN);
        final int tpa = frame.getInt(ARP_OFFSET + ARP_TPA, ByteOrder.BIG_ENDIAN);
        if (tpa != ip || (oper != ARP_REQUEST && oper != ARP_REPLY))
        {
            stats.rxIgnored++;
            return;
        }
        if (spa != 0)
        {
            learn(spa, sha);
        }
        if (oper == ARP_REQUEST)
        {
            final int n = NetFrames.arp(control, sha, ARP_REPLY, mac, ip, sha, spa);
            if (send(FLOW_CONTROL, control, n, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
            {
                stats.arpAnswered++;
            }
        }
    }

    private void receiveIpv4(
        final DirectBuffer frame, final int length, final int rxFlags, final int gsoType, final int gsoSize)
    {
        if (length < L4_OFFSET || frame.getByte(IP_OFFSET) != 0x45)
        {
            stats.rxMalformed++;
            return;
        }
        final int total = frame.getShort(IP_OFFSET + IP_TOTAL_LENGTH, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        if (total < IP_HLEN || ETH_HLEN + total > length ||
            (frame.getShort(IP_OFFSET + IP_FLAGS_FRAGMENT, ByteOrder.BIG_ENDIAN) & 0x3FFF) != 0)
        {
            stats.rxMalformed++;
            return;
        }
        if (!InternetChecksum.verify(frame, IP_OFFSET, IP_HLEN, 0))
        {
            stats.checksumErrors++;
            return;
        }
        final int src = frame.getInt(IP_OFFSET + IP_SRC, ByteOrder.BIG_ENDIAN);
        final int dst = frame.getInt(IP_OFFSET + IP_DST, ByteOrder.BIG_ENDIAN);
        if (dst != ip)
        {
            stats.rxIgnored++;
            return;
        }
        final int l4Length = total - IP_HLEN;
        switch (frame.getByte(IP_OFFSET + IP_PROTOCOL))
        {
            case PROTO_ICMP -> receiveIcmp(frame, src, l4Length);
            case PROTO_UDP -> receiveUdp(frame, src, dst, l4Length, rxFlags);
            case PROTO_TCP -> receiveTcp(frame, src, dst, l4Length, rxFlags, gsoType, gsoSize);
            default -> stats.rxIgnored++;
        }
    }

    private boolean l4ChecksumHolds(
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

    private void receiveIcmp(final DirectBuffer frame, final int src, final int l4Length)
    {
        if (l4Length < ICMP_HLEN)
        {
            stats.rxMalformed++;
            return;
        }
        if (!InternetChecksum.verify(frame, L4_OFFSET, l4Length, 0))
        {
            stats.checksumErrors++;
            return;
        }
        final int type = frame.getByte(L4_OFFSET) & 0xFF;
        final int identifier = frame.getShort(L4_OFFSET + ICMP_ID, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        final int seq = frame.getShort(L4_OFFSET + ICMP_SEQ, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        final int payload = l4Length - ICMP_HLEN;
        if (type == ICMP_ECHO_REQUEST && L4_OFFSET + l4Length <= CONTROL_FRAME)
        {
            control.putBytes(0, frame, 0, L4_OFFSET + l4Length);
            NetFrames.ethernet(control, getMac(frame, ETH_SRC_OFFSET), mac, ETHERTYPE_IPV4);
            NetFrames.ipv4(control, IP_HLEN + l4Length, ipId++, PROTO_ICMP, ip, src);
            NetFrames.icmpEcho(control, ICMP_ECHO_REPLY, identifier, seq, payload);
            if (send(FLOW_CONTROL, control, L4_OFFSET + l4Length, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
            {
                stats.echoAnswered++;
            }
        }
        else if (type == ICMP_ECHO_REPLY && identifier == pingIdentifier)
        {
            final int slot = seq & (PING_SLOTS - 1);
            if (pingSeqs[slot] != seq)
            {
                stats.rxIgnored++;
                return;
            }
            pingSeqs[slot] = -1;
            final long sentAt = pingSentAt[slot];
            boolean intact = payload == PING_PAYLOAD &&
                frame.getLong(L4_OFFSET + ICMP_HLEN, ByteOrder.BIG_ENDIAN) == sentAt;
            for (int i = 8; intact && i < PING_PAYLOAD; i++)
            {
                intact = frame.getByte(L4_OFFSET + ICMP_HLEN + i) == (byte)(seq * 7 + i);
            }
            if (!intact)
            {
                stats.pingMismatches++;
                return;
            }
            final long rtt = System.nanoTime() - sentAt;
            stats.rttLastNanos = rtt;
            stats.rttTotalNanos += rtt;
            if (rtt < stats.rttMinNanos)
            {
                stats.rttMinNanos = rtt;
            }
            if (rtt > stats.rttMaxNanos)
            {
                stats.rttMaxNanos = rtt;
            }
            stats.pingReplies++;
        }
        else
        {
            stats.rxIgnored++;
        }
    }

    private void receiveUdp(final DirectBuffer frame, final int src, final int dst, final int l4Length,
        final int rxFlags)
    {
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
        if (dport != UDP_STREAM_PORT || null == udpIn || src != peerIp || l4Length < UDP_HLEN + 8)
        {
            stats.rxIgnored++;
            return;
        }
        final int at = L4_OFFSET + UDP_HLEN;
        udpIn.accept(frame, at + 8, frame.getLong(at, ByteOrder.BIG_ENDIAN), l4Length - UDP_HLEN - 8);
    }

    private void receiveTcp(
        final DirectBuffer frame, final int src, final int dst, final int l4Length, final int rxFlags,
        final int gsoType, final int gsoSize)
    {
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
        else if (dport == TCP_STREAM_PORT && sport == STREAM_SOURCE_PORT)
        {
            receiveStreamSegment(frame, headerLength, l4Length - headerLength, gsoType, gsoSize);
        }
        else if (dport == STREAM_SOURCE_PORT && sport == TCP_STREAM_PORT &&
            (frame.getByte(L4_OFFSET + TCP_FLAGS) & TCP_ACK_FLAG) != 0)
        {
            final int ack = frame.getInt(L4_OFFSET + TCP_ACK, ByteOrder.BIG_ENDIAN);
            final long acked = tcpAcked + (ack - (tcpIsnOut + (int)tcpAcked));
            if (acked > tcpAcked && acked <= tcpHighest)
            {
                stats.tcpBytesAcked += acked - tcpAcked;
                tcpAcked = acked;
                lastProgress = System.nanoTime();
                if (tcpNext < tcpAcked)
                {
                    tcpNext = tcpAcked;
                }
            }
        }
        else
        {
            stats.rxIgnored++;
        }
    }

    private void receiveStreamSegment(
        final DirectBuffer frame, final int headerLength, final int payload, final int gsoType, final int gsoSize)
    {
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
