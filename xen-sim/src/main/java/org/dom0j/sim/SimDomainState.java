package org.dom0j.sim;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.linux.Futex;
import org.dom0j.linux.Linux;
import org.dom0j.linux.LinuxException;

import java.io.File;
import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static org.dom0j.sim.SimDomainDescriptor.*;

/**
 * One simulated domain as this process sees it: its three files mapped, and the hypervisor's operations on them
 * (pinning grants, in {@link SimGrantPins}; event channel ports; doorbells). Every process that touches the domain
 * has its own {@code SimDomainState} over the same files; they agree through atomic operations and the domain lock.
 * <p>
 * A view is counted in uses ({@link SimHost#acquire} takes one, {@link #release} gives it back) and unmapped when the
 * last goes; nothing of it may be touched without a use.
 * <p>
 * Threads: any; multi-step operations take the domain lock, which also excludes other processes.
 */
final class SimDomainState implements AutoCloseable
{
    static final int PID = (int)ProcessHandle.current().pid();

    /** Spins on a rebind in progress before a send reads the binding under the domain's lock instead. */
    private static final int ODD_SEQ_SPINS = 10_000;

    private final SimHost host;
    private final int domid;
    private final Path directory;
    private final MappedByteBuffer controlMap;
    private final MappedByteBuffer grantMap;
    private final MappedByteBuffer memoryMap;
    private final UnsafeBuffer control;
    private final UnsafeBuffer grants;
    private final UnsafeBuffer memory;
    private final int maxPages;
    private int memoryFd = -1;
    private final SimPinLedgers ledgers;
    private final SimGrantPins grantPins;
    /** Uses of this view; it is unmapped when they reach 0, and never taken again after that. */
    private final AtomicInteger users = new AtomicInteger(1);
    private boolean closed;

    SimDomainState(final SimHost host, final int domid, final Path directory)
    {
        this.host = host;
        this.domid = domid;
        this.directory = directory;
        this.ledgers = new SimPinLedgers(directory, PID);
        controlMap = IoUtil.mapExistingFile(directory.resolve("control").toFile(), "sim domain control");
        control = new UnsafeBuffer(controlMap);
        if (control.capacity() < CONTROL_LENGTH || control.getIntVolatile(MAGIC_OFFSET) != MAGIC ||
            control.getInt(VERSION_OFFSET) != VERSION || control.getInt(DOMID_OFFSET) != domid)
        {
            IoUtil.unmap(controlMap);
            throw new XenException(Errno.EINVAL.number(), directory + " is not a dom0j sim domain of this version");
        }
        maxPages = control.getInt(MAX_PAGES_OFFSET);
        grantMap = IoUtil.mapExistingFile(directory.resolve("grant-table").toFile(), "sim grant table");
        grants = new UnsafeBuffer(grantMap);
        memoryMap = IoUtil.mapExistingFile(directory.resolve("memory").toFile(), "sim guest memory");
        memory = new UnsafeBuffer(memoryMap);
        grantPins = new SimGrantPins(this, control, grants, ledgers, maxPages);
    }

