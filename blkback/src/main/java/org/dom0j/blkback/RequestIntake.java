package org.dom0j.blkback;

import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.protocol.blkif.BlkifAbi;
import org.dom0j.ring.BackRing;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;
import static org.dom0j.protocol.blkif.BlkifConstants.INDIRECT_SEGMENT_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.PAGE_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.SEGMENTS_PER_INDIRECT_PAGE;

/**
 * The one way into a queue: a request the ring copied out of shared memory (once: XSA-155) is decoded from that
 * private copy, tied to its journal entry (the answer claims it), and validated: the header, then an indirect
 * request's segment pages (copied into private memory first, so the guest cannot change what is checked), then
 * every segment against the page and the disk. Whatever it decides is the request's verdict: OK to serve it, or
 * the error it is answered with.
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when made.
 */
final class RequestIntake
{
    private final BlkifAbi abi;
    private final BackRing ring;
    private final RequestValidator validator;
    private final GrantCopier copier;
    private final GrantCopyBatch indirectBatch = new GrantCopyBatch(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
    private final UnsafeBuffer indirectPages = new UnsafeBuffer(
        BufferUtil.allocateDirectAligned(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * PAGE_SIZE, PAGE_SIZE));

    /**
     * @param abi       the frontend's request layout.
     * @param ring      the ring requests come from (its last journal entry is each request's).
     * @param validator the device's checks.
     * @param copier    copies indirect pages in.
     */
    RequestIntake(final BlkifAbi abi, final BackRing ring, final RequestValidator validator, final GrantCopier copier)
    {
        this.abi = abi;
        this.ring = ring;
        this.validator = validator;
        this.copier = copier;
    }

    /**
     * Takes the request the ring just handed over.
     *
     * @param copy   the private copy of its slot.
     * @param offset where it starts in {@code copy}.
     * @param r      where to decode it (every field is overwritten).
     * @return OK when it may be served, else what to answer.
     */
    RequestVerdict take(final DirectBuffer copy, final int offset, final BlkifRequest r)
    {
        r.decode(copy, offset, abi);
        r.journalEntry(ring.lastJournalEntry());
        RequestVerdict verdict = validator.checkHeader(r);
        if (verdict == RequestVerdict.OK && r.isIndirect())
        {
            verdict = loadIndirectSegments(r);
        }
        if (verdict == RequestVerdict.OK)
        {
            verdict = validator.checkSegments(r);
        }
        return verdict;
    }

    private RequestVerdict loadIndirectSegments(final BlkifRequest r)
    {
        final int pages = r.indirectPageCount();
        indirectBatch.clear();
        // Only the descriptors the request has: 8 bytes a segment (128 for 16), not the whole page, is what the
        // hypervisor copies.
        for (int p = 0; p < pages; p++)
        {
            final int segments = Math.min(SEGMENTS_PER_INDIRECT_PAGE, r.nrSegments() - p * SEGMENTS_PER_INDIRECT_PAGE);
            copier.addFromForeign(indirectBatch, r.indirectGref(p),
                indirectPages.addressOffset() + (long)p * PAGE_SIZE, segments * INDIRECT_SEGMENT_SIZE);
        }
        if (!copier.run(indirectBatch) || !indirectBatch.allOkay())
        {
            return RequestVerdict.BAD_GRANT;
        }
        // The pages are our private copy now: the guest can no longer change what is validated.
        for (int p = 0; p < pages; p++)
        {
            r.loadIndirectSegments(indirectPages, p * PAGE_SIZE, p);
        }
        return RequestVerdict.OK;
    }
}
