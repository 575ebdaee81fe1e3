package org.dom0j.sim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.ToIntFunction;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

import static org.dom0j.sim.SimDomainDescriptor.NR_GRANT_ENTRIES;

/**
 * The pin ledgers of one domain's grants: each process keeps, in {@code pins.<pid>} beside the domain's control
 * file, one word per grant counting its own pins as {@code ACTIVE_PINS} counts them. They are what gntdev and the
 * grant copy hypercall would give back if the process died: the pins of a dead process are given back
 * ({@link #drainDead}), and a grant's count can be rebuilt from the live processes' ledgers ({@link #liveSum}).
 * <p>
 * Threads: callers hold the domain's lock.
 */
final class SimPinLedgers
{
    private final Path directory;
    private final int pid;
    private MappedByteBuffer map;
    private UnsafeBuffer mine;

    /**
     * @param directory the domain's directory.
     * @param pid       this process.
     */
    SimPinLedgers(final Path directory, final int pid)
    {
        this.directory = directory;
        this.pid = pid;
    }

    /**
     * Counts pins taken (positive) or released (negative) by this process.
     *
     * @param ref   a grant ref.
     * @param delta in {@code ACTIVE_PINS} units.
     */
    void add(final int ref, final int delta)
    {
        final UnsafeBuffer ledger = mine();
        ledger.putIntVolatile(ref * Integer.BYTES, ledger.getInt(ref * Integer.BYTES) + delta);
    }

    /**
     * @param ref a grant ref.
     * @return the pins of it that this process and the other live processes hold, as their ledgers say.
     */
    int liveSum(final int ref)
    {
        int pins = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "pins.*"))
        {
            for (final Path file : files)
            {
                final int owner = owner(file);
                if (owner == pid)
                {
                    pins += mine().getIntVolatile(ref * Integer.BYTES);
                }
                else if (owner > 0 && SimHost.isAlive(owner))
                {
                    final MappedByteBuffer theirs = IoUtil.mapExistingFile(file.toFile(), "sim pins");
                    try
                    {
                        final UnsafeBuffer ledger = new UnsafeBuffer(theirs);
                        if ((ref + 1) * Integer.BYTES <= ledger.capacity())
                        {
                            pins += ledger.getIntVolatile(ref * Integer.BYTES);
                        }
                    }
                    finally
                    {
                        IoUtil.unmap(theirs);
                    }
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("pins in " + directory, ex);
        }
        return pins;
    }

    /**
     * Hands each dead process's ledger to {@code giveBack}, then deletes it.
     *
     * @param giveBack gives a dead process's pins back; returns how many.
     * @return how many pins were given back in all.
     */
    int drainDead(final ToIntFunction<UnsafeBuffer> giveBack)
    {
        int released = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "pins.*"))
        {
            for (final Path file : files)
            {
                final int owner = owner(file);
                if (owner <= 0 || owner == pid || SimHost.isAlive(owner))
                {
                    continue;
                }
                final MappedByteBuffer dead = IoUtil.mapExistingFile(file.toFile(), "sim pins");
                try
                {
                    released += giveBack.applyAsInt(new UnsafeBuffer(dead));
                }
                finally
                {
                    IoUtil.unmap(dead);
                }
                Files.deleteIfExists(file);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("pins of dead processes in " + directory, ex);
        }
        return released;
    }

    /**
     * Unmaps this process's ledger, and deletes it when it holds nothing.
     */
    void close()
    {
        if (null != map)
        {
            boolean held = false;
            for (int ref = 0; ref < NR_GRANT_ENTRIES && !held; ref++)
            {
                held = mine.getIntVolatile(ref * Integer.BYTES) != 0;
            }
            IoUtil.unmap(map);
            map = null;
            mine = null;
            if (!held)
            {
                IoUtil.deleteIfExists(directory.resolve("pins." + pid).toFile());
            }
        }
    }

    private UnsafeBuffer mine()
    {
        if (null == mine)
        {
            // An old file of a dead process that had this pid keeps its counts: they are given back with ours.
            map = IoUtil.mapNewFile(directory.resolve("pins." + pid).toFile(), (long)NR_GRANT_ENTRIES * Integer.BYTES,
                false);
            mine = new UnsafeBuffer(map);
        }
        return mine;
    }

    private static int owner(final Path file)
    {
        try
        {
            return Integer.parseInt(file.getFileName().toString().substring("pins.".length()));
        }
        catch (final NumberFormatException ex)
        {
            return -1;
        }
    }
}
