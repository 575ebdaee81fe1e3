package org.dom0j.blkback;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.blkback.jna.IoUring;
import org.dom0j.common.Errno;

import java.io.IOException;
import java.nio.ByteOrder;
import java.util.logging.Logger;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * The disk through io_uring, shared by the two owners of operations on it: the {@link RequestBatch} (a batch's
 * requests on an {@code O_DIRECT} disk, all in flight at once) and the {@link LargePipeline} (large requests, in
 * flight across passes). It prepares a request's read or write, submits, reaps, and routes each completion to the
 * owner that submitted it (the owner's number in the upper half of the user data, its own tag in the lower).
 * <p>
 * io_uring may be refused when the queue connects (an old kernel, {@code kernel.io_uring_disabled}, seccomp): the
 * queue then reads and writes with preadv/pwritev (logged). If {@code io_uring_enter} itself fails later (an I/O
 * error comes as a completion, not so), io_uring is given up: both owners are told, every request still waiting on
 * it fails, and the queue goes on with preadv/pwritev.
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when made.
 */
final class UringDisk implements IoUring.CompletionHandler
{
    /** Whoever submits operations: told of each completion, and when io_uring is given up. */
    interface Owner
    {
        /**
         * @param tag    what the owner tagged the operation with.
         * @param result bytes moved, or minus an errno.
         */
        void onCompletion(int tag, int result);

        /**
         * io_uring was given up: what the owner still has in flight will never complete.
         *
         * @param message why.
         */
        void onLost(String message);
    }

    /** The owner number of the batch. */
    static final int BATCH = 0;
    /** The owner number of the large-request pipeline. */
    static final int LARGE = 1;

    private static final Logger LOG = Logger.getLogger(UringDisk.class.getName());

    private final String roleName;
    private final DiskIo diskIo;
    private final QueueErrors errors;
    private final Owner[] owners = new Owner[2];
    private final int batchTags;
    private final UnsafeBuffer iovecs;
    private IoUring uring;

    /**
     * Opens io_uring when asked to, room for a whole batch and every large request in flight beside it.
     *
     * @param roleName  the queue's name, for the log.
     * @param engine    {@link IoEngine#URING} to try it, else it stays closed.
     * @param batchTags the most operations the batch has in flight (its entries).
     * @param largeTags the most the pipeline has (its slots).
     * @param diskIo    the disk.
     * @param errors    where failed requests are logged.
     */
    UringDisk(
        final String roleName,
        final IoEngine engine,
        final int batchTags,
        final int largeTags,
        final DiskIo diskIo,
        final QueueErrors errors)
    {
        this.roleName = roleName;
        this.diskIo = diskIo;
        this.errors = errors;
        this.batchTags = batchTags;
        iovecs = new UnsafeBuffer(BufferUtil.allocateDirectAligned((batchTags + largeTags) * 16, 64));
        if (engine == IoEngine.URING)
        {
            try
            {
                uring = IoUring.open(batchTags + largeTags);
            }
            catch (final IOException ex)
            {
                LOG.warning(() -> roleName + ": " + ex.getMessage() + "; this queue reads and writes with preadv");
            }
        }
    }

    /**
     * @param number {@link #BATCH} or {@link #LARGE}.
     * @param owner  told of that owner's completions.
     */
    void owner(final int number, final Owner owner)
    {
        owners[number] = owner;
    }

    /**
     * @return whether io_uring is there (not refused, not given up).
     */
    boolean isOpen()
    {
        return null != uring;
    }

    /**
     * Prepares a request's read or write of one contiguous buffer (submitted by the next {@link #submit}).
     *
     * @param owner   {@link #BATCH} or {@link #LARGE}.
     * @param tag     the owner's tag for it, below its count given when made.
     * @param r       the request.
     * @param address the buffer.
     * @param flags   0, {@link IoUring#IOSQE_IO_DRAIN}, {@link IoUring#IOSQE_ASYNC}.
     */
    void prepare(final int owner, final int tag, final BlkifRequest r, final long address, final int flags)
    {
        final int index = owner == BATCH ? tag : batchTags + tag;
        final long iov = iovecs.addressOffset() + index * 16L;
        iovecs.putLong(index * 16, address, ByteOrder.nativeOrder());
        iovecs.putLong(index * 16 + 8, r.totalSectors() * SECTOR_SIZE, ByteOrder.nativeOrder());
        final long position = r.sectorNumber() * SECTOR_SIZE;
        final long userData = (long)owner << 32 | tag;
        final int fd = diskIo.file().fd();
        if (r.ioOperation() == BLKIF_OP_WRITE)
        {
            uring.prepareWritev(fd, iov, 1, position, userData, flags);
        }
        else
        {
            uring.prepareReadv(fd, iov, 1, position, userData, flags);
        }
    }

    /**
     * Hands what was prepared to the kernel, without waiting.
     */
    void submit()
    {
        try
        {
            uring.submit(0);
        }
        catch (final IOException ex)
        {
            giveUp(ex);
        }
    }

    /**
     * Routes the completions ready now, without waiting.
     */
    void reapReady()
    {
        if (null != uring && uring.ready() > 0)
        {
            uring.reap(this);
        }
    }

    /**
     * Waits for at least one completion and routes every one ready.
     */
    void awaitOne()
    {
        try
        {
            if (uring.ready() == 0)
            {
                uring.submit(1);
            }
            uring.reap(this);
        }
        catch (final IOException ex)
        {
            giveUp(ex);
        }
    }

    /**
     * What a completed read or write of a whole request came to.
     *
     * @param r      the request.
     * @param result its completion's result.
     * @return OK, or IO_ERROR (logged) for an error or a short transfer.
     */
    RequestVerdict outcome(final BlkifRequest r, final int result)
    {
        final boolean write = r.ioOperation() == BLKIF_OP_WRITE;
        final long position = r.sectorNumber() * SECTOR_SIZE;
        if (result < 0)
        {
            return errors.ioError((write ? "pwritev" : "preadv") + " on " + diskIo.file().path() + " at " +
                position + " failed: " + Errno.describe(-result));
        }
        if (result != r.totalSectors() * SECTOR_SIZE)
        {
            return errors.ioError((write ? "short write at " : "short read at ") + position);
        }
        return RequestVerdict.OK;
    }

    @Override
    public void onCompletion(final long userData, final int result)
    {
        owners[(int)(userData >>> 32)].onCompletion((int)userData, result);
    }

    private void giveUp(final IOException ex)
    {
        LOG.warning(() -> roleName + ": " + ex.getMessage() + "; this queue now reads and writes with preadv");
        uring.close();
        uring = null;
        for (final Owner owner : owners)
        {
            if (null != owner)
            {
                owner.onLost(ex.getMessage());
            }
        }
    }

    /**
     * Closes io_uring (the kernel cancels what is still in flight: owners wait for theirs first).
     */
    void close()
    {
        if (null != uring)
        {
            uring.close();
            uring = null;
        }
    }
}
