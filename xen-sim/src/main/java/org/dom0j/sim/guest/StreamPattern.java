package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

/**
 * The content of a verified bulk stream: the byte at stream offset {@code o} is a pure function of
 * {@code (seed, o)}, so a receiver checks any segment, in any order, duplicated or not, with nothing but the seed.
 * Each 8-byte word at offset {@code 8k} is a 64-bit mix of {@code (seed, k)} (the finaliser of MurmurHash3), its
 * bytes in little-endian order, so aligned runs are filled and checked a word at a time.
 * <p>
 * Stateless: any thread.
 */
public final class StreamPattern
{
    private StreamPattern()
    {
    }

    /**
     * @param seed  the stream's seed.
     * @param index the word index, {@code offset >>> 3}.
     * @return the 8 bytes of that word, least significant first.
     */
    public static long word(final long seed, final long index)
    {
        long z = seed + index * 0x9E37_79B9_7F4A_7C15L;
        z = (z ^ (z >>> 33)) * 0xFF51_AFD7_ED55_8CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CE_B9FE_1A85_EC53L;
        return z ^ (z >>> 33);
    }

    /**
     * @param seed   the stream's seed.
     * @param offset a stream offset.
     * @return the byte there.
     */
    public static byte byteAt(final long seed, final long offset)
    {
        return (byte)(word(seed, offset >>> 3) >>> ((offset & 7) << 3));
    }

    /**
     * Writes the stream's bytes {@code [streamOffset, streamOffset + length)}.
     *
     * @param to           where.
     * @param at           offset in {@code to}.
     * @param seed         the stream's seed.
     * @param streamOffset the first stream offset.
     * @param length       how many bytes.
     */
    public static void fill(
        final MutableDirectBuffer to, final int at, final long seed, final long streamOffset, final int length)
    {
        int i = 0;
        while (i < length && ((streamOffset + i) & 7) != 0)
        {
            to.putByte(at + i, byteAt(seed, streamOffset + i));
            i++;
        }
        for (; i + 8 <= length; i += 8)
        {
            to.putLong(at + i, word(seed, (streamOffset + i) >>> 3), ByteOrder.LITTLE_ENDIAN);
        }
        for (; i < length; i++)
        {
            to.putByte(at + i, byteAt(seed, streamOffset + i));
        }
    }

    /**
     * @param from         the received bytes.
     * @param at           offset in {@code from}.
     * @param seed         the stream's seed.
     * @param streamOffset the stream offset they claim to be at.
     * @param length       how many bytes.
     * @return the index (from 0) of the first byte that differs, or -1 when all match.
     */
    public static int firstMismatch(
        final DirectBuffer from, final int at, final long seed, final long streamOffset, final int length)
    {
        int i = 0;
        while (i < length && ((streamOffset + i) & 7) != 0)
        {
            if (from.getByte(at + i) != byteAt(seed, streamOffset + i))
            {
                return i;
            }
            i++;
        }
        for (; i + 8 <= length; i += 8)
        {
            if (from.getLong(at + i, ByteOrder.LITTLE_ENDIAN) != word(seed, (streamOffset + i) >>> 3))
            {
                break;
            }
        }
        for (; i < length; i++)
        {
            if (from.getByte(at + i) != byteAt(seed, streamOffset + i))
            {
                return i;
            }
        }
        return -1;
    }

    /**
     * @param seed     the workload's seed, shared by both ends.
     * @param from     the sender's IPv4 address.
     * @param to       the receiver's.
     * @param protocol which stream (6: TCP, 17: UDP).
     * @return the seed of that one stream.
     */
    public static long streamSeed(final long seed, final int from, final int to, final int protocol)
    {
        return word(seed ^ 0x5DEE_CE66_DL, ((long)from << 32 | to & 0xFFFF_FFFFL) ^ (long)protocol << 56);
    }
}
