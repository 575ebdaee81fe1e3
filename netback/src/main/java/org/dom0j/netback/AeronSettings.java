package org.dom0j.netback;

import java.util.List;

/**
 * How the switch joins other hosts' switches over Aeron.
 *
 * @param aeronDirectory an external media driver's directory, or null to embed one in the service (the default).
 * @param subscribe      the channel peers' frames arrive on, e.g. "aeron:udp?endpoint=0.0.0.0:40456" or "aeron:ipc".
 * @param publish        one channel per peer, e.g. "aeron:udp?endpoint=10.1.2.3:40456" (or "aeron:ipc").
 * @param streamId       the stream id on every channel.
 */
public record AeronSettings(String aeronDirectory, String subscribe, List<String> publish, int streamId)
{
    /** The stream id used unless configured. */
    public static final int DEFAULT_STREAM_ID = 0xd0;

    /**
     * @throws IllegalArgumentException when a channel is not an Aeron URI or there is no peer.
     */
    public AeronSettings
    {
        publish = List.copyOf(publish);
        if (!subscribe.startsWith("aeron:") || publish.isEmpty() || publish.stream().anyMatch(c -> !c.startsWith(
            "aeron:")))
        {
            throw new IllegalArgumentException("Aeron channels look like aeron:udp?endpoint=host:port or aeron:ipc; " +
                "subscribe " + subscribe + ", publish " + publish);
        }
    }
}
