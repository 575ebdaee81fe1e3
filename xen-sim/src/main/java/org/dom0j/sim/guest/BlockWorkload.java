package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.protocol.blkif.BlkifConstants;

import java.util.SplittableRandom;

/**
 * Seeded random block I/O, verified as it goes against a shadow model of the disk: what a guest's filesystem
 * test would do, but every byte read is checked. The model keeps a version per 4 KiB block (0: never written,
 * or discarded: reads as zeros); a block's content is a pure function of (seed, block, version), so the model is
 * a long per block and nothing else.
 * <p>
 * Requests in flight never overlap (a block being written or read is not touched by another request until it
 * is answered), so the outcome of every read is defined. Writes are acknowledged before they are flushed; a
 * flush is issued every {@code flushEvery} writes and the model records which versions are durable, for crash
 * tests ({@link #durableVersion}).
 * <p>
 * Not thread safe: the guest's one thread.
 */
public final class BlockWorkload implements SimBlkfront.Completion
{
    private static final int SECTORS_PER_BLOCK = BlkifConstants.SECTORS_PER_PAGE;

    /**
     * Running totals.
     */
    public static final class Stats
    {
        /** Reads answered OK. */
        public long reads;
        /** Writes answered OK. */
        public long writes;
        /** Flushes answered OK. */
        public long flushes;
        /** Discards answered OK. */
        public long discards;
        /** Bytes read and written. */
        public long bytes;
        /** Requests answered with an error status. */
        public long errors;
        /** Blocks whose content differed from the model. */
        public long mismatches;

        /**
         * @return requests answered in all.
         */
        public long operations()
        {
            return reads + writes + flushes + discards + errors;
        }
    }

    private final SimBlkfront front;
    private final SplittableRandom random;
    private final long seed;
    private final long blocks;
    private final int maxBlocksPerRequest;
    private final int flushEvery;
    private final int readPercent;
    private final boolean discard;
    private final long[] version;
    private final long[] durable;
    private final long[] pendingVersion;
    private final boolean[] busy;
    private final long[] tagBlock;
    private final int[] tagCount;
    private final int[] tagKind;
    private final long[] writeVersion;
    private long nextVersion;
    private final Stats stats = new Stats();
    private int writesSinceFlush;
    private boolean flushInFlight;
    private String firstMismatch;

    /**
     * @param front        a connected frontend.
     * @param seed         the seed; print it so a failure can be replayed.
     * @param readPercent  share of reads among reads and writes, 0 to 100.
     * @param maxBlocks    most 4 KiB blocks per request.
     * @param flushEvery   writes between flushes (0: never flush).
     * @param useDiscard   issue discards too (when the backend offers them).
     */
    public BlockWorkload(
        final SimBlkfront front,
        final long seed,
        final int readPercent,
        final int maxBlocks,
        final int flushEvery,
        final boolean useDiscard)
    {
        this.front = front;
        this.seed = seed;
        this.random = new SplittableRandom(seed);
        this.blocks = front.sectors() / SECTORS_PER_BLOCK;
        this.maxBlocksPerRequest =
            Math.max(1, Math.min(maxBlocks, front.maxSectorsPerRequest() / SECTORS_PER_BLOCK));
        this.flushEvery = flushEvery;
        this.readPercent = readPercent;
        this.discard = useDiscard && front.hasDiscard();
        if (blocks > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("disk too large for the shadow model: " + blocks + " blocks");
        }
        version = new long[(int)blocks];
        durable = new long[(int)blocks];
        pendingVersion = new long[(int)blocks];
        busy = new boolean[(int)blocks];
        final int tags = front.queueCount() * front.ringSize();
        tagBlock = new long[tags];
        tagCount = new int[tags];
        tagKind = new int[tags];
        writeVersion = new long[tags];
    }

    /**
     * @return the totals so far.
     */
    public Stats stats()
    {
        return stats;
    }

    /**
     * @return the seed.
     */
    public long seed()
    {
        return seed;
    }

    /**
     * @return a description of the first block that did not match, or null.
     */
    public String firstMismatch()
    {
        return firstMismatch;
    }

    /**
     * Submits as many new requests as the queues take, spread over the queues.
     *
     * @return requests submitted.
     */
    public int submitSome()
    {
        int submitted = 0;
        for (int q = 0; q < front.queueCount(); q++)
        {
            int attempts = 0;
            while (front.canSubmit(q) && attempts++ < 8)
            {
                if (submitOne(q))
                {
                    submitted++;
                }
            }
        }
        return submitted;
    }

