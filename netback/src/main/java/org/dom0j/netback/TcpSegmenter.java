package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Software TCP segmentation (GSO) for a receiver that did not offer {@code feature-gso-tcpv4}/{@code -tcpv6}: a TCP
 * frame larger than one segment is cut into MSS-sized frames the way a NIC's TSO or the kernel's
 * {@code skb_segment} does: the headers copied to each, the IPv4 total length and identification (incremented per
 * segment) or the IPv6 payload length rewritten, the sequence number advanced, FIN and PSH kept for the last segment
 * only and CWR for the first only, and every checksum computed in full.
 * <p>
 * Owns one scratch segment buffer; one instance per agent; not thread safe. No allocation per frame.
 */
final class TcpSegmenter
{
    /** Receives each segment; valid only during the call. */
    interface SegmentSink
    {
        /**
         * @param segment the segment's bytes at index 0.
         * @param length  its length.
         * @return false to stop (the rest of the frame is dropped).
         */
        boolean onSegment(UnsafeBuffer segment, int length);
    }

    private static final int TCP_FLAG_FIN = 0x01;
    private static final int TCP_FLAG_PSH = 0x08;
    private static final int TCP_FLAG_CWR = 0x80;

    private final UnsafeBuffer segment = new UnsafeBuffer(ByteBuffer.allocateDirect(Frame.MAX_LENGTH + 128));
    private final PacketHeaders segmentHeaders = new PacketHeaders();

    /**
     * @param frame   the whole frame.
     * @param offset  where it starts.
     * @param length  its length.
     * @param headers its parsed headers: IPv4 or IPv6 with a whole TCP header.
     * @param mss     the payload of each segment (the GSO size), at least 1.
     * @param sink    receives the segments in order.
     * @return how many segments were produced, or -1 when the frame cannot be segmented (not TCP over IP).
     */
    int segment(
        final UnsafeBuffer frame, final int offset, final int length, final PacketHeaders headers, final int mss,
        final SegmentSink sink)
    {
        if (headers.ipVersion() == 0 || headers.l4Protocol() != PacketHeaders.IPPROTO_TCP ||
            headers.l4HeaderLength() == 0 || mss <= 0)
        {
            return -1;
        }
        final int headerLength = headers.l4Offset() + headers.l4HeaderLength();
        final int payload = length - headerLength;
        if (payload <= 0)
        {
            return -1;
        }
        final int l3 = headers.l3Offset();
        final int l4 = headers.l4Offset();
        final long seq = frame.getInt(offset + l4 + 4, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL;
        final int flags = frame.getByte(offset + l4 + 13) & 0xFF;
        final int ipId = headers.ipVersion() == 4 ? PacketHeaders.u16(frame, offset + l3 + 4) : 0;
        int done = 0;
        int count = 0;
        while (done < payload)
        {
            final int chunk = Math.min(mss, payload - done);
            final boolean first = done == 0;
            final boolean last = done + chunk == payload;
            segment.putBytes(0, frame, offset, headerLength);
            segment.putBytes(headerLength, frame, offset + headerLength + done, chunk);
            final int segmentLength = headerLength + chunk;
            if (headers.ipVersion() == 4)
            {
                segment.putShort(l3 + 2, (short)(segmentLength - l3), ByteOrder.BIG_ENDIAN);
                segment.putShort(l3 + 4, (short)(ipId + count), ByteOrder.BIG_ENDIAN);
            }
            else
            {
                segment.putShort(l3 + 4, (short)(segmentLength - l3 - 40), ByteOrder.BIG_ENDIAN);
            }
            segment.putInt(l4 + 4, (int)(seq + done), ByteOrder.BIG_ENDIAN);
            int segmentFlags = flags;
            if (!last)
            {
                segmentFlags &= ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
            }
            if (!first)
            {
                segmentFlags &= ~TCP_FLAG_CWR;
            }
            segment.putByte(l4 + 13, (byte)segmentFlags);
            segmentHeaders.parse(segment, 0, headerLength);
            if (headers.ipVersion() == 4)
            {
                Checksums.ipv4Header(segment, 0, segmentHeaders);
            }
            Checksums.transport(segment, 0, segmentLength, segmentHeaders);
            count++;
            done += chunk;
            if (!sink.onSegment(segment, segmentLength))
            {
                break;
            }
        }
        return count;
    }
}
