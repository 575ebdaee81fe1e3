package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.Arrays;

import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.sim.guest.NetFrames.*;

/**
 * ICMP echo for a {@link SimNetStack} (RFC 792): answers echo requests, sends pings with 56 bytes of payload (the
 * send time and a pattern of the sequence number) and matches replies to the last 64 pings by sequence number,
 * counting an intact reply with its round trip and a changed payload as a mismatch.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class StackIcmp
{
    private static final int PING_PAYLOAD = 56;
    private static final int PING_SLOTS = 64;

    private final StackLink link;
    private final StackArp arp;
    private final int[] pingSeqs = new int[PING_SLOTS];
    private final long[] pingSentAt = new long[PING_SLOTS];
    private final int pingIdentifier;

    /**
     * @param link how the stack sends.
     * @param arp  resolves ping destinations.
     */
    StackIcmp(final StackLink link, final StackArp arp)
    {
        this.link = link;
        this.arp = arp;
        final int ip = link.ip();
        this.pingIdentifier = (int)(ip ^ (ip >>> 16)) & 0xFFFF;
        Arrays.fill(pingSeqs, -1);
    }

    /**
     * @param dst the address to ping.
     * @param seq the sequence number (16 bits).
     * @return false when the address is not resolved yet or there was no room.
     */
    boolean ping(final int dst, final int seq)
    {
        final long dstMac = arp.resolve(dst);
        if (dstMac < 0)
        {
            return false;
        }
        final UnsafeBuffer control = link.control();
        final long now = System.nanoTime();
        NetFrames.ethernet(control, dstMac, link.mac(), ETHERTYPE_IPV4);
        final int payloadAt = L4_OFFSET + ICMP_HLEN;
        control.putLong(payloadAt, now, ByteOrder.BIG_ENDIAN);
        for (int i = 8; i < PING_PAYLOAD; i++)
        {
            control.putByte(payloadAt + i, (byte)(seq * 7 + i));
        }
        NetFrames.ipv4(control, IP_HLEN + ICMP_HLEN + PING_PAYLOAD, link.nextIpId(1), PROTO_ICMP, link.ip(), dst);
        NetFrames.icmpEcho(control, ICMP_ECHO_REQUEST, pingIdentifier, seq, PING_PAYLOAD);
        if (!link.send(SimNetStack.FLOW_CONTROL, control, L4_OFFSET + ICMP_HLEN + PING_PAYLOAD, 0,
            XEN_NETIF_GSO_TYPE_NONE, 0))
        {
            return false;
        }
        final int slot = seq & (PING_SLOTS - 1);
        pingSeqs[slot] = seq & 0xFFFF;
        pingSentAt[slot] = now;
        link.stats().pingsSent++;
        return true;
    }

    /**
     * Takes a received ICMP message whose IPv4 header was checked.
     *
     * @param frame    the frame at offset 0.
     * @param src      the IPv4 source.
     * @param l4Length bytes of ICMP.
     */
    void receive(final DirectBuffer frame, final int src, final int l4Length)
    {
        final NetStats stats = link.stats();
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
        if (type == ICMP_ECHO_REQUEST && L4_OFFSET + l4Length <= StackLink.CONTROL_FRAME)
        {
            final UnsafeBuffer control = link.control();
            control.putBytes(0, frame, 0, L4_OFFSET + l4Length);
            NetFrames.ethernet(control, getMac(frame, ETH_SRC_OFFSET), link.mac(), ETHERTYPE_IPV4);
            NetFrames.ipv4(control, IP_HLEN + l4Length, link.nextIpId(1), PROTO_ICMP, link.ip(), src);
            NetFrames.icmpEcho(control, ICMP_ECHO_REPLY, identifier, seq, payload);
            if (link.send(SimNetStack.FLOW_CONTROL, control, L4_OFFSET + l4Length, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
            {
                stats.echoAnswered++;
            }
        }
        else if (type == ICMP_ECHO_REPLY && identifier == pingIdentifier)
        {
            receiveReply(frame, seq, payload);
        }
        else
        {
            stats.rxIgnored++;
        }
    }

    private void receiveReply(final DirectBuffer frame, final int seq, final int payload)
    {
        final NetStats stats = link.stats();
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
}
