package org.dom0j.blkback;

import org.dom0j.blkback.jna.MappedFile;
import org.dom0j.blkback.jna.NativeFile;

import java.io.IOException;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.PAGE_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * The disk's page cache as the grant-copy path sees it: a shared mapping of the disk's file ({@link MappedFile}),
 * from which a read's grant copy takes its data straight (and on tmpfs into which a write's grant copy puts it), one
 * copy and no system call per request. This class decides which requests go that way ({@link #admit}: the one
 * place the choice between the mapping and bounce pages is made, by the request and by what {@link PageCacheChoice}
 * measured of each way on this machine) and keeps the mapping fit for use:
 * <ul>
 *   <li>populated: a request's pages are populated before it is admitted, so a page that cannot be read fails the
 *       populate (and the request goes through bounce pages, which report the error) instead of faulting;</li>
 *   <li>renewed: mapped afresh once {@link #REMAP_BYTES} have been populated through it, which frees the page tables
 *       it grew;</li>
 *   <li>resized: mapped afresh at the disk's new size after an online resize;</li>
 *   <li>forgetful: a discard's hole must be populated again before it is copied from.</li>
 * </ul>
 * A window that is off (the map data path, an {@code O_DIRECT} disk, {@code --no-map-page-cache}, a disk on NBD, a
 * kernel that cannot map or populate, an empty disk or one over {@link #MAX_MAPPED_BYTES}) admits nothing: every
 * request goes through bounce pages.
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when it maps.
 */
final class PageCacheWindow
{
    /**
     * Bytes populated through the mapping after which it is mapped afresh: unmapping frees the page tables the
     * mapping grew (8 bytes per 4 KiB page populated), so that they stay under 8 MiB per queue however much of a
     * large disk the guest touches.
     */
    static final long REMAP_BYTES = 4L << 30;
    /**
     * The largest disk whose page cache a queue maps (each queue maps the whole disk, and 47 bits of address space
     * are shared by every queue of the process); a larger one goes through bounce pages.
     */
    static final long MAX_MAPPED_BYTES = 1L << 40;

    private static final Logger LOG = Logger.getLogger(PageCacheWindow.class.getName());

    private final String roleName;
    private final Disk disk;
    private final NativeFile file;
    private final boolean enabled;
    private boolean mapWrites;
    private MappedFile mapping;
    private long remapBytes = REMAP_BYTES;
    private int maps;
    private PageCacheChoice choice = PageCacheChoice.byDefault();
    private long populateNanos;

    /**
     * @param roleName the queue's name, for the log.
     * @param disk     the disk.
     * @param file     its file, or null when it has none (an NBD export: the window is off).
     * @param enabled  whether to map it at all: the grant-copy path through the page cache (not {@code O_DIRECT}),
     *                 with the mapping asked for. Writes are mapped too when the disk is a writable file on tmpfs.
     */
    PageCacheWindow(final String roleName, final Disk disk, final NativeFile file, final boolean enabled)
    {
        this.roleName = roleName;
        this.disk = disk;
        this.file = file;
        this.enabled = enabled && null != file;
        if (this.enabled)
        {
            try
            {
                mapWrites = !disk.isReadOnly() && file.isOnTmpfs();
            }
            catch (final IOException ex)
            {
                LOG.warning(() -> roleName + ": " + ex.getMessage() + "; writes go through pwritev");
            }
            map();
        }
    }

    /**
     * Whether a validated read or write is served through the mapping: inside it, a read (or, mapped writable, a
     * write), and its pages present (read in or allocated now when they were not). A page that cannot be leaves the
     * request to bounce pages and preadv or pwritev, which report the error. A large read of pages not populated
     * yet, off tmpfs, is not admitted when it could be streamed through io_uring instead: populating would read
     * them from the disk on the queue's thread, where io_uring's workers read them while the queue goes on (its
     * completion populates them, {@link #populated}, for the next time).
     *
     * @param r         a read or write that passed validation.
     * @param canStream whether a large request would be streamed instead ({@link LargePipeline#isOpen}).
     * @return true to copy it straight from (or into) the page cache, false for bounce pages.
     */
    boolean admit(final BlkifRequest r, final boolean canStream)
    {
        if (null == mapping)
        {
            return false;
        }
        final long position = r.sectorNumber() * SECTOR_SIZE;
        final long bytes = r.totalSectors() * SECTOR_SIZE;
        // The measured choice is for small requests. A large one turned away would be streamed through io_uring,
        // outside any batch, so the trial of bounce pages would never measure it (and never end); and through the
        // mapping it is one copy where bounce pages make two (9.3K against 4.7-5.2K 1 MiB requests a second here).
        if (bytes < LargePipeline.PIPELINE_BYTES && !choice.useMapping())
        {
            return false;
        }
        if ((r.ioOperation() != BLKIF_OP_READ && !mapping.isWritable()) || bytes <= 0 ||
            position + bytes > mapping.length())
        {
            return false;
        }
        if (canStream && bytes >= LargePipeline.PIPELINE_BYTES && !mapping.isWritable() &&
            !mapping.isPopulated(position, bytes))
        {
            return false;
        }
        if (mapping.isPopulated(position, bytes))
        {
            return true;
        }
        // Populating is the mapping's cost too (on a hypervisor that shadows page tables, most of it), paid here,
        // before the batch is timed: it is added to the batch's time for the choice (which only a measured choice
        // wants: the default reads no clock for it).
        if (!choice.isMeasured())
        {
            return mapping.populate(position, bytes) == 0;
        }
        final long started = System.nanoTime();
        final boolean populated = mapping.populate(position, bytes) == 0;
        populateNanos += System.nanoTime() - started;
        return populated;
    }

    /**
     * @return whether it wants each batch's time ({@link #batchServed}): mapped, and choosing by measuring. Where
     *         the clock has no vDSO (a PV dom0 whose hypervisor reports no stable TSC) each reading is a system call.
     */
    boolean timesBatches()
    {
        return null != mapping && choice.isMeasured();
    }

    /**
     * Told after each batch served while {@link #timesBatches}, how long it took and how its requests went: what
     * {@link PageCacheChoice} measures the mapping and bounce pages by (busy time per page served, whichever way
     * each request went in the batch).
     *
     * @param mappedRequests  requests served through the mapping.
     * @param mappedBytes     their bytes.
     * @param bouncedRequests requests served through bounce pages.
     * @param bouncedBytes    their bytes.
     * @param nanos           how long the batch took, from its first grant copy to its last answer (the populates of
     *                        its mapped requests, made as they were admitted, are added).
     */
    void batchServed(
        final int mappedRequests,
        final long mappedBytes,
        final int bouncedRequests,
        final long bouncedBytes,
        final long nanos)
    {
        final boolean before = choice.useMapping();
        choice.record((mappedBytes + bouncedBytes + PAGE_SIZE - 1) / PAGE_SIZE, nanos + populateNanos,
            System.nanoTime());
        populateNanos = 0;
        if (before != choice.useMapping() && LOG.isLoggable(Level.FINE))
        {
            LOG.fine(roleName + ": now through " + (choice.useMapping() ? "the page-cache mapping" : "bounce pages") +
                String.format(" (busy ns per page: mapping %.0f, bounce pages %.0f)", choice.mappedNanosPerPage(),
                choice.bounceNanosPerPage()));
        }
    }

    /**
     * For tests: how the window chooses between the mapping and bounce pages.
     *
     * @param choice e.g. {@link PageCacheChoice#alwaysMapped()}.
     */
    void choice(final PageCacheChoice choice)
    {
        this.choice = choice;
    }

    /**
     * @return how the window chooses between the mapping and bounce pages.
     */
    PageCacheChoice choice()
    {
        return choice;
    }

    /**
     * @return whether requests may be admitted now (the window is mapped).
     */
    boolean isMapped()
    {
        return null != mapping;
    }

    /**
     * @param position a file offset inside the mapping.
     * @return its address in the mapping.
     */
    long address(final long position)
    {
        return mapping.address() + position;
    }

    /**
     * A read through bounce pages brought {@code [position, position + bytes)} into the page cache: remembered as
     * populated, so that the next read of it is admitted.
     *
     * @param position file offset.
     * @param bytes    how many.
     */
    void populated(final long position, final long bytes)
    {
        if (null != mapping && position + bytes <= mapping.length())
        {
            mapping.populate(position, bytes);
        }
    }

    /**
     * A discard punched a hole: its pages leave the mapping, and a copy must not touch them before they are
     * populated again.
     *
     * @param position file offset.
     * @param bytes    how many.
     */
    void forget(final long position, final long bytes)
    {
        if (null != mapping)
        {
            mapping.forget(position, bytes);
        }
    }

    /**
     * The disk changed size: maps it afresh at the new size.
     */
    void resize()
    {
        if (enabled)
        {
            map();
        }
    }

    /**
     * Maps afresh once {@link #REMAP_BYTES} (or what {@link #remapEvery} set) have been populated through the
     * mapping. Reading populated pages again grows nothing and renews nothing.
     */
    void renewIfDue()
    {
        if (null != mapping && mapping.populatedBytes() >= remapBytes)
        {
            map();
        }
    }

    /**
     * Maps the disk's page cache afresh at the disk's current size, dropping the old mapping and the page tables it
     * grew. Without a mapping (a kernel that cannot, an empty disk, one over {@link #MAX_MAPPED_BYTES}) nothing is
     * admitted.
     */
    private void map()
    {
        close();
        final long size = disk.sizeBytes();
        if (size <= 0 || size > MAX_MAPPED_BYTES)
        {
            return;
        }
        try
        {
            mapping = MappedFile.map(file, size, mapWrites);
            maps++;
        }
        catch (final IOException ex)
        {
            LOG.warning(() -> roleName + ": " + ex.getMessage() + "; this queue now goes through bounce pages");
        }
    }

    /**
     * For tests: how soon the mapping is renewed.
     *
     * @param bytes bytes populated through it after which it is mapped afresh.
     */
    void remapEvery(final long bytes)
    {
        remapBytes = bytes;
    }

    /**
     * @return whether reads are served from the mapping now.
     */
    boolean readsFromPageCache()
    {
        return null != mapping;
    }

    /**
     * @return whether writes are copied straight into the mapping now (a writable disk on tmpfs).
     */
    boolean writesToPageCache()
    {
        return null != mapping && mapping.isWritable();
    }

    /**
     * @return how many times the disk was mapped (renewals and resizes map it again).
     */
    int maps()
    {
        return maps;
    }

    /**
     * Unmaps it; nothing is admitted afterwards.
     */
    void close()
    {
        if (null != mapping)
        {
            mapping.close();
            mapping = null;
        }
    }
}
