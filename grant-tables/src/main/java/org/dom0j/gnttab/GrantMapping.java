package org.dom0j.gnttab;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Foreign pages mapped into this process. The buffer is valid until {@link #close()}; using it afterwards is a
 * bug in the caller.
 * <p>
 * <b>Threads</b>: the buffer belongs to the thread that uses it; {@link #close()} may be called from any thread
 * once that thread is done with the buffer.
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
     * @return the address of the first mapped byte; valid until {@link #close()}.
     */
    long address();

    /**
     * Unmaps; a second call does nothing.
     */
    @Override
    void close();
}
