package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;

import java.nio.ByteOrder;

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
 * The parts: {@link StackArp}, {@link StackIcmp}, {@link StackStreamSender} and {@link StackStreamReceiver}, which
 * send through one {@link StackLink}; this class checks Ethernet and IPv4 headers and hands each frame on.
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
    private final NetStats stats = new NetStats();
    private final StackArp arp;
    private final StackIcmp icmp;
    private final StackStreamSender sender;
    private final StackStreamReceiver receiver;

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
        final StackLink link = new StackLink(mac, ip, stats, transmitter);
        this.arp = new StackArp(link);
        this.icmp = new StackIcmp(link, arp);
        this.sender = new StackStreamSender(link, arp, seed, config);
        this.receiver = new StackStreamReceiver(link, arp, sender, seed);
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
        return sender.mss();
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
        sender.open(peer);
        receiver.open(peer);
    }

    /**
     * Stops sending new stream data; what is unacknowledged is still retransmitted, so that {@link #drained()}
     * becomes true.
     */
    public void stopSending()
    {
        sender.stopSending();
    }

    /**
     * @return whether every stream byte sent over TCP was acknowledged.
     */
    public boolean drained()
    {
        return sender.drained();
    }

    /**
     * @return the verifier of the peer's TCP stream to us (null before {@link #openStream}).
     */
    public StreamVerifier tcpReceiver()
    {
        return receiver.tcpIn();
    }

    /**
     * @return the verifier of the peer's UDP stream to us (null before {@link #openStream}).
     */
    public StreamVerifier udpReceiver()
    {
        return receiver.udpIn();
    }

    /**
     * @param address an IPv4 address.
     * @return its MAC from the cache (this stack's own for its own address), or -1 after asking (at most every
     *         100 ms) with an ARP request.
     */
    public long resolve(final int address)
    {
        return arp.resolve(address);
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
        return icmp.ping(dst, seq);
    }

    /**
     * Sends what is due: an acknowledgment of the peer's stream, then stream frames while the window and the
     * frontend have room (at most 64 per call), a UDP datagram after each TCP frame.
     *
     * @return frames sent.
     */
    public int pump()
    {
        return sender.pump(receiver.sendPendingAck() ? 1 : 0);
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
            arp.receive(frame, length);
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
            case PROTO_ICMP -> icmp.receive(frame, src, l4Length);
            case PROTO_UDP -> receiver.receiveUdp(frame, src, dst, l4Length, rxFlags);
            case PROTO_TCP -> receiver.receiveTcp(frame, src, dst, l4Length, rxFlags, gsoType, gsoSize);
            default -> stats.rxIgnored++;
        }
    }
}
