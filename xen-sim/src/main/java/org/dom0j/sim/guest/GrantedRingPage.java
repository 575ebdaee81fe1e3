package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.sim.SimDomain;

/**
 * The one page a {@link SimNetfront} ring lives in: allocated and granted writable to the backend when the ring is
 * set up, its reference written to xenstore ({@code tx-ring-ref}, {@code rx-ring-ref}, {@code ctrl-ring-ref}), and
 * ended and freed at {@link #release()} unless the backend still maps it.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class GrantedRingPage
{
    private final SimDomain guest;
    private final int frame;
    private final int ref;
    private final UnsafeBuffer buffer;

    /**
     * @param guest        the guest domain.
     * @param backendDomid who the page is granted to.
     */
    GrantedRingPage(final SimDomain guest, final int backendDomid)
    {
        this.guest = guest;
        frame = guest.allocatePage();
        ref = guest.grantAccess(backendDomid, frame, false);
        buffer = guest.page(frame);
    }

    /**
     * @return the grant reference.
     */
    int ref()
    {
        return ref;
    }

    /**
     * @return the page.
     */
    UnsafeBuffer buffer()
    {
        return buffer;
    }

    /**
     * Ends the grant and frees the page, unless the backend still maps it.
     *
     * @return 1 when the grant could not be ended, else 0.
     */
    int release()
    {
        if (null == GrantedPagePool.endAccess(guest, ref))
        {
            guest.freePage(frame);
            return 0;
        }
        return 1;
    }
}
