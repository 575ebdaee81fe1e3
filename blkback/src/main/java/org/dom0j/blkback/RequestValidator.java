package org.dom0j.blkback;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_DISCARD_SECURE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_INDIRECT;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTORS_PER_PAGE;

/**
 * Checks a decoded request against what the device advertised and what the disk is, the way Linux's blkback
 * does (dispatch_rw_block_io, xen_vbd_translate, dispatch_discard_io), before any grant is touched. Validation
 * runs on the private copy only.
 * <p>
 * Two steps: {@link #checkHeader} before indirect pages are read (it bounds how many there are), then
 * {@link #checkSegments} once every segment is loaded.
 * <p>
 * Not thread safe; one per device queue. The capacity may change (online resize) through {@link #capacity(long)}
 * from the agent's own thread.
 */
public final class RequestValidator
{
    private final boolean readOnly;
    private final int maxIndirectSegments;
    private final boolean flush;
    private final boolean barrier;
    private final boolean discard;
    private final boolean discardSecure;
    private long capacitySectors;

    /**
     * @param capacitySectors     disk size in 512-byte sectors.
     * @param readOnly            the disk is read-only.
     * @param maxIndirectSegments feature-max-indirect-segments advertised, or 0 when indirect is not offered.
     * @param flush               feature-flush-cache advertised.
     * @param barrier             feature-barrier advertised.
     * @param discard             feature-discard advertised.
     * @param discardSecure       discard-secure advertised.
     */
    public RequestValidator(
        final long capacitySectors,
        final boolean readOnly,
        final int maxIndirectSegments,
        final boolean flush,
        final boolean barrier,
        final boolean discard,
        final boolean discardSecure)
    {
        this.capacitySectors = capacitySectors;
        this.readOnly = readOnly;
        this.maxIndirectSegments = maxIndirectSegments;
        this.flush = flush;
        this.barrier = barrier;
        this.discard = discard;
        this.discardSecure = discardSecure;
    }

    /**
     * @param capacitySectors the new disk size, after an online resize.
     */
    public void capacity(final long capacitySectors)
    {
        this.capacitySectors = capacitySectors;
    }

    /**
     * @return the disk size in 512-byte sectors.
     */
    public long capacity()
    {
        return capacitySectors;
    }

    /**
     * @return the most segments an indirect request may carry, 0 when indirect is not offered.
     */
    public int maxIndirectSegments()
    {
        return maxIndirectSegments;
    }

    /**
     * Checks what the slot itself says: the operation, segment counts, read-only, discard ranges.
     *
     * @param request the decoded copy.
     * @return OK when the request may go on to its segments.
     */
    public RequestVerdict checkHeader(final BlkifRequest request)
    {
        final int op = request.operation();
        switch (op)
        {
            case BLKIF_OP_READ, BLKIF_OP_WRITE ->
            {
                if (request.nrSegments() == 0 || request.nrSegments() > BLKIF_MAX_SEGMENTS_PER_REQUEST)
                {
                    return RequestVerdict.BAD_SEGMENT_COUNT;
                }
                return op == BLKIF_OP_WRITE && readOnly ? RequestVerdict.READ_ONLY : RequestVerdict.OK;
            }
            case BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE ->
            {
                if (!(op == BLKIF_OP_FLUSH_DISKCACHE ? flush : barrier))
                {
                    return RequestVerdict.FEATURE_NOT_ADVERTISED;
                }
                if (request.nrSegments() > BLKIF_MAX_SEGMENTS_PER_REQUEST)
                {
                    return RequestVerdict.BAD_SEGMENT_COUNT;
                }
                return request.nrSegments() > 0 && readOnly ? RequestVerdict.READ_ONLY : RequestVerdict.OK;
            }
            case BLKIF_OP_DISCARD ->
            {
                if (!discard)
                {
                    return RequestVerdict.FEATURE_NOT_ADVERTISED;
                }
                if (readOnly)
                {
                    return RequestVerdict.READ_ONLY;
                }
                if ((request.discardFlag() & BLKIF_DISCARD_SECURE) != 0 && !discardSecure)
                {
                    return RequestVerdict.SECURE_DISCARD_UNSUPPORTED;
                }
                return inRange(request.sectorNumber(), request.discardNrSectors()) ?
                    RequestVerdict.OK : RequestVerdict.BEYOND_END;
            }
            case BLKIF_OP_INDIRECT ->
            {
                if (maxIndirectSegments == 0)
                {
                    return RequestVerdict.FEATURE_NOT_ADVERTISED;
                }
                final int io = request.ioOperation();
                if (io != BLKIF_OP_READ && io != BLKIF_OP_WRITE)
                {
                    return RequestVerdict.BAD_INDIRECT_OPERATION;
                }
                if (request.nrSegments() == 0 || request.nrSegments() > maxIndirectSegments)
                {
                    return RequestVerdict.BAD_SEGMENT_COUNT;
                }
                return io == BLKIF_OP_WRITE && readOnly ? RequestVerdict.READ_ONLY : RequestVerdict.OK;
            }
            default ->
            {
                return RequestVerdict.UNSUPPORTED_OPERATION;
            }
        }
    }

    /**
     * Checks every loaded segment's sectors and the request's whole range against the disk.
     *
     * @param request the decoded copy with all its segments loaded.
     * @return OK when the I/O may be issued.
     */
    public RequestVerdict checkSegments(final BlkifRequest request)
    {
        final int n = request.segmentsLoaded();
        if (n != Math.min(request.nrSegments(), request.segmentCapacity()))
        {
            return RequestVerdict.BAD_SEGMENT_COUNT;
        }
        long sectors = 0;
        for (int i = 0; i < n; i++)
        {
            final int first = request.segmentFirstSect(i);
            final int last = request.segmentLastSect(i);
            if (first > last || last >= SECTORS_PER_PAGE)
            {
                return RequestVerdict.BAD_SEGMENT_SECTORS;
            }
            sectors += last - first + 1;
        }
        // As Linux's blkback (xen_vbd_translate): only a request that carries sectors has a range to check. A flush
        // or barrier without data comes from Linux's blkfront with sector_number 2^64-1 (the block layer's -1).
        return n == 0 || inRange(request.sectorNumber(), sectors) ? RequestVerdict.OK : RequestVerdict.BEYOND_END;
    }

    private boolean inRange(final long sector, final long sectors)
    {
        // Unsigned guest values: a huge sector_number is negative as a long; reject it and any overflow.
        return sector >= 0 && sectors >= 0 && sector <= capacitySectors && sectors <= capacitySectors - sector;
    }
}
