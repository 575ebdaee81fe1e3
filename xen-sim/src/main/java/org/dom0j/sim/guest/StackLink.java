package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * What the parts of a {@link SimNetStack} share to send: its MAC and IPv4 address, its counters, the one buffer
 * that control frames (ARP, ICMP, TCP acknowledgments) are built in, the IPv4 identification counter, and the
 * {@link SimNetStack.Transmitter}, through which {@link #send} counts every frame handed on or refused.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class StackLink
{
    /** Bytes of the control frame buffer. */
    static final int CONTROL_FRAME = 2048;

    private final long mac;
    private final int ip;
    private final NetStats stats;
    private final SimNetStack.Transmitter transmitter;
    private final UnsafeBuffer control = new UnsafeBuffer(new byte[CONTROL_FRAME]);
    private int ipId;

    /**
     * @param mac         the stack's MAC.
     * @param ip          its IPv4 address.
     * @param stats       its counters.
     * @param transmitter where frames go.
     */
    StackLink(final long mac, final int ip, final NetStats stats, final SimNetStack.Transmitter transmitter)
    {
        this.mac = mac;
        this.ip = ip;
        this.stats = stats;
        this.transmitter = transmitter;
    }

    long mac()
    {
        return mac;
    }

    int ip()
    {
        return ip;
    }

    NetStats stats()
    {
        return stats;
    }

    /**
     * @return the buffer control frames are built in (one at a time: each is sent before the next is built).
     */
    UnsafeBuffer control()
    {
        return control;
    }

    /**
     * @param count identifications to take (a GSO frame takes one per segment).
     * @return the first of them.
     */
    int nextIpId(final int count)
    {
        final int id = ipId;
        ipId += count;
        return id;
    }

    /**
     * Hands a frame to the transmitter and counts it (or counts that there was no room).
     *
     * @param flow    {@code SimNetStack.FLOW_*}.
     * @param frame   the frame at offset 0.
     * @param length  its length.
     * @param flags   NETTXF_* flags.
     * @param gsoType XEN_NETIF_GSO_TYPE_*.
     * @param gsoSize the MSS of a GSO frame, else 0.
     * @return whether it was taken.
     */
    boolean send(
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
}
