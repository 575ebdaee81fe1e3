package org.dom0j.sim;

import org.dom0j.common.Errno;
import org.dom0j.common.XenException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.dom0j.sim.SimDomainDescriptor.MAX_PAGES;
import static org.dom0j.sim.SimDomainDescriptor.STATE_DYING;

/**
 * A simulated Xen machine: a directory that several processes open at once. It holds
 * <pre>
 *   &lt;dir&gt;/domains/&lt;domid&gt;/memory        guest memory, addressed by page frame
 *   &lt;dir&gt;/domains/&lt;domid&gt;/grant-table   the guest's grant table (grant_entry_v1)
 *   &lt;dir&gt;/domains/&lt;domid&gt;/control       the hypervisor's private state (see SimDomainDescriptor)
 *   &lt;dir&gt;/xenstored.sock                 the simulated xenstored's socket (issue 3)
 * </pre>
 * A domain appears atomically (its directory is built aside and renamed into place) and disappears when
 * destroyed. What is shared between processes lives in those files; this object only caches mappings of them.
 * <p>
 * <b>What the simulator does not model</b>: vCPUs, scheduling and CPU time (always 0); pausing does not stop a
 * guest process, it only sets the flag that {@code DomainControl} reports; grant table v2, transitive and
 * sub-page grants, grant transfer; the grant table size is fixed (2048 entries); event channel VIRQs, PIRQs,
 * IPIs, FIFO ABI and vCPU binding (VIRQ_DOM_EXC, which tells xenstored that a domain shut down so that it fires
 * {@code @releaseDomain}, is a CONTROL message to xenstored instead: {@link SimMachine#shutdown});
 * per-domain memory is at most 1 GiB and never ballooned; a process that dies
 * keeps its grant pins until the granting guest finds them in its way (ending access to a grant a dead process
 * still pins gives them back, from that process's {@code pins.<pid>} record) and its event channel handles until
 * a new handle is opened; no unmap notify is sent for a dead process's mappings; a page shared with gntshr whose
 * grant is still mapped when unshared stays allocated for good;
 * isolation: the hypervisor's state is in files that any process of the same user can write, so a simulated guest
 * is trusted not to write them except through {@link SimDomain}; Xen's XSM/FLASK policy. Everything else in
 * docs/grants-and-events.md behaves as Xen 4.17 does.
 * <p>
 * <b>This process's view of a domain</b> (its files mapped: control, grant table, all of its memory) lives as long
 * as something of this process uses the domain: a {@link SimDomain} handle (until the host is closed, since its
 * pages may be in use anywhere in the process), a grant mapping of its pages, an event channel handle of its own,
 * or an operation in progress (a grant copy, a notify). Then it is unmapped, so that a service that outlives its
 * guests (a backend) keeps nothing of a destroyed domain, as with gntdev and the evtchn device, where the memory
 * of a domain that is gone is freed once its last mapping goes.
 * <p>
 * <b>Threads</b>: any thread; views are found through a concurrent map and counted with atomic operations.
 */
public final class SimHost implements AutoCloseable
{
    /** Xen's page size. */
    public static final int PAGE_SIZE = 4096;
    /** Where the simulated xenstored listens, relative to the host directory. */
    public static final String XENSTORED_SOCKET = "xenstored.sock";
    /** Pages given to dom0 when a platform creates it. */
    public static final int DOM0_PAGES = 4096;

    private final Path directory;
    private final Path domains;
    /** This process's view of each domain it uses now, for lookups. */
    private final Map<Integer, SimDomainState> states = new ConcurrentHashMap<>();
    /** Every view still mapped, cached or not (a destroyed domain's, while something of this process holds it). */
    private final Set<SimDomainState> mapped = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private SimHost(final Path directory)
    {
        this.directory = directory;
        this.domains = directory.resolve("domains");
    }

