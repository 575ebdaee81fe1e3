package org.dom0j.sim;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.linux.LinuxException;

import java.util.concurrent.atomic.AtomicInteger;

import static org.dom0j.sim.SimDomainDescriptor.NR_PORTS;

/**
 * The simulator's gntdev: maps other domains' grants into this process with Xen's checks (the grant entry must
 * permit access to this domain, read-only grants cannot be mapped writable, GTF_reading/GTF_writing are set while
 * mapped) and copies to and from grants without mapping them.
 * <p>
 * A mapping is one contiguous range made with {@code mmap(MAP_FIXED)} of the granting domain's memory file, so a
 * read-only mapping is really read-only and a mapping made in this process sees writes made by the guest's
 * process at once. Like gntdev, a refused map reports EINVAL whatever Xen's reason (the message says which).
 * <p>
 * <b>Threads</b>: any thread; each mapping is closed once by its owner (closing twice does nothing).
 */
final class SimGrantTables implements GrantTables
{
    /** Default mapping limit of a handle, in pages. */
    static final int DEFAULT_MAX_GRANTS = 65_536;
    /** A status no GNTST_* value takes: the operation holds a pin to release. */
    private static final short PIN_IN_USE = Short.MIN_VALUE;

    private final SimHost host;
    private final int localDomid;
    private final AtomicInteger mappedPages = new AtomicInteger();
    private final UnsafeBuffer localView = new UnsafeBuffer(0, 0);
    /** The frame each operation of the batch being copied pinned, by operation index. */
    private int[] copyFrames = new int[0];
    private final int[] pairFrames = new int[2];
    private volatile int maxGrants = DEFAULT_MAX_GRANTS;

    SimGrantTables(final SimHost host, final int localDomid)
    {
        this.host = host;
        this.localDomid = localDomid;
    }

    @Override
    public GrantMapping map(final int domid, final int[] refs, final int count, final boolean writable)
    {
        return map(domid, refs, count, writable, -1, -1);
    }

    @Override
    public GrantMapping mapOneWithNotify(
        final int domid, final int ref, final boolean writable, final int notifyOffset, final int notifyPort)
    {
        if (notifyOffset < -1 || notifyOffset >= SimHost.PAGE_SIZE || (notifyOffset >= 0 && !writable))
        {
            throw new GrantTableException(Errno.EINVAL.number(), "map grant ref " + ref + " of domain " + domid +
                " with unmap notify at byte " + notifyOffset + " (needs 0-4095 and a writable mapping)");
        }
        if (notifyPort < -1 || notifyPort >= NR_PORTS)
        {
            throw new GrantTableException(Errno.EINVAL.number(), "map grant ref " + ref + " of domain " + domid +
                " with unmap notify on port " + notifyPort + " (out of range)");
        }
        return map(domid, new int[]{ ref }, 1, writable, notifyOffset, notifyPort);
    }

