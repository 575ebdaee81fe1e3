package org.dom0j.netback;

/**
 * What a vif's frontend asked for in xenstore when it connected, as Linux's netback reads it
 * ({@code read_xenbus_vif_flags}): each value bounds-checked by {@link NetbackDeviceType}.
 *
 * @param rxNotify    {@code feature-rx-notify}: the frontend notifies when it posts receive buffers. Without it a
 *                    frame may wait only 30 ms for buffers and the queue is never called stalled (as Linux).
 * @param sg          {@code feature-sg}: frames may span several receive slots (needed for GSO and jumbo frames).
 * @param gsoTcpv4    {@code feature-gso-tcpv4}: large TCP/IPv4 frames may be delivered whole, with a GSO extra.
 * @param gsoTcpv6    {@code feature-gso-tcpv6}: the same for TCP/IPv6.
 * @param csumIpv4    not {@code feature-no-csum-offload}: IPv4 TCP/UDP frames may arrive with a partial checksum.
 * @param csumIpv6    {@code feature-ipv6-csum-offload}: the same for IPv6.
 * @param multicastControl {@code request-multicast-control} when the frontend connected.
 * @param xdpHeadroom {@code xdp-headroom}: bytes to leave free before a received frame, 0 to 0x7FFF.
 */
record VifFeatures(
    boolean rxNotify,
    boolean sg,
    boolean gsoTcpv4,
    boolean gsoTcpv6,
    boolean csumIpv4,
    boolean csumIpv6,
    boolean multicastControl,
    int xdpHeadroom)
{
    /** XEN_NETIF_MAX_XDP_HEADROOM (Linux's netif.h). */
    static final int MAX_XDP_HEADROOM = 0x7FFF;

    /**
     * @param gsoType XEN_NETIF_GSO_TYPE_*.
     * @return whether a frame of that GSO type may be delivered whole.
     */
    boolean acceptsGso(final int gsoType)
    {
        return sg && (gsoType == 1 ? gsoTcpv4 : gsoType == 2 && gsoTcpv6);
    }

    /**
     * @param ipVersion 4 or 6.
     * @return whether a partial checksum may be delivered as it is.
     */
    boolean acceptsPartialChecksum(final int ipVersion)
    {
        return ipVersion == 4 ? csumIpv4 : ipVersion == 6 && csumIpv6;
    }
}
