package org.dom0j.blkback;

import org.dom0j.common.XenException;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantTables;

/**
 * Grant copy of requests' segments between the guest's pages and a contiguous buffer of ours (bounce pages, or the
 * disk's mapped page cache), each request's segments packed back to back: one request alone, or many added to one
 * batch. A grant copy that fails as a whole is noted in {@link QueueErrors}; one segment's bad grant fails only its
 * own operation ({@code GNTST_*}).
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when made.
 */
final class GrantCopier
{
    private final GrantTables gnttab;
    private final int frontendDomid;
    private final QueueErrors errors;
    private final GrantCopyBatch single;

    /**
     * @param gnttab        the grant handle.
     * @param frontendDomid the guest.
     * @param maxSegments   the most segments one request may carry.
     * @param errors        where a failed call is noted.
     */
    GrantCopier(final GrantTables gnttab, final int frontendDomid, final int maxSegments, final QueueErrors errors)
    {
        this.gnttab = gnttab;
        this.frontendDomid = frontendDomid;
        this.errors = errors;
        single = new GrantCopyBatch(maxSegments);
    }

    /**
     * One request's grant copy on its own.
     *
     * @param r         the request.
     * @param address   where its data starts in our memory.
     * @param toForeign true to copy into the guest's pages (a read), false out of them (a write).
     * @return whether every segment was copied.
     */
    boolean copy(final BlkifRequest r, final long address, final boolean toForeign)
    {
        single.clear();
        add(single, r, address, toForeign);
        return run(single) && single.allOkay();
    }

    /**
     * Adds a request's segments to a batch, its data packed from {@code address} on.
     *
     * @param batch     the batch, with room for them.
     * @param r         the request.
     * @param address   where its data starts in our memory.
     * @param toForeign true to copy into the guest's pages, false out of them.
     */
    void add(final GrantCopyBatch batch, final BlkifRequest r, final long address, final boolean toForeign)
    {
        long at = address;
        for (int i = 0, n = r.segmentsLoaded(); i < n; i++)
        {
            final int length = r.segmentLength(i);
            if (toForeign)
            {
                batch.addToForeign(frontendDomid, r.segmentGref(i), r.segmentOffset(i), at, length);
            }
            else
            {
                batch.addFromForeign(frontendDomid, r.segmentGref(i), r.segmentOffset(i), at, length);
            }
            at += length;
        }
    }

    /**
     * Runs a batch: one grant-copy call.
     *
     * @param batch the operations; each gets its status.
     * @return false when the call failed as a whole (no status is meaningful then).
     */
    boolean run(final GrantCopyBatch batch)
    {
        try
        {
            gnttab.copy(batch);
            return true;
        }
        catch (final XenException ex)
        {
            errors.note(ex.getMessage());
            return false;
        }
    }

    /**
     * Adds a copy from a guest page of its own (an indirect page, whole) to a batch.
     *
     * @param batch the batch.
     * @param gref  the guest's grant.
     * @param to    where in our memory.
     * @param bytes how many bytes.
     */
    void addFromForeign(final GrantCopyBatch batch, final int gref, final long to, final int bytes)
    {
        batch.addFromForeign(frontendDomid, gref, 0, to, bytes);
    }
}
