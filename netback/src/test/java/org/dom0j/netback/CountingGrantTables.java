package org.dom0j.netback;

import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link GrantTables} that counts the bytes its grant copies move, by kind: out of a guest into local memory, from
 * local memory into a guest, and from one guest straight into another.
 */
final class CountingGrantTables implements GrantTables
{
    final AtomicLong fromForeign = new AtomicLong();
    final AtomicLong toForeign = new AtomicLong();
    final AtomicLong foreignToForeign = new AtomicLong();
    private final GrantTables delegate;

    CountingGrantTables(final GrantTables delegate)
    {
        this.delegate = delegate;
    }

    void reset()
    {
        fromForeign.set(0);
        toForeign.set(0);
        foreignToForeign.set(0);
    }

    @Override
    public void copy(final GrantCopyBatch batch)
    {
        delegate.copy(batch);
        for (int i = 0; i < batch.count(); i++)
        {
            if (batch.status(i) != GrantCopyBatch.GNTST_OKAY)
            {
                continue;
            }
            (batch.foreignToForeign(i) ? foreignToForeign : batch.toForeign(i) ? toForeign : fromForeign)
                .addAndGet(batch.length(i));
        }
    }

    @Override
    public GrantMapping map(final int domid, final int[] refs, final int count, final boolean writable)
    {
        return delegate.map(domid, refs, count, writable);
    }

    @Override
    public GrantMapping mapOneWithNotify(
        final int domid, final int ref, final boolean writable, final int notifyOffset, final int notifyPort)
    {
        return delegate.mapOneWithNotify(domid, ref, writable, notifyOffset, notifyPort);
    }

    @Override
    public void setMaxGrants(final int count)
    {
        delegate.setMaxGrants(count);
    }

    @Override
    public int mappedPageCount()
    {
        return delegate.mappedPageCount();
    }

    @Override
    public void close()
    {
        delegate.close();
    }
}
