package org.dom0j.test.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The random choices of a hostile guest, from one seed: plain draws, the integers that break careless code
 * (0, -1, powers of two and their neighbours, the limits of each width), shared-ring indices that run ahead, fall
 * behind or wrap, and xenstore values that are almost right (out of range, signed, hex, padded, too long, not
 * numbers at all). Everything comes from one {@link SplittableRandom}, so the same seed gives the same guest.
 * <p>
 * Not thread safe: one case, one thread.
 */
public final class Hostile
{
    private static final long[] INTERESTING = {
        0, 1, 2, 3, 7, 8, 11, 12, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 511, 512, 1023, 1024, 4095, 4096,
        4097, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 0x1_0000_0000L,
        Long.MAX_VALUE, Long.MIN_VALUE, -1, -2, -4096 };

    private final SplittableRandom random;
    private final long seed;

    /**
     * @param seed the case's seed.
     */
    public Hostile(final long seed)
    {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    /**
     * @return the seed this generator started from.
     */
    public long seed()
    {
        return seed;
    }

    /**
     * @param bound exclusive, positive.
     * @return 0 to bound - 1.
     */
    public int nextInt(final int bound)
    {
        return random.nextInt(bound);
    }

    /**
     * @param from inclusive.
     * @param to   inclusive.
     * @return from to to.
     */
    public int between(final int from, final int to)
    {
        return (int)(from + random.nextLong((long)to - from + 1));
    }

    /**
     * @return any int.
     */
    public int nextInt()
    {
        return random.nextInt();
    }

    /**
     * @return any long.
     */
    public long nextLong()
    {
        return random.nextLong();
    }

    /**
     * @param bound exclusive, positive.
     * @return 0 to bound - 1.
     */
    public long nextLong(final long bound)
    {
        return random.nextLong(bound);
    }

    /**
     * @return a coin toss.
     */
    public boolean nextBoolean()
    {
        return random.nextBoolean();
    }

    /**
     * @param percent 0 to 100.
     * @return true with that chance.
     */
    public boolean chance(final int percent)
    {
        return random.nextInt(100) < percent;
    }

    /**
     * @param values choices.
     * @param <T>    their type.
     * @return one of them.
     */
    @SafeVarargs
    public final <T> T pick(final T... values)
    {
        return values[random.nextInt(values.length)];
    }

    /**
     * @param values choices.
     * @param <T>    their type.
     * @return one of them.
     */
    public <T> T pick(final List<T> values)
    {
        return values.get(random.nextInt(values.size()));
    }

    /**
     * @param values choices.
     * @return one of them.
     */
    public int pickInt(final int... values)
    {
        return values[random.nextInt(values.length)];
    }

    /**
     * @param length how many.
     * @return random bytes.
     */
    public byte[] bytes(final int length)
    {
        final byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)random.nextInt(256);
        }
        return bytes;
    }

    /**
     * @return a value that breaks careless code: a limit, a power of two or a neighbour of one, give or take a
     *         little.
     */
    public long interestingLong()
    {
        final long v = INTERESTING[random.nextInt(INTERESTING.length)];
        return switch (random.nextInt(4))
        {
            case 0 -> v - 1;
            case 1 -> v + 1;
            default -> v;
        };
    }

    /**
     * @return {@link #interestingLong()} cut to an int.
     */
    public int interestingInt()
    {
        return (int)interestingLong();
    }

    /**
     * @param max the largest valid value.
     * @return mostly a value from 0 to max, sometimes just past it, sometimes an interesting value.
     */
    public long aroundRange(final long max)
    {
        return switch (random.nextInt(10))
        {
            case 0 -> max + 1 + random.nextInt(3);
            case 1 -> interestingLong();
            case 2 -> max;
            default -> random.nextLong(max + 1);
        };
    }

    /**
     * A producer index a hostile frontend might publish, other than the next honest one.
     *
     * @param consumed what the other end has surely consumed (e.g. the shared {@code rsp_prod}).
     * @param size     the ring's size.
     * @return an index far ahead, behind, wrapped, or random.
     */
    public int wildIndex(final int consumed, final int size)
    {
        return switch (random.nextInt(6))
        {
            case 0 -> consumed + 2 * size + 1 + random.nextInt(1 << 20);
            case 1 -> consumed - 1 - random.nextInt(1 << 20);
            case 2 -> consumed + 0x8000_0000;
            case 3 -> consumed + size + 1 + random.nextInt(size);
            case 4 -> consumed - random.nextInt(size + 1);
            default -> random.nextInt();
        };
    }

    /**
     * Whether a producer index is certainly impossible for a ring whose consumer has answered up to
     * {@code consumed} and may have taken at most {@code size} more: {@code index - consumed} is at least
     * {@code 2 * size + 1}, unsigned, so {@code RING_REQUEST_PROD_OVERFLOW} holds whatever the other end's private
     * index is.
     *
     * @param index    the published index.
     * @param consumed the shared consumer-side index (e.g. {@code rsp_prod}) read before.
     * @param size     the ring's size.
     * @return true when the index must be refused.
     */
    public static boolean certainlyOverflows(final int index, final int consumed, final int size)
    {
        return Integer.compareUnsigned(index - consumed, 2 * size + 1) >= 0;
    }

    /**
     * @param good an honest value.
     * @return a dishonest one.
     */
    public String mutatedValue(final String good)
    {
        return switch (random.nextInt(18))
        {
            case 0 -> "";
            case 1 -> "-" + good;
            case 2 -> "+" + good;
            case 3 -> " " + good;
            case 4 -> good + "\n";
            case 5 -> good + "x";
            case 6 -> "0x" + good;
            case 7 -> "0" + good;
            case 8 -> "99999999999999999999";
            case 9 -> Long.toString(interestingLong());
            case 10 -> Long.toUnsignedString(interestingLong());
            case 11 -> "9".repeat(between(10, 12));
            case 12 -> longString(between(100, 4000));
            case 13 -> new String(bytes(between(1, 16)), StandardCharsets.ISO_8859_1);
            case 14 -> "\u00e9\u20ac" + good;
            case 15 -> good + good;
            case 16 -> Integer.toString(between(0, 64));
            default -> Long.toString(random.nextLong(1L << 33));
        };
    }

    /**
     * @param length characters.
     * @return printable junk of that length.
     */
    public String longString(final int length)
    {
        final StringBuilder text = new StringBuilder(length);
        for (int i = 0; i < length; i++)
        {
            text.append((char)('!' + random.nextInt(94)));
        }
        return text.toString();
    }
}
