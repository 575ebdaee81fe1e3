package org.dom0j.sim;

import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.sim.xenstored.SimXenstored;
import org.dom0j.sim.xenstored.SimXenstoredConfig;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XsPermission;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A whole simulated Xen machine in one process: the sim host directory (memory, grant tables, event channels),
 * its xenstored on {@code <dir>/xenstored.sock}, and dom0's own xenstore connection. Other processes join it
 * through the directory: {@code dom0j serve --platform sim} as dom0's backends, simulated guests through their
 * per-domain xenstore sockets.
 * <p>
 * It also does what the toolstack does for a new guest (xl create): creates the domain, introduces it to
 * xenstored and writes {@code /local/domain/<domid>} with libxl's permissions.
 * <p>
 * Any thread.
 */
public final class SimMachine implements AutoCloseable
{
    /** The keys under {@code control/} that libxl makes writable by the guest (of libxl's list, those modelled). */
    static final List<String> CONTROL_KEYS = List.of("shutdown", "feature-poweroff", "feature-reboot", "sysrq");

    private final SimHost host;
    private final SimXenstored xenstored;
    private final XenStore dom0Store;

    private SimMachine(final SimHost host, final SimXenstored xenstored, final XenStore dom0Store)
    {
        this.host = host;
        this.xenstored = xenstored;
        this.dom0Store = dom0Store;
    }

    /**
     * Starts a machine in {@code directory} (created if missing; a stale xenstored socket left by a killed run is
     * replaced).
     *
     * @param directory the sim host directory.
     * @return the running machine.
     */
    public static SimMachine start(final Path directory)
    {
        final SimHost host = SimHost.open(directory);
        SimXenstored xenstored = null;
        try
        {
            host.domainOrCreate(0, SimHost.DOM0_PAGES);
            Files.deleteIfExists(host.xenstoredSocket());
            xenstored = SimXenstored.start(host.xenstoredSocket(), SimXenstoredConfig.defaults());
            final XenStore xs = XenStoreClient.connect(host.xenstoredSocket());
            xs.write("/local/domain/0/name", "Domain-0");
            xs.write("/local/domain/0/domid", "0");
            return new SimMachine(host, xenstored, xs);
        }
        catch (final IOException ex)
        {
            if (null != xenstored)
            {
                xenstored.close();
            }
            host.close();
            throw new UncheckedIOException("cannot start the simulated machine in " + directory, ex);
        }
    }

    /**
     * Joins a machine another process started (with {@link #start}), as a second toolstack would: the same host
     * directory and a privileged connection to its xenstored.
     *
     * @param directory the sim host directory.
     * @return the machine; closing it leaves the machine running.
     * @throws org.dom0j.platform.PlatformUnavailableException when no simulator runs there.
     */
    public static SimMachine join(final Path directory)
    {
        final Path socket = directory.resolve(SimHost.XENSTORED_SOCKET);
        if (!Files.exists(socket))
        {
            throw new org.dom0j.platform.PlatformUnavailableException("no simulator is running in " + directory +
                " (no " + socket.getFileName() + "): start one with 'dom0j sim start'");
        }
        final SimHost host = SimHost.open(directory);
        try
        {
            if (host.exists(0))
            {
                // Guests here notify dom0 at every request: a dom0 handle keeps this process's view of dom0 mapped
                // until the host closes, rather than for each notify (as start() keeps it).
                host.domain(0);
            }
            return new SimMachine(host, null, XenStoreClient.connect(socket));
        }
        catch (final RuntimeException ex)
        {
            host.close();
            throw ex;
        }
    }

    /**
     * @return the sim host.
     */
    public SimHost host()
    {
        return host;
    }

    /**
     * @return the sim host directory.
     */
    public Path directory()
    {
        return host.directory();
    }

    /**
     * A guest shuts down (SCHEDOP_shutdown) and dom0 hears of it, as on Xen: the hypervisor marks the domain shut
     * down with the reason, and raises VIRQ_DOM_EXC in dom0, on which xenstored fires {@code @releaseDomain} (here
     * a CONTROL "virq-dom-exc" to the machine's xenstored, from any process of the machine).
     *
     * @param domid  the guest.
     * @param reason SHUTDOWN_* code: poweroff 0, reboot 1, suspend 2, crash 3, watchdog 4, soft_reset 5.
     */
    public void shutdown(final int domid, final int reason)
    {
        host.domain(domid).shutdown(reason);
        try
        {
            dom0Store.control("virq-dom-exc", Integer.toString(domid));
        }
        catch (final org.dom0j.common.XenException ex)
        {
            // Never introduced to xenstored (a domain made without the toolstack): nobody there to tell.
        }
    }

