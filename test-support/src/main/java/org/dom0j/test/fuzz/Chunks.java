package org.dom0j.test.fuzz;

/**
 * Recognisable 512-byte chunks (a disk sector, an eighth of a page), to tell where bytes came from: a chunk is an
 * 8-byte magic naming its owner, an 8-byte label (a sector number, a frame and offset), then 496 bytes that are a
 * function of both. Fill a guest's pages and its disk with chunks of their own magic, and any chunk found later in
 * its pages that is not one of its own, nor zeros, came from somewhere it had no right to read (another guest, a
 * stale buffer of the backend).
 * <p>
 * Stateless; any thread.
 */
public final class Chunks
{
    /** Bytes in a chunk. */
    public static final int SIZE = 512;
    private static final int WORDS = SIZE / 8;

    private Chunks()
    {
    }

    /**
     * Writes one chunk.
     *
     * @param dst    where.
     * @param offset at which byte.
     * @param magic  its owner.
     * @param label  what it is (sector, frame...).
     */
    public static void fill(final byte[] dst, final int offset, final long magic, final long label)
    {
        putLong(dst, offset, magic);
        putLong(dst, offset + 8, label);
        for (int w = 2; w < WORDS; w++)
        {
            putLong(dst, offset + w * 8, word(magic, label, w));
        }
    }

    /**
     * @param src    where.
     * @param offset at which byte.
     * @param magic  the owner expected.
     * @return whether the bytes there are a whole, unaltered chunk of that owner.
     */
    public static boolean isChunkOf(final byte[] src, final int offset, final long magic)
    {
        if (getLong(src, offset) != magic)
        {
            return false;
        }
        final long label = getLong(src, offset + 8);
        for (int w = 2; w < WORDS; w++)
        {
            if (getLong(src, offset + w * 8) != word(magic, label, w))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @param src    where.
     * @param offset at which byte.
     * @return the label of the chunk there (meaningful only when {@link #isChunkOf} holds).
     */
    public static long label(final byte[] src, final int offset)
    {
        return getLong(src, offset + 8);
    }

    /**
     * @param src    where.
     * @param offset at which byte.
     * @return whether the 512 bytes there are all zero.
     */
    public static boolean isZero(final byte[] src, final int offset)
    {
        for (int i = 0; i < SIZE; i++)
        {
            if (src[offset + i] != 0)
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @param src    where.
     * @param offset at which byte.
     * @return the first 16 bytes there in hex, for a message.
     */
    public static String describe(final byte[] src, final int offset)
    {
        final StringBuilder text = new StringBuilder();
        for (int i = 0; i < 16; i++)
        {
            text.append(String.format("%02x", src[offset + i] & 0xFF));
        }
        return text + "...";
    }

    private static long word(final long magic, final long label, final int w)
    {
        long z = magic ^ (label * 0x9E37_79B9_7F4A_7C15L) ^ w;
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    private static void putLong(final byte[] dst, final int offset, final long value)
    {
        for (int i = 0; i < 8; i++)
        {
            dst[offset + i] = (byte)(value >>> (8 * i));
        }
    }

    private static long getLong(final byte[] src, final int offset)
    {
        long value = 0;
        for (int i = 7; i >= 0; i--)
        {
            value = (value << 8) | (src[offset + i] & 0xFF);
        }
        return value;
    }
}
