package org.dom0j.sim;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.evtchn.EventChannelException;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.linux.Futex;

import java.util.Arrays;

import static org.dom0j.sim.SimDomainDescriptor.*;

/**
 * The simulator's /dev/xen/evtchn: one handle on a domain's event channels, usable from any process.
 * <p>
 * Ports, their states and their pending/mask bits live in the domain's control file, so a notify from another
 * process sets the bit directly. Waking: each handle has a doorbell word in that file; a notify that makes a port
 * pending while unmasked bumps the doorbell and, only if the handle has a sleeping waiter, calls {@code futex}
 * wake on it. The waiter reads the doorbell, scans its ports, and sleeps with {@code futex} wait on the value it
 * read, so a notify that lands between the scan and the sleep is never lost (the kernel compares the value). This
 * costs one syscall on each side and no file descriptors, and works across processes because futexes on a
 * MAP_SHARED file mapping are keyed by the file page.
 * <p>
 * As with the Linux device, a port that fired is reported once by {@link #pending()} and stays masked until
 * {@link #unmask(int)}; an event arriving while masked is delivered at unmask.
 * <p>
 * <b>Threads</b>: bind, unbind, notify and unmask from any thread; {@link #pending} from one thread.
 */
final class SimEventChannels implements EventChannels
{
    private final SimHost host;
    private final int domid;
    private final SimDomainState state;
    private final UnsafeBuffer control;
    private final int handle;
    private final Futex futex = new Futex();
    private volatile int[] ports = new int[0];
    private int cursor;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicBoolean woken = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * @param host   the host.
     * @param domain the domain whose ports the handle serves; its view stays mapped as long as the handle is used,
     *               since a {@link SimDomain} holds it until the host closes (a thread may still be leaving a wait
     *               on this handle's doorbell after {@link #close}).
     */
    SimEventChannels(final SimHost host, final SimDomain domain)
    {
        this.host = host;
        this.domid = domain.domid();
        this.state = domain.state();
        this.control = state.control();
        this.handle = state.allocateHandle();
        if (handle < 0)
        {
            throw new EventChannelException(Errno.EMFILE.number(),
                "open event channels of sim domain " + domid + ": all " + MAX_HANDLES + " handles are in use");
        }
    }

    @Override
    public int bindUnboundPort(final int remoteDomid)
    {
        checkOpen();
        if (!host.exists(remoteDomid))
        {
            throw new EventChannelException(Errno.ESRCH.number(),
                "bind an unbound port for domain " + remoteDomid + ": no such domain");
        }
        final int port;
        state.lock();
        try
        {
            port = state.allocatePort(ECS_UNBOUND, remoteDomid, 0, handle);
        }
        finally
        {
            state.unlock();
        }
        if (port < 0)
        {
            throw new EventChannelException(Errno.ENOSPC.number(),
                "bind an unbound port for domain " + remoteDomid + ": all ports are in use");
        }
        addPort(port);
        return port;
    }

    @Override
    public int bindInterdomain(final int remoteDomid, final int remotePort)
    {
        checkOpen();
        final String what = "bind to port " + remotePort + " of domain " + remoteDomid;
        if (remotePort <= 0 || remotePort >= NR_PORTS)
        {
            throw new EventChannelException(Errno.EINVAL.number(), what + ": port out of range");
        }
        final SimDomainState remote = host.acquire(remoteDomid);
        if (null == remote)
        {
            throw new EventChannelException(Errno.ESRCH.number(), what + ": no such domain");
        }
        final int port;
        try
        {
            SimDomainState.lockPair(state, remote);
            try
            {
                if (remote.portState(remotePort) != ECS_UNBOUND || remote.portRemoteDomid(remotePort) != domid)
                {
                    throw new EventChannelException(Errno.EINVAL.number(),
                        what + ": it is not an unbound port offered to domain " + domid);
                }
                port = state.allocatePort(ECS_INTERDOMAIN, remoteDomid, remotePort, handle);
                if (port < 0)
                {
                    throw new EventChannelException(Errno.ENOSPC.number(), what + ": all ports are in use");
                }
                remote.setPort(remotePort, ECS_INTERDOMAIN, domid, port);
            }
            finally
            {
                SimDomainState.unlockPair(state, remote);
            }
        }
        finally
        {
            remote.release();
        }
        addPort(port);
        // Xen conservatively raises the new local port, since events sent to the unbound port were lost.
        state.setPending(port);
        return port;
    }

    @Override
    public void unbind(final int port)
    {
        checkOwned(port, "unbind");
        state.closePort(port);
        removePort(port);
    }

    @Override
    public void notify(final int port)
    {
        checkOwned(port, "notify");
        state.send(port);
    }

    @Override
    public int pending()
    {
        final int[] owned = ports;
        final int n = owned.length;
        for (int i = 0; i < n; i++)
        {
            final int index = (cursor + i) % n;
            final int port = owned[index];
            final int off = portOffset(port);
            // Clear pending before masking: a notify in between then wakes us again instead of being lost.
            if (control.getIntVolatile(off + PORT_MASKED) == 0 && control.compareAndSetInt(off + PORT_PENDING, 1, 0))
            {
                control.putIntVolatile(off + PORT_MASKED, 1);
                cursor = index + 1;
                return port;
            }
        }
        return -1;
    }

    @Override
    public int pending(final long timeoutNanos)
    {
        int port = pending();
        if (port >= 0 || timeoutNanos <= 0)
        {
            return port;
        }
        final long deadline = System.nanoTime() + timeoutNanos;
        while (true)
        {
            final long remaining = deadline - System.nanoTime();
            if (remaining <= 0 || closed)
            {
                return -1;
            }
            awaitEvent(remaining);
            port = pending();
            if (port >= 0)
            {
                return port;
            }
        }
    }

    /**
     * Wakes this handle's waiter (in this process): sets a flag the next {@link #awaitEvent} takes, and bumps the
     * handle's doorbell so that a waiter already asleep, or about to sleep on the old value, returns.
     */
    @Override
    public void wakeup()
    {
        checkOpen();
        woken.set(true);
        state.ring(handle);
    }

    @Override
    public boolean awaitEvent(final long timeoutNanos)
    {
        if (anyDeliverable())
        {
            return true;
        }
        if (woken.getAndSet(false) || timeoutNanos <= 0)
        {
            return false;
        }
        state.addWaiter(handle, 1);
        try
        {
            // Read the doorbell before the last scan: a notify (or wake-up) after the scan changes it and futex
            // returns at once.
            final int seq = state.doorbellSequence(handle);
            if (anyDeliverable())
            {
                return true;
            }
            if (woken.getAndSet(false))
            {
                return false;
            }
            futex.await(state.doorbellAddress(handle), seq, timeoutNanos);
        }
        finally
        {
            state.addWaiter(handle, -1);
        }
        return anyDeliverable();
    }

    private boolean anyDeliverable()
    {
        for (final int port : ports)
        {
            final int off = portOffset(port);
            if (control.getIntVolatile(off + PORT_PENDING) != 0 && control.getIntVolatile(off + PORT_MASKED) == 0)
            {
                return true;
            }
        }
        return false;
    }

    @Override
    public void unmask(final int port)
    {
        checkOwned(port, "unmask");
        final int off = portOffset(port);
        control.putIntVolatile(off + PORT_MASKED, 0);
        if (control.getIntVolatile(off + PORT_PENDING) != 0)
        {
            state.ring(handle);
        }
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            // Wake a thread of ours parked on this handle, so it sees the handle closed.
            state.ring(handle);
            state.releaseHandle(handle);
        }
        catch (final XenException | IllegalStateException ignore)
        {
            // the domain is gone; its ports went with it
        }
        ports = new int[0];
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new EventChannelException(Errno.EBADF.number(), "event channel handle is closed");
        }
    }

    private void checkOwned(final int port, final String op)
    {
        checkOpen();
        if (port < 0 || port >= NR_PORTS)
        {
            throw new EventChannelException(Errno.EINVAL.number(),
                op + " port " + port + ": out of range (0 to " + (NR_PORTS - 1) + ")");
        }
        for (final int p : ports)
        {
            if (p == port)
            {
                return;
            }
        }
        throw new EventChannelException(Errno.ENOTCONN.number(), op + " port " + port + ": not bound by this handle");
    }

    private synchronized void addPort(final int port)
    {
        final int[] next = Arrays.copyOf(ports, ports.length + 1);
        next[next.length - 1] = port;
        ports = next;
    }

    private synchronized void removePort(final int port)
    {
        ports = Arrays.stream(ports).filter(p -> p != port).toArray();
    }
}
