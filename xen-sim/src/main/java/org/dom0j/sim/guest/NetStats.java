package org.dom0j.sim.guest;

/**
 * Live counters of one {@link SimNetStack}: written by the guest's one thread (so {@code ++} on a volatile is
 * safe), read by any thread, e.g. for a progress line. The bulk streams' own counters are in their
 * {@link StreamVerifier}s.
 */
public final class NetStats
{
    /** Frames handed to the frontend. */
    public volatile long txFrames;
    /** Bytes of them. */
    public volatile long txBytes;
    /** Frames the frontend had no room for (sent again later). */
    public volatile long txBusy;
    /** Frames received. */
    public volatile long rxFrames;
    /** Bytes of them. */
    public volatile long rxBytes;
    /** Frames for another MAC or IP, or of a protocol the stack does not speak. */
    public volatile long rxIgnored;
    /** Frames too short or with inconsistent lengths or fields. */
    public volatile long rxMalformed;
    /** IPv4 header, ICMP, UDP or TCP checksums that did not hold. */
    public volatile long checksumErrors;
    /** ARP requests for our address answered. */
    public volatile long arpAnswered;
    /** ARP requests sent. */
    public volatile long arpRequests;
    /** ICMP echo requests answered. */
    public volatile long echoAnswered;
    /** Pings sent. */
    public volatile long pingsSent;
    /** Ping replies received for a ping of ours, payload intact. */
    public volatile long pingReplies;
    /** Ping replies whose payload differed from what was sent. */
    public volatile long pingMismatches;
    /** Round trip of the last ping, ns. */
    public volatile long rttLastNanos;
    /** Smallest round trip, ns (Long.MAX_VALUE before the first). */
    public volatile long rttMinNanos = Long.MAX_VALUE;
    /** Largest round trip, ns. */
    public volatile long rttMaxNanos;
    /** Sum of round trips, ns. */
    public volatile long rttTotalNanos;
    /** TCP frames of the bulk stream sent (a GSO frame counts once). */
    public volatile long tcpFramesSent;
    /** GSO frames among them. */
    public volatile long gsoFramesSent;
    /** Stream bytes sent over TCP, retransmissions included. */
    public volatile long tcpBytesSent;
    /** Of those, bytes sent again after a retransmission timeout. */
    public volatile long tcpBytesResent;
    /** Stream bytes the peer acknowledged. */
    public volatile long tcpBytesAcked;
    /** Go-back-N retransmissions (the peer acknowledged nothing for a while). */
    public volatile long retransmits;
    /** UDP datagrams of the bulk stream sent. */
    public volatile long udpDatagramsSent;
    /** Stream bytes sent over UDP. */
    public volatile long udpBytesSent;
    /** GSO frames received. */
    public volatile long gsoFramesReceived;
    /** TCP segments received (each MSS piece of a GSO frame counts). */
    public volatile long tcpSegmentsReceived;
    /** TCP acknowledgments sent. */
    public volatile long acksSent;

    /**
     * @return the mean ping round trip in ns, or 0.
     */
    public long rttMeanNanos()
    {
        final long n = pingReplies;
        return n == 0 ? 0 : rttTotalNanos / n;
    }
}
