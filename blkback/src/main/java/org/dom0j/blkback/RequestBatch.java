package org.dom0j.blkback;

import org.dom0j.blkback.jna.IoUring;
import org.dom0j.blkback.jna.NativeMemory;
import org.dom0j.gnttab.GrantCopyBatch;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.PAGE_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * The reads and writes of one bite off the ring on the grant-copy path, served together: one grant copy brings in
 * the data of all its writes, the disk is read and written (in ring order with preadv/pwritev; on an
 * {@code O_DIRECT} disk with io_uring, all at once), one grant copy takes out the data of all its reads, then every
 * request is answered, in the order taken. Each request's data is packed in page-aligned bounce pages, or, admitted
 * by the {@link PageCacheWindow}, copied straight from (or into) the disk's mapped page cache.
 * <p>
 * Ring order: reads from the page cache copy after the batch's writes, and writes into it land in the first grant
 * copy, before the others' disk I/O; so a write that overlaps an earlier request of the batch (either one mapped)
 * is taken only after the batch is served. On io_uring a request that overlaps an earlier one waits for it
 * ({@code IOSQE_IO_DRAIN}).
 * <p>
 * A bad grant fails only its request ({@code GNTST_*} per operation). A grant copy that fails as a whole is retried
 * request by request, so an error lands on the request it belongs to. The batch is served early when its bounce
 * pages or its grant-copy batch are full (the queue ran out of room for requests: {@code oo_req}).
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when made.
 */
final class RequestBatch implements UringDisk.Owner
{
    /**
     * Most requests taken in one bite (and served as one batch) before responses are pushed: half a one-page ring,
     * so that with a full ring the frontend refills one half while the other is served.
     */
    static final int BATCH_LIMIT = 16;
    /**
     * Bounce pages, at least: a full batch of direct requests (11 segments each), or one request of the most
     * indirect segments, whichever is more.
     */
    static final int MIN_BOUNCE_PAGES = BATCH_LIMIT * BLKIF_MAX_SEGMENTS_PER_REQUEST;
    /** The bounce offset of a request served through the page-cache mapping, which needs no bounce pages. */
    private static final int MAPPED = -1;

    /** One request of the batch, preallocated and reused: the request, its verdict, where its data goes. */
    private static final class Entry
    {
        /** The request (the object is exchanged with the queue's each time one is added). */
        BlkifRequest request;
        /** OK while it may be served, else what it is answered with. */
        RequestVerdict verdict;
        /** Where its data starts in the bounce pages, or {@link #MAPPED}. */
        int bounceOffset;
        /** Its first operation in the grant-copy batch, while one is built. */
        int firstCopy;

        Entry(final BlkifRequest request)
        {
            this.request = request;
        }

        boolean isMapped()
        {
            return bounceOffset == MAPPED;
        }

        /**
         * @return whether it is still good and does {@code op}.
         */
        boolean isGood(final int op)
        {
            return verdict == RequestVerdict.OK && request.ioOperation() == op;
        }

        boolean isWrite()
        {
            return request.ioOperation() == BLKIF_OP_WRITE;
        }
    }

    private final Entry[] entries = new Entry[BATCH_LIMIT];
    private final NativeMemory bounceMemory;
    private final long bounce;
    private final int bounceCapacity;
    private final GrantCopyBatch copies;
    private final UringDisk uring;
    private final DiskIo diskIo;
    private final GrantCopier copier;
    private final PageCacheWindow window;
    private final Responder responder;
    private final QueueErrors errors;
    private final BlkbackCounters counters;
    private int count;
    private int bounceUsed;
    private int segments;
    private int mapped;
    private long mappedBytes;
    private int bounced;
    private long bouncedBytes;
    private int awaiting;

    /**
     * @param maxSegments the most segments one request may carry.
     * @param uring       the disk through io_uring (used on an {@code O_DIRECT} disk while it is open).
     * @param diskIo      the disk through preadv/pwritev.
     * @param copier      grant copies requests' data.
     * @param window      admits requests to the mapped page cache, and is told how batches went.
     * @param responder   answers each request.
     * @param errors      where failures are logged.
     * @param counters    {@code oo_req}.
     */
    RequestBatch(
        final int maxSegments,
        final UringDisk uring,
        final DiskIo diskIo,
        final GrantCopier copier,
        final PageCacheWindow window,
        final Responder responder,
        final QueueErrors errors,
        final BlkbackCounters counters)
    {
        this.uring = uring;
        this.diskIo = diskIo;
        this.copier = copier;
        this.window = window;
        this.responder = responder;
        this.errors = errors;
        this.counters = counters;
        final int bouncePages = Math.max(maxSegments, MIN_BOUNCE_PAGES);
        for (int k = 0; k < BATCH_LIMIT; k++)
        {
            entries[k] = new Entry(new BlkifRequest(maxSegments));
        }
        copies = new GrantCopyBatch(bouncePages);
        bounceCapacity = bouncePages * PAGE_SIZE;
        bounceMemory = NativeMemory.allocate(bounceCapacity);
        bounce = bounceMemory.buffer().addressOffset();
        uring.owner(UringDisk.BATCH, this);
    }

