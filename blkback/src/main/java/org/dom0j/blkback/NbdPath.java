package org.dom0j.blkback;

import org.dom0j.blkback.jna.NativeMemory;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.nbd.NbdCompletionHandler;
import org.dom0j.nbd.NbdConnection;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.PAGE_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * The data path of a disk on NBD: grant copy through bounce pages (never a mapping of the guest's pages, nor of a
 * page cache: the data is on another server), the reads and writes of a bite off the ring sent together on the
 * queue's own connection ({@link NbdLink}). A bite is served as a batch: one grant copy brings in the data of its
 * writes, every request goes to the server (one NBD command each: the device offers no request larger than the
 * export's maximum payload), the sends go out in one gathering write, the completions are awaited, one grant copy
 * takes out the data of the reads that succeeded, and every request is answered, in the order taken.
 * <p>
 * Ring order: requests in flight together have no order on an NBD connection (the server may serve them in any
 * order), so a request that overlaps an earlier one of its batch still in flight (either of them a write) is sent
 * only once that one completed, as {@code IOSQE_IO_DRAIN} does for a file. Flush, barrier and discard are served
 * alone, after the batch ({@link #drain}): NBD_CMD_FLUSH then covers every write answered before it, which is what
 * FLUSH_DISKCACHE asks; on the other connections of a multi-queue device too, which is why several queues need the
 * export's CAN_MULTI_CONN.
 * <p>
 * A read is copied to the guest only when the server sent every byte of it: a request that failed, or was in flight
 * when the connection broke, is answered with BLKIF_RSP_ERROR and its bounce pages are never copied out.
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when made.
 */
final class NbdPath implements ReadWritePath, NbdCompletionHandler
{
    /**
     * Requests of the largest size the batch's bounce pages hold at once, so that a guest's 1 MiB requests at queue
     * depth 4 are in flight together rather than one at a time (the pages are resident only once used).
     */
    static final int LARGE_REQUESTS_PER_BATCH = 4;
    /** The most bytes one NBD_CMD_TRIM asks for (NBD lengths are 32 bits): a larger discard is sent as several. */
    static final long TRIM_BYTES = 1L << 30;
    /** The cookie of a request served alone (a flush, a trim, a flush's or barrier's data); entries are below it. */
    private static final long ALONE = RequestBatch.BATCH_LIMIT;

    private final NbdLink link;
    private final NbdConnection nbd;
    private final GrantCopier copier;
    private final Responder responder;
    private final BlkbackCounters counters;
    private final BlkifRequest[] requests = new BlkifRequest[RequestBatch.BATCH_LIMIT];
    private final RequestVerdict[] verdicts = new RequestVerdict[RequestBatch.BATCH_LIMIT];
    private final int[] bounceOffsets = new int[RequestBatch.BATCH_LIMIT];
    private final int[] firstCopy = new int[RequestBatch.BATCH_LIMIT];
    private final boolean[] inFlight = new boolean[RequestBatch.BATCH_LIMIT];
    private final NativeMemory bounceMemory;
    private final long bounce;
    private final int bounceCapacity;
    private final GrantCopyBatch copies;
    private int count;
    private int bounceUsed;
    private int segments;
    private int aloneErrno;

    /**
     * @param link        the queue's connection to the export.
     * @param maxSegments the most segments one request may carry.
     * @param copier      grant copies requests' data.
     * @param responder   answers each request.
     * @param counters    {@code oo_req}.
     */
    NbdPath(
        final NbdLink link,
        final int maxSegments,
        final GrantCopier copier,
        final Responder responder,
        final BlkbackCounters counters)
    {
        this.link = link;
        this.nbd = link.connection();
        this.copier = copier;
        this.responder = responder;
        this.counters = counters;
        for (int k = 0; k < requests.length; k++)
        {
            requests[k] = new BlkifRequest(maxSegments);
        }
        final int bouncePages = Math.max(RequestBatch.MIN_BOUNCE_PAGES, LARGE_REQUESTS_PER_BATCH * maxSegments);
        copies = new GrantCopyBatch(bouncePages);
        bounceCapacity = bouncePages * PAGE_SIZE;
        bounceMemory = NativeMemory.allocate(bounceCapacity);
        bounce = bounceMemory.buffer().addressOffset();
    }

    /**
     * @return the most requests the queue has in flight on its connection: a batch's.
     */
    static int maxInFlight()
    {
        return RequestBatch.BATCH_LIMIT;
    }

    @Override
    public BlkifRequest readOrWrite(final BlkifRequest r, final RequestVerdict verdict)
    {
        if (count == RequestBatch.BATCH_LIMIT)
        {
            serve();
        }
        int at = 0;
        if (verdict == RequestVerdict.OK)
        {
            final long bytes = r.totalSectors() * SECTOR_SIZE;
            final int n = r.segmentsLoaded();
            // Each request starts on a page, as the grant copy likes it.
            at = (bounceUsed + PAGE_SIZE - 1) & -PAGE_SIZE;
            if (at + bytes > bounceCapacity || segments + n > copies.capacity())
            {
                counters.ooReq.increment();
                serve();
                at = 0;
            }
            bounceUsed = at + (int)bytes;
            segments += n;
        }
        final int k = count++;
        final BlkifRequest free = requests[k];
        requests[k] = r;
        verdicts[k] = verdict;
        bounceOffsets[k] = at;
        return free;
    }

    @Override
    public void serveTaken()
    {
        serve();
    }

    @Override
    public void drain()
    {
        serve();
    }

    /**
     * Serves the batch: the writes' data in, every request to the server, the completions, the reads' data out, an
     * answer each in the order taken. While the connection is down, every request is answered with an error at once.
     */
    private void serve()
    {
        if (count == 0)
        {
            return;
        }
        if (link.ready(System.nanoTime()))
        {
            copy(BLKIF_OP_WRITE);
            submitAll();
            link.awaitAll(this);
            copy(BLKIF_OP_READ);
        }
        else
        {
            for (int k = 0; k < count; k++)
            {
                if (verdicts[k] == RequestVerdict.OK)
                {
                    verdicts[k] = link.unavailable();
                }
            }
        }
        for (int k = 0; k < count; k++)
        {
            responder.answer(requests[k], verdicts[k]);
        }
        count = 0;
        bounceUsed = 0;
        segments = 0;
    }

    /**
     * Submits every request still good, each after the earlier ones in flight that it overlaps have completed.
     */
    private void submitAll()
    {
        for (int k = 0; k < count; k++)
        {
            if (verdicts[k] != RequestVerdict.OK)
            {
                continue;
            }
            if (overlapsInFlight(k))
            {
                link.awaitAll(this);
            }
            inFlight[k] = true;
            while (!submit(k, requests[k], bounce + bounceOffsets[k], requests[k].ioOperation() == BLKIF_OP_WRITE))
            {
                // Not while the batch fits the connection's slots; a safeguard.
                link.awaitAll(this);
            }
        }
    }

    private boolean overlapsInFlight(final int k)
    {
        for (int j = 0; j < k; j++)
        {
            if (inFlight[j] && requests[j].conflicts(requests[k]))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @param write true to write (a write, or a flush's or barrier's data), false to read.
     */
    private boolean submit(final long cookie, final BlkifRequest r, final long address, final boolean write)
    {
        final long offset = r.sectorNumber() * SECTOR_SIZE;
        final int length = (int)(r.totalSectors() * SECTOR_SIZE);
        return write ? nbd.submitWrite(cookie, offset, length, address, false) :
            nbd.submitRead(cookie, offset, length, address);
    }

    @Override
    public void onCompletion(final long cookie, final int errno)
    {
        if (cookie == ALONE)
        {
            aloneErrno = errno;
            return;
        }
        final int k = (int)cookie;
        inFlight[k] = false;
        verdicts[k] = link.verdict(errno, requests[k].ioOperation());
    }

    /**
     * One grant-copy call for the data of every request of the batch doing {@code op} that is still good: in for
     * writes, out for reads. A request with a copy that did not succeed fails; when the call fails as a whole, each
     * request is copied again alone, so that the error lands on the one it belongs to.
     */
    private void copy(final int op)
    {
        final boolean toGuest = op == BLKIF_OP_READ;
        copies.clear();
        for (int k = 0; k < count; k++)
        {
            if (isGood(k, op))
            {
                firstCopy[k] = copies.count();
                copier.add(copies, requests[k], bounce + bounceOffsets[k], toGuest);
            }
        }
        if (copies.count() == 0)
        {
            return;
        }
        final boolean whole = copier.run(copies);
        for (int k = 0; k < count; k++)
        {
            if (isGood(k, op) && !(whole ? copied(k) : copier.copy(requests[k], bounce + bounceOffsets[k], toGuest)))
            {
                verdicts[k] = RequestVerdict.BAD_GRANT;
            }
        }
    }

    private boolean isGood(final int k, final int op)
    {
        return verdicts[k] == RequestVerdict.OK && requests[k].ioOperation() == op;
    }

    private boolean copied(final int k)
    {
        for (int i = firstCopy[k], end = firstCopy[k] + requests[k].segmentsLoaded(); i < end; i++)
        {
            if (copies.status(i) != GrantCopyBatch.GNTST_OKAY)
            {
                return false;
            }
        }
        return true;
    }

    @Override
    public RequestVerdict transferAlone(final BlkifRequest r, final boolean write)
    {
        if (!link.ready(System.nanoTime()))
        {
            return link.unavailable();
        }
        if (write && !copier.copy(r, bounce, false))
        {
            return RequestVerdict.BAD_GRANT;
        }
        submit(ALONE, r, bounce, write);
        final RequestVerdict verdict = awaitAlone(write ? BLKIF_OP_WRITE : BLKIF_OP_READ);
        if (verdict != RequestVerdict.OK || write)
        {
            return verdict;
        }
        return copier.copy(r, bounce, true) ? RequestVerdict.OK : RequestVerdict.BAD_GRANT;
    }

    /**
     * NBD_CMD_FLUSH. An export that does not offer it has no volatile cache (the specification's reading of a
     * missing SEND_FLUSH): every write it answered is durable already.
     */
    @Override
    public RequestVerdict flush()
    {
        if (!link.ready(System.nanoTime()))
        {
            return link.unavailable();
        }
        if (!nbd.export().canFlush())
        {
            return RequestVerdict.OK;
        }
        nbd.submitFlush(ALONE);
        return awaitAlone(BLKIF_OP_FLUSH_DISKCACHE);
    }

    /**
     * NBD_CMD_TRIM of the range, in pieces of {@link #TRIM_BYTES}. The server may discard all, some or none of it
     * (qemu-nbd with {@code --discard=unmap} and nbdkit's file plugin punch holes).
     */
    @Override
    public RequestVerdict discard(final BlkifRequest r)
    {
        if (!link.ready(System.nanoTime()))
        {
            return link.unavailable();
        }
        long offset = r.sectorNumber() * SECTOR_SIZE;
        long left = r.discardNrSectors() * SECTOR_SIZE;
        while (left > 0)
        {
            final long length = Math.min(left, TRIM_BYTES);
            nbd.submitTrim(ALONE, offset, length);
            final RequestVerdict verdict = awaitAlone(BLKIF_OP_DISCARD);
            if (verdict != RequestVerdict.OK)
            {
                return verdict;
            }
            offset += length;
            left -= length;
        }
        return RequestVerdict.OK;
    }

    /**
     * Waits for the one request submitted alone (nothing else is in flight: the path is drained).
     */
    private RequestVerdict awaitAlone(final int op)
    {
        link.awaitAll(this);
        return link.verdict(aloneErrno, op);
    }

    @Override
    public int startPass()
    {
        return 0;
    }

    @Override
    public int endPass(final boolean idle, final long now)
    {
        return 0;
    }

    @Override
    public long idleWaitNanos(final long now)
    {
        // Nothing is in flight between passes, and reconnecting waits for the next request.
        return Long.MAX_VALUE;
    }

    @Override
    public IoEngine ioEngine()
    {
        return IoEngine.NBD;
    }

    /**
     * Nothing is in flight between passes: hangs up, then frees the bounce pages.
     */
    @Override
    public void close()
    {
        link.close();
        bounceMemory.close();
    }
}
