package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.dom0j.protocol.netif.NetifConstants.NETTXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_MAX_TX_SIZE;
import static org.dom0j.sim.guest.NetFrames.*;

/**
 * The sending half of a {@link SimNetStack}'s bulk streams to its peer: TCP frames of 1 to {@code maxSegments}
 * MSS (a random count each; GSO frames when more than one), each followed by a UDP datagram of random size,
 * filled from {@link StreamPattern}. At most a window of unacknowledged TCP bytes is out; after 200 ms without an
 * acknowledgment that moves it, everything unacknowledged goes again (go-back-N). One frame is built at a time in
 * a buffer made once, and stays pending until the transmitter takes it.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class StackStreamSender
{
    private static final long RTO_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final int MAX_FRAMES_PER_PUMP = 64;

    private final StackLink link;
    private final StackArp arp;
    private final long seed;
    private final SimNetStack.Config config;
    private final int mss;
    private final int maxSegments;
    private final UnsafeBuffer bulk = new UnsafeBuffer(new byte[XEN_NETIF_MAX_TX_SIZE + 1]);
    private final SplittableRandom random;

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

    private int pendingLength;
    private int pendingFlow;
    private int pendingFlags;
    private int pendingGsoType;
    private int pendingGsoSize;
    private int pendingPayload;
    private int pendingResent;

    /**
     * @param link   how the stack sends.
     * @param arp    resolves the peer.
     * @param seed   the workload seed.
     * @param config how to send.
     */
    StackStreamSender(final StackLink link, final StackArp arp, final long seed, final SimNetStack.Config config)
    {
        this.link = link;
        this.arp = arp;
        this.seed = seed;
        this.config = config;
        this.mss = config.mtu() - IP_HLEN - TCP_HLEN;
        this.maxSegments = config.gso() ?
            Math.max(1, Math.min(config.maxGsoSegments(), (XEN_NETIF_MAX_TX_SIZE - TCP_FRAME_HEADERS) / mss)) : 1;
        this.random = new SplittableRandom(seed ^ link.ip());
    }

    int mss()
    {
        return mss;
    }

    /**
     * Starts the streams to {@code peer}.
     *
     * @param peer the peer's IPv4 address.
     */
    void open(final int peer)
    {
        peerIp = peer;
        tcpSeedOut = StreamPattern.streamSeed(seed, link.ip(), peer, PROTO_TCP);
        udpSeedOut = StreamPattern.streamSeed(seed, link.ip(), peer, PROTO_UDP);
        tcpIsnOut = (int)StreamPattern.word(tcpSeedOut, -1);
        lastProgress = System.nanoTime();
        streaming = true;
        sending = true;
    }

    void stopSending()
    {
        sending = false;
    }

    /**
     * @return whether every TCP stream byte sent was acknowledged.
     */
    boolean drained()
    {
        return tcpAcked == tcpHighest && pendingLength == 0;
    }

    /**
     * Takes the peer's acknowledgment number.
     *
     * @param ack the acknowledgment number.
     */
    void acknowledge(final int ack)
    {
        final long acked = tcpAcked + (ack - (tcpIsnOut + (int)tcpAcked));
        if (acked > tcpAcked && acked <= tcpHighest)
        {
            link.stats().tcpBytesAcked += acked - tcpAcked;
            tcpAcked = acked;
            lastProgress = System.nanoTime();
            if (tcpNext < tcpAcked)
            {
                tcpNext = tcpAcked;
            }
        }
    }

    /**
     * Sends stream frames while the window and the transmitter have room.
     *
     * @param alreadySent frames this pump already sent (they count against the 64).
     * @return frames sent by this pump, {@code alreadySent} included.
     */
    int pump(final int alreadySent)
    {
        int sent = alreadySent;
        if (!streaming)
        {
            return sent;
        }
        final long peerMac = arp.resolve(peerIp);
        if (peerMac < 0)
        {
            return sent;
        }
        final long now = System.nanoTime();
        if (tcpHighest != tcpAcked && now - lastProgress > RTO_NANOS)
        {
            // Go-back-N: nothing acknowledged for a while; whatever is unacknowledged goes again. A UDP datagram
            // built and not yet sent stays: its bytes are not sent again.
            if (pendingFlow == SimNetStack.FLOW_TCP)
            {
                pendingLength = 0;
            }
            tcpNext = tcpAcked;
            lastProgress = now;
            link.stats().retransmits++;
        }
        while (sent < MAX_FRAMES_PER_PUMP)
        {
            if (pendingLength > 0)
            {
                if (!link.send(pendingFlow, bulk, pendingLength, pendingFlags, pendingGsoType, pendingGsoSize))
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
        final NetStats stats = link.stats();
        if (pendingFlow == SimNetStack.FLOW_TCP)
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
        NetFrames.ethernet(bulk, peerMac, link.mac(), ETHERTYPE_IPV4);
        StreamPattern.fill(bulk, TCP_FRAME_HEADERS, tcpSeedOut, tcpNext, payload);
        NetFrames.ipv4(bulk, IP_HLEN + TCP_HLEN + payload, link.nextIpId(segments), PROTO_TCP, link.ip(), peerIp);
        NetFrames.tcp(bulk, SimNetStack.STREAM_SOURCE_PORT, SimNetStack.TCP_STREAM_PORT, tcpIsnOut + (int)tcpNext, 0,
            TCP_ACK_FLAG | TCP_PSH, (int)TimeUnit.NANOSECONDS.toMillis(System.nanoTime()), TCP_HLEN + payload,
            config.checksumOffload());
        pending(SimNetStack.FLOW_TCP, TCP_FRAME_HEADERS + payload,
            gso ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_NONE, gso ? mss : 0, payload);
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
        NetFrames.ethernet(bulk, peerMac, link.mac(), ETHERTYPE_IPV4);
        final int at = L4_OFFSET + UDP_HLEN;
        bulk.putLong(at, udpNext, ByteOrder.BIG_ENDIAN);
        StreamPattern.fill(bulk, at + 8, udpSeedOut, udpNext, data);
        NetFrames.ipv4(bulk, IP_HLEN + UDP_HLEN + 8 + data, link.nextIpId(1), PROTO_UDP, link.ip(), peerIp);
        NetFrames.udp(bulk, SimNetStack.STREAM_SOURCE_PORT, SimNetStack.UDP_STREAM_PORT, UDP_HLEN + 8 + data,
            config.checksumOffload());
        pending(SimNetStack.FLOW_UDP, at + 8 + data, XEN_NETIF_GSO_TYPE_NONE, 0, data);
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
}
