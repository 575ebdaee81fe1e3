package org.dom0j.blkback;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.blkback.jna.NativeFile;

import java.io.IOException;
import java.nio.ByteOrder;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_DISCARD_SECURE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * A queue's blocking calls on its disk's file ({@link FileStorage}), each answering with a verdict: a request's
 * sectors read or written with one {@code preadv}/{@code pwritev} on the queue's thread (from one contiguous buffer,
 * or from an iovec list of mapped guest pages), {@code fdatasync}, and discard. A failure or a short transfer is an
 * {@link RequestVerdict#IO_ERROR} (logged through {@link QueueErrors}).
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when made.
 */
final class DiskIo
{
    private final NativeFile file;
    private final QueueErrors errors;
    private final UnsafeBuffer iovec = new UnsafeBuffer(BufferUtil.allocateDirectAligned(16, 64));

    /**
     * @param file   the disk's file or block device.
     * @param errors where failures go.
     */
    DiskIo(final NativeFile file, final QueueErrors errors)
    {
        this.file = file;
        this.errors = errors;
    }

    /**
     * @return the disk's file.
     */
    NativeFile file()
    {
        return file;
    }

    /**
     * Reads or writes a request's sectors from or into one contiguous buffer (its bounce pages).
     *
     * @param r       the request.
     * @param address the buffer.
     * @param write   true to write the disk.
     * @return OK, or IO_ERROR.
     */
    RequestVerdict transfer(final BlkifRequest r, final long address, final boolean write)
    {
        final long position = r.sectorNumber() * SECTOR_SIZE;
        final long bytes = r.totalSectors() * SECTOR_SIZE;
        iovec.putLong(0, address, ByteOrder.nativeOrder());
        iovec.putLong(8, bytes, ByteOrder.nativeOrder());
        try
        {
            if (write)
            {
                return file.pwritev(iovec.addressOffset(), 1, position) == bytes ?
                    RequestVerdict.OK : errors.ioError("short write at " + position);
            }
            return file.preadv(iovec.addressOffset(), 1, position) == bytes ?
                RequestVerdict.OK : errors.ioError("short read at " + position);
        }
        catch (final IOException ex)
        {
            return errors.ioError(ex.getMessage());
        }
    }

    /**
     * Reads or writes a request's sectors from or into the buffers of an iovec list (the guest's mapped pages).
     *
     * @param iovecs   the list's address.
     * @param count    its entries.
     * @param position where on the disk.
     * @param bytes    how many bytes the entries hold together.
     * @param write    true to write the disk.
     * @return OK, or IO_ERROR.
     */
    RequestVerdict transfer(final long iovecs, final int count, final long position, final long bytes,
        final boolean write)
    {
        try
        {
            final long done = write ?
                file.pwritev(iovecs, count, position) : file.preadv(iovecs, count, position);
            return done == bytes ? RequestVerdict.OK : errors.ioError("short transfer at " + position);
        }
        catch (final IOException ex)
        {
            return errors.ioError(ex.getMessage());
        }
    }

    /**
     * @return OK once every write the disk has answered is durable, or IO_ERROR.
     */
    RequestVerdict flush()
    {
        try
        {
            file.fdatasync();
            return RequestVerdict.OK;
        }
        catch (final IOException ex)
        {
            return errors.ioError(ex.getMessage());
        }
    }

    /**
     * Punches the discard's hole (files) or discards its range (block devices), securely when it asks.
     *
     * @param r a validated discard.
     * @return OK, or IO_ERROR.
     */
    RequestVerdict discard(final BlkifRequest r)
    {
        try
        {
            file.discard(r.sectorNumber() * SECTOR_SIZE, r.discardNrSectors() * SECTOR_SIZE,
                (r.discardFlag() & BLKIF_DISCARD_SECURE) != 0);
            return RequestVerdict.OK;
        }
        catch (final IOException ex)
        {
            return errors.ioError(ex.getMessage());
        }
    }
}