    /**
     * Makes the files of a new domain in {@code directory}, which must not be visible to others yet.
     */
    static void create(final Path directory, final int domid, final int pages) throws java.io.IOException
    {
        Files.createDirectories(directory);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(directory.resolve("memory").toFile(), "rw"))
        {
            f.setLength((long)pages * SimHost.PAGE_SIZE);
        }
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(
            directory.resolve("grant-table").toFile(), "rw"))
        {
            f.setLength(GRANT_TABLE_LENGTH);
        }
        final File controlFile = directory.resolve("control").toFile();
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(controlFile, "rw"))
        {
            f.setLength(CONTROL_LENGTH);
        }
        final MappedByteBuffer map = IoUtil.mapExistingFile(controlFile, "sim domain control");
        try
        {
            final UnsafeBuffer c = new UnsafeBuffer(map);
            c.putInt(VERSION_OFFSET, VERSION);
            c.putInt(DOMID_OFFSET, domid);
            c.putInt(MAX_PAGES_OFFSET, pages);
            c.putInt(VCPUS_OFFSET, 1);
            c.putLong(CREATED_OFFSET, System.currentTimeMillis());
            c.putIntRelease(MAGIC_OFFSET, MAGIC);
            map.force();
        }
        finally
        {
            IoUtil.unmap(map);
        }
    }

    int domid()
    {
        return domid;
    }

    /**
     * Takes another use of this view, unless its last use is gone (it is being unmapped).
     *
     * @return whether a use was taken.
     */
    boolean acquire()
    {
        while (true)
        {
            final int n = users.get();
            if (n <= 0)
            {
                return false;
            }
            if (users.compareAndSet(n, n + 1))
            {
                return true;
            }
        }
    }

    /**
     * Gives back a use; the last one unmaps the view.
     */
    void release()
    {
        final int n = users.decrementAndGet();
        if (n == 0)
        {
            host.unused(this);
            close();
        }
        else if (n < 0)
        {
            throw new IllegalStateException("sim domain " + domid + ": a use given back twice");
        }
    }

    Path directory()
    {
        return directory;
    }

    int maxPages()
    {
        return maxPages;
    }

    UnsafeBuffer control()
    {
        return control;
    }

    UnsafeBuffer grants()
    {
        return grants;
    }

    UnsafeBuffer memory()
    {
        return memory;
    }

    /**
     * @return the hypervisor's side of this domain's grant table: pinning its grants for other domains' use.
     */
    SimGrantPins grantPins()
    {
        return grantPins;
    }

    SimHost host()
    {
        return host;
    }

    boolean isDying()
    {
        return (control.getIntVolatile(STATE_OFFSET) & STATE_DYING) != 0;
    }

    int stateFlags()
    {
        return control.getIntVolatile(STATE_OFFSET);
    }

    void setStateFlags(final int set, final int clear)
    {
        while (true)
        {
            final int old = control.getIntVolatile(STATE_OFFSET);
            if (control.compareAndSetInt(STATE_OFFSET, old, (old | set) & ~clear))
            {
                return;
            }
        }
    }

    synchronized int memoryFd()
    {
        if (memoryFd < 0)
        {
            final String path = directory.resolve("memory").toString();
            try
            {
                memoryFd = Linux.open(path, Linux.O_RDWR | Linux.O_CLOEXEC, 0);
            }
            catch (final LinuxException ex)
            {
                throw new XenException(ex.errno(), "open memory of sim domain " + domid, ex);
            }
        }
        return memoryFd;
    }

    // ---------------------------------------------------------------- locks

    void lock()
    {
        spinLock(LOCK_OFFSET);
    }

    void unlock()
    {
        control.putIntRelease(LOCK_OFFSET, 0);
    }

    void lockGuest()
    {
        spinLock(GUEST_LOCK_OFFSET);
    }

    void unlockGuest()
    {
        control.putIntRelease(GUEST_LOCK_OFFSET, 0);
    }

    private void spinLock(final int offset)
    {
        long spins = 0;
        while (!control.compareAndSetInt(offset, 0, PID))
        {
            spins++;
            if (spins < 100)
            {
                Thread.onSpinWait();
            }
            else
            {
                Thread.yield();
                if ((spins & 0xFFFF) == 0)
                {
                    // A process that died holding the lock would stop the whole simulated machine: take it over.
                    final int holder = control.getIntVolatile(offset);
                    if (holder != 0 && !SimHost.isAlive(holder) && control.compareAndSetInt(offset, holder, PID))
                    {
                        return;
                    }
                }
            }
        }
    }

    /**
     * Locks two domains in domid order (as Xen's double_evtchn_lock does), once when they are the same.
     */
    static void lockPair(final SimDomainState a, final SimDomainState b)
    {
        if (a == b || a.domid == b.domid)
        {
            a.lock();
        }
        else if (a.domid < b.domid)
        {
            a.lock();
            b.lock();
        }
        else
        {
            b.lock();
            a.lock();
        }
    }

    static void unlockPair(final SimDomainState a, final SimDomainState b)
    {
        a.unlock();
        if (a != b && a.domid != b.domid)
        {
            b.unlock();
        }
    }

    // ---------------------------------------------------------------- event channels (hypervisor side)

    int portState(final int port)
    {
        return control.getIntVolatile(portOffset(port) + PORT_STATE);
    }

    int portRemoteDomid(final int port)
    {
        return control.getIntVolatile(portOffset(port) + PORT_REMOTE_DOMID);
    }

    int portRemotePort(final int port)
    {
        return control.getIntVolatile(portOffset(port) + PORT_REMOTE_PORT);
    }

    int portOwner(final int port)
    {
        return control.getIntVolatile(portOffset(port) + PORT_OWNER);
    }

    boolean portPending(final int port)
    {
        return control.getIntVolatile(portOffset(port) + PORT_PENDING) != 0;
    }

    boolean portMasked(final int port)
    {
        return control.getIntVolatile(portOffset(port) + PORT_MASKED) != 0;
    }

    /**
     * Takes the lowest free port (caller holds the lock).
     *
     * @return the port, or -1 when every port is in use.
     */
    int allocatePort(final int state, final int remoteDomid, final int remotePort, final int owner)
    {
        for (int port = 1; port < NR_PORTS; port++)
        {
            final int off = portOffset(port);
            if (control.getIntVolatile(off + PORT_STATE) == ECS_FREE)
            {
                setPort(port, state, remoteDomid, remotePort);
                control.putIntVolatile(off + PORT_OWNER, owner);
                control.putIntVolatile(off + PORT_PENDING, 0);
                control.putIntVolatile(off + PORT_MASKED, 0);
                return port;
            }
        }
        return -1;
    }

    /**
     * Rebinds a port (caller holds the lock, so writers are one at a time). Its sequence is odd meanwhile, so a
     * {@link #send} reading without the lock sees the old binding or the new one, never half of each.
     */
    void setPort(final int port, final int state, final int remoteDomid, final int remotePort)
    {
        final int off = portOffset(port);
        // odd, even if a writer that died half-way (its lock taken over) left it odd
        final int odd = control.getIntVolatile(off + PORT_SEQ) | 1;
        control.putIntVolatile(off + PORT_SEQ, odd);
        control.putIntVolatile(off + PORT_REMOTE_DOMID, remoteDomid);
        control.putIntVolatile(off + PORT_REMOTE_PORT, remotePort);
        control.putIntVolatile(off + PORT_STATE, state);
        control.putIntVolatile(off + PORT_SEQ, odd + 1);
    }

    void freePort(final int port)
    {
        final int off = portOffset(port);
        control.putIntVolatile(off + PORT_OWNER, 0);
        control.putIntVolatile(off + PORT_PENDING, 0);
        control.putIntVolatile(off + PORT_MASKED, 0);
        setPort(port, ECS_FREE, 0, 0);
    }

    /**
     * Closes a port as Xen's evtchn_close does: the remote end of an interdomain channel goes back to unbound,
     * waiting for this domain again. Takes the locks itself.
     *
     * @return false when the port was already free.
     */
    boolean closePort(final int port)
    {
        while (true)
        {
            final int state = portState(port);
            if (state == ECS_FREE)
            {
                return false;
            }
            final SimDomainState remote = state == ECS_INTERDOMAIN ? host.acquire(portRemoteDomid(port)) : null;
            try
            {
                final SimDomainState other = null == remote ? this : remote;
                lockPair(this, other);
                try
                {
                    if (portState(port) != state || (state == ECS_INTERDOMAIN && other != this &&
                        portRemoteDomid(port) != other.domid))
                    {
                        continue;
                    }
                    if (null != remote)
                    {
                        final int rport = portRemotePort(port);
                        if (remote.portState(rport) == ECS_INTERDOMAIN && remote.portRemoteDomid(rport) == domid &&
                            remote.portRemotePort(rport) == port)
                        {
                            remote.setPort(rport, ECS_UNBOUND, domid, 0);
                        }
                    }
                    freePort(port);
                    return true;
                }
                finally
                {
                    unlockPair(this, other);
                }
            }
            finally
            {
                if (null != remote)
                {
                    remote.release();
                }
            }
        }
    }

    /**
     * Sets a port pending; wakes its handle when it was not pending and is not masked (2-level semantics).
     */
    void setPending(final int port)
    {
        final int off = portOffset(port);
        if (control.getAndSetInt(off + PORT_PENDING, 1) == 0 && control.getIntVolatile(off + PORT_MASKED) == 0)
        {
            ring(control.getIntVolatile(off + PORT_OWNER));
        }
    }

    /**
     * Sends an event from a local port to its other end (EVTCHNOP_send). Unbound ports swallow it, as in Xen.
     * <p>
     * Lock-free, as Xen's send takes only the channel's own lock: the binding is read under its sequence
     * ({@link #setPort}) rather than under the domain's lock, which every queue of a backend would otherwise take
     * for each notification (two queues of one disk spun and yielded on it, measured by {@code dom0j bench blk}). A
     * send that races a close of its port may still land on the old other end: a spurious event there, which every
     * event channel user tolerates (an event is a hint to look at the ring).
     *
     * @return false when the port is not bound.
     */
    boolean send(final int port)
    {
        final int off = portOffset(port);
        int state;
        int remoteDomid;
        int remotePort;
        int seq;
        int spins = 0;
        do
        {
            seq = control.getIntVolatile(off + PORT_SEQ);
            state = control.getIntVolatile(off + PORT_STATE);
            remoteDomid = control.getIntVolatile(off + PORT_REMOTE_DOMID);
            remotePort = control.getIntVolatile(off + PORT_REMOTE_PORT);
            if ((seq & 1) != 0 && ++spins >= ODD_SEQ_SPINS)
            {
                // A rebind that does not end: its writer may have died holding the domain's lock. The lock takes
                // over from a dead holder, so read the binding under it, as every send did before.
                lock();
                try
                {
                    state = portState(port);
                    remoteDomid = portRemoteDomid(port);
                    remotePort = portRemotePort(port);
                    // a live writer ends its rebind before it unlocks: still odd here means it died; even it again
                    final int left = control.getIntVolatile(off + PORT_SEQ);
                    if ((left & 1) != 0)
                    {
                        control.putIntVolatile(off + PORT_SEQ, left + 1);
                    }
                }
                finally
                {
                    unlock();
                }
                break;
            }
            if ((seq & 1) != 0)
            {
                Thread.onSpinWait();
            }
        }
        while ((seq & 1) != 0 || seq != control.getIntVolatile(off + PORT_SEQ));
        if (state == ECS_INTERDOMAIN)
        {
            if (remoteDomid == domid)
            {
                setPending(remotePort);
                return true;
            }
            final SimDomainState remote = host.acquire(remoteDomid);
            if (null != remote)
            {
                try
                {
                    remote.setPending(remotePort);
                }
                finally
                {
                    remote.release();
                }
            }
            return true;
        }
        return state == ECS_UNBOUND;
    }

    // ---------------------------------------------------------------- handles and doorbells

    /**
     * Claims a handle slot for this process, after reclaiming the slots (and ports) of dead processes.
     *
     * @return the handle id (from 1), or -1 when all are in use by live processes.
     */
    int allocateHandle()
    {
        reclaimDeadHandles();
        for (int h = 1; h <= MAX_HANDLES; h++)
        {
            final int off = handleOffset(h);
            if (control.compareAndSetInt(off + HANDLE_PID, 0, PID))
            {
                control.putIntVolatile(off + HANDLE_WAITERS, 0);
                return h;
            }
        }
        return -1;
    }

    /**
     * A process that died with event channel handles open leaves its ports bound: close them (their remote ends
     * become unbound, as when a domain's evtchn device is closed) and free the slots.
     *
     * @return how many handles were reclaimed.
     */
    int reclaimDeadHandles()
    {
        int reclaimed = 0;
        for (int h = 1; h <= MAX_HANDLES; h++)
        {
            final int off = handleOffset(h);
            final int pid = control.getIntVolatile(off + HANDLE_PID);
            if (pid != 0 && pid != PID && !SimHost.isAlive(pid) && control.compareAndSetInt(off + HANDLE_PID, pid, PID))
            {
                closePortsOf(h);
                control.putIntVolatile(off + HANDLE_WAITERS, 0);
                control.putIntRelease(off + HANDLE_PID, 0);
                reclaimed++;
            }
        }
        return reclaimed;
    }

    void releaseHandle(final int handle)
    {
        closePortsOf(handle);
        control.putIntRelease(handleOffset(handle) + HANDLE_PID, 0);
    }

    private void closePortsOf(final int handle)
    {
        for (int port = 1; port < NR_PORTS; port++)
        {
            if (portOwner(port) == handle && portState(port) != ECS_FREE)
            {
                closePort(port);
            }
        }
    }

    int doorbellSequence(final int handle)
    {
        return control.getIntVolatile(handleOffset(handle) + HANDLE_SEQ);
    }

    long doorbellAddress(final int handle)
    {
        return control.addressOffset() + handleOffset(handle) + HANDLE_SEQ;
    }

    void addWaiter(final int handle, final int delta)
    {
        control.getAndAddInt(handleOffset(handle) + HANDLE_WAITERS, delta);
    }

    /**
     * @return how many threads, in any process, are in a wait on this domain's event channel handles (tests use
     *         it to know that a waiter sleeps before they notify).
     */
    int eventWaiters()
    {
        int waiters = 0;
        for (int h = 1; h <= MAX_HANDLES; h++)
        {
            waiters += control.getIntVolatile(handleOffset(h) + HANDLE_WAITERS);
        }
        return waiters;
    }

    /**
     * Wakes the handle: bumps its sequence (a futex word) and calls futex wake only when someone sleeps on it.
     */
    void ring(final int handle)
    {
        if (handle <= 0 || handle > MAX_HANDLES)
        {
            return;
        }
        final int off = handleOffset(handle);
        control.getAndAddInt(off + HANDLE_SEQ, 1);
        if (control.getIntVolatile(off + HANDLE_WAITERS) > 0)
        {
            Futex.wake(control.addressOffset() + off + HANDLE_SEQ, Integer.MAX_VALUE);
        }
    }

    /**
     * Xen's domain teardown for event channels: closes every port (remote ends become unbound).
     */
    void closeAllPorts()
    {
        for (int port = 1; port < NR_PORTS; port++)
        {
            if (portState(port) != ECS_FREE)
            {
                closePort(port);
            }
        }
    }

    /**
     * Unmaps the view: when its last use is given back, or when the host closes (whatever still holds it).
     */
    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        if (memoryFd >= 0)
        {
            Linux.close(memoryFd);
            memoryFd = -1;
        }
        IoUtil.unmap(memoryMap);
        ledgers.close();
        IoUtil.unmap(grantMap);
        IoUtil.unmap(controlMap);
    }
}
