package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

import static org.dom0j.sim.guest.NetFrames.*;

/**
 * Software TCP segmentation for {@link NetFrames}, as Linux's TCP segmentation offload does it when the device
 * cannot: one MSS-sized TCP/IPv4 segment at a time cut out of a GSO frame built by {@link NetFrames}, its headers
 * copied and redone.
 * <p>
 * Stateless: any thread.
 */
final class TcpSegmenter
{
    private TcpSegmenter()
    {
    }

    /** See {@link NetFrames#segmentCount}. */
    static int segmentCount(final int payload, final int mss)
    {
        return payload == 0 ? 1 : (payload + mss - 1) / mss;
    }

    /** See {@link NetFrames#tcpSegment}. */
    static int tcpSegment(
        final DirectBuffer gso,
        final int length,
        final int mss,
        final int index,
        final MutableDirectBuffer out,
        final boolean partial)
    {
        final int payload = length - TCP_FRAME_HEADERS;
        final int segments = segmentCount(payload, mss);
        if (index < 0 || index >= segments)
        {
            throw new IllegalArgumentException("segment " + index + " of " + segments);
        }
        final int from = index * mss;
        final int size = Math.min(mss, payload - from);
        out.putBytes(0, gso, 0, TCP_FRAME_HEADERS);
        out.putBytes(TCP_FRAME_HEADERS, gso, TCP_FRAME_HEADERS + from, size);
        final int id = gso.getShort(IP_OFFSET + IP_ID, ByteOrder.BIG_ENDIAN) + index;
        final int src = gso.getInt(IP_OFFSET + IP_SRC, ByteOrder.BIG_ENDIAN);
        final int dst = gso.getInt(IP_OFFSET + IP_DST, ByteOrder.BIG_ENDIAN);
        NetFrames.ipv4(out, IP_HLEN + TCP_HLEN + size, id, PROTO_TCP, src, dst);
        final int flags = gso.getByte(L4_OFFSET + TCP_FLAGS) & 0xFF;
        final int last = index == segments - 1 ? flags : flags & ~(TCP_PSH | TCP_FIN);
        out.putInt(L4_OFFSET + TCP_SEQ, gso.getInt(L4_OFFSET + TCP_SEQ, ByteOrder.BIG_ENDIAN) + from,
            ByteOrder.BIG_ENDIAN);
        out.putByte(L4_OFFSET + TCP_FLAGS, (byte)last);
        TransportHeaders.finishL4(out, PROTO_TCP, TCP_CHECKSUM, TCP_HLEN + size, partial);
        return TCP_FRAME_HEADERS + size;
    }
}
