package org.dom0j.gnttab;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Pages of this domain granted to another, made by {@link GrantSharing#share}. Closing ends the grants and frees
 * the pages (as {@code xengntshr_unshare}); if the other domain still has them mapped, the pages stay allocated
 * until it unmaps them, as with Linux's gntalloc.
 * <p>
 * <b>Threads</b>: owned by one thread; {@link #close()} may be called twice.
 */
public interface SharedPages extends AutoCloseable
{
    /**
     * @return the pages, {@code pageCount() * 4096} bytes, valid until {@link #close()}.
     */
    UnsafeBuffer buffer();

    /**
     * @return the number of pages.
     */
    int pageCount();

    /**
     * @param page index of the page, from 0.
     * @return its grant ref.
     */
    int ref(int page);

    @Override
    void close();
}