    private boolean submitOne(final int q)
    {
        final int tag = freeTag();
        if (tag < 0)
        {
            return false;
        }
        if (flushEvery > 0 && writesSinceFlush >= flushEvery && !flushInFlight && (front.hasFlush() ||
            front.hasBarrier()))
        {
            // Everything answered so far becomes durable when this flush is answered.
            for (int b = 0; b < blocks; b++)
            {
                pendingVersion[b] = version[b];
            }
            flushInFlight = true;
            writesSinceFlush = 0;
            tagKind[tag] = 3;
            front.submitFlush(q, tag);
            return true;
        }
        final int count = 1 + random.nextInt(maxBlocksPerRequest);
        final long first = random.nextLong(blocks - count + 1);
        for (int i = 0; i < count; i++)
        {
            if (busy[(int)(first + i)])
            {
                return false;
            }
        }
        for (int i = 0; i < count; i++)
        {
            busy[(int)(first + i)] = true;
        }
        tagBlock[tag] = first;
        tagCount[tag] = count;
        final int dice = random.nextInt(100);
        if (discard && dice < 2)
        {
            tagKind[tag] = 4;
            front.submitDiscard(q, first * SECTORS_PER_BLOCK, (long)count * SECTORS_PER_BLOCK, tag);
        }
        else if (dice < readPercent || front.isReadOnly())
        {
            tagKind[tag] = 1;
            front.submitRead(q, first * SECTORS_PER_BLOCK, count * SECTORS_PER_BLOCK, tag);
        }
        else
        {
            tagKind[tag] = 2;
            final UnsafeBuffer data = front.nextWriteBuffer(q);
            final long v = ++nextVersion;
            for (int i = 0; i < count; i++)
            {
                fill(data, i * 4096, seed, first + i, v);
            }
            writeVersion[tag] = v;
            front.submitWrite(q, first * SECTORS_PER_BLOCK, count * SECTORS_PER_BLOCK, tag);
        }
        return true;
    }

    private int freeTag()
    {
        for (int t = 0; t < tagKind.length; t++)
        {
            if (tagKind[t] == 0)
            {
                return t;
            }
        }
        return -1;
    }

    @Override
    public void onComplete(final long tag, final int op, final short status, final DirectBuffer data)
    {
        final int t = (int)tag;
        final int kind = tagKind[t];
        tagKind[t] = 0;
        if (kind == 3)
        {
            flushInFlight = false;
            if (status == BlkifConstants.BLKIF_RSP_OKAY)
            {
                stats.flushes++;
                System.arraycopy(pendingVersion, 0, durable, 0, durable.length);
            }
            else
            {
                stats.errors++;
            }
            return;
        }
        final long first = tagBlock[t];
        final int count = tagCount[t];
        for (int i = 0; i < count; i++)
        {
            busy[(int)(first + i)] = false;
        }
        if (status != BlkifConstants.BLKIF_RSP_OKAY)
        {
            stats.errors++;
            return;
        }
        switch (kind)
        {
            case 1 ->
            {
                stats.reads++;
                stats.bytes += count * 4096L;
                for (int i = 0; i < count; i++)
                {
                    verify(data, i * 4096, first + i);
                }
            }
            case 2 ->
            {
                stats.writes++;
                stats.bytes += count * 4096L;
                writesSinceFlush++;
                for (int i = 0; i < count; i++)
                {
                    version[(int)(first + i)] = writeVersion[t];
                }
            }
            case 4 ->
            {
                stats.discards++;
                for (int i = 0; i < count; i++)
                {
                    version[(int)(first + i)] = 0;
                }
            }
            default -> throw new IllegalStateException("completion for a free tag " + tag);
        }
    }

    private void verify(final DirectBuffer data, final int offset, final long block)
    {
        final long v = version[(int)block];
        for (int i = 0; i < 4096; i += 8)
        {
            final long expected = v == 0 ? 0 : word(seed, block, v, i);
            final long actual = data.getLong(offset + i);
            if (expected != actual)
            {
                stats.mismatches++;
                if (null == firstMismatch)
                {
                    firstMismatch = "block " + block + " (version " + v + ") differs at byte " + i + ": expected " +
                        Long.toHexString(expected) + " read " + Long.toHexString(actual) + " (seed " + seed + ")";
                }
                return;
            }
        }
    }

    /**
     * @param block a block.
     * @return the version the last acknowledged flush made durable (0: zeros).
     */
    public long durableVersion(final long block)
    {
        return durable[(int)block];
    }

    /**
     * @param block a block.
     * @return the version last written and acknowledged.
     */
    public long currentVersion(final long block)
    {
        return version[(int)block];
    }

    /**
     * What an unanswered request may have left in a block: a backend that dies with requests in flight may or may
     * not have done them (only answered writes are promised).
     *
     * @param block a block.
     * @return the version an unanswered write to it carries, 0 for an unanswered discard, -1 when no write or
     *         discard of it is in flight.
     */
    public long inFlightVersion(final long block)
    {
        for (int t = 0; t < tagKind.length; t++)
        {
            if ((tagKind[t] == 2 || tagKind[t] == 4) && block >= tagBlock[t] && block < tagBlock[t] + tagCount[t])
            {
                return tagKind[t] == 2 ? writeVersion[t] : 0;
            }
        }
        return -1;
    }

    /**
     * @return blocks in the model.
     */
    public long blocks()
    {
        return blocks;
    }

    /**
     * Fills one 4 KiB block with the content of (seed, block, version).
     *
     * @param to      where.
     * @param offset  at.
     * @param seed    the workload's seed.
     * @param block   the block number.
     * @param version the version.
     */
    public static void fill(
        final UnsafeBuffer to, final int offset, final long seed, final long block, final long version)
    {
        for (int i = 0; i < 4096; i += 8)
        {
            to.putLong(offset + i, word(seed, block, version, i));
        }
    }

    /**
     * @param seed        the seed.
     * @param block       the block.
     * @param version     its version (never 0).
     * @param byteInBlock offset of the word.
     * @return the 8 bytes at that offset.
     */
    public static long word(final long seed, final long block, final long version, final int byteInBlock)
    {
        long z = seed * 0x9E3779B97F4A7C15L + block * 0xBF58476D1CE4E5B9L + version * 0x94D049BB133111EBL +
            byteInBlock;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
