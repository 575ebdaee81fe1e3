package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.ring.Zeroing;

import java.nio.ByteOrder;

/**
 * The virtio-net header a TAP opened with {@code IFF_VNET_HDR} puts before each frame ({@code struct
 * virtio_net_hdr_v1}, 12 bytes, little-endian on x86), which carries checksum offload and GSO across the TAP so that
 * neither side segments or checksums in software what the other can take whole:
 * <pre>
 *   0      1         2         4          6            8             10            12
 *   +------+---------+---------+----------+------------+-------------+-------------+
 *   |flags |gso_type | hdr_len | gso_size | csum_start | csum_offset | num_buffers |
 *   +------+---------+---------+----------+------------+-------------+-------------+
 * </pre>
 * Netif's offloads map onto it one to one: {@code csum_blank} is {@code NEEDS_CSUM} with the L4 header's place,
 * {@code data_validated} is {@code DATA_VALID}, netif's GSO types TCPV4 and TCPV6 are virtio's TCPV4 (1) and TCPV6
 * (4).
 * <p>
 * Stateless: any thread.
 */
final class VirtioNetHeader
{
    static final int LENGTH = 12;
    static final int FLAGS_OFFSET = 0;
    static final int GSO_TYPE_OFFSET = 1;
    static final int HDR_LEN_OFFSET = 2;
    static final int GSO_SIZE_OFFSET = 4;
    static final int CSUM_START_OFFSET = 6;
    static final int CSUM_OFFSET_OFFSET = 8;
    static final int NUM_BUFFERS_OFFSET = 10;

    static final int F_NEEDS_CSUM = 1;
    static final int F_DATA_VALID = 2;
    static final int GSO_NONE = 0;
    static final int GSO_TCPV4 = 1;
    static final int GSO_TCPV6 = 4;
    static final int GSO_ECN = 0x80;

    private VirtioNetHeader()
    {
    }

    /**
     * Writes the header for a frame going into a TAP.
     *
     * @param header  where (12 bytes).
     * @param frame   the frame (its csum and GSO state).
     * @param headers its parsed headers.
     * @return false when the frame's offload state cannot be expressed (a partial checksum or GSO without a TCP or
     *         UDP header): it must be dropped.
     */
    static boolean encode(final UnsafeBuffer header, final Frame frame, final PacketHeaders headers)
    {
        Zeroing.zero(header, 0, LENGTH);
        int flags = 0;
        if (frame.csum() == Frame.CSUM_PARTIAL || frame.gsoType() != 0)
        {
            if (!headers.hasTransport())
            {
                return false;
            }
            flags = F_NEEDS_CSUM;
            header.putShort(CSUM_START_OFFSET, (short)headers.l4Offset(), ByteOrder.LITTLE_ENDIAN);
            header.putShort(CSUM_OFFSET_OFFSET, (short)headers.l4ChecksumField(), ByteOrder.LITTLE_ENDIAN);
        }
        else if (frame.csum() == Frame.CSUM_VALIDATED)
        {
            flags = F_DATA_VALID;
        }
        header.putByte(FLAGS_OFFSET, (byte)flags);
        if (frame.gsoType() != 0)
        {
            if (headers.l4Protocol() != PacketHeaders.IPPROTO_TCP)
            {
                return false;
            }
            header.putByte(GSO_TYPE_OFFSET, (byte)(frame.gsoType() == 1 ? GSO_TCPV4 : GSO_TCPV6));
            header.putShort(HDR_LEN_OFFSET, (short)(headers.l4Offset() + headers.l4HeaderLength()),
                ByteOrder.LITTLE_ENDIAN);
            header.putShort(GSO_SIZE_OFFSET, (short)frame.gsoSize(), ByteOrder.LITTLE_ENDIAN);
        }
        return true;
    }

    /**
     * Reads the header of a frame that came out of a TAP into the frame's offload state.
     *
     * @param header the 12 bytes.
     * @param frame  the frame, its bytes already set.
     * @return false when the header asks for something netif cannot carry (UDP GSO, or a checksum start that is not
     *         inside the frame): the frame must be dropped.
     */
    static boolean decode(final UnsafeBuffer header, final Frame frame)
    {
        final int flags = header.getByte(FLAGS_OFFSET) & 0xFF;
        final int gsoType = header.getByte(GSO_TYPE_OFFSET) & 0xFF & ~GSO_ECN;
        if ((flags & F_NEEDS_CSUM) != 0)
        {
            final int start = header.getShort(CSUM_START_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            if (start >= frame.length())
            {
                return false;
            }
            frame.csum(Frame.CSUM_PARTIAL);
        }
        else if ((flags & F_DATA_VALID) != 0)
        {
            frame.csum(Frame.CSUM_VALIDATED);
        }
        if (gsoType == GSO_TCPV4 || gsoType == GSO_TCPV6)
        {
            final int size = header.getShort(GSO_SIZE_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            if (size == 0)
            {
                return false;
            }
            frame.gso(gsoType == GSO_TCPV4 ? 1 : 2, size);
        }
        else if (gsoType != GSO_NONE)
        {
            return false;
        }
        return true;
    }
}
