package org.dom0j.sim;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.gnttab.GrantSharing;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.gnttab.SharedPages;
import org.dom0j.linux.LinuxException;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The simulator's gntalloc: allocates pages of a domain, grants them and maps them as one range.
 * <p>
 * Threads: any.
 */
final class SimGrantSharing implements GrantSharing
{
    private final SimDomain domain;
    private final AtomicInteger sharedPages = new AtomicInteger();

    SimGrantSharing(final SimDomain domain)
    {
        this.domain = domain;
    }

    @Override
    public SharedPages share(final int domid, final int count, final boolean writable)
    {
        if (count < 1 || count > 1024)
        {
            throw new GrantTableException(Errno.EINVAL.number(), "share " + count + " pages (1 to 1024)");
        }
        final int[] frames = new int[count];
        final int[] refs = new int[count];
        int allocated = 0;
        int granted = 0;
        try
        {
            for (; allocated < count; allocated++)
            {
                frames[allocated] = domain.allocatePage();
            }
            for (; granted < count; granted++)
            {
                refs[granted] = domain.grantAccess(domid, frames[granted], !writable);
            }
            final long address;
            try
            {
                address = SimFrames.map(domain.state().memoryFd(), frames, count, true);
            }
            catch (final LinuxException ex)
            {
                throw new GrantTableException(ex.errno(), "map shared pages");
            }
            sharedPages.addAndGet(count);
            return new Shared(address, frames, refs);
        }
        catch (final XenException ex)
        {
            for (int i = 0; i < granted; i++)
            {
                domain.endAccess(refs[i]);
            }
            for (int i = 0; i < allocated; i++)
            {
                domain.freePage(frames[i]);
            }
            throw ex;
        }
    }

    @Override
    public int sharedPageCount()
    {
        return sharedPages.get();
    }

    @Override
    public void close()
    {
    }

    private final class Shared implements SharedPages
    {
        private final long address;
        private final int[] frames;
        private final int[] refs;
        private final UnsafeBuffer buffer;
        private final AtomicBoolean closed = new AtomicBoolean();

        Shared(final long address, final int[] frames, final int[] refs)
        {
            this.address = address;
            this.frames = frames;
            this.refs = refs;
            this.buffer = new UnsafeBuffer(address, frames.length * SimHost.PAGE_SIZE);
        }

        @Override
        public UnsafeBuffer buffer()
        {
            return buffer;
        }

        @Override
        public int pageCount()
        {
            return frames.length;
        }

        @Override
        public int ref(final int page)
        {
            return refs[page];
        }

        @Override
        public void close()
        {
            if (!closed.compareAndSet(false, true))
            {
                return;
            }
            SimFrames.unmap(address, frames.length);
            for (int i = 0; i < frames.length; i++)
            {
                try
                {
                    domain.endAccess(refs[i]);
                    domain.freePage(frames[i]);
                }
                catch (final GrantTableException stillMapped)
                {
                    // As gntalloc: the grantee still maps it, so the page stays granted (the sim never reclaims it).
                }
            }
            sharedPages.addAndGet(-frames.length);
        }
    }
}
