package org.dom0j.blkback;

import org.dom0j.protocol.blkif.BlkifConstants;

import org.dom0j.blkback.jna.NativeFile;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The storage behind one virtual block device: a regular file (sparse is fine; discard punches holes) or a block
 * device (size from BLKGETSIZE64; discard is BLKDISCARD). Opened once per device; its queues share it, since all
 * its I/O is positional.
 * <p>
 * Thread safety: I/O methods from any queue's thread; {@link #refreshSize()} from the one queue that watches the size.
 */
public final class Disk implements AutoCloseable
{
    private final NativeFile file;
    private final boolean readOnly;
    private final boolean cdrom;
    private final boolean removable;
    private final int sectorSize;
    private final int physicalSectorSize;
    private final boolean secureDiscard;
    private volatile long sizeBytes;

    private Disk(
        final NativeFile file,
        final boolean readOnly,
        final boolean cdrom,
        final boolean removable,
        final int sectorSize,
        final int physicalSectorSize,
        final long sizeBytes)
    {
        this.file = file;
        this.readOnly = readOnly;
        this.cdrom = cdrom;
        this.removable = removable;
        this.sectorSize = sectorSize;
        this.physicalSectorSize = physicalSectorSize;
        this.sizeBytes = sizeBytes;
        this.secureDiscard = !readOnly && file.canSecureDiscard();
    }

    /**
     * @param path      a regular file or a block device.
     * @param readOnly  open and serve it read-only (mode "r").
     * @param direct    use O_DIRECT.
     * @param cdrom     device-type cdrom (implies read-only media).
     * @param removable removable media.
     * @return the open disk.
     * @throws IOException when it cannot be opened or sized; the message names the path and the errno.
     */
    public static Disk open(
        final Path path, final boolean readOnly, final boolean direct, final boolean cdrom, final boolean removable)
        throws IOException
    {
        final NativeFile file = NativeFile.open(path, readOnly || cdrom, direct);
        try
        {
            return new Disk(file, readOnly || cdrom, cdrom, removable,
                file.logicalBlockSize(), file.physicalBlockSize(), file.size());
        }
        catch (final IOException ex)
        {
            file.close();
            throw ex;
        }
    }

    /**
     * @return the backing file.
     */
    public NativeFile file()
    {
        return file;
    }

    /**
     * @return whether secure discard can be offered (a writable block device that can securely erase).
     */
    public boolean canSecureDiscard()
    {
        return secureDiscard;
    }

    /**
     * @return whether writes are refused.
     */
    public boolean isReadOnly()
    {
        return readOnly;
    }

    /**
     * @return size in bytes, as last read.
     */
    public long sizeBytes()
    {
        return sizeBytes;
    }

    /**
     * @return size in 512-byte sectors (the unit of every request), as xenstore's {@code sectors} key wants it
     *         when sector-size is 512.
     */
    public long sectors512()
    {
        return sizeBytes / BlkifConstants.SECTOR_SIZE;
    }

    /**
     * @return the logical sector size, for {@code sector-size}.
     */
    public int sectorSize()
    {
        return sectorSize;
    }

    /**
     * @return the physical sector size, for {@code physical-sector-size}.
     */
    public int physicalSectorSize()
    {
        return physicalSectorSize;
    }

    /**
     * @return the {@code info} bits Linux's blkback writes: VDISK_CDROM 1, VDISK_REMOVABLE 2, VDISK_READONLY 4.
     */
    public int info()
    {
        return (cdrom ? 1 : 0) | (removable ? 2 : 0) | (readOnly ? 4 : 0);
    }

    /**
     * Reads the size again (online resize).
     *
     * @return whether it changed.
     * @throws IOException when it cannot be read.
     */
    public boolean refreshSize() throws IOException
    {
        final long now = file.size();
        final boolean changed = now != sizeBytes;
        sizeBytes = now;
        return changed;
    }

    @Override
    public void close()
    {
        file.close();
    }
}
