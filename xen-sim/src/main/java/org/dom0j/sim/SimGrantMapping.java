package org.dom0j.sim;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.gnttab.GrantMapping;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Grants of one domain mapped by {@link SimGrantTables}. Closing clears the notify byte, unmaps, drops the pins
 * (clearing GTF_reading/GTF_writing when the last goes) and sends the notify event, in gntdev's order. It holds a
 * use of the granter's view from map to close.
 * <p>
 * Threads: the buffer belongs to its user; close from any thread, once or more.
 */
final class SimGrantMapping implements GrantMapping
{
    private final SimGrantTables tables;
    private final SimDomainState granter;
    private final int[] refs;
    private final int count;
    private final boolean writable;
    private final long address;
    private final int notifyOffset;
    private final int notifyPort;
    private final UnsafeBuffer buffer;
    private final AtomicBoolean closed = new AtomicBoolean();

    SimGrantMapping(
        final SimGrantTables tables,
        final SimDomainState granter,
        final int[] refs,
        final int count,
        final boolean writable,
        final long address,
        final int notifyOffset,
        final int notifyPort)
    {
        this.tables = tables;
        this.granter = granter;
        this.refs = refs;
        this.count = count;
        this.writable = writable;
        this.address = address;
        this.notifyOffset = notifyOffset;
        this.notifyPort = notifyPort;
        this.buffer = new UnsafeBuffer(address, count * SimHost.PAGE_SIZE);
    }

    @Override
    public UnsafeBuffer buffer()
    {
        return buffer;
    }

    @Override
    public long address()
    {
        return address;
    }

    @Override
    public int pageCount()
    {
        return count;
    }

    @Override
    public void close()
    {
        if (!closed.compareAndSet(false, true))
        {
            return;
        }
        if (notifyOffset >= 0)
        {
            buffer.putByteVolatile(notifyOffset, (byte)0);
        }
        SimFrames.unmap(address, count);
        try
        {
            SimGrantTables.unpinAll(granter, refs, count, writable);
        }
        finally
        {
            granter.release();
        }
        tables.unmapped(count, notifyPort);
    }
}