    /**
     * Opens (creating if needed) a sim host directory.
     *
     * @param directory e.g. /dev/shm/dom0j-sim.
     * @return the host.
     */
    public static SimHost open(final Path directory)
    {
        try
        {
            Files.createDirectories(directory.resolve("domains"));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create the sim host directory " + directory, ex);
        }
        return new SimHost(directory.toAbsolutePath());
    }

    /**
     * @return the host directory.
     */
    public Path directory()
    {
        return directory;
    }

    /**
     * @return the path of the simulated xenstored's Unix socket.
     */
    public Path xenstoredSocket()
    {
        return directory.resolve(XENSTORED_SOCKET);
    }

    /**
     * Creates a domain with zeroed memory, an empty grant table and no event channels.
     *
     * @param domid the domain id, 0 to 32751 (DOMID_FIRST_RESERVED - 1).
     * @param pages its memory in 4 KiB pages, 1 to 262144.
     * @return its guest-side handle.
     * @throws XenException EEXIST when the domain exists, EINVAL for bad arguments.
     */
    public SimDomain createDomain(final int domid, final int pages)
    {
        checkDomid(domid);
        if (pages < 1 || pages > MAX_PAGES)
        {
            throw new XenException(Errno.EINVAL.number(), "sim domain memory must be 1 to " + MAX_PAGES + " pages");
        }
        final Path target = domains.resolve(Integer.toString(domid));
        final Path scratch = domains.resolve(".new-" + domid + "-" + SimDomainState.PID + "-" + System.nanoTime());
        try
        {
            SimDomainState.create(scratch, domid, pages);
            try
            {
                Files.move(scratch, target, StandardCopyOption.ATOMIC_MOVE);
            }
            catch (final FileAlreadyExistsException | AtomicMoveNotSupportedException ex)
            {
                throw new XenException(Errno.EEXIST.number(), "create sim domain " + domid);
            }
            catch (final IOException ex)
            {
                if (Files.exists(target))
                {
                    throw new XenException(Errno.EEXIST.number(), "create sim domain " + domid);
                }
                throw ex;
            }
        }
        catch (final IOException ex)
        {
            throw new XenException(Errno.EIO.number(), "create sim domain " + domid + ": " + ex.getMessage(), ex);
        }
        finally
        {
            deleteTree(scratch);
        }
        return new SimDomain(this, state(domid));
    }

    /**
     * Attaches to an existing domain, e.g. from a guest process.
     *
     * @param domid the domain.
     * @return its guest-side handle.
     * @throws XenException ESRCH when it does not exist.
     */
    public SimDomain domain(final int domid)
    {
        return new SimDomain(this, state(domid));
    }

    /**
     * Creates the domain unless it exists.
     *
     * @param domid the domain.
     * @param pages its memory when it is created now.
     * @return its guest-side handle.
     */
    public SimDomain domainOrCreate(final int domid, final int pages)
    {
        try
        {
            return createDomain(domid, pages);
        }
        catch (final XenException ex)
        {
            if (ex.errno() != Errno.EEXIST.number())
            {
                throw ex;
            }
            return domain(domid);
        }
    }

    /**
     * @param domid a domain.
     * @return whether it exists and is not being destroyed.
     */
    public boolean exists(final int domid)
    {
        final SimDomainState state = acquire(domid);
        if (null == state)
        {
            return false;
        }
        state.release();
        return true;
    }

