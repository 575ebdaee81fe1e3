package org.dom0j.console;

import org.agrona.concurrent.status.AtomicCounter;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A console's log file, raw guest output appended, with a size cap: a write that would take the log past
 * {@code maxBytes} first renames it to {@code <log>.1} (replacing the previous one, so the oldest output goes) and
 * starts a new log, so one console never has more than twice the cap on disk however much its guest writes. With
 * no cap the log only grows, as xenconsoled's does (rotation is then logrotate's job).
 * <p>
 * A write that fails (a full disk) is reported once, not for every chunk a chatty guest writes, until a write
 * succeeds again.
 * <p>
 * Not thread safe: the console's agent writes; {@link #close} when the agent no longer does.
 */
final class ConsoleLog implements AutoCloseable
{
    private static final Logger LOG = Logger.getLogger(ConsoleLog.class.getName());

    private final String label;
    private final Path path;
    private final Path rotated;
    private final long maxBytes;
    private final AtomicCounter rotations;
    private FileChannel channel;
    private long size;
    private boolean failing;

    /**
     * Opens the log, appending to what is there.
     *
     * @param label     for messages, e.g. "7" or "7-1".
     * @param path      the log.
     * @param maxBytes  the cap, 0 for none.
     * @param rotations counts rotations.
     * @throws IOException when the log cannot be opened.
     */
    ConsoleLog(final String label, final Path path, final long maxBytes, final AtomicCounter rotations)
        throws IOException
    {
        this.label = label;
        this.path = path;
        this.rotated = path.resolveSibling(path.getFileName() + ".1");
        this.maxBytes = maxBytes;
        this.rotations = rotations;
        channel = open(path);
        size = channel.size();
    }

    private static FileChannel open(final Path path) throws IOException
    {
        return FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    /**
     * @return the log.
     */
    Path path()
    {
        return path;
    }

    /**
     * @return where the previous log goes when this one is full.
     */
    Path rotatedPath()
    {
        return rotated;
    }

    /**
     * Appends bytes, rotating first (as often as needed) when they would not fit under the cap.
     *
     * @param data   the bytes.
     * @param length how many.
     */
    void write(final byte[] data, final int length)
    {
        int done = 0;
        try
        {
            while (done < length)
            {
                if (maxBytes > 0 && size > 0 && size + (length - done) > maxBytes)
                {
                    rotate();
                }
                final int n = maxBytes > 0 ? (int)Math.min(length - done, maxBytes - size) : length - done;
                final ByteBuffer buffer = ByteBuffer.wrap(data, done, n);
                while (buffer.hasRemaining())
                {
                    size += channel.write(buffer);
                }
                done += n;
            }
            failing = false;
        }
        catch (final IOException ex)
        {
            if (!failing)
            {
                failing = true;
                LOG.log(Level.WARNING, "console " + label + ": cannot write " + path + " (reported once until a " +
                    "write succeeds; output meanwhile is not logged)", ex);
            }
        }
    }

    private void rotate() throws IOException
    {
        channel.close();
        try
        {
            Files.move(path, rotated, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            rotations.incrementRelease();
        }
        finally
        {
            // A log that could not be moved is started afresh all the same, so that the cap still holds.
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
            size = 0;
        }
    }

    @Override
    public void close()
    {
        try
        {
            channel.close();
        }
        catch (final IOException ex)
        {
            LOG.log(Level.FINE, "console " + label + ": close " + path, ex);
        }
    }
}