    /**
     * Adds a read or write, with room in the bounce pages unless it is mapped (serving the batch first when there is
     * none, or when ring order asks for it).
     *
     * @param r       the request.
     * @param verdict OK, or the error to answer it with in its turn.
     * @param mapped  whether the {@link PageCacheWindow} admitted it.
     * @return a free request object, in exchange for {@code r}.
     */
    BlkifRequest add(final BlkifRequest r, final RequestVerdict verdict, final boolean mapped)
    {
        if (count == BATCH_LIMIT)
        {
            serve();
        }
        int at = 0;
        if (verdict == RequestVerdict.OK)
        {
            final long bytes = r.totalSectors() * SECTOR_SIZE;
            final int n = r.segmentsLoaded();
            if (r.ioOperation() == BLKIF_OP_WRITE && (mapped || this.mapped > 0) && conflicts(r))
            {
                // Reads from the page cache copy after the batch's writes, and writes into it before the others'
                // disk I/O: a request before this write in ring order that it overlaps is served first, so it
                // still sees (or lands under) what was there before.
                serve();
            }
            if (mapped)
            {
                if (segments + n > copies.capacity())
                {
                    serveForWantOfRoom();
                }
                at = MAPPED;
                this.mapped++;
                mappedBytes += bytes;
            }
            else
            {
                // Each request starts on a page, so O_DIRECT finds its buffer aligned.
                at = align(bounceUsed);
                if (at + bytes > bounceCapacity || segments + n > copies.capacity())
                {
                    serveForWantOfRoom();
                    at = 0;
                }
                bounceUsed = at + (int)bytes;
                bounced++;
                bouncedBytes += bytes;
            }
            segments += n;
        }
        final Entry e = entries[count++];
        final BlkifRequest free = e.request;
        e.request = r;
        e.verdict = verdict;
        e.bounceOffset = at;
        return free;
    }

    private void serveForWantOfRoom()
    {
        counters.ooReq.increment();
        serve();
    }

    private static int align(final int bytes)
    {
        return (bytes + PAGE_SIZE - 1) & -PAGE_SIZE;
    }

