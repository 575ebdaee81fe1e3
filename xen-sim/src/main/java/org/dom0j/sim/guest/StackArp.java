package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;

import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.sim.guest.NetFrames.*;

/**
 * ARP for a {@link SimNetStack} (RFC 826, IPv4 over Ethernet): answers requests for its own address, learns the
 * sender of every request or reply for it into a cache of 16 entries (the oldest replaced when full), and resolves
 * peers from that cache, broadcasting a request at most every 100 ms while an address is unknown.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class StackArp
{
    private static final int ARP_CACHE_SIZE = 16;
    private static final long ARP_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final StackLink link;
    private final int[] arpIps = new int[ARP_CACHE_SIZE];
    private final long[] arpMacs = new long[ARP_CACHE_SIZE];
    private int arpCount;
    private int arpNext;
    private long lastArpRequest;

    /**
     * @param link how the stack sends.
     */
    StackArp(final StackLink link)
    {
        this.link = link;
    }

    /**
     * @param address an IPv4 address.
     * @return its MAC (see {@link SimNetStack#resolve}), or -1 after asking.
     */
    long resolve(final int address)
    {
        if (address == link.ip())
        {
            return link.mac();
        }
        for (int i = 0; i < arpCount; i++)
        {
            if (arpIps[i] == address)
            {
                return arpMacs[i];
            }
        }
        final NetStats stats = link.stats();
        final long now = System.nanoTime();
        if (stats.arpRequests == 0 || now - lastArpRequest >= ARP_RETRY_NANOS)
        {
            final int length = NetFrames.arp(link.control(), BROADCAST_MAC, ARP_REQUEST, link.mac(), link.ip(), 0,
                address);
            if (link.send(SimNetStack.FLOW_CONTROL, link.control(), length, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
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
     * Takes a received ARP frame.
     *
     * @param frame  the frame at offset 0.
     * @param length its length.
     */
    void receive(final DirectBuffer frame, final int length)
    {
        final NetStats stats = link.stats();
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
        if (tpa != link.ip() || (oper != ARP_REQUEST && oper != ARP_REPLY))
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
            final int n = NetFrames.arp(link.control(), sha, ARP_REPLY, link.mac(), link.ip(), sha, spa);
            if (link.send(SimNetStack.FLOW_CONTROL, link.control(), n, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
            {
                stats.arpAnswered++;
            }
        }
    }
}
