package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.sim.SimDomain;

import java.util.Arrays;

/**
 * The pages a {@link SimNetfront} queue lends its backend one slot at a time: a run of contiguous pages allocated
 * when the queue is set up, page {@code i} for slot (or request id) {@code i}, granted when a request names it and
 * the grant ended when the response comes back (gnttab_end_foreign_access_ref). A grant the backend still holds
 * cannot be ended; the page stays allocated and is counted at {@link #release()}.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class GrantedPagePool
{
    private final SimDomain guest;
    private final int backendDomid;
    private final boolean readonly;
    private final int firstFrame;
    private final UnsafeBuffer pages;
    private final int[] grefs;

    /**
     * @param guest        the guest domain.
     * @param backendDomid who the pages are granted to.
     * @param count        pages, one per slot.
     * @param readonly     grant them read-only (the backend only reads them: TX).
     */
    GrantedPagePool(final SimDomain guest, final int backendDomid, final int count, final boolean readonly)
    {
        this.guest = guest;
        this.backendDomid = backendDomid;
        this.readonly = readonly;
        firstFrame = guest.allocateContiguous(count);
        pages = guest.pages(firstFrame, count);
        grefs = new int[count];
        Arrays.fill(grefs, -1);
    }

    /**
     * @return every page, slot {@code i}'s at {@code i * PAGE_SIZE}.
     */
    UnsafeBuffer pages()
    {
        return pages;
    }

    /**
     * @param slot a slot.
     * @return whether its page is granted to the backend now.
     */
    boolean isGranted(final int slot)
    {
        return grefs[slot] >= 0;
    }

    /**
     * Grants a slot's page to the backend.
     *
     * @param slot a slot whose page is not granted.
     * @return the grant reference.
     */
    int grant(final int slot)
    {
        final int ref = guest.grantAccess(backendDomid, firstFrame + slot, readonly);
        grefs[slot] = ref;
        return ref;
    }

    /**
     * Ends the grant of a slot's page, if it has one.
     *
     * @param slot a slot.
     * @return null, or why it could not (the backend still holds it; it stays granted).
     */
    String end(final int slot)
    {
        if (grefs[slot] < 0)
        {
            return null;
        }
        final String busy = endAccess(guest, grefs[slot]);
        if (null == busy)
        {
            grefs[slot] = -1;
        }
        return busy;
    }

    /**
     * Ends every grant the backend no longer holds and frees those pages.
     *
     * @return grants that could not be ended (the backend still maps them; their pages stay allocated).
     */
    int release()
    {
        int leaked = 0;
        for (int slot = 0; slot < grefs.length; slot++)
        {
            if (null != end(slot))
            {
                leaked++;
            }
            if (grefs[slot] < 0)
            {
                guest.freePage(firstFrame + slot);
            }
        }
        return leaked;
    }

    /**
     * Ends a grant as gnttab_end_foreign_access_ref does.
     *
     * @param guest the granting domain.
     * @param ref   the grant.
     * @return null, or why it could not (the backend still holds it).
     */
    static String endAccess(final SimDomain guest, final int ref)
    {
        try
        {
            guest.endAccess(ref);
            return null;
        }
        catch (final GrantTableException ex)
        {
            if (ex.errno() == Errno.EBUSY.number())
            {
                return "grant " + ref + " still in use by the backend domain";
            }
            throw ex;
        }
    }
}
