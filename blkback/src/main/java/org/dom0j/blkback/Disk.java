package org.dom0j.blkback;

import org.dom0j.nbd.NbdUri;
import org.dom0j.protocol.blkif.BlkifConstants;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The storage behind one virtual block device, opened once per device from the toolstack's {@code params} and
 * shared by its queues: a regular file or block device of dom0's ({@link FileStorage}), or an NBD export
 * ({@link NbdStorage}: {@code nbd://host[:port]/export} or {@code nbd+unix:///export?socket=/path}). Beside the
 * storage it holds what the toolstack said of the device (read-only, CD-ROM, removable) and the size as last read.
 * <p>
 * What the storage can do decides what the device offers ({@link #canFlush}, {@link #canDiscard},
 * {@link #allowsManyQueues}, {@link #maxTransferBytes}); how its queues reach it is decided once per queue, at
 * connect, by its kind.
 * <p>
 * Thread safety: I/O from any queue's thread; {@link #refreshSize()} from the one queue that watches the size.
 */
public final class Disk implements AutoCloseable
{
    private final Storage storage;
    private final boolean readOnly;
    private final boolean cdrom;
    private final boolean removable;
    private final int physicalSectorSize;
    private final boolean secureDiscard;
    private volatile long sizeBytes;

    private Disk(final Storage storage, final boolean readOnly, final boolean cdrom, final boolean removable)
        throws IOException
    {
        this.storage = storage;
        this.readOnly = readOnly || cdrom || storage.isReadOnly();
        this.cdrom = cdrom;
        this.removable = removable;
        this.physicalSectorSize = storage.physicalBlockSize();
        this.sizeBytes = storage.size();
        this.secureDiscard = !this.readOnly && storage.canSecureDiscard();
    }

    /**
     * @param params    the toolstack's {@code params}: an NBD URI ({@link #namesNbdExport}) or a path.
     * @param readOnly  serve it read-only (mode "r").
     * @param direct    open a file with O_DIRECT (nothing to an export).
     * @param cdrom     device-type cdrom (implies read-only media).
     * @param removable removable media.
     * @return the open disk.
     * @throws IOException when it cannot be opened or sized, or an export cannot be served; the message names the
     *                     path or URI and why.
     * @throws IllegalArgumentException for an NBD URI that is malformed or asks for what is not supported (TLS).
     */
    public static Disk open(
        final String params, final boolean readOnly, final boolean direct, final boolean cdrom,
        final boolean removable) throws IOException
    {
        return namesNbdExport(params) ? openNbd(NbdUri.parse(params), readOnly, cdrom, removable) :
            open(Path.of(params), readOnly, direct, cdrom, removable);
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
        final FileStorage file = FileStorage.open(path, readOnly || cdrom, direct);
        try
        {
            return new Disk(file, readOnly, cdrom, removable);
        }
        catch (final IOException ex)
        {
            file.close();
            throw ex;
        }
    }

    /**
     * Probes the export (one connection: handshake, then hang up); each queue connects on its own later.
     *
     * @param uri       the export.
     * @param readOnly  serve it read-only (mode "r"); a read-only export is served read-only anyway.
     * @param cdrom     device-type cdrom (implies read-only media).
     * @param removable removable media.
     * @return the open disk.
     * @throws IOException when the server cannot be reached or refuses the export, or its block sizes do not fit
     *                     blkif requests.
     */
    public static Disk openNbd(final NbdUri uri, final boolean readOnly, final boolean cdrom, final boolean removable)
        throws IOException
    {
        return new Disk(NbdStorage.probe(uri), readOnly, cdrom, removable);
    }

    /**
     * @param params the toolstack's {@code params}.
     * @return whether it names an NBD export rather than a path: its scheme is {@code nbd}, {@code nbd+unix}, or
     *         one of the TLS schemes ({@code nbds}, {@code nbds+unix}, refused when parsed).
     */
    public static boolean namesNbdExport(final String params)
    {
        final String lower = params.toLowerCase(Locale.ROOT);
        return lower.startsWith("nbd://") || lower.startsWith("nbd+unix://") || lower.startsWith("nbds://") ||
            lower.startsWith("nbds+unix://");
    }

    /**
     * @return where the sectors live (a queue chooses its data path by its kind).
     */
    Storage storage()
    {
        return storage;
    }

    /**
     * @return what it is stored on, for logs: a path, or a URI with what the export offers.
     */
    public String describe()
    {
        return storage.describe();
    }

    /**
     * @return whether a flush has anything to do (a file; an export that offers NBD_CMD_FLUSH): offer
     *         {@code feature-flush-cache}.
     */
    public boolean canFlush()
    {
        return storage.canFlush();
    }

    /**
     * @return whether discards can be passed on (a file; an export that offers NBD_CMD_TRIM).
     */
    public boolean canDiscard()
    {
        return storage.canDiscard();
    }

    /**
     * @return whether the device may have several queues (a file; an export with CAN_MULTI_CONN, whose flushes
     *         cover every connection's writes).
     */
    public boolean allowsManyQueues()
    {
        return storage.allowsManyQueues();
    }

    /**
     * @return the most bytes one request may carry ({@link Long#MAX_VALUE} for a file, an export's maximum payload).
     */
    public long maxTransferBytes()
    {
        return storage.maxTransferBytes();
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
     * @return whether the size may change while the disk is open (a file; an export's is fixed).
     */
    public boolean sizeCanChange()
    {
        return storage.sizeCanChange();
    }

    /**
     * Reads the size again (online resize).
     *
     * @return whether it changed.
     * @throws IOException when it cannot be read.
     */
    public boolean refreshSize() throws IOException
    {
        final long now = storage.size();
        final boolean changed = now != sizeBytes;
        sizeBytes = now;
        return changed;
    }

    @Override
    public void close()
    {
        storage.close();
    }
}