    /**
     * @return the xenstored when this process runs it, else null.
     */
    public SimXenstored xenstored()
    {
        return xenstored;
    }

    /**
     * @return dom0's xenstore connection, privileged.
     */
    public XenStore xenStore()
    {
        return dom0Store;
    }

    /**
     * What {@code xl create} does in xenstore for a new guest: the domain, INTRODUCE, and
     * {@code /local/domain/<domid>} (owned by dom0, readable by the guest) with {@code name}, {@code domid},
     * {@code device/} and {@code data/} that the guest owns, and {@code control/} with the keys the guest answers the
     * toolstack in ({@code control/shutdown}, {@code control/feature-poweroff}, ...), as libxl makes them.
     *
     * @param domid the new domain, 1 to 0x7FEF.
     * @param name  its name.
     * @param pages its memory in 4 KiB pages.
     * @return the guest's domain.
     */
    public SimDomain createGuest(final int domid, final String name, final int pages)
    {
        if (domid <= 0)
        {
            throw new XenException(Errno.EINVAL.number(), "a guest's domid must be positive: " + domid);
        }
        final SimDomain domain = host.createDomain(domid, pages);
        final String path = "/local/domain/" + domid;
        final List<XsPermission> dom0Owned = List.of(
            new XsPermission(XsPermission.Access.NONE, 0), new XsPermission(XsPermission.Access.READ, domid));
        final List<XsPermission> guestOwned = List.of(
            new XsPermission(XsPermission.Access.NONE, domid), new XsPermission(XsPermission.Access.READ, 0));
        dom0Store.transaction(tx ->
        {
            tx.mkdir(path);
            tx.setPermissions(path, dom0Owned);
            tx.write(path + "/name", name);
            tx.write(path + "/domid", Integer.toString(domid));
            tx.mkdir(path + "/device");
            tx.setPermissions(path + "/device", guestOwned);
            tx.mkdir(path + "/data");
            tx.setPermissions(path + "/data", guestOwned);
            // libxl's control/: the directory is the toolstack's, the keys the guest answers in are the guest's.
            tx.mkdir(path + "/control");
            tx.setPermissions(path + "/control", dom0Owned);
            for (final String key : CONTROL_KEYS)
            {
                tx.write(path + "/control/" + key, "");
                tx.setPermissions(path + "/control/" + key, guestOwned);
            }
            return null;
        });
        dom0Store.introduceDomain(domid, 0, 0);
        return domain;
    }

    /**
     * What {@code xl destroy} does: remove the guest's backend directories and {@code /local/domain/<domid>},
     * destroy the domain (its grants and ports go with it), and RELEASE it (which fires {@code @releaseDomain}).
     *
     * @param domid the guest.
     */
    public void destroyGuest(final int domid)
    {
        try
        {
            // libxl removes the guest's backend directories with the domain.
            final String backends = "/local/domain/0/backend";
            if (dom0Store.exists(backends))
            {
                for (final String type : dom0Store.directory(backends))
                {
                    dom0Store.rm(backends + "/" + type + "/" + domid);
                }
            }
            dom0Store.rm("/local/domain/" + domid);
        }
        finally
        {
            try
            {
                if (host.exists(domid))
                {
                    host.destroyDomain(domid);
                }
            }
            finally
            {
                // Last, as on Xen, where xenstored fires @releaseDomain once the hypervisor says the domain is gone:
                // a toolstack woken by it finds the domain gone.
                dom0Store.releaseDomain(domid);
            }
        }
    }

    /**
     * @param domid an introduced guest.
     * @return a new xenstore connection as that guest (unprivileged, relative paths under its domain path).
     */
    public XenStore connectAsGuest(final int domid)
    {
        return XenStoreClient.connect(null != xenstored ?
            xenstored.domainSocketPath(domid) : host.directory().resolve("domain-" + domid + ".sock"));
    }

    @Override
    public void close()
    {
        try
        {
            dom0Store.close();
        }
        finally
        {
            try
            {
                if (null != xenstored)
                {
                    xenstored.close();
                }
            }
            finally
            {
                host.close();
            }
        }
    }
}
