package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;

/**
 * The receiving end of one verified bulk stream ({@link StreamPattern}): checks every byte of every segment
 * against the pattern at the segment's stream offset and keeps count. Nothing is buffered: a segment beyond the
 * highest contiguous offset is verified and counted as a gap, and the sender's retransmission fills it later.
 * <p>
 * Written by the guest's one thread; the counters are volatile so that another thread (a progress line) reads
 * them live.
 */
public final class StreamVerifier
{
    private final long seed;
    private volatile long segments;
    private volatile long bytes;
    private volatile long mismatches;
    private volatile long duplicateBytes;
    private volatile long gaps;
    private volatile long contiguous;
    private volatile long highest;
    private String firstMismatch;

    /**
     * @param seed the stream's seed ({@link StreamPattern#streamSeed}).
     */
    public StreamVerifier(final long seed)
    {
        this.seed = seed;
    }

    /**
     * @return the stream's seed.
     */
    public long seed()
    {
        return seed;
    }

    /**
     * Verifies one segment.
     *
     * @param from         the frame.
     * @param at           where the segment's bytes start.
     * @param streamOffset the stream offset the segment says it carries.
     * @param length       its bytes.
     * @return whether every byte matched.
     */
    public boolean accept(final DirectBuffer from, final int at, final long streamOffset, final int length)
    {
        segments++;
        final int bad = streamOffset < 0 ? 0 : StreamPattern.firstMismatch(from, at, seed, streamOffset, length);
        if (bad >= 0 && length > 0)
        {
            mismatches++;
            if (null == firstMismatch)
            {
                firstMismatch = "stream byte " + (streamOffset + bad) + " (segment at " + streamOffset + ", " +
                    length + " bytes) is " + (from.getByte(at + bad) & 0xFF) + ", expected " +
                    (streamOffset < 0 ? "a non-negative offset" :
                    Integer.toString(StreamPattern.byteAt(seed, streamOffset + bad) & 0xFF));
            }
            return false;
        }
        bytes += length;
        final long end = streamOffset + length;
        final long c = contiguous;
        if (end <= c)
        {
            duplicateBytes += length;
        }
        else if (streamOffset <= c)
        {
            duplicateBytes += c - streamOffset;
            contiguous = end;
        }
        else
        {
            gaps++;
        }
        if (end > highest)
        {
            highest = end;
        }
        return true;
    }

    /**
     * @return segments received (verified or not).
     */
    public long segments()
    {
        return segments;
    }

    /**
     * @return bytes that matched.
     */
    public long bytes()
    {
        return bytes;
    }

    /**
     * @return segments with at least one wrong byte.
     */
    public long mismatches()
    {
        return mismatches;
    }

    /**
     * @return matching bytes received again below the contiguous offset.
     */
    public long duplicateBytes()
    {
        return duplicateBytes;
    }

    /**
     * @return segments that arrived beyond the contiguous offset (something before them is missing).
     */
    public long gaps()
    {
        return gaps;
    }

    /**
     * @return every byte below this offset has arrived and matched.
     */
    public long contiguous()
    {
        return contiguous;
    }

    /**
     * @return the end of the furthest segment that matched.
     */
    public long highest()
    {
        return highest;
    }

    /**
     * @return a description of the first mismatch, or null.
     */
    public String firstMismatch()
    {
        return firstMismatch;
    }
}
