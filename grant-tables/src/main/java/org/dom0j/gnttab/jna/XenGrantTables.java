package org.dom0j.gnttab.jna;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.common.XenLibrary;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantSharing;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.gnttab.SharedPages;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Grant tables on real Xen through Debian's libxengnttab (the kernel's /dev/xen/gntdev and /dev/xen/gntalloc).
 * The one public entry point of this package: {@link #open()} and {@link #openSharing()}.
 * <p>
 * Threads: the handles it returns may be used by several threads; see {@link GrantTables}.
 */
public final class XenGrantTables implements GrantTables
{
    private static volatile LibXenGnttab lib;

    private final LibXenGnttab xen;
    private final Pointer handle;
    private final long handleAddress;
    private final AtomicInteger mappedPages = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private Memory segments;
    private final UnsafeBuffer segmentsView = new UnsafeBuffer(0, 0);

    private XenGrantTables(final LibXenGnttab xen, final Pointer handle)
    {
        this.xen = xen;
        this.handle = handle;
        this.handleAddress = Pointer.nativeValue(handle);
    }

    static LibXenGnttab library()
    {
        LibXenGnttab l = lib;
        if (null == l)
        {
            try
            {
                l = XenLibrary.GNTTAB.load(LibXenGnttab.class);
            }
            catch (final XenException ex)
            {
                throw new GrantTableException(ex.errno(), ex.getMessage());
            }
            lib = l;
        }
        return l;
    }

    /**
     * Opens /dev/xen/gntdev through xengnttab_open.
     *
     * @return a grant table handle.
     * @throws GrantTableException with ENOENT and one sentence when this is not a Xen domain.
     */
    public static GrantTables open()
    {
        final LibXenGnttab xen = library();
        final Pointer handle = xen.xengnttab_open(null, 0);
        if (null == handle)
        {
            throw openFailure(Native.getLastError(), "gntdev");
        }
        return new XenGrantTables(xen, handle);
    }

    /**
     * Opens /dev/xen/gntalloc through xengntshr_open.
     *
     * @return a grant sharing handle.
     * @throws GrantTableException with ENOENT and one sentence when this is not a Xen domain.
     */
    public static GrantSharing openSharing()
    {
        final LibXenGnttab xen = library();
        final Pointer handle = xen.xengntshr_open(null, 0);
        if (null == handle)
        {
            throw openFailure(Native.getLastError(), "gntalloc");
        }
        return new Sharing(xen, handle);
    }

    private static GrantTableException openFailure(final int errno, final String device)
    {
        final String why = errno == Errno.ENOENT.number() ?
            "this is not a Xen domain (no /dev/xen/" + device + ")" :
            errno == Errno.EACCES.number() || errno == Errno.EPERM.number() ?
            "no permission on /dev/xen/" + device + " (run as root in dom0)" : "/dev/xen/" + device + " refused";
        return new GrantTableException(errno, "cannot open Xen grant tables: " + why);
    }

    @Override
    public GrantMapping map(final int domid, final int[] refs, final int count, final boolean writable)
    {
        checkOpen();
        if (count < 1 || count > refs.length)
        {
            throw new GrantTableException(Errno.EINVAL.number(), "map grant refs of domain " + domid +
                ": bad count " + count);
        }
        final int[] r = count == refs.length ? refs : java.util.Arrays.copyOf(refs, count);
        final Pointer p = xen.xengnttab_map_domain_grant_refs(handle, count, domid, r, prot(writable));
        if (null == p)
        {
            throw new GrantTableException(Native.getLastError(), "map grant ref" +
                (count == 1 ? " " + refs[0] : "s " + java.util.Arrays.toString(r)) + " of domain " + domid);
        }
        mappedPages.addAndGet(count);
        return new Mapping(p, count);
    }

    @Override
    public GrantMapping mapOneWithNotify(
        final int domid, final int ref, final boolean writable, final int notifyOffset, final int notifyPort)
    {
        checkOpen();
        final Pointer p = xen.xengnttab_map_grant_ref_notify(handle, domid, ref, prot(writable), notifyOffset,
            notifyPort);
        if (null == p)
        {
            throw new GrantTableException(Native.getLastError(), "map grant ref " + ref + " of domain " + domid +
                " with unmap notify (byte " + notifyOffset + ", port " + notifyPort + ")");
        }
        mappedPages.incrementAndGet();
        return new Mapping(p, 1);
    }

    private static int prot(final boolean writable)
    {
        return writable ? LibXenGnttab.PROT_READ | LibXenGnttab.PROT_WRITE : LibXenGnttab.PROT_READ;
    }

    /**
     * Encodes the batch as xengnttab_grant_copy_segment_t[] in native memory held by this handle (plain stores
     * through an {@link UnsafeBuffer}, not a JNI call per field), makes one call, and reads each segment's status back.
     */
    @Override
    public synchronized void copy(final GrantCopyBatch batch)
    {
        checkOpen();
        final int n = batch.count();
        if (n == 0)
        {
            return;
        }
        final int bytes = n * LibXenGnttab.SEGMENT_LENGTH;
        if (null == segments || segmentsView.capacity() < bytes)
        {
            final int capacity = Math.max(bytes, batch.capacity() * LibXenGnttab.SEGMENT_LENGTH);
            segments = new Memory(capacity);
            segmentsView.wrap(Pointer.nativeValue(segments), capacity);
        }
        final UnsafeBuffer s = segmentsView;
        s.setMemory(0, bytes, (byte)0);
        for (int i = 0; i < n; i++)
        {
            final int base = i * LibXenGnttab.SEGMENT_LENGTH;
            final int foreign = base + (batch.toForeign(i) ? LibXenGnttab.SEGMENT_DEST : LibXenGnttab.SEGMENT_SOURCE);
            final int local = base + (batch.toForeign(i) ? LibXenGnttab.SEGMENT_SOURCE : LibXenGnttab.SEGMENT_DEST);
            s.putInt(foreign + LibXenGnttab.FOREIGN_REF, batch.ref(i));
            s.putShort(foreign + LibXenGnttab.FOREIGN_OFFSET, (short)batch.foreignOffset(i));
            s.putShort(foreign + LibXenGnttab.FOREIGN_DOMID, (short)batch.domid(i));
            if (batch.foreignToForeign(i))
            {
                // Both sides are grants: gntdev and Xen accept GNTCOPY_source_gref | GNTCOPY_dest_gref.
                s.putInt(local + LibXenGnttab.FOREIGN_REF, batch.sourceRef(i));
                s.putShort(local + LibXenGnttab.FOREIGN_OFFSET, (short)batch.sourceOffset(i));
                s.putShort(local + LibXenGnttab.FOREIGN_DOMID, (short)batch.sourceDomid(i));
            }
            else
            {
                s.putLong(local, batch.localAddress(i));
            }
            s.putShort(base + LibXenGnttab.SEGMENT_LEN, (short)batch.length(i));
            s.putShort(base + LibXenGnttab.SEGMENT_FLAGS, (short)(batch.foreignToForeign(i) ?
                LibXenGnttab.GNTCOPY_SOURCE_GREF | LibXenGnttab.GNTCOPY_DEST_GREF : batch.toForeign(i) ?
                LibXenGnttab.GNTCOPY_DEST_GREF : LibXenGnttab.GNTCOPY_SOURCE_GREF));
            s.putShort(base + LibXenGnttab.SEGMENT_STATUS, GrantCopyBatch.GNTST_GENERAL_ERROR);
        }
        if (GnttabDirect.xengnttab_grant_copy(handleAddress, n, s.addressOffset()) != 0)
        {
            throw new GrantTableException(Native.getLastError(), "grant copy of " + n + " segments");
        }
        for (int i = 0; i < n; i++)
        {
            batch.status(i, s.getShort(i * LibXenGnttab.SEGMENT_LENGTH + LibXenGnttab.SEGMENT_STATUS));
        }
    }

    @Override
    public void setMaxGrants(final int count)
    {
        checkOpen();
        if (xen.xengnttab_set_max_grants(handle, count) != 0)
        {
            throw new GrantTableException(Native.getLastError(), "set max grants to " + count);
        }
    }

    @Override
    public int mappedPageCount()
    {
        return mappedPages.get();
    }

    @Override
    public void close()
    {
        if (closed.compareAndSet(false, true))
        {
            xen.xengnttab_close(handle);
        }
    }

    private void checkOpen()
    {
        if (closed.get())
        {
            throw new GrantTableException(Errno.EBADF.number(), "grant table handle is closed");
        }
    }

    private final class Mapping implements GrantMapping
    {
        private final Pointer address;
        private final int count;
        private final UnsafeBuffer buffer;
        private final AtomicBoolean unmapped = new AtomicBoolean();

        Mapping(final Pointer address, final int count)
        {
            this.address = address;
            this.count = count;
            this.buffer = new UnsafeBuffer(Pointer.nativeValue(address), count * PAGE_SIZE);
        }

        @Override
        public UnsafeBuffer buffer()
        {
            return buffer;
        }

        @Override
        public long address()
        {
            return Pointer.nativeValue(address);
        }

        @Override
        public int pageCount()
        {
            return count;
        }

        @Override
        public void close()
        {
            if (unmapped.compareAndSet(false, true))
            {
                if (xen.xengnttab_unmap(handle, address, count) != 0)
                {
                    throw new GrantTableException(Native.getLastError(), "unmap " + count + " grant pages");
                }
                mappedPages.addAndGet(-count);
            }
        }
    }

    /**
     * gntshr: pages of this domain shared with another.
     */
    private static final class Sharing implements GrantSharing
    {
        private final LibXenGnttab xen;
        private final Pointer handle;
        private final AtomicInteger sharedPages = new AtomicInteger();
        private final AtomicBoolean closed = new AtomicBoolean();

        Sharing(final LibXenGnttab xen, final Pointer handle)
        {
            this.xen = xen;
            this.handle = handle;
        }

        @Override
        public SharedPages share(final int domid, final int count, final boolean writable)
        {
            if (closed.get())
            {
                throw new GrantTableException(Errno.EBADF.number(), "grant sharing handle is closed");
            }
            if (count < 1)
            {
                throw new GrantTableException(Errno.EINVAL.number(), "share " + count + " pages");
            }
            final int[] refs = new int[count];
            final Pointer p = xen.xengntshr_share_pages(handle, domid, count, refs, writable ? 1 : 0);
            if (null == p)
            {
                throw new GrantTableException(Native.getLastError(), "share " + count + " pages with domain " + domid);
            }
            sharedPages.addAndGet(count);
            return new Shared(p, refs);
        }

        @Override
        public int sharedPageCount()
        {
            return sharedPages.get();
        }

        @Override
        public void close()
        {
            if (closed.compareAndSet(false, true))
            {
                xen.xengntshr_close(handle);
            }
        }

        private final class Shared implements SharedPages
        {
            private final Pointer address;
            private final int[] refs;
            private final UnsafeBuffer buffer;
            private final AtomicBoolean unshared = new AtomicBoolean();

            Shared(final Pointer address, final int[] refs)
            {
                this.address = address;
                this.refs = refs;
                this.buffer = new UnsafeBuffer(Pointer.nativeValue(address), refs.length * GrantMapping.PAGE_SIZE);
            }

            @Override
            public UnsafeBuffer buffer()
            {
                return buffer;
            }

            @Override
            public int pageCount()
            {
                return refs.length;
            }

            @Override
            public int ref(final int page)
            {
                return refs[page];
            }

            @Override
            public void close()
            {
                if (unshared.compareAndSet(false, true))
                {
                    if (xen.xengntshr_unshare(handle, address, refs.length) != 0)
                    {
                        throw new GrantTableException(Native.getLastError(), "unshare " + refs.length + " pages");
                    }
                    sharedPages.addAndGet(-refs.length);
                }
            }
        }
    }
}
