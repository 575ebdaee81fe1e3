package org.dom0j.backend;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.ConcurrentCountersManager;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Per-device counters in a memory-mapped file, in Agrona's {@link CountersManager} format, so that another process
 * ({@code dom0j top}) maps the same file and reads them live with a {@link CountersReader}.
 * <pre>
 *   0      u32 magic "D0JC" (0x434A3044)     4  u32 version (1)
 *   8      u32 metadata length               12 u32 values length
 *   4096   metadata buffer (512 bytes per counter: state, type id, key, label)
 *   4096 + metadata length: values buffer (128 bytes per counter)
 * </pre>
 * <b>Threads</b>: counters are allocated and freed by the conductor, and by agents that open devices of their own
 * (the primary consoles), so the manager is a {@link ConcurrentCountersManager}; any agent may update the counters
 * it was given (each {@code AtomicCounter} is written by one thread); readers in other processes only read.
 */
public final class CountersFile implements AutoCloseable
{
    /** "D0JC" little-endian. */
    public static final int MAGIC = 0x434A_3044;
    /** Layout version. */
    public static final int VERSION = 1;
    /** Where the metadata buffer starts. */
    public static final int HEADER_LENGTH = 4096;

    private final Path path;
    private final MappedByteBuffer mapped;
    private final CountersManager manager;
    private final CountersReader reader;

    private CountersFile(final Path path, final MappedByteBuffer mapped, final boolean writable)
    {
        this.path = path;
        this.mapped = mapped;
        final UnsafeBuffer whole = new UnsafeBuffer(mapped);
        if (whole.getInt(0) != MAGIC || whole.getInt(4) != VERSION)
        {
            IoUtil.unmap(mapped);
            throw new IllegalStateException(path + " is not a dom0j counters file");
        }
        final int metadataLength = whole.getInt(8);
        final int valuesLength = whole.getInt(12);
        final UnsafeBuffer metadata = new UnsafeBuffer(whole, HEADER_LENGTH, metadataLength);
        final UnsafeBuffer values = new UnsafeBuffer(whole, HEADER_LENGTH + metadataLength, valuesLength);
        if (writable)
        {
            manager = new ConcurrentCountersManager(metadata, values, StandardCharsets.US_ASCII);
            reader = manager;
        }
        else
        {
            manager = null;
            reader = new CountersReader(metadata, values, StandardCharsets.US_ASCII);
        }
    }

    /**
     * Creates (or truncates) a counters file with room for {@code maxCounters} counters.
     *
     * @param path        e.g. /dev/shm/dom0j-counters.
     * @param maxCounters how many counters may exist at once.
     * @return the file, writable.
     */
    public static CountersFile create(final Path path, final int maxCounters)
    {
        if (maxCounters <= 0)
        {
            throw new IllegalArgumentException("maxCounters must be positive: " + maxCounters);
        }
        final int valuesLength = maxCounters * CountersReader.COUNTER_LENGTH;
        final int metadataLength = maxCounters * CountersReader.METADATA_LENGTH;
        final long length = (long)HEADER_LENGTH + metadataLength + valuesLength;
        try
        {
            Files.deleteIfExists(path);
            final MappedByteBuffer mapped;
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE))
            {
                mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, length);
            }
            final UnsafeBuffer header = new UnsafeBuffer(mapped);
            header.putInt(8, metadataLength);
            header.putInt(12, valuesLength);
            header.putInt(4, VERSION);
            // Release: a reader that sees the magic sees the lengths.
            header.putIntRelease(0, MAGIC);
            return new CountersFile(path, mapped, true);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("create counters file " + path, ex);
        }
    }

    /**
     * Maps an existing counters file for reading, from any process.
     *
     * @param path the file.
     * @return the file, read-only ({@link #manager()} is null).
     */
    public static CountersFile openForReading(final Path path)
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            // READ_WRITE so Agrona's volatile reads work on the mapping; a reader never writes.
            return new CountersFile(path, channel.map(FileChannel.MapMode.READ_WRITE, 0, channel.size()), false);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("open counters file " + path, ex);
        }
    }

    /**
     * @return the file.
     */
    public Path path()
    {
        return path;
    }

    /**
     * @return the manager that allocates and frees counters, or null when opened for reading.
     */
    public CountersManager manager()
    {
        return manager;
    }

    /**
     * @return a reader over the counters.
     */
    public CountersReader reader()
    {
        return reader;
    }

    /**
     * Unmaps the file (the file itself stays for readers to find; the creator deletes it when it is done).
     */
    @Override
    public void close()
    {
        IoUtil.unmap(mapped);
    }
}
