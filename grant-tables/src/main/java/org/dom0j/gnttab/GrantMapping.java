package org.dom0j.gnttab;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Foreign pages mapped into this process. The buffer is valid until {@link #close()}; using it afterwards is a
 * bug in the caller.
 */
public interface GrantMapping extends AutoCloseable
{
    /** Xen's page size, which is also the size of every granted page. */
    int PAGE_SIZE = 4096;

    /**
     * @return the mapped pages, {@code pageCount() * PAGE_SIZE} bytes.
     */
    UnsafeBuffer buffer();

    /**
     * @return the number of pages mapped.
     */
    int pageCount();

    /**
     * Asks for a notification when this mapping goes away, even if the process dies (as
     * {@code xengnttab_set_unmap_notify}): clear the byte at {@code byteOffset} and/or notify {@code evtchnPort}.
     *
     * @param byteOffset offset into the mapping of the byte to clear, or -1 for none.
     * @param evtchnPort a local event channel port to notify, or -1 for none.
     */
    void notifyOnUnmap(int byteOffset, int evtchnPort);

    /**
     * Unmaps; a second call does nothing.
     */
    @Override
    void close();
}
