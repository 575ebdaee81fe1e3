package org.dom0j.blkback;

import org.agrona.concurrent.AtomicBuffer;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.protocol.blkif.BlkifResponseFlyweight;
import org.dom0j.ring.BackRing;

import java.util.logging.Level;
import java.util.logging.Logger;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;

/**
 * The one way out of a queue: every request taken is answered here, and every answer reaches the frontend through
 * {@link #push}.
 * <p>
 * {@link #answer} counts the request (Linux's statistics: {@code rd_req}/{@code wr_req} with their sectors for a
 * read or write that succeeded, {@code f_req} and {@code ds_req} for a flush, barrier or discard that passed
 * validation, and for a request answered with an error both blkback's {@code errors} and the queue's), then claims
 * the response slot through the request's journal entry ({@link BackRing#claimResponse(int)}, which zeroes the
 * whole slot first: no stale bytes reach the guest, XSA-216), writes the three fields through a
 * {@link BlkifResponseFlyweight} and commits it. {@link #push} publishes what was committed and notifies the
 * frontend when it asked, through the {@link ConnectedQueue}, which counts each notification.
 * <p>
 * Not thread safe: the queue's agent only. Allocates nothing.
 */
final class Responder
{
    private static final Logger LOG = Logger.getLogger(Responder.class.getName());

    private final String roleName;
    private final ConnectedQueue queue;
    private final BackRing ring;
    private final AtomicBuffer ringBuffer;
    private final BlkbackCounters counters;
    private final BlkifResponseFlyweight response = new BlkifResponseFlyweight();
    private boolean closed;

    /**
     * @param roleName the queue's name, for the log.
     * @param queue    the connected queue: its first ring is answered, its first port notified.
     * @param counters blkback's statistics for the queue.
     */
    Responder(final String roleName, final ConnectedQueue queue, final BlkbackCounters counters)
    {
        this.roleName = roleName;
        this.queue = queue;
        this.ring = queue.ring();
        this.ringBuffer = ring.buffer();
        this.counters = counters;
    }

    /**
     * Counts a request and writes its answer (published at the next {@link #push}).
     *
     * @param r       the request, as taken (its journal entry names the record the answer claims).
     * @param verdict what serving it came to.
     */
    void answer(final BlkifRequest r, final RequestVerdict verdict)
    {
        count(r, verdict);
        // The ring zeroes the whole response before it is handed over: no stale bytes reach the guest (XSA-216).
        final int at = ring.claimResponse(r.journalEntry());
        // Linux answers with the operation performed: an indirect request's indirect_op, which blkfront checks.
        response.wrap(ringBuffer, at).id(r.id()).operation(r.ioOperation()).status(verdict.status());
        ring.commitResponse();
    }

    /**
     * Answers a request that completed on its own, outside any pass (a large one, on io_uring), and pushes the
     * answer at once, so that the frontend can reuse its slot while the queue serves others. Once the ring is
     * disabled, or the queue closing, nothing more is answered.
     *
     * @param r       the request.
     * @param verdict what serving it came to.
     */
    void answerNow(final BlkifRequest r, final RequestVerdict verdict)
    {
        if (!closed && !ring.isDisabled())
        {
            answer(r, verdict);
            push();
        }
    }

    /**
     * {@code RING_PUSH_RESPONSES_AND_CHECK_NOTIFY}, and the notification the frontend asked for, counted.
     */
    void push()
    {
        queue.pushResponsesAndNotify();
    }

    /**
     * The queue is closing: what completes from now on is not answered (the ring may be gone).
     */
    void close()
    {
        closed = true;
    }

    private void count(final BlkifRequest r, final RequestVerdict verdict)
    {
        switch (r.ioOperation())
        {
            case BLKIF_OP_READ ->
            {
                if (verdict == RequestVerdict.OK)
                {
                    counters.rdReq.increment();
                    counters.rdSect.getAndAdd(r.totalSectors());
                }
            }
            case BLKIF_OP_WRITE ->
            {
                if (verdict == RequestVerdict.OK)
                {
                    counters.wrReq.increment();
                    counters.wrSect.getAndAdd(r.totalSectors());
                }
            }
            case BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE ->
            {
                if (!verdict.isRefusal())
                {
                    counters.fReq.increment();
                }
                if (verdict == RequestVerdict.OK && r.segmentsLoaded() > 0)
                {
                    // Its data is a write, counted as one.
                    counters.wrReq.increment();
                    counters.wrSect.getAndAdd(r.totalSectors());
                }
            }
            case BLKIF_OP_DISCARD ->
            {
                if (!verdict.isRefusal())
                {
                    counters.dsReq.increment();
                }
            }
            default ->
            {
            }
        }
        if (verdict != RequestVerdict.OK)
        {
            counters.errors.increment();
            queue.counters().errors().incrementRelease();
            if (LOG.isLoggable(Level.FINE))
            {
                LOG.fine(roleName + ": request " + r.id() + " op " + r.operation() + ": " + verdict.reason());
            }
        }
    }
}
