package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;

import java.nio.ByteOrder;

/**
 * The Internet checksum of RFC 1071: the ones' complement of the ones' complement sum of 16-bit big-endian words,
 * and the IPv4 pseudo-header sum TCP and UDP include (RFC 793, RFC 768).
 * <p>
 * Sums are kept unfolded in a {@code long} and folded at the end: since 2^16, 2^32 and 2^48 are all 1 modulo
 * 0xFFFF, adding 32-bit big-endian words gives the same folded result as adding 16-bit ones, at half the loads.
 * <p>
 * Stateless: any thread.
 */
public final class InternetChecksum
{
    private InternetChecksum()
    {
    }

    /**
     * Adds bytes to a running sum; an odd final byte counts as the high byte of a word padded with zero.
     *
     * @param sum    the sum so far (0 to start).
     * @param buffer the bytes.
     * @param offset where they start.
     * @param length how many; only the last call of a sum may have an odd length.
     * @return the new, unfolded sum.
     */
    public static long add(final long sum, final DirectBuffer buffer, final int offset, final int length)
    {
        long s = sum;
        int i = 0;
        for (; i + 4 <= length; i += 4)
        {
            s += buffer.getInt(offset + i, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL;
        }
        if (i + 2 <= length)
        {
            s += buffer.getShort(offset + i, ByteOrder.BIG_ENDIAN) & 0xFFFF;
            i += 2;
        }
        if (i < length)
        {
            s += (buffer.getByte(offset + i) & 0xFF) << 8;
        }
        return s;
    }

    /**
     * @param sum an unfolded sum.
     * @return it folded to 16 bits (end-around carries added); 0 only for a sum of zeros.
     */
    public static int fold(final long sum)
    {
        long s = sum;
        while ((s >>> 16) != 0)
        {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return (int)s;
    }

    /**
     * @param sum an unfolded sum over everything the checksum covers, with the checksum field zero.
     * @return the checksum to store: the complement of the folded sum.
     */
    public static int checksum(final long sum)
    {
        return ~fold(sum) & 0xFFFF;
    }

    /**
     * @param buffer the bytes.
     * @param offset where they start.
     * @param length how many.
     * @return their checksum, e.g. of an IPv4 header with its checksum field zero.
     */
    public static int checksum(final DirectBuffer buffer, final int offset, final int length)
    {
        return checksum(add(0, buffer, offset, length));
    }

    /**
     * @param buffer the bytes, checksum field included.
     * @param offset where they start.
     * @param length how many.
     * @param sum    a sum to add first (a pseudo-header's), or 0.
     * @return whether the checksum over them holds (the folded sum is 0xFFFF).
     */
    public static boolean verify(final DirectBuffer buffer, final int offset, final int length, final long sum)
    {
        return fold(add(sum, buffer, offset, length)) == 0xFFFF;
    }

    /**
     * The IPv4 pseudo-header: source, destination, zero, protocol, and the length of the TCP or UDP header and
     * data.
     *
     * @param source      source address.
     * @param destination destination address.
     * @param protocol    6 (TCP) or 17 (UDP).
     * @param length      bytes of TCP or UDP header and data.
     * @return its unfolded sum.
     */
    public static long pseudoHeader(final int source, final int destination, final int protocol, final int length)
    {
        return (source & 0xFFFF_FFFFL) + (destination & 0xFFFF_FFFFL) + protocol + length;
    }

    /**
     * What a sender with checksum offload leaves in the TCP or UDP checksum field (Linux's CHECKSUM_PARTIAL, and
     * what NETTXF_csum_blank announces): the folded pseudo-header sum, not complemented, for the hardware (here the
     * receiver or backend) to finish over the header and data.
     *
     * @param source      source address.
     * @param destination destination address.
     * @param protocol    6 or 17.
     * @param length      bytes of TCP or UDP header and data.
     * @return the partial checksum.
     */
    public static int partial(final int source, final int destination, final int protocol, final int length)
    {
        return fold(pseudoHeader(source, destination, protocol, length));
    }
}
