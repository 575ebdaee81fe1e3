package org.dom0j.netback;

import org.agrona.DirectBuffer;

/**
 * The Toeplitz hash as netif.h defines it for {@code XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ} (and as Microsoft's RSS
 * defines it): the key and the input are bit strings read from the most significant bit of their first byte; for
 * every input bit that is set, the 32 key bits starting at that bit's position are XORed into the result. Key bits
 * past the key's end are zero, so a key shorter than the input plus 4 bytes only shortens the window.
 * <p>
 * The hash is linear in its input: the hash of {@code A + B} is the hash of {@code A} XOR the hash of {@code B}
 * placed {@code A.length} bytes into the input ({@link #hash(byte[], int, int, DirectBuffer, int, int)}), so an input
 * made of pieces scattered through a packet (addresses, then ports) is hashed in place, without gathering it.
 * <p>
 * Static and stateless: any thread; no allocation.
 */
final class ToeplitzHash
{
    /** The longest key netback takes (Linux's XEN_NETBK_MAX_HASH_KEY_SIZE). */
    static final int MAX_KEY_LENGTH = 40;

    private ToeplitzHash()
    {
    }

    /**
     * @param key       the key; bytes from {@code keyLength} on count as zero.
     * @param keyLength how many of its bytes are the key (0 to {@code key.length}).
     * @param input     the bytes to hash.
     * @param offset    where they start.
     * @param length    how many.
     * @return the hash.
     */
    static int hash(final byte[] key, final int keyLength, final DirectBuffer input, final int offset, final int length)
    {
        return hash(key, keyLength, 0, input, offset, length);
    }

    /**
     * The contribution of {@code length} bytes that sit {@code position} bytes into the hashed input: XOR the
     * contributions of the pieces of an input to get its hash.
     *
     * @param key       the key; bytes from {@code keyLength} on count as zero.
     * @param keyLength how many of its bytes are the key.
     * @param position  where in the hashed input these bytes are.
     * @param input     the bytes.
     * @param offset    where they start in {@code input}.
     * @param length    how many.
     * @return their contribution to the hash.
     */
    static int hash(
        final byte[] key,
        final int keyLength,
        final int position,
        final DirectBuffer input,
        final int offset,
        final int length)
    {
        // window holds the 64 key bits that start at the current input bit: its top 32 are what a set bit adds.
        long window = 0;
        for (int i = 0; i < 8; i++)
        {
            window = window << 8 | keyByte(key, keyLength, position + i);
        }
        int next = position + 8;
        int result = 0;
        for (int i = 0; i < length; i++)
        {
            final int b = input.getByte(offset + i) & 0xFF;
            for (int bit = 7; bit >= 0; bit--)
            {
                if ((b >>> bit & 1) != 0)
                {
                    result ^= (int)(window >>> 32);
                }
                window <<= 1;
            }
            // Eight bits have left the window: the next key byte enters at the bottom.
            window |= keyByte(key, keyLength, next++);
        }
        return result;
    }

    private static int keyByte(final byte[] key, final int keyLength, final int index)
    {
        return index < keyLength ? key[index] & 0xFF : 0;
    }
}
