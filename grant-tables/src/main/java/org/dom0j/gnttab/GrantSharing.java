package org.dom0j.gnttab;

/**
 * Granting this domain's own pages to another domain (libxengnttab's gntshr half; the kernel's gntalloc). A
 * backend does not need it; the self-test uses it to grant a page to its own domain and map it back, and tools
 * may use it to play a frontend.
 * <p>
 * <b>Errors</b>: {@link GrantTableException} with errno (ENOSPC or ENOMEM when no grant refs or pages are left,
 * EINVAL for a bad count).
 * <p>
 * <b>Threads</b>: an instance may be used by several threads at once; each {@link SharedPages} is owned by one.
 */
public interface GrantSharing extends AutoCloseable
{
    /**
     * Allocates {@code count} zeroed pages and grants each to {@code domid} (as {@code xengntshr_share_pages}).
     *
     * @param domid    the domain allowed to map them.
     * @param count    how many pages, at least 1.
     * @param writable whether that domain may write them.
     * @return the pages and their grant refs.
     */
    SharedPages share(int domid, int count, boolean writable);

    /**
     * @return how many pages this handle shares now (for leak checks).
     */
    int sharedPageCount();

    @Override
    void close();
}
