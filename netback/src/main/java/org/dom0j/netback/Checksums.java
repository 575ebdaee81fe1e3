package org.dom0j.netback;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

/**
 * The Internet checksum (RFC 1071) over frames in local memory: IPv4 header checksums, TCP and UDP checksums with
 * their IPv4 or IPv6 pseudo-header, and completing a partial checksum ({@code csum_blank}: the field holds the
 * pseudo-header sum and the rest is the receiver's to add), which is what a backend does for a guest that did not
 * ask for checksum offload.
 * <p>
 * Stateless: any thread.
 */
final class Checksums
{
    private Checksums()
    {
    }

    /**
     * @param buffer where the bytes are.
     * @param offset the first byte.
     * @param length how many.
     * @param initial a running sum to add to.
     * @return the 32-bit-or-wider running sum (not folded).
     */
    static long sum(final DirectBuffer buffer, final int offset, final int length, final long initial)
    {
        long sum = initial;
        int i = 0;
        for (; i + 4 <= length; i += 4)
        {
            sum += buffer.getInt(offset + i, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL;
        }
        if (i + 2 <= length)
        {
            sum += buffer.getShort(offset + i, ByteOrder.BIG_ENDIAN) & 0xFFFF;
            i += 2;
        }
        if (i < length)
        {
            sum += (buffer.getByte(offset + i) & 0xFF) << 8;
        }
        return sum;
    }

    /**
     * @param sum a running sum.
     * @return it folded to 16 bits (not complemented).
     */
    static int fold(final long sum)
    {
        long s = (sum & 0xFFFF_FFFFL) + (sum >>> 32);
        s = (s & 0xFFFF) + (s >>> 16);
        s = (s & 0xFFFF) + (s >>> 16);
        s = (s & 0xFFFF) + (s >>> 16);
        return (int)s;
    }

    /**
     * The pseudo-header sum of a TCP or UDP segment.
     *
     * @param buffer    the frame.
     * @param frame     where the frame starts.
     * @param headers   its parsed headers (IPv4 or IPv6).
     * @param l4Length  the L4 header and payload length.
     * @return the running sum.
     */
    static long pseudoHeader(
        final DirectBuffer buffer, final int frame, final PacketHeaders headers, final int l4Length)
    {
        final int l3 = frame + headers.l3Offset();
        long sum;
        if (headers.ipVersion() == 4)
        {
            sum = sum(buffer, l3 + 12, 8, 0);
        }
        else
        {
            sum = sum(buffer, l3 + 8, 32, 0);
        }
        return sum + headers.l4Protocol() + l4Length;
    }

    /**
     * Writes the IPv4 header checksum.
     *
     * @param buffer  the frame.
     * @param frame   where it starts.
     * @param headers its parsed headers (IPv4).
     */
    static void ipv4Header(final MutableDirectBuffer buffer, final int frame, final PacketHeaders headers)
    {
        final int l3 = frame + headers.l3Offset();
        buffer.putShort(l3 + 10, (short)0);
        buffer.putShort(l3 + 10, (short)~fold(sum(buffer, l3, headers.ipHeaderLength(), 0)), ByteOrder.BIG_ENDIAN);
    }

    /**
     * Computes the TCP or UDP checksum from scratch and writes it.
     *
     * @param buffer  the frame, whole.
     * @param frame   where it starts.
     * @param length  its length.
     * @param headers its parsed headers (with a transport header).
     */
    static void transport(
        final MutableDirectBuffer buffer, final int frame, final int length, final PacketHeaders headers)
    {
        final int l4 = frame + headers.l4Offset();
        final int field = l4 + headers.l4ChecksumField();
        final int l4Length = length - headers.l4Offset();
        buffer.putShort(field, (short)0);
        int check = ~fold(sum(buffer, l4, l4Length, pseudoHeader(buffer, frame, headers, l4Length))) & 0xFFFF;
        if (check == 0 && headers.l4Protocol() == PacketHeaders.IPPROTO_UDP)
        {
            check = 0xFFFF;
        }
        buffer.putShort(field, (short)check, ByteOrder.BIG_ENDIAN);
    }

    /**
     * Completes a partial checksum: the field holds the pseudo-header sum; the sum over the L4 header and payload
     * (the field included) is complemented into it.
     *
     * @param buffer  the frame, whole.
     * @param frame   where it starts.
     * @param length  its length.
     * @param headers its parsed headers (with a transport header).
     */
    static void completePartial(
        final MutableDirectBuffer buffer, final int frame, final int length, final PacketHeaders headers)
    {
        final int l4 = frame + headers.l4Offset();
        final int field = l4 + headers.l4ChecksumField();
        int check = ~fold(sum(buffer, l4, length - headers.l4Offset(), 0)) & 0xFFFF;
        if (check == 0 && headers.l4Protocol() == PacketHeaders.IPPROTO_UDP)
        {
            check = 0xFFFF;
        }
        buffer.putShort(field, (short)check, ByteOrder.BIG_ENDIAN);
    }

    /**
     * Writes the pseudo-header sum into the L4 checksum field, as a sender using checksum offload leaves it.
     *
     * @param buffer  the frame.
     * @param frame   where it starts.
     * @param length  its length.
     * @param headers its parsed headers (with a transport header).
     */
    static void partial(
        final MutableDirectBuffer buffer, final int frame, final int length, final PacketHeaders headers)
    {
        final int l4Length = length - headers.l4Offset();
        buffer.putShort(frame + headers.l4Offset() + headers.l4ChecksumField(),
            (short)fold(pseudoHeader(buffer, frame, headers, l4Length)), ByteOrder.BIG_ENDIAN);
    }

    /**
     * @param buffer  the frame, whole.
     * @param frame   where it starts.
     * @param length  its length.
     * @param headers its parsed headers (with a transport header).
     * @return whether its TCP or UDP checksum is right (a UDP checksum of 0 means none, and is right).
     */
    static boolean verifyTransport(
        final DirectBuffer buffer, final int frame, final int length, final PacketHeaders headers)
    {
        final int l4 = frame + headers.l4Offset();
        if (headers.l4Protocol() == PacketHeaders.IPPROTO_UDP &&
            buffer.getShort(l4 + 6, ByteOrder.BIG_ENDIAN) == 0 && headers.ipVersion() == 4)
        {
            return true;
        }
        final int l4Length = length - headers.l4Offset();
        return fold(sum(buffer, l4, l4Length, pseudoHeader(buffer, frame, headers, l4Length))) == 0xFFFF;
    }
}