    /**
     * @param r a request about to be served.
     * @return whether it touches sectors a request of the batch writes, or writes sectors one reads.
     */
    boolean conflicts(final BlkifRequest r)
    {
        for (int k = 0; k < count; k++)
        {
            if (entries[k].verdict == RequestVerdict.OK && entries[k].request.conflicts(r))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Serves the batch: one grant copy in for its writes, the disk, one grant copy out for its reads, then an answer
     * each, in the order taken.
     */
    void serve()
    {
        if (count == 0)
        {
            return;
        }
        final boolean timed = window.timesBatches();
        final long start = timed ? System.nanoTime() : 0;
        if (!copyBatch(BLKIF_OP_WRITE))
        {
            serveAgainAlone();
        }
        else
        {
            if (uring.isOpen() && diskIo.file().isDirect())
            {
                diskAllAtOnce();
            }
            else
            {
                diskInOrder();
            }
            if (!copyBatch(BLKIF_OP_READ))
            {
                copyReadsAgainAlone();
            }
        }
        for (int k = 0; k < count; k++)
        {
            responder.answer(entries[k].request, entries[k].verdict);
        }
        if (timed)
        {
            window.batchServed(mapped, mappedBytes, bounced, bouncedBytes, System.nanoTime() - start);
        }
        count = 0;
        bounceUsed = 0;
        segments = 0;
        mapped = 0;
        mappedBytes = 0;
        bounced = 0;
        bouncedBytes = 0;
    }

    /**
     * One request alone through the bounce pages (the batch is empty, or being served again one by one): for a write
     * its grant copy in then the disk, for a read the disk then its grant copy out.
     *
     * @param r     the request.
     * @param write true to write the disk.
     * @return what it came to.
     */
    RequestVerdict transferAlone(final BlkifRequest r, final boolean write)
    {
        if (write)
        {
            return copier.copy(r, bounce, false) ? diskIo.transfer(r, bounce, true) : RequestVerdict.BAD_GRANT;
        }
        final RequestVerdict verdict = diskIo.transfer(r, bounce, false);
        if (verdict != RequestVerdict.OK)
        {
            return verdict;
        }
        return copier.copy(r, bounce, true) ? RequestVerdict.OK : RequestVerdict.BAD_GRANT;
    }

    /**
     * Through the page cache a small request is a memory copy that costs less than a hand-over to a kernel worker
     * (io_uring hands buffered I/O to workers on file systems that cannot try it without blocking, tmpfs among
     * them), so each is read or written here, in ring order.
     */
    private void diskInOrder()
    {
        for (int k = 0; k < count; k++)
        {
            final Entry e = entries[k];
            if (e.verdict == RequestVerdict.OK && !e.isMapped())
            {
                e.verdict = diskIo.transfer(e.request, bounce + e.bounceOffset, e.isWrite());
            }
        }
    }

    /**
     * On an {@code O_DIRECT} disk with io_uring: the batch's requests are submitted together, one system call, all
     * of them in flight on the device; one that overlaps an earlier one waits for it.
     */
    private void diskAllAtOnce()
    {
        awaiting = 0;
        for (int k = 0; k < count; k++)
        {
            final Entry e = entries[k];
            if (e.verdict == RequestVerdict.OK && !e.isMapped())
            {
                uring.prepare(UringDisk.BATCH, k, e.request, bounce + e.bounceOffset,
                    conflictsWithEarlier(k) ? IoUring.IOSQE_IO_DRAIN : 0);
                awaiting++;
            }
        }
        uring.submit();
        while (awaiting > 0)
        {
            uring.awaitOne();
        }
    }

    /**
     * Whether entry {@code k} touches sectors an earlier entry writes, or writes sectors an earlier one reads: blkif
     * orders nothing between requests in flight together, but the batch keeps ring order for them anyway (as the
     * preadv path does).
     */
    private boolean conflictsWithEarlier(final int k)
    {
        for (int j = 0; j < k; j++)
        {
            if (entries[j].verdict == RequestVerdict.OK && entries[j].request.conflicts(entries[k].request))
            {
                return true;
            }
        }
        return false;
    }

    @Override
    public void onCompletion(final int tag, final int result)
    {
        final Entry e = entries[tag];
        e.verdict = uring.outcome(e.request, result);
        awaiting--;
    }

    @Override
    public void onLost(final String message)
    {
        if (awaiting > 0)
        {
            for (int k = 0; k < count; k++)
            {
                if (entries[k].verdict == RequestVerdict.OK)
                {
                    entries[k].verdict = errors.ioError(message);
                }
            }
            awaiting = 0;
        }
    }

    /**
     * One grant-copy call for the data of every request of the batch doing {@code op} that is still good (in for
     * writes, out for reads); a request with a copy that did not succeed fails.
     *
     * @return false when the call failed as a whole: nothing was marked (see {@link #serveAgainAlone} and
     *         {@link #copyReadsAgainAlone}).
     */
    private boolean copyBatch(final int op)
    {
        copies.clear();
        for (int k = 0; k < count; k++)
        {
            final Entry e = entries[k];
            if (e.isGood(op))
            {
                e.firstCopy = copies.count();
                copier.add(copies, e.request, e.isMapped() ?
                    window.address(e.request.sectorNumber() * SECTOR_SIZE) : bounce + e.bounceOffset,
                    op == BLKIF_OP_READ);
            }
        }
        if (copies.count() == 0)
        {
            return true;
        }
        if (!copier.run(copies))
        {
            return false;
        }
        for (int k = 0; k < count; k++)
        {
            final Entry e = entries[k];
            if (e.isGood(op))
            {
                for (int i = e.firstCopy, end = e.firstCopy + e.request.segmentsLoaded(); i < end; i++)
                {
                    if (copies.status(i) != GrantCopyBatch.GNTST_OKAY)
                    {
                        e.verdict = RequestVerdict.BAD_GRANT;
                        break;
                    }
                }
            }
        }
        return true;
    }

    /**
     * The batch's grant copy in failed as a whole (a bad grant fails only its own operation): on Xen that is our
     * side, e.g. a page of the mapped page cache that could not be written after all. Nothing of the batch has
     * reached the disk but what that call wrote into the mapping, so every request still good is served again one
     * at a time, in ring order, through bounce pages, and an error lands on the request it belongs to.
     */
    private void serveAgainAlone()
    {
        for (int k = 0; k < count; k++)
        {
            final Entry e = entries[k];
            if (e.verdict == RequestVerdict.OK)
            {
                e.verdict = transferAlone(e.request, e.isWrite());
            }
        }
    }

    /**
     * The batch's grant copy out failed as a whole: each read still good is copied out again on its own. One read
     * into bounce pages is copied from there (its data is what the disk held at its turn in ring order); one served
     * from the page cache (no write of the batch overlaps it) is read again into bounce pages, after the others,
     * whose bounce pages that reuses.
     */
    private void copyReadsAgainAlone()
    {
        for (int k = 0; k < count; k++)
        {
            final Entry e = entries[k];
            if (e.isGood(BLKIF_OP_READ) && !e.isMapped())
            {
                e.verdict = copier.copy(e.request, bounce + e.bounceOffset, true) ?
                    RequestVerdict.OK : RequestVerdict.BAD_GRANT;
            }
        }
        for (int k = 0; k < count; k++)
        {
            final Entry e = entries[k];
            if (e.isGood(BLKIF_OP_READ) && e.isMapped())
            {
                e.verdict = transferAlone(e.request, false);
            }
        }
    }

    /**
     * Frees the bounce pages (nothing of the batch is in flight between passes).
     */
    void close()
    {
        bounceMemory.close();
    }
}
