package org.dom0j.ring;

import org.agrona.DirectBuffer;
import org.agrona.IoUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * What a backend must remember about its ring for another process to take it over after a crash: the requests it
 * has taken and whose answers the frontend has not seen. It lives in a small file mapped shared (on tmpfs, e.g.
 * {@code /run/dom0j}), so that every store survives the process being killed.
 * <p>
 * Why the shared ring alone is not enough: a response is written into the slot of the oldest unanswered request
 * position, overwriting whatever request was there, and becomes visible only when {@code rsp_prod} is pushed. A
 * process killed between the two has destroyed requests that the frontend still waits for. And a backend that
 * answers out of order (blkback's large requests finish while later small ones are answered) has pushed answers
 * to later requests while earlier ones are still in flight, so "every request after {@code rsp_prod}" is neither the
 * set of unanswered requests nor where they are.
 * <p>
 * So each request taken is recorded here (its ring index and its bytes) before anything can overwrite its slot; when
 * it is answered, the response index is recorded before the response is written; once the response is pushed the
 * record is free. The header keeps {@code req_cons}. {@link #recover} then finds exactly the requests whose answer
 * the frontend has not seen: those in flight, and those answered at or after the shared {@code rsp_prod}.
 * <p>
 * Store order, which is what makes a record trustworthy at any kill point: bytes and index, then the state
 * (release), then {@code req_cons} (release); the answer index and state (release) before the response slot is
 * written (the ring fences stores there). A record whose state was not written yet is not taken; a record in
 * flight at or after the header's {@code req_cons} was being taken and is left to the ring, which still holds it.
 * <p>
 * Not thread safe: the ring's agent owns it. No allocation after construction.
 */
public final class RingJournal implements AutoCloseable
{
    private static final long MAGIC = 0x314A52304D4F44L;
    private static final int HEADER = 64;
    private static final int MAGIC_OFFSET = 0;
    private static final int IDENTITY_OFFSET = 8;
    private static final int SIZE_OFFSET = 16;
    private static final int REQUEST_LENGTH_OFFSET = 20;
    private static final int ENTRIES_OFFSET = 24;
    private static final int REQ_CONS_OFFSET = 28;
    private static final int VALID_OFFSET = 32;
    private static final int STATE = 0;
    private static final int INDEX = 4;
    private static final int ANSWERED_AT = 8;
    private static final int BYTES = 16;
    private static final int FREE = 0;
    private static final int IN_FLIGHT = 1;
    private static final int ANSWERED = 2;

    /** What {@link #recover} found. */
    public static final class Recovery
    {
        private final int reqCons;
        private final int[] entries;

        Recovery(final int reqCons, final int[] entries)
        {
            this.reqCons = reqCons;
            this.entries = entries;
        }

        /**
         * @return the dead process's {@code req_cons}: requests from here on are still in the ring.
         */
        public int reqCons()
        {
            return reqCons;
        }

        int entry(final int i)
        {
            return entries[i];
        }

        int count()
        {
            return entries.length;
        }
    }

    private final Path file;
    private final MappedByteBuffer mapped;
    private final UnsafeBuffer buffer;
    private final int size;
    private final int requestLength;
    private final int entries;
    private final int stride;
    private final int[] free;
    private int freeCount;
    private final int[] answered;
    private int answeredCount;

    private RingJournal(final Path file, final MappedByteBuffer mapped, final int size, final int requestLength)
    {
        this.file = file;
        this.mapped = mapped;
        this.buffer = new UnsafeBuffer(mapped);
        this.size = size;
        this.requestLength = requestLength;
        this.entries = 2 * size;
        this.stride = (BYTES + requestLength + 7) & -8;
        this.free = new int[entries];
        this.answered = new int[entries];
    }

    private static long fileLength(final RingLayout layout)
    {
        return HEADER + 2L * layout.size() * ((BYTES + layout.requestLength() + 7) & -8);
    }

    /**
     * A new, empty journal (an existing file is replaced): for a ring connected afresh.
     *
     * @param file     where it lives.
     * @param layout   the ring's geometry.
     * @param identity what names the ring (frontend, grant references, event channel): a journal is only recovered
     *                 by the same ring.
     * @param reqCons  where the ring starts being consumed (its shared {@code rsp_prod}).
     * @return the journal.
     */
    public static RingJournal create(final Path file, final RingLayout layout, final long identity, final int reqCons)
    {
        try
        {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.deleteIfExists(file);
            final RingJournal journal = new RingJournal(file, map(file, fileLength(layout)), layout.size(),
                layout.requestLength());
            final UnsafeBuffer b = journal.buffer;
            b.putLong(IDENTITY_OFFSET, identity);
            b.putInt(SIZE_OFFSET, layout.size());
            b.putInt(REQUEST_LENGTH_OFFSET, layout.requestLength());
            b.putInt(ENTRIES_OFFSET, journal.entries);
            b.putInt(REQ_CONS_OFFSET, reqCons);
            b.putInt(VALID_OFFSET, 1);
            b.putLongRelease(MAGIC_OFFSET, MAGIC);
            journal.freeCount = 0;
            for (int e = journal.entries - 1; e >= 0; e--)
            {
                journal.free[journal.freeCount++] = e;
            }
            return journal;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("ring journal " + file, ex);
        }
    }

    /**
     * The journal a dead (or stopped) process left for this ring.
     *
     * @param file     where it lives.
     * @param layout   the ring's geometry.
     * @param identity the ring's identity, as given to {@link #create}.
     * @return the journal, or null when there is none, or it is for another ring, or it was given up.
     */
    public static RingJournal openExisting(final Path file, final RingLayout layout, final long identity)
    {
        try
        {
            if (!Files.isRegularFile(file) || Files.size(file) != fileLength(layout))
            {
                return null;
            }
            final RingJournal journal = new RingJournal(file, map(file, fileLength(layout)), layout.size(),
                layout.requestLength());
            final UnsafeBuffer b = journal.buffer;
            if (b.getLongVolatile(MAGIC_OFFSET) != MAGIC || b.getLong(IDENTITY_OFFSET) != identity ||
                b.getInt(SIZE_OFFSET) != layout.size() || b.getInt(REQUEST_LENGTH_OFFSET) != layout.requestLength() ||
                b.getInt(ENTRIES_OFFSET) != journal.entries || b.getIntVolatile(VALID_OFFSET) != 1)
            {
                journal.close();
                return null;
            }
            return journal;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("ring journal " + file, ex);
        }
    }

    private static MappedByteBuffer map(final Path file, final long length) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
            StandardOpenOption.WRITE))
        {
            if (channel.size() < length)
            {
                channel.truncate(length);
                channel.write(java.nio.ByteBuffer.wrap(new byte[1]), length - 1);
            }
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, length);
        }
    }

    /**
     * @return the file.
     */
    public Path file()
    {
        return file;
    }

    /**
     * @return whether records are still being kept (false once more requests were outstanding than it has records
     *         for, which a ring that keeps the protocol cannot cause).
     */
    public boolean isValid()
    {
        return buffer.getIntVolatile(VALID_OFFSET) == 1;
    }

    /**
     * Records a request just copied out of the ring, then {@code req_cons = index + 1}.
     *
     * @param index  the request's ring index.
     * @param src    the private copy.
     * @param offset where it starts.
     * @return the record, to name in {@link #answered}; -1 when the journal was given up.
     */
    public int record(final int index, final DirectBuffer src, final int offset)
    {
        if (freeCount == 0)
        {
            if (isValid())
            {
                // Every record is in use: the journal can no longer say what is unanswered. A restart then falls
                // back to the shared rsp_prod.
                buffer.putIntVolatile(VALID_OFFSET, 0);
            }
            return -1;
        }
        final int e = free[--freeCount];
        final int at = HEADER + e * stride;
        buffer.putBytes(at + BYTES, src, offset, requestLength);
        buffer.putInt(at + INDEX, index);
        buffer.putIntRelease(at + STATE, IN_FLIGHT);
        buffer.putIntRelease(REQ_CONS_OFFSET, index + 1);
        return e;
    }

    /**
     * Notes that the request of record {@code entry} is being answered in response slot {@code responseIndex}; call
     * before the response is written.
     *
     * @param entry         from {@link #record}.
     * @param responseIndex the response's ring index ({@code rsp_prod_pvt}).
     */
    public void answered(final int entry, final int responseIndex)
    {
        if (entry < 0)
        {
            return;
        }
        final int at = HEADER + entry * stride;
        buffer.putInt(at + ANSWERED_AT, responseIndex);
        buffer.putIntRelease(at + STATE, ANSWERED);
        answered[answeredCount++] = entry;
    }

    /**
     * The responses written so far are pushed: their records are free.
     */
    public void pushed()
    {
        for (int i = 0; i < answeredCount; i++)
        {
            final int e = answered[i];
            buffer.putIntRelease(HEADER + e * stride + STATE, FREE);
            free[freeCount++] = e;
        }
        answeredCount = 0;
    }

    /**
     * Finds the requests a dead process took and whose answers the frontend has not seen, and takes the journal over
     * with them in flight.
     *
     * @param rspProd the shared {@code rsp_prod}.
     * @param reqProd the shared {@code req_prod}.
     * @return them, in ring order, or null when the journal does not fit the ring (it is then given up).
     */
    public Recovery recover(final int rspProd, final int reqProd)
    {
        final int reqCons = buffer.getIntVolatile(REQ_CONS_OFFSET);
        if (!isValid() || Integer.compareUnsigned(reqCons - rspProd, entries) > 0 ||
            Integer.compareUnsigned(reqProd - reqCons, size) > 0)
        {
            buffer.putIntVolatile(VALID_OFFSET, 0);
            return null;
        }
        final long[] keyed = new long[entries];
        int count = 0;
        freeCount = 0;
        answeredCount = 0;
        for (int e = entries - 1; e >= 0; e--)
        {
            final int at = HEADER + e * stride;
            final int state = buffer.getIntVolatile(at + STATE);
            final int index = buffer.getInt(at + INDEX);
            final boolean taken = index - reqCons < 0;
            final boolean unseen = state == IN_FLIGHT && taken ||
                state == ANSWERED && buffer.getInt(at + ANSWERED_AT) - rspProd >= 0;
            if (unseen)
            {
                buffer.putIntRelease(at + STATE, IN_FLIGHT);
                keyed[count++] = ((long)(index - reqCons) << 32) | e;
            }
            else
            {
                buffer.putIntRelease(at + STATE, FREE);
                free[freeCount++] = e;
            }
        }
        if (count != reqCons - rspProd)
        {
            buffer.putIntVolatile(VALID_OFFSET, 0);
            return null;
        }
        Arrays.sort(keyed, 0, count);
        final int[] order = new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = (int)keyed[i];
        }
        return new Recovery(reqCons, order);
    }

    /**
     * @param entry a record.
     * @return the ring index of its request.
     */
    public int index(final int entry)
    {
        return buffer.getInt(HEADER + entry * stride + INDEX);
    }

    /**
     * Copies a record's request out.
     *
     * @param entry  a record.
     * @param dst    where to.
     * @param offset where in it.
     */
    public void copyRequest(final int entry, final MutableDirectBuffer dst, final int offset)
    {
        dst.putBytes(offset, buffer, HEADER + entry * stride + BYTES, requestLength);
    }

    /**
     * Unmaps; the file stays, for the next process.
     */
    @Override
    public void close()
    {
        IoUtil.unmap(mapped);
    }

    /**
     * Unmaps and deletes the file: the ring is gone for good.
     */
    public void delete()
    {
        close();
        try
        {
            Files.deleteIfExists(file);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("ring journal " + file, ex);
        }
    }
}
