package org.dom0j.netback;

import org.agrona.IoUtil;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The frames of one vif as its guest sees them, on their way from {@code dom0j serve} to {@code dom0j capture} in
 * another process: an Agrona ring buffer in a file the capture command creates in serve's capture directory, named
 * after the vif ({@code vif3.0}). serve's agents write a record per frame (both directions); the capture command
 * reads them and writes pcap. The capture command beats the ring's consumer heartbeat; a ring whose heartbeat is
 * older than {@link #STALE_NANOS} is forgotten by serve (the command died). When the ring is full a frame is not
 * captured, and counted.
 * <pre>
 *   file: ring (capacity + Agrona's trailer) | magic u32 | snaplen u32 | dropped u64
 *   record: time (ns, epoch) u64 | original length u32 | direction u32 (0 from the guest, 1 to it) | bytes
 * </pre>
 * <b>Threads</b>: {@link #write} from any of serve's agents; the reading methods from the capture command's thread.
 */
public final class CaptureRing implements AutoCloseable
{
    /** A frame the guest sent. */
    public static final int FROM_GUEST = 0;
    /** A frame for the guest. */
    public static final int TO_GUEST = 1;
    /** The ring's capacity in bytes. */
    public static final int CAPACITY = 4 << 20;
    /** How long serve keeps writing to a ring whose reader has not beaten its heartbeat. */
    public static final long STALE_NANOS = 3_000_000_000L;
    static final int RECORD_HEADER = 16;
    private static final int MAGIC = 0x646A6370;
    private static final int META_OFFSET = CAPACITY + RingBufferDescriptor.TRAILER_LENGTH;
    private static final int META_LENGTH = 64;
    private static final int FRAME_MSG_TYPE = 1;

    private final MappedByteBuffer mapped;
    private final UnsafeBuffer file;
    private final ManyToOneRingBuffer ring;
    private final int snaplen;
    private final long epochNanos = System.currentTimeMillis() * 1_000_000L;
    private final long nanoBase = System.nanoTime();
    private final java.util.concurrent.atomic.AtomicInteger writers = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closing;

    private CaptureRing(final MappedByteBuffer mapped)
    {
        this.mapped = mapped;
        this.file = new UnsafeBuffer(mapped);
        this.ring = new ManyToOneRingBuffer(new UnsafeBuffer(file, 0, META_OFFSET));
        this.snaplen = file.getInt(META_OFFSET + 4, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Creates a ring (the capture command).
     *
     * @param path    serve's capture directory / the vif's name.
     * @param snaplen the most bytes kept of a frame.
     * @return the ring, its heartbeat beaten now.
     */
    public static CaptureRing create(final Path path, final int snaplen)
    {
        try
        {
            Files.deleteIfExists(path);
            final Path temporary = path.resolveSibling(path.getFileName() + ".new");
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE))
            {
                final MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0,
                    META_OFFSET + META_LENGTH);
                final UnsafeBuffer b = new UnsafeBuffer(mapped);
                b.putInt(META_OFFSET + 4, snaplen, ByteOrder.LITTLE_ENDIAN);
                b.putIntVolatile(META_OFFSET, MAGIC);
                Files.move(temporary, path);
                final CaptureRing ring = new CaptureRing(mapped);
                ring.beat();
                return ring;
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("create capture ring " + path, ex);
        }
    }

    /**
     * Opens a ring the capture command created (serve).
     *
     * @param path the ring's file.
     * @return the ring, or null when the file is not a whole capture ring.
     */
    public static CaptureRing open(final Path path)
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            if (channel.size() != META_OFFSET + META_LENGTH)
            {
                return null;
            }
            final MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, META_OFFSET + META_LENGTH);
            final UnsafeBuffer b = new UnsafeBuffer(mapped);
            if (b.getIntVolatile(META_OFFSET) != MAGIC)
            {
                IoUtil.unmap(mapped);
                return null;
            }
            return new CaptureRing(mapped);
        }
        catch (final IOException ex)
        {
            return null;
        }
    }

    /**
     * Captures a frame (any of serve's agents): its local bytes, at most the snap length, with the frame's whole
     * length, so that a frame whose tail is still in the sending guest's grants (a large frame from the guest, split
     * at its headers) is captured truncated, as pcap's captured-length-below-length says, rather than read past its
     * local bytes. A claimed record is always committed or aborted: one left claimed would stop the reader there for
     * good, and every frame after it would be dropped.
     *
     * @param frame     the frame.
     * @param direction {@link #FROM_GUEST} or {@link #TO_GUEST}.
     */
    void write(final Frame frame, final int direction)
    {
        // Counted in and out, so that serve unmaps the file only once no agent is writing to it.
        writers.incrementAndGet();
        try
        {
            if (closing)
            {
                return;
            }
            final int kept = Math.min(Math.min(frame.localLength(), frame.length()), snaplen);
            final int index = ring.tryClaim(FRAME_MSG_TYPE, RECORD_HEADER + kept);
            if (index <= 0)
            {
                file.getAndAddLong(META_OFFSET + 8, 1);
                return;
            }
            boolean committed = false;
            try
            {
                final UnsafeBuffer b = (UnsafeBuffer)ring.buffer();
                b.putLong(index, epochNanos + System.nanoTime() - nanoBase, ByteOrder.LITTLE_ENDIAN);
                b.putInt(index + 8, frame.length(), ByteOrder.LITTLE_ENDIAN);
                b.putInt(index + 12, direction, ByteOrder.LITTLE_ENDIAN);
                b.putBytes(index + RECORD_HEADER, frame.localView(), 0, kept);
                ring.commit(index);
                committed = true;
            }
            finally
            {
                if (!committed)
                {
                    ring.abort(index);
                }
            }
        }
        finally
        {
            writers.decrementAndGet();
        }
    }

    /**
     * @param nowMillis the current time (epoch milliseconds).
     * @return whether the reader has beaten the heartbeat recently.
     */
    boolean isAlive(final long nowMillis)
    {
        return nowMillis - ring.consumerHeartbeatTime() < STALE_NANOS / 1_000_000L;
    }

    /**
     * Beats the heartbeat (the capture command, at least every second).
     */
    public void beat()
    {
        ring.consumerHeartbeatTime(System.currentTimeMillis());
    }

    /**
     * Reads captured frames (the capture command).
     *
     * @param handler receives each record: {@link #recordTime}, {@link #recordLength}, {@link #recordDirection} and
     *                the bytes from {@code index + RECORD_HEADER} to {@code index + length}.
     * @param limit   the most records to read.
     * @return records read.
     */
    public int read(final MessageHandler handler, final int limit)
    {
        return ring.read(handler, limit);
    }

    /**
     * @return frames not captured because the ring was full.
     */
    public long dropped()
    {
        return file.getLongVolatile(META_OFFSET + 8);
    }

    /**
     * @return the most bytes kept of a frame.
     */
    public int snaplen()
    {
        return snaplen;
    }

    /**
     * @param buffer a record's buffer.
     * @param index  its index.
     * @return when the frame was captured, nanoseconds since the epoch.
     */
    public static long recordTime(final org.agrona.DirectBuffer buffer, final int index)
    {
        return buffer.getLong(index, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param buffer a record's buffer.
     * @param index  its index.
     * @return the frame's length on the wire.
     */
    public static int recordLength(final org.agrona.DirectBuffer buffer, final int index)
    {
        return buffer.getInt(index + 8, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param buffer a record's buffer.
     * @param index  its index.
     * @return {@link #FROM_GUEST} or {@link #TO_GUEST}.
     */
    public static int recordDirection(final org.agrona.DirectBuffer buffer, final int index)
    {
        return buffer.getInt(index + 12, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return the bytes before a record's frame.
     */
    public static int recordHeaderLength()
    {
        return RECORD_HEADER;
    }

    /**
     * Unmaps the file once no agent writes to it (writers that come later see it closing and write nothing).
     */
    @Override
    public void close()
    {
        closing = true;
        while (writers.get() != 0)
        {
            Thread.onSpinWait();
        }
        IoUtil.unmap(mapped);
    }
}
