package org.dom0j.evtchn.jna;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.common.XenLibrary;
import org.dom0j.evtchn.EventChannelException;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.linux.Epoll;
import org.dom0j.linux.EventFd;
import org.dom0j.linux.Linux;
import org.dom0j.linux.LinuxException;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Event channels on real Xen through Debian's libxenevtchn (the kernel's /dev/xen/evtchn). The one public entry
 * point of this package is {@link #open()}.
 * <p>
 * The handle's fd is made non-blocking, so that {@link #pending()} is one read(2) of the device
 * ({@code xenevtchn_pending}), which finds a port or EAGAIN; {@link #pending(long)} and {@link #awaitEvent} block in
 * epoll_wait(2) on it and on a wake-up eventfd. In a PV dom0 every system call is a trap through the hypervisor: a
 * poll(2) that did not wait came before each read, and one more found no port left, which made a queue's cycle two
 * system calls longer. The wait is epoll's rather than poll(2)'s because the descriptors are registered once: a
 * poll(2) takes both descriptors, puts itself on both wait queues and takes itself off again on every wait, which
 * was a third of the time a queue's thread spent in poll(2) in the real-Xen tier's profile.
 * <p>
 * Threads: see {@link EventChannels}; {@link #pending} from one thread.
 */
public final class XenEventChannels implements EventChannels
{
    private static final long DEVICE = 0;
    private static final long WAKEUP = 1;
    private static volatile LibXenEvtchn lib;

    private final LibXenEvtchn xen;
    private final Pointer handle;
    private final long handleAddress;
    private final EventFd wakeups;
    private final Epoll epoll;
    private final AtomicBoolean closed = new AtomicBoolean();

    private XenEventChannels(final LibXenEvtchn xen, final Pointer handle)
    {
        this.xen = xen;
        this.handle = handle;
        this.handleAddress = Pointer.nativeValue(handle);
        final int fd = xen.xenevtchn_fd(handle);
        Linux.setNonBlocking(fd);
        final EventFd w = EventFd.open();
        Epoll e = null;
        try
        {
            e = Epoll.open(2);
            e.add(fd, Epoll.EPOLLIN, DEVICE);
            e.add(w.fd(), Epoll.EPOLLIN, WAKEUP);
        }
        catch (final LinuxException ex)
        {
            if (null != e)
            {
                e.close();
            }
            w.close();
            throw ex;
        }
        this.wakeups = w;
        this.epoll = e;
    }

    /**
     * Opens /dev/xen/evtchn through xenevtchn_open.
     *
     * @return an event channel handle.
     * @throws EventChannelException with ENOENT and one sentence when this is not a Xen domain.
     */
    public static EventChannels open()
    {
        LibXenEvtchn l = lib;
        if (null == l)
        {
            try
            {
                l = XenLibrary.EVTCHN.load(LibXenEvtchn.class);
            }
            catch (final XenException ex)
            {
                throw new EventChannelException(ex.errno(), ex.getMessage());
            }
            lib = l;
        }
        final Pointer handle = l.xenevtchn_open(null, 0);
        if (null == handle)
        {
            final int errno = Native.getLastError();
            throw new EventChannelException(errno, "cannot open Xen event channels: " +
                (errno == Errno.ENOENT.number() ? "this is not a Xen domain (no /dev/xen/evtchn)" :
                errno == Errno.EACCES.number() ? "no permission on /dev/xen/evtchn (run as root in dom0)" :
                "/dev/xen/evtchn refused"));
        }
        try
        {
            return new XenEventChannels(l, handle);
        }
        catch (final LinuxException ex)
        {
            l.xenevtchn_close(handle);
            throw new EventChannelException(ex.errno(), "set up the event channel handle: " + ex.getMessage());
        }
    }

    @Override
    public int bindInterdomain(final int remoteDomid, final int remotePort)
    {
        checkOpen();
        final int port = xen.xenevtchn_bind_interdomain(handle, remoteDomid, remotePort);
        if (port < 0)
        {
            throw new EventChannelException(Native.getLastError(),
                "bind to port " + remotePort + " of domain " + remoteDomid);
        }
        return port;
    }

    @Override
    public int bindUnboundPort(final int remoteDomid)
    {
        checkOpen();
        final int port = xen.xenevtchn_bind_unbound_port(handle, remoteDomid);
        if (port < 0)
        {
            throw new EventChannelException(Native.getLastError(), "bind an unbound port for domain " + remoteDomid);
        }
        return port;
    }

    @Override
    public void unbind(final int port)
    {
        checkOpen();
        if (xen.xenevtchn_unbind(handle, port) != 0)
        {
            throw new EventChannelException(Native.getLastError(), "unbind port " + port);
        }
    }

    @Override
    public void notify(final int port)
    {
        checkOpen();
        if (EvtchnDirect.xenevtchn_notify(handleAddress, port) != 0)
        {
            throw new EventChannelException(Native.getLastError(), "notify port " + port);
        }
    }

    @Override
    public int pending()
    {
        checkOpen();
        final int port = EvtchnDirect.xenevtchn_pending(handleAddress);
        if (port >= 0)
        {
            return port;
        }
        final int errno = Native.getLastError();
        if (errno == Errno.EAGAIN.number() || errno == Errno.EINTR.number())
        {
            return -1;
        }
        throw new EventChannelException(errno, "read a pending port");
    }

    @Override
    public int pending(final long timeoutNanos)
    {
        return timeoutNanos > 0 && !awaitEvent(timeoutNanos) ? -1 : pending();
    }

    /**
     * Signals the handle's eventfd, which {@link #awaitEvent} polls beside the device.
     */
    @Override
    public void wakeup()
    {
        checkOpen();
        wakeups.signal();
    }

    /**
     * epoll_wait(2) on the device and the wake-up eventfd: the device is readable when the kernel has queued a port;
     * a wake-up is drained and reported as no event (the caller's next pass finds its work).
     */
    @Override
    public boolean awaitEvent(final long timeoutNanos)
    {
        checkOpen();
        final int millis = timeoutNanos <= 0 ? 0 :
            (int)Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(timeoutNanos + 999_999));
        final int ready = epoll.await(millis);
        if (ready < 0)
        {
            final int errno = -ready;
            if (errno == Errno.EINTR.number())
            {
                return false;
            }
            throw new EventChannelException(errno, "wait on the event channel device");
        }
        boolean event = false;
        for (int i = 0; i < ready; i++)
        {
            if (epoll.data(i) == WAKEUP)
            {
                wakeups.drain();
            }
            else
            {
                event = true;
            }
        }
        return event;
    }

    @Override
    public void unmask(final int port)
    {
        checkOpen();
        if (EvtchnDirect.xenevtchn_unmask(handleAddress, port) != 0)
        {
            throw new EventChannelException(Native.getLastError(), "unmask port " + port);
        }
    }

    @Override
    public void close()
    {
        if (closed.compareAndSet(false, true))
        {
            epoll.close();
            xen.xenevtchn_close(handle);
            wakeups.close();
        }
    }

    private void checkOpen()
    {
        if (closed.get())
        {
            throw new EventChannelException(Errno.EBADF.number(), "event channel handle is closed");
        }
    }
}
