package org.dom0j.domctl.jna;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.common.XenLibrary;
import org.dom0j.domctl.DomainControl;
import org.dom0j.domctl.DomainControlException;
import org.dom0j.domctl.DomainInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Domain control on real Xen through Debian's libxenctrl 4.17 (privcmd hypercalls). The one public entry point
 * of this package is {@link #open()}.
 * <p>
 * Threads: any; listing is serialised on this handle's buffer.
 */
public final class XenDomainControl implements DomainControl
{
    /** Domains read per xc_domain_getinfolist call. */
    static final int BATCH = 64;
    private static final int PAGE_KIB = 4;

    private static volatile LibXenCtrl lib;

    private final LibXenCtrl xen;
    private final Pointer handle;
    private final Memory infos = new Memory((long)BATCH * LibXenCtrl.INFO_LENGTH);
    private final AtomicBoolean closed = new AtomicBoolean();

    private XenDomainControl(final LibXenCtrl xen, final Pointer handle)
    {
        this.xen = xen;
        this.handle = handle;
    }

    /**
     * Opens the hypervisor interface through xc_interface_open.
     *
     * @return a domain control handle.
     * @throws DomainControlException with ENOENT and one sentence when this is not a Xen dom0.
     */
    public static DomainControl open()
    {
        LibXenCtrl l = lib;
        if (null == l)
        {
            try
            {
                l = XenLibrary.CTRL.load(LibXenCtrl.class);
            }
            catch (final XenException ex)
            {
                throw new DomainControlException(ex.errno(), ex.getMessage());
            }
            lib = l;
        }
        final Pointer handle = l.xc_interface_open(null, null, 0);
        if (null == handle)
        {
            final int errno = Native.getLastError();
            throw new DomainControlException(errno, "cannot open Xen domain control: " +
                (errno == Errno.ENOENT.number() ? "this is not a Xen domain (no /dev/xen/privcmd)" :
                errno == Errno.EACCES.number() || errno == Errno.EPERM.number() ?
                "no permission on /dev/xen/privcmd (run as root in dom0)" : "/dev/xen/privcmd refused"));
        }
        return new XenDomainControl(l, handle);
    }

    /**
     * Decodes one xc_domaininfo_t.
     */
    static DomainInfo decode(final Pointer info, final long offset)
    {
        final int flags = info.getInt(offset + LibXenCtrl.INFO_FLAGS);
        final boolean shutdown = (flags & LibXenCtrl.XEN_DOMINF_SHUTDOWN) != 0;
        final int maxVcpuId = info.getInt(offset + LibXenCtrl.INFO_MAX_VCPU_ID);
        return new DomainInfo(
            info.getShort(offset + LibXenCtrl.INFO_DOMAIN) & 0xFFFF,
            (flags & LibXenCtrl.XEN_DOMINF_RUNNING) != 0,
            (flags & LibXenCtrl.XEN_DOMINF_BLOCKED) != 0,
            (flags & LibXenCtrl.XEN_DOMINF_PAUSED) != 0,
            shutdown,
            (flags & LibXenCtrl.XEN_DOMINF_DYING) != 0,
            shutdown ? (flags >>> LibXenCtrl.XEN_DOMINF_SHUTDOWNSHIFT) & LibXenCtrl.XEN_DOMINF_SHUTDOWNMASK : -1,
            info.getLong(offset + LibXenCtrl.INFO_TOT_PAGES) * PAGE_KIB,
            maxVcpuId == -1 ? 0 : info.getLong(offset + LibXenCtrl.INFO_MAX_PAGES) * PAGE_KIB,
            info.getInt(offset + LibXenCtrl.INFO_NR_ONLINE_VCPUS),
            info.getLong(offset + LibXenCtrl.INFO_CPU_TIME));
    }

    @Override
    public synchronized List<DomainInfo> list()
    {
        checkOpen();
        final List<DomainInfo> result = new ArrayList<>();
        int next = 0;
        while (true)
        {
            final int n = xen.xc_domain_getinfolist(handle, next, BATCH, infos);
            if (n < 0)
            {
                throw new DomainControlException(Native.getLastError(), "list domains from " + next);
            }
            for (int i = 0; i < n; i++)
            {
                result.add(decode(infos, (long)i * LibXenCtrl.INFO_LENGTH));
            }
            if (n < BATCH)
            {
                return result;
            }
            next = result.get(result.size() - 1).domid() + 1;
        }
    }

    @Override
    public synchronized DomainInfo info(final int domid)
    {
        checkOpen();
        final int n = xen.xc_domain_getinfolist(handle, domid, 1, infos);
        if (n < 0)
        {
            throw new DomainControlException(Native.getLastError(), "get info of domain " + domid);
        }
        if (n == 0 || (infos.getShort(LibXenCtrl.INFO_DOMAIN) & 0xFFFF) != domid)
        {
            throw new DomainControlException(Errno.ESRCH.number(), "get info of domain " + domid);
        }
        return decode(infos, 0);
    }

    @Override
    public void pause(final int domid)
    {
        checkOpen();
        if (xen.xc_domain_pause(handle, domid) != 0)
        {
            throw new DomainControlException(Native.getLastError(), "pause domain " + domid);
        }
    }

    @Override
    public void unpause(final int domid)
    {
        checkOpen();
        if (xen.xc_domain_unpause(handle, domid) != 0)
        {
            throw new DomainControlException(Native.getLastError(), "unpause domain " + domid);
        }
    }

    @Override
    public void destroy(final int domid)
    {
        checkOpen();
        if (xen.xc_domain_destroy(handle, domid) != 0)
        {
            throw new DomainControlException(Native.getLastError(), "destroy domain " + domid);
        }
    }

    @Override
    public void close()
    {
        if (closed.compareAndSet(false, true))
        {
            xen.xc_interface_close(handle);
        }
    }

    private void checkOpen()
    {
        if (closed.get())
        {
            throw new DomainControlException(Errno.EBADF.number(), "domain control handle is closed");
        }
    }
}
