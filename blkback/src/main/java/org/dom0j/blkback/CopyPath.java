package org.dom0j.blkback;

import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * The grant-copy data path (QEMU's; the default): the guest's pages are never mapped, the hypervisor copies between
 * them and memory of ours. Each read or write taken goes one of three ways:
 * <ul>
 *   <li>through the disk's mapped page cache, when the {@link PageCacheWindow} admits it: its grant copy takes the
 *       data straight from (or puts it into) the page cache, in the {@link RequestBatch};</li>
 *   <li>streamed, when it is large and io_uring is there: the {@link LargePipeline} starts it at once in bounce
 *       pages of its own and answers it when it completes;</li>
 *   <li>otherwise in the {@link RequestBatch}, through bounce pages, served with the others of its bite.</li>
 * </ul>
 * Ring order holds across the three: a large request waits for what it overlaps in the batch and in flight, and a
 * batched one for the large requests in flight that it overlaps.
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when made.
 */
final class CopyPath implements ReadWritePath
{
    private final PageCacheWindow window;
    private final DiskIo diskIo;
    private final UringDisk uring;
    private final RequestBatch batch;
    private final LargePipeline pipeline;

    /**
     * @param roleName    the queue's name, for the log.
     * @param ioEngine    io_uring (falls back to preadv/pwritev, logged, when the kernel refuses it) or sync.
     * @param maxSegments the most segments one request may carry.
     * @param diskIo      the disk.
     * @param copier      grant copies requests' data.
     * @param window      the disk's mapped page cache (maybe off).
     * @param responder   answers each request.
     * @param errors      where failures are logged.
     * @param counters    {@code oo_req}.
     */
    CopyPath(
        final String roleName,
        final IoEngine ioEngine,
        final int maxSegments,
        final DiskIo diskIo,
        final GrantCopier copier,
        final PageCacheWindow window,
        final Responder responder,
        final QueueErrors errors,
        final BlkbackCounters counters)
    {
        this.window = window;
        this.diskIo = diskIo;
        uring = new UringDisk(roleName, ioEngine, RequestBatch.BATCH_LIMIT, LargePipeline.LARGE_REQUESTS_IN_FLIGHT,
            diskIo, errors);
        batch = new RequestBatch(maxSegments, uring, diskIo, copier, window, responder, errors, counters);
        pipeline = new LargePipeline(uring, maxSegments, copier, window, responder, errors, counters);
    }

    @Override
    public BlkifRequest readOrWrite(final BlkifRequest r, final RequestVerdict verdict)
    {
        if (verdict != RequestVerdict.OK)
        {
            // Answered in its turn, with the batch.
            return batch.add(r, verdict, false);
        }
        final boolean mapped = window.admit(r, pipeline.isOpen());
        if (!mapped && pipeline.isOpen() && LargePipeline.isLarge(r))
        {
            if (batch.conflicts(r))
            {
                batch.serve();
            }
            if (pipeline.conflicts(r))
            {
                pipeline.awaitAll();
            }
            pipeline.awaitFreeSlot();
            if (pipeline.isOpen())
            {
                return pipeline.start(r);
            }
            // io_uring was given up meanwhile: served in the batch.
        }
        if (pipeline.conflicts(r))
        {
            pipeline.awaitAll();
        }
        return batch.add(r, verdict, mapped);
    }

    @Override
    public void serveTaken()
    {
        batch.serve();
    }

    @Override
    public void drain()
    {
        batch.serve();
        pipeline.awaitAll();
    }

    @Override
    public RequestVerdict transferAlone(final BlkifRequest r, final boolean write)
    {
        return batch.transferAlone(r, write);
    }

    @Override
    public RequestVerdict flush()
    {
        return diskIo.flush();
    }

    @Override
    public RequestVerdict discard(final BlkifRequest r)
    {
        // The hole's pages leave the mapping: a copy must not touch them before they are populated again.
        window.forget(r.sectorNumber() * SECTOR_SIZE, r.discardNrSectors() * SECTOR_SIZE);
        return diskIo.discard(r);
    }

    @Override
    public int startPass()
    {
        window.renewIfDue();
        return pipeline.reap();
    }

    @Override
    public int endPass(final boolean idle, final long now)
    {
        // Nothing on the ring, large requests still in flight: wait for one rather than sleep on the event channel,
        // which no completion wakes.
        return idle && pipeline.inFlight() > 0 ? pipeline.awaitOne() : 0;
    }

    @Override
    public long idleWaitNanos(final long now)
    {
        return pipeline.inFlight() > 0 ? -1 : Long.MAX_VALUE;
    }

    @Override
    public IoEngine ioEngine()
    {
        return uring.isOpen() ? IoEngine.URING : IoEngine.SYNC;
    }

    @Override
    public void close()
    {
        // What is still in flight writes into bounce pages: let it finish before they go.
        pipeline.close();
        uring.close();
        batch.close();
    }
}