    private GrantMapping map(
        final int domid,
        final int[] refs,
        final int count,
        final boolean writable,
        final int notifyOffset,
        final int notifyPort)
    {
        final String what = "map grant ref" + (count == 1 ? " " + (refs.length > 0 ? refs[0] : -1) : "s") +
            " of domain " + domid;
        if (count < 1 || count > refs.length)
        {
            throw new GrantTableException(Errno.EINVAL.number(), what + ": bad count " + count);
        }
        if (mappedPages.get() + count > maxGrants)
        {
            throw new GrantTableException(Errno.ENOMEM.number(), what + ": the handle's limit of " + maxGrants +
                " mapped grants is reached");
        }
        // The mapping holds a use of the granter's view until it is closed.
        final SimDomainState granter = host.acquire(domid);
        if (null == granter)
        {
            throw new GrantTableException(Errno.EINVAL.number(),
                what + ": the domain does not exist (GNTST_bad_domain)");
        }
        boolean mapped = false;
        try
        {
            final int[] frames = new int[count];
            final int[] pinned = refs.clone();
            granter.lock();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    final int result = granter.grantPins().pin(pinned[i], localDomid, writable, frames, i);
                    if (result != SimGrantPins.PIN_OK)
                    {
                        for (int j = 0; j < i; j++)
                        {
                            granter.grantPins().unpin(pinned[j], writable);
                        }
                        throw new GrantTableException(Errno.EINVAL.number(),
                            "map grant ref " + pinned[i] + " of domain " + domid + ": " +
                            SimGrantPins.pinReason(result));
                    }
                }
            }
            finally
            {
                granter.unlock();
            }
            final long address;
            try
            {
                address = SimFrames.map(granter.memoryFd(), frames, count, writable);
            }
            catch (final LinuxException ex)
            {
                unpinAll(granter, pinned, count, writable);
                throw new GrantTableException(ex.errno() == 0 ? Errno.ENOMEM.number() : ex.errno(),
                    what + ": mmap failed");
            }
            mappedPages.addAndGet(count);
            final GrantMapping mapping =
                new SimGrantMapping(this, granter, pinned, count, writable, address, notifyOffset, notifyPort);
            mapped = true;
            return mapping;
        }
        finally
        {
            if (!mapped)
            {
                granter.release();
            }
        }
    }

    static void unpinAll(final SimDomainState granter, final int[] refs, final int count, final boolean writable)
    {
        granter.lock();
        try
        {
            for (int i = 0; i < count; i++)
            {
                granter.grantPins().unpin(refs[i], writable);
            }
        }
        finally
        {
            granter.unlock();
        }
    }

    void unmapped(final int count, final int notifyPort)
    {
        mappedPages.addAndGet(-count);
        if (notifyPort >= 0)
        {
            final SimDomainState local = host.acquire(localDomid);
            if (null != local)
            {
                try
                {
                    local.send(notifyPort);
                }
                finally
                {
                    local.release();
                }
            }
        }
    }

    /**
     * Like Xen's {@code GNTTABOP_copy}, each operation is checked and done on its own (a bad one fails alone with
     * its GNTST_* status), with Xen's checks: the entry must permit access to this domain, a copy into a
     * read-only grant is refused, GTF_reading (and GTF_writing for a copy into the grant) are set and the pin
     * counts raised while the copy runs, so the guest cannot end access half way through. Consecutive operations on
     * one domain take its lock once to pin them all and once to unpin them all, rather than twice per operation.
     */
    @Override
    public synchronized void copy(final GrantCopyBatch batch)
    {
        final int n = batch.count();
        if (copyFrames.length < n)
        {
            copyFrames = new int[batch.capacity()];
        }
        int from = 0;
        while (from < n)
        {
            if (batch.foreignToForeign(from))
            {
                copyForeignToForeign(batch, from);
                from++;
                continue;
            }
            final int domid = batch.domid(from);
            int to = from + 1;
            while (to < n && batch.domid(to) == domid && !batch.foreignToForeign(to))
            {
                to++;
            }
            copyRun(batch, from, to, domid);
            from = to;
        }
    }

    /**
     * A copy between two guests' grants, as Xen does one with {@code GNTCOPY_source_gref | GNTCOPY_dest_gref}: the
     * source is pinned for reading in its domain and the destination for writing in its own, each under its own
     * domain's lock (never both at once), the bytes move between the two memories, and both pins are released.
     */
    private void copyForeignToForeign(final GrantCopyBatch batch, final int i)
    {
        final int length = batch.length(i);
        final int srcOffset = batch.sourceOffset(i);
        if (!validCopyArgs(batch, i) || srcOffset < 0 || srcOffset + length > SimHost.PAGE_SIZE)
        {
            batch.status(i, GrantCopyBatch.GNTST_BAD_COPY_ARG);
            return;
        }
        final SimDomainState source = host.acquire(batch.sourceDomid(i));
        final SimDomainState dest = null == source ? null : host.acquire(batch.domid(i));
        if (null == dest)
        {
            if (null != source)
            {
                source.release();
            }
            batch.status(i, GrantCopyBatch.GNTST_BAD_DOMAIN);
            return;
        }
        try
        {
            copyForeignToForeign(batch, i, source, dest, length, srcOffset);
        }
        finally
        {
            dest.release();
            source.release();
        }
    }

    private void copyForeignToForeign(
        final GrantCopyBatch batch,
        final int i,
        final SimDomainState source,
        final SimDomainState dest,
        final int length,
        final int srcOffset)
    {
        final int sourcePin = pinOne(source, batch.sourceRef(i), false, 0);
        if (sourcePin != SimGrantPins.PIN_OK)
        {
            batch.status(i, SimGrantPins.grantStatus(sourcePin));
            return;
        }
        try
        {
            final int destPin = pinOne(dest, batch.ref(i), true, 1);
            if (destPin != SimGrantPins.PIN_OK)
            {
                batch.status(i, SimGrantPins.grantStatus(destPin));
                return;
            }
            try
            {
                dest.memory().putBytes(pairFrames[1] * SimHost.PAGE_SIZE + batch.foreignOffset(i),
                    source.memory(), pairFrames[0] * SimHost.PAGE_SIZE + srcOffset, length);
            }
            finally
            {
                unpinOne(dest, batch.ref(i), true);
            }
            batch.status(i, GrantCopyBatch.GNTST_OKAY);
        }
        finally
        {
            unpinOne(source, batch.sourceRef(i), false);
        }
    }

    private int pinOne(final SimDomainState granter, final int ref, final boolean writable, final int slot)
    {
        granter.lock();
        try
        {
            return granter.grantPins().pin(ref, localDomid, writable, pairFrames, slot);
        }
        finally
        {
            granter.unlock();
        }
    }

    private static void unpinOne(final SimDomainState granter, final int ref, final boolean writable)
    {
        granter.lock();
        try
        {
            granter.grantPins().unpin(ref, writable);
        }
        finally
        {
            granter.unlock();
        }
    }

    private void copyRun(final GrantCopyBatch batch, final int from, final int to, final int domid)
    {
        final SimDomainState granter = host.acquire(domid);
        if (null == granter)
        {
            for (int i = from; i < to; i++)
            {
                batch.status(i, validCopyArgs(batch, i) ? GrantCopyBatch.GNTST_BAD_DOMAIN :
                    GrantCopyBatch.GNTST_BAD_COPY_ARG);
            }
            return;
        }
        try
        {
            copyRun(batch, from, to, granter);
        }
        finally
        {
            granter.release();
        }
    }

    private void copyRun(final GrantCopyBatch batch, final int from, final int to, final SimDomainState granter)
    {
        int pinned = 0;
        granter.lock();
        try
        {
            for (int i = from; i < to; i++)
            {
                if (!validCopyArgs(batch, i))
                {
                    batch.status(i, GrantCopyBatch.GNTST_BAD_COPY_ARG);
                    continue;
                }
                final int result = granter.grantPins().pin(batch.ref(i), localDomid, batch.toForeign(i), copyFrames, i);
                // PIN_IN_USE marks a pin to release; the status says okay only once the copy is done.
                batch.status(i, result == SimGrantPins.PIN_OK ? PIN_IN_USE : SimGrantPins.grantStatus(result));
                if (result == SimGrantPins.PIN_OK)
                {
                    pinned++;
                }
            }
        }
        finally
        {
            granter.unlock();
        }
        if (pinned == 0)
        {
            return;
        }
        try
        {
            final UnsafeBuffer memory = granter.memory();
            for (int i = from; i < to; i++)
            {
                if (batch.status(i) == PIN_IN_USE)
                {
                    final int foreign = copyFrames[i] * SimHost.PAGE_SIZE + batch.foreignOffset(i);
                    final int length = batch.length(i);
                    localView.wrap(batch.localAddress(i), Math.max(length, 1));
                    if (batch.toForeign(i))
                    {
                        memory.putBytes(foreign, localView, 0, length);
                    }
                    else
                    {
                        memory.getBytes(foreign, localView, 0, length);
                    }
                }
            }
        }
        finally
        {
            granter.lock();
            try
            {
                for (int i = from; i < to; i++)
                {
                    if (batch.status(i) == PIN_IN_USE)
                    {
                        granter.grantPins().unpin(batch.ref(i), batch.toForeign(i));
                        batch.status(i, GrantCopyBatch.GNTST_OKAY);
                    }
                }
            }
            finally
            {
                granter.unlock();
            }
        }
    }

    private static boolean validCopyArgs(final GrantCopyBatch batch, final int i)
    {
        final int offset = batch.foreignOffset(i);
        final int length = batch.length(i);
        return offset >= 0 && length >= 0 && offset + length <= SimHost.PAGE_SIZE;
    }

    @Override
    public void setMaxGrants(final int count)
    {
        if (count < 1)
        {
            throw new GrantTableException(Errno.EINVAL.number(), "set max grants to " + count);
        }
        maxGrants = count;
    }

    @Override
    public int mappedPageCount()
    {
        return mappedPages.get();
    }

    /**
     * Mappings stay valid after the handle is closed, as with gntdev; close them too.
     */
    @Override
    public void close()
    {
    }
}
