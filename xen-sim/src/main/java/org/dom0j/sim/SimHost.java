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
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
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
 * IPIs, FIFO ABI and vCPU binding; per-domain memory is at most 1 GiB and never ballooned; a process that dies
 * keeps its grant pins until the granting guest finds them in its way (ending access to a grant a dead process
 * still pins gives them back, from that process's {@code pins.<pid>} record) and its event channel handles until
 * a new handle is opened; no unmap notify is sent for a dead process's mappings; a page shared with gntshr whose
 * grant is still mapped when unshared stays allocated for good;
 * isolation: the hypervisor's state is in files that any process of the same user can write, so a simulated guest
 * is trusted not to write them except through {@link SimDomain}; Xen's XSM/FLASK policy. Everything else in
 * docs/grants-and-events.md behaves as Xen 4.17 does.
 * <p>
 * <b>Threads</b>: any thread; domain state is cached in a concurrent map.
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
    private final Map<Integer, SimDomainState> states = new ConcurrentHashMap<>();
    private final Queue<SimDomainState> retired = new ConcurrentLinkedQueue<>();
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
        return null != stateOrNull(domid);
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
        if (states.remove(domid, state))
        {
            retired.add(state);
        }
    }

    /**
     * @param domid a domain.
     * @return its state, mapped once per process.
     * @throws XenException ESRCH when it does not exist or is dying.
     */
    SimDomainState state(final int domid)
    {
        final SimDomainState state = stateOrNull(domid);
        if (null == state)
        {
            throw new XenException(Errno.ESRCH.number(), "sim domain " + domid + " does not exist");
        }
        return state;
    }

    SimDomainState stateOrNull(final int domid)
    {
        if (closed)
        {
            throw new IllegalStateException("sim host " + directory + " is closed");
        }
        if (domid < 0 || domid >= 0x7FF0)
        {
            return null;
        }
        SimDomainState state = states.get(domid);
        if (null != state)
        {
            // Destroying always sets the dying flag before the files go, so the flag alone tells (no stat per call).
            if (!state.isDying())
            {
                return state;
            }
            // Destroyed (perhaps recreated) by another process: forget this mapping, but keep it mapped until
            // close, because objects of this process may still hold it.
            if (states.remove(domid, state))
            {
                retired.add(state);
            }
        }
        final Path dir = domains.resolve(Integer.toString(domid));
        if (!Files.isDirectory(dir))
        {
            return null;
        }
        synchronized (states)
        {
            state = states.get(domid);
            if (null == state)
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
                states.put(domid, state);
            }
        }
        return state.isDying() ? null : state;
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
        for (final SimDomainState state : states.values())
        {
            state.close();
        }
        states.clear();
        for (final SimDomainState state : retired)
        {
            state.close();
        }
        retired.clear();
    }
}
