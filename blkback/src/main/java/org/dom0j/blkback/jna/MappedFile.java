package org.dom0j.blkback.jna;

import org.dom0j.common.Errno;
import org.dom0j.linux.Linux;
import org.dom0j.linux.LinuxException;

import java.io.IOException;
import java.lang.ref.Cleaner;

/**
 * A disk's page cache seen through a shared mapping of its file, so that a grant copy can take a read's data
 * straight from the cache: one copy, where preadv into bounce pages and a grant copy out of them make two, and no
 * system call per request. Mapped writable (on tmpfs only, see {@link #map}), a grant copy puts a write's data
 * straight into it too.
 * <p>
 * A page that is not cached is read in when it is first touched, and touching a page that cannot be read (an I/O
 * error, a file truncated beneath the mapping, a full tmpfs asked for a page in a hole) raises SIGBUS in whatever
 * touches it. {@link #populate} does the touching in the kernel instead (MADV_POPULATE_READ, Linux 5.14), where
 * such a failure is an error code: a caller populates a range before it copies from it. On Xen the grant copy's
 * own page walk (gntdev's get_user_pages) has the same property; the simulator's copy, a memory copy in Java,
 * relies on the populate.
 * <p>
 * A populate costs about as much as copying the page, so each region (64 KiB, {@link #MIN_REGION_SHIFT}, or more
 * for disks over 1 TiB, so that the bitmap stays under 2 MiB) is populated once, when first used, and remembered.
 * In a hole of a sparse tmpfs file mapped writable, that allocates the region's pages, not just the one written:
 * the file grows by up to 60 KiB more than the guest wrote there, bounded by the disk's size.
 * <p>
 * What populating once misses: a page evicted since (not on tmpfs without swap) that then cannot be read again, a
 * file truncated beneath the mapping, and a hole punched through another mapping of the file (each queue has its
 * own, and forgets only the holes it punched): those still fault, on the simulator. The owner maps afresh after a
 * few GiB populated, which forgets too.
 * <p>
 * Not thread safe: one queue's thread maps, populates and closes it. A mapping dropped without {@link #close} is
 * unmapped by a cleaner.
 */
public final class MappedFile implements AutoCloseable
{
    private static final int PAGE_SHIFT = 12;
    /**
     * The smallest region populated at once: 64 KiB, 16 pages, what the kernel's own read fault maps around the
     * faulting page ({@code fault_around_bytes}). A populate costs a system call and a walk whatever its length, so
     * a region of one page made the first pass over a disk one {@code madvise} per 4 KiB: two queues of 4 KiB random
     * reads over a 256 MiB file spent seconds populating, at 53K requests a second against 445K with 64 KiB regions
     * ({@code dom0j bench blk}, a 2-core KVM guest with shadowed page tables).
     */
    private static final int MIN_REGION_SHIFT = 16;
    /** At most this many regions: a bitmap of 2 MiB. */
    private static final int MAX_REGIONS_SHIFT = 24;

    private final long address;
    private final long length;
    private final boolean writable;
    private final int regionShift;
    private final long[] populated;
    private long populatedBytes;
    private final Cleaner.Cleanable cleanable;

    private MappedFile(final long address, final long length, final boolean writable)
    {
        this.address = address;
        this.length = length;
        this.writable = writable;
        final int bits = 64 - Long.numberOfLeadingZeros(length - 1);
        this.regionShift = Math.max(MIN_REGION_SHIFT, bits - MAX_REGIONS_SHIFT);
        this.populated = new long[(int)(((length - 1) >>> regionShift) / 64 + 1)];
        this.cleanable = IoUring.CLEANER.register(this, () -> Linux.munmap(address, length));
    }

    /**
     * Maps the first {@code length} bytes of a file, after checking that the kernel can populate.
     * <p>
     * Writable only where the page cache is the storage (tmpfs): there a page written through the mapping is just
     * what a write(2) would have left, and a grant copy into it (on Xen, the hypervisor writing a page that gntdev
     * pinned) is safe. On a file system with writeback, data written into a pinned page behind the file system's
     * back is the "DMA into a file page" pattern that ext4 and xfs do not expect.
     *
     * @param file     an open file (its descriptor is not kept: the mapping holds the file on its own).
     * @param length   bytes, more than zero.
     * @param writable map it for writing too; the file must be open for writing and on tmpfs.
     * @return the mapping.
     * @throws IOException when the kernel cannot map the file or has no MADV_POPULATE_READ; the message says which.
     */
    public static MappedFile map(final NativeFile file, final long length, final boolean writable)
        throws IOException
    {
        if (length <= 0)
        {
            throw new IOException("cannot map " + length + " bytes of " + file.path());
        }
        final long address;
        try
        {
            address = Linux.mmap(0, length, writable ? Linux.PROT_READ | Linux.PROT_WRITE : Linux.PROT_READ,
                Linux.MAP_SHARED, file.fd(), 0);
        }
        catch (final LinuxException ex)
        {
            throw new IOException("mmap of " + file.path() + " (" + length + " bytes) failed: " +
                Errno.describe(ex.errno()), ex);
        }
        final MappedFile mapping = new MappedFile(address, length, writable);
        // An empty range checks the advice only: EINVAL before Linux 5.14.
        final int result = Linux.madvise(address, 0, populateAdvice(writable));
        if (result < 0)
        {
            mapping.close();
            throw new IOException("this kernel cannot populate a mapping (MADV_POPULATE_READ, Linux 5.14): " +
                Errno.describe(-result));
        }
        return mapping;
    }

