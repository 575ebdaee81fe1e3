package org.dom0j.blkback;

import org.dom0j.blkback.jna.IoUring;
import org.dom0j.blkback.jna.NativeMemory;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.PAGE_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * Large requests on the grant-copy path with io_uring: a read or write of at least {@link #PIPELINE_BYTES} does not
 * wait for its batch. It is started as soon as it is taken off the ring, in bounce pages of its own (one of
 * {@link #LARGE_REQUESTS_IN_FLIGHT} slots, each as large as the largest request), a write right after its grant
 * copy in, and handed to the kernel's io-wq workers ({@code IOSQE_ASYNC}); it is answered and pushed as soon as it
 * completes (a read right after its grant copy out), while the queue goes on taking and serving requests. So its
 * disk copy runs on another CPU beside the grant copies of the others.
 * <p>
 * The caller keeps ring order: a request that overlaps one in flight (either of them a write) waits for it
 * ({@link #conflicts}, {@link #awaitAll}); flush, barrier and discard wait for all. With every slot taken, a large
 * request waits for one ({@link #awaitFreeSlot}), and that counts as {@code oo_req}. On close what is in flight
 * finishes, unanswered, before the bounce pages go.
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when made: the slots' bounce pages are anonymous memory,
 * resident only once used.
 */
final class LargePipeline implements UringDisk.Owner
{
    /** Large requests in flight at once (a 1 MiB request at queue depth 4 is Linux's usual sequential pattern). */
    static final int LARGE_REQUESTS_IN_FLIGHT = 4;
    /**
     * A read or write of at least this many bytes is large. Smaller ones are batched, where a hand-over to a kernel
     * worker would cost more than the copy.
     */
    static final int PIPELINE_BYTES = 128 * 1024;

    /** One large request in flight. */
    private static final class Slot
    {
        BlkifRequest request;
        RequestVerdict verdict;
        boolean busy;
        final long address;

        Slot(final BlkifRequest request, final long address)
        {
            this.request = request;
            this.address = address;
        }
    }

    private final UringDisk uring;
    private final GrantCopier copier;
    private final PageCacheWindow window;
    private final Responder responder;
    private final QueueErrors errors;
    private final BlkbackCounters counters;
    private final NativeMemory memory;
    private final Slot[] slots;
    private int inFlight;

    /**
     * @param uring       the disk through io_uring; without it the pipeline has no slots.
     * @param maxSegments the most segments one request may carry: a slot's size (no slots when that is less than a
     *                    large request).
     * @param copier      grant copies a request's data.
     * @param window      told which pages a read brought into the page cache.
     * @param responder   answers each request as it completes.
     * @param errors      where failures are logged.
     * @param counters    {@code oo_req}.
     */
    LargePipeline(
        final UringDisk uring,
        final int maxSegments,
        final GrantCopier copier,
        final PageCacheWindow window,
        final Responder responder,
        final QueueErrors errors,
        final BlkbackCounters counters)
    {
        this.uring = uring;
        this.copier = copier;
        this.window = window;
        this.responder = responder;
        this.errors = errors;
        this.counters = counters;
        final int slotBytes = maxSegments * PAGE_SIZE;
        final int count = uring.isOpen() && slotBytes >= PIPELINE_BYTES ? LARGE_REQUESTS_IN_FLIGHT : 0;
        memory = count > 0 ? NativeMemory.allocate(count * slotBytes) : null;
        slots = new Slot[count];
        for (int i = 0; i < count; i++)
        {
            slots[i] = new Slot(new BlkifRequest(maxSegments), memory.buffer().addressOffset() + (long)i * slotBytes);
        }
        uring.owner(UringDisk.LARGE, this);
    }

    /**
     * @param r a read or write.
     * @return whether it is large enough to be streamed.
     */
    static boolean isLarge(final BlkifRequest r)
    {
        return r.totalSectors() * SECTOR_SIZE >= PIPELINE_BYTES;
    }

    /**
     * @return whether large requests can be streamed now (slots, and io_uring not given up).
     */
    boolean isOpen()
    {
        return slots.length > 0 && uring.isOpen();
    }

    /**
     * @return large requests in flight.
     */
    int inFlight()
    {
        return inFlight;
    }

    /**
     * @param r a request about to be served.
     * @return whether it touches sectors a request in flight writes, or writes sectors one reads.
     */
    boolean conflicts(final BlkifRequest r)
    {
        if (inFlight == 0)
        {
            return false;
        }
        for (final Slot slot : slots)
        {
            if (slot.busy && slot.verdict == RequestVerdict.OK && slot.request.conflicts(r))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * When every slot is taken, waits for one (the queue ran out of large-request slots: {@code oo_req}).
     */
    void awaitFreeSlot()
    {
        if (inFlight == slots.length)
        {
            counters.ooReq.increment();
            await(slots.length - 1);
        }
    }

    /**
     * Starts a large request in a free slot: for a write its grant copy in, then its I/O, handed to a kernel
     * worker. The caller has made sure it is open, that a slot is free and that nothing in flight conflicts.
     *
     * @param r a read or write that passed validation.
     * @return a free request object, in exchange for {@code r}.
     */
    BlkifRequest start(final BlkifRequest r)
    {
        int tag = 0;
        while (slots[tag].busy)
        {
            tag++;
        }
        final Slot slot = slots[tag];
        final BlkifRequest free = slot.request;
        slot.request = r;
        slot.verdict = RequestVerdict.OK;
        slot.busy = true;
        inFlight++;
        if (r.ioOperation() == BLKIF_OP_WRITE && !copier.copy(r, slot.address, false))
        {
            finish(slot, RequestVerdict.BAD_GRANT);
            return free;
        }
        uring.prepare(UringDisk.LARGE, tag, r, slot.address, IoUring.IOSQE_ASYNC);
        uring.submit();
        return free;
    }

    /**
     * Answers the large requests that completed, without waiting.
     *
     * @return how many.
     */
    int reap()
    {
        if (inFlight == 0)
        {
            return 0;
        }
        final int before = inFlight;
        uring.reapReady();
        return before - inFlight;
    }

    /**
     * Waits for one large request to complete (the ring is empty: no event would wake the queue for it).
     *
     * @return how many were answered.
     */
    int awaitOne()
    {
        return await(inFlight - 1);
    }

    /**
     * Waits until none is in flight.
     */
    void awaitAll()
    {
        await(0);
    }

    private int await(final int most)
    {
        final int before = inFlight;
        while (inFlight > most && uring.isOpen())
        {
            uring.awaitOne();
        }
        return before - inFlight;
    }

    @Override
    public void onCompletion(final int tag, final int result)
    {
        final Slot slot = slots[tag];
        final BlkifRequest r = slot.request;
        RequestVerdict verdict = uring.outcome(r, result);
        if (verdict == RequestVerdict.OK && r.ioOperation() != BLKIF_OP_WRITE)
        {
            // Its pages are cached now: populated, the next read of them is copied straight from the cache.
            window.populated(r.sectorNumber() * SECTOR_SIZE, result);
            if (!copier.copy(r, slot.address, true))
            {
                verdict = RequestVerdict.BAD_GRANT;
            }
        }
        finish(slot, verdict);
    }

    @Override
    public void onLost(final String message)
    {
        for (final Slot slot : slots)
        {
            if (slot.busy)
            {
                finish(slot, errors.ioError(message));
            }
        }
    }

    /**
     * Answers a large request, pushes the answer at once (so that the frontend can reuse its ring slot while the
     * queue serves others) and frees its slot.
     */
    private void finish(final Slot slot, final RequestVerdict verdict)
    {
        slot.verdict = verdict;
        responder.answerNow(slot.request, verdict);
        slot.busy = false;
        inFlight--;
    }

    /**
     * Lets what is in flight finish (it writes into the slots; the responder answers nothing any more), then frees
     * the slots' memory.
     */
    void close()
    {
        awaitAll();
        if (null != memory)
        {
            memory.close();
        }
    }
}