    /**
     * @return the domains that exist, in domid order.
     */
    public int[] domainIds()
    {
        final List<Integer> ids = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(domains))
        {
            for (final Path p : stream)
            {
                final String name = p.getFileName().toString();
                if (!name.isEmpty() && name.chars().allMatch(Character::isDigit) && name.length() < 6)
                {
                    final int domid = Integer.parseInt(name);
                    if (exists(domid))
                    {
                        ids.add(domid);
                    }
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return ids.stream().sorted().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Destroys a domain as Xen does: marks it dying, closes its event channels (their remote ends become
     * unbound), then removes its files. Mappings of its pages that other processes hold stay valid until they
     * unmap them (the files are unlinked, not truncated).
     *
     * @param domid the domain.
     * @throws XenException ESRCH when it does not exist.
     */
    public void destroyDomain(final int domid)
    {
        final SimDomainState state = state(domid);
        try
        {
            state.lock();
            try
            {
                state.setStateFlags(STATE_DYING, 0);
            }
            finally
            {
                state.unlock();
            }
            state.closeAllPorts();
            final Path dead = domains.resolve(".dead-" + domid + "-" + System.nanoTime());
            try
            {
                Files.move(state.directory(), dead, StandardCopyOption.ATOMIC_MOVE);
            }
            catch (final IOException ex)
            {
                throw new XenException(Errno.EIO.number(), "destroy sim domain " + domid + ": " + ex.getMessage(), ex);
            }
            deleteTree(dead);
            states.remove(domid, state);
        }
        finally
        {
            state.release();
        }
    }

    /**
     * @param domid a domain.
     * @return this process's view of it, with a use taken that the caller gives back with
     *         {@link SimDomainState#release()}.
     * @throws XenException ESRCH when it does not exist or is dying.
     */
    SimDomainState state(final int domid)
    {
        final SimDomainState state = acquire(domid);
        if (null == state)
        {
            throw new XenException(Errno.ESRCH.number(), "sim domain " + domid + " does not exist");
        }
        return state;
    }

    /**
     * Finds (mapping it when this process has no view of it in use) a domain, and takes a use of the view.
     *
     * @param domid a domain.
     * @return the view, which the caller gives back with {@link SimDomainState#release()}; null when the domain
     *         does not exist or is dying.
     */
    SimDomainState acquire(final int domid)
    {
        if (closed)
        {
            throw new IllegalStateException("sim host " + directory + " is closed");
        }
        if (domid < 0 || domid >= 0x7FF0)
        {
            return null;
        }
        final SimDomainState cached = states.get(domid);
        if (null != cached && cached.acquire())
        {
            // Destroying always sets the dying flag before the files go, so the flag alone tells (no stat per call).
            if (!cached.isDying())
            {
                return cached;
            }
            // Destroyed (perhaps recreated) by another process: forget it; whoever holds it keeps it mapped.
            states.remove(domid, cached);
            cached.release();
        }
        final Path dir = domains.resolve(Integer.toString(domid));
        if (!Files.isDirectory(dir))
        {
            return null;
        }
        SimDomainState state;
        synchronized (states)
        {
            state = states.get(domid);
            if (null == state || !state.acquire())
            {
                try
                {
                    state = new SimDomainState(this, domid, dir);
                }
                catch (final Exception ex)
                {
                    // The directory vanished or is half-made under us.
                    return null;
                }
                mapped.add(state);
                states.put(domid, state);
            }
        }
        if (state.isDying())
        {
            states.remove(domid, state);
            state.release();
            return null;
        }
        return state;
    }

    /**
     * The last use of a view was given back (the view is closing): forget it.
     */
    void unused(final SimDomainState state)
    {
        states.remove(state.domid(), state);
        mapped.remove(state);
    }

    private static void checkDomid(final int domid)
    {
        if (domid < 0 || domid >= 0x7FF0)
        {
            throw new XenException(Errno.EINVAL.number(), "domid " + domid + " is out of range (0 to 32751)");
        }
    }

    static boolean isAlive(final int pid)
    {
        return Files.exists(Path.of("/proc/" + pid));
    }

    private static void deleteTree(final Path path)
    {
        if (!Files.exists(path))
        {
            return;
        }
        try (Stream<Path> walk = Files.walk(path))
        {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException ignore)
        {
            // best effort: the scratch directory is named uniquely
        }
    }

    /**
     * Unmaps what this process mapped; the simulated machine itself stays in the directory.
     */
    @Override
    public void close()
    {
        closed = true;
        for (final SimDomainState state : mapped)
        {
            state.close();
        }
        mapped.clear();
        states.clear();
    }
}