    /**
     * @return where the file's first byte is mapped; not to be used after {@link #close}.
     */
    public long address()
    {
        return address;
    }

    /**
     * @return bytes mapped.
     */
    public long length()
    {
        return length;
    }

    /**
     * @return whether it is mapped for writing too.
     */
    public boolean isWritable()
    {
        return writable;
    }

    /**
     * Makes the pages under {@code [offset, offset + bytes)} present (and, mapped writable, writable: a page in a
     * hole is allocated now), reading them in when they are not cached, so that a copy from or into them does not
     * fault; regions populated before are not populated again.
     *
     * @param offset file offset; with {@code bytes} (more than zero), inside the mapping.
     * @param bytes  how many.
     * @return 0 when they are present, else the errno (EFAULT when one cannot be read or, on a full tmpfs,
     *         allocated; ENOMEM; EINTR).
     */
    public int populate(final long offset, final long bytes)
    {
        final long last = (offset + bytes - 1) >>> regionShift;
        final long missing = firstMissing(offset >>> regionShift, last);
        if (missing < 0)
        {
            return 0;
        }
        final long from = missing << regionShift;
        final long to = Math.min(length, (last + 1) << regionShift);
        if (to - from > 1L << regionShift)
        {
            willNeed(from, to - from);
        }
        final int result = Linux.madvise(address + from, to - from, populateAdvice(writable));
        if (result < 0)
        {
            return -result;
        }
        for (long region = missing; region <= last; region++)
        {
            populated[(int)(region >>> 6)] |= 1L << region;
        }
        populatedBytes += to - from;
        return 0;
    }

    /**
     * @param offset file offset.
     * @param bytes  how many, more than zero; with {@code offset}, inside the mapping.
     * @return whether every region under the range was populated (without populating any).
     */
    public boolean isPopulated(final long offset, final long bytes)
    {
        return firstMissing(offset >>> regionShift, (offset + bytes - 1) >>> regionShift) < 0;
    }

    /**
     * @return the first region of {@code [first, last]} not populated, or -1 when all are.
     */
    private long firstMissing(final long first, final long last)
    {
        for (long region = first; region <= last; region++)
        {
            if ((populated[(int)(region >>> 6)] & (1L << region)) == 0)
            {
                return region;
            }
        }
        return -1;
    }

    /**
     * @return bytes populated since it was mapped: what its page tables have grown with (8 bytes per 4 KiB page).
     */
    public long populatedBytes()
    {
        return populatedBytes;
    }

    /**
     * Forgets that the regions under {@code [offset, offset + bytes)} were populated: a hole was punched there
     * (discard), so their pages are gone from the mapping and must be populated again before a copy touches them.
     *
     * @param offset file offset.
     * @param bytes  how many; what lies past the mapping is ignored.
     */
    public void forget(final long offset, final long bytes)
    {
        if (bytes <= 0 || offset >= length)
        {
            return;
        }
        final long end = Math.min(offset + bytes, length);
        for (long region = offset >>> regionShift, last = (end - 1) >>> regionShift; region <= last; region++)
        {
            populated[(int)(region >>> 6)] &= ~(1L << region);
        }
    }

    /**
     * Populating faults page by page, each miss reading (synchronously) only the pages around it: a range of several
     * regions is first asked for as one readahead, as a preadv of it would have been. Only a hint: its failure
     * changes nothing.
     */
    private void willNeed(final long offset, final long bytes)
    {
        // A failure is ignored: the populate that follows reads the pages anyway.
        Linux.madvise(address + offset, bytes, Linux.MADV_WILLNEED);
    }

    private static int populateAdvice(final boolean writable)
    {
        return writable ? Linux.MADV_POPULATE_WRITE : Linux.MADV_POPULATE_READ;
    }

    /**
     * Unmaps it (and with it the page tables it grew); a second call does nothing.
     */
    @Override
    public void close()
    {
        cleanable.clean();
    }
}
