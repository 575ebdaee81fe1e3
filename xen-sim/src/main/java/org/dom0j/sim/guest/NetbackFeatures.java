package org.dom0j.sim.guest;

import org.dom0j.xenstore.XenStore;

/**
 * What a network backend offers in its directory, as {@link SimNetfront} reads it once the backend is InitWait (a
 * key missing or not a number reads as 0). Immutable.
 *
 * @param rxCopy                  feature-rx-copy.
 * @param sg                      feature-sg.
 * @param gsoTcpv4                feature-gso-tcpv4.
 * @param gsoTcpv6                feature-gso-tcpv6.
 * @param ipv6CsumOffload         feature-ipv6-csum-offload.
 * @param splitEventChannels      feature-split-event-channels.
 * @param maxQueues               multi-queue-max-queues, 0 when absent.
 * @param ctrlRing                feature-ctrl-ring.
 * @param multicastControl        feature-multicast-control.
 * @param dynamicMulticastControl feature-dynamic-multicast-control.
 * @param xdpHeadroom             feature-xdp-headroom.
 */
public record NetbackFeatures(
    boolean rxCopy,
    boolean sg,
    boolean gsoTcpv4,
    boolean gsoTcpv6,
    boolean ipv6CsumOffload,
    boolean splitEventChannels,
    int maxQueues,
    boolean ctrlRing,
    boolean multicastControl,
    boolean dynamicMulticastControl,
    boolean xdpHeadroom)
{
    /**
     * @param xs          a connection.
     * @param backendPath the backend directory.
     * @return what it offers.
     */
    public static NetbackFeatures read(final XenStore xs, final String backendPath)
    {
        return new NetbackFeatures(
            flag(xs, backendPath, "feature-rx-copy"),
            flag(xs, backendPath, "feature-sg"),
            flag(xs, backendPath, "feature-gso-tcpv4"),
            flag(xs, backendPath, "feature-gso-tcpv6"),
            flag(xs, backendPath, "feature-ipv6-csum-offload"),
            flag(xs, backendPath, "feature-split-event-channels"),
            (int)Math.min(SimNetfront.MAX_QUEUES, readNumber(xs, backendPath + "/multi-queue-max-queues", 0)),
            flag(xs, backendPath, "feature-ctrl-ring"),
            flag(xs, backendPath, "feature-multicast-control"),
            flag(xs, backendPath, "feature-dynamic-multicast-control"),
            flag(xs, backendPath, "feature-xdp-headroom"));
    }

    private static boolean flag(final XenStore xs, final String dir, final String key)
    {
        return readNumber(xs, dir + "/" + key, 0) != 0;
    }

    /**
     * @param xs           a connection.
     * @param path         a key.
     * @param defaultValue what a missing or malformed value reads as.
     * @return the key as a decimal number.
     */
    static long readNumber(final XenStore xs, final String path, final long defaultValue)
    {
        final String v = xs.readOrNull(path);
        if (null == v)
        {
            return defaultValue;
        }
        try
        {
            return Long.parseLong(v.trim());
        }
        catch (final NumberFormatException ex)
        {
            return defaultValue;
        }
    }
}
