package org.dom0j.sim.guest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import org.dom0j.backend.XenbusState;
import org.dom0j.sim.SimDomain;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsWatch;

/**
 * A simulated guest's xenbus frontend bus: like Linux's, it watches the guest's {@code device} directory, connects
 * a blkfront to each vbd and a netfront to each vif the toolstack writes there (at boot and hot-plugged later), and
 * lets a device go when its backend starts closing (a detach: {@code online} 0, state Closing) or its directory is
 * removed. Devices that fail to connect are reported and not retried until their directory changes.
 * <p>
 * Not thread safe: the guest's thread ({@link #scan()}); the watch only raises a flag.
 */
public final class SimGuestDevices implements AutoCloseable
{
    private static final long CONNECT_TIMEOUT_MS = 15_000;
    private static final long DISCONNECT_TIMEOUT_MS = 5_000;

    private final SimDomain guest;
    private final XenStore xs;
    private final String deviceDir;
    private final Consumer<String> log;
    private final Map<String, SimBlkfront> disks = new TreeMap<>();
    private final Map<String, SimNetfront> nics = new TreeMap<>();
    private final List<String> failed = new ArrayList<>();
    private final AtomicBoolean changed = new AtomicBoolean(true);
    private final XsWatch watch;
    private boolean closed;

    /**
     * @param guest the guest.
     * @param xs    the guest's own xenstore connection.
     * @param log   told what happens, a line at a time (the guest's console, say).
     */
    public SimGuestDevices(final SimDomain guest, final XenStore xs, final Consumer<String> log)
    {
        this.guest = guest;
        this.xs = xs;
        this.log = log;
        this.deviceDir = "/local/domain/" + guest.domid() + "/device";
        this.watch = xs.watch(deviceDir, "devices-" + guest.domid(), (path, token) -> changed.set(true));
    }

    /**
     * Connects the devices that appeared and lets go of those being detached. Cheap when nothing changed: the
     * watch says when the device directory did, and only the backends of connected devices are read otherwise.
     */
    public void scan()
    {
        for (final var it = disks.entrySet().iterator(); it.hasNext();)
        {
            final var e = it.next();
            if (leaving("vbd", e.getKey()))
            {
                it.remove();
                disconnect(e.getKey(), e.getValue());
            }
        }
        for (final var it = nics.entrySet().iterator(); it.hasNext();)
        {
            final var e = it.next();
            if (leaving("vif", e.getKey()))
            {
                it.remove();
                e.getValue().close();
                log.accept("netfront: vif " + e.getKey() + " detached");
            }
        }
        if (!changed.getAndSet(false))
        {
            return;
        }
        for (final String devid : list("vbd"))
        {
            if (!disks.containsKey(devid) && !failed.contains("vbd/" + devid) && !leaving("vbd", devid))
            {
                connectDisk(devid);
            }
        }
        for (final String devid : list("vif"))
        {
            if (!nics.containsKey(devid) && !failed.contains("vif/" + devid) && !leaving("vif", devid))
            {
                connectNic(devid);
            }
        }
        failed.removeIf(f -> !xs.exists(deviceDir + "/" + f));
    }

    /**
     * @return the disks connected now, by device id.
     */
    public Map<String, SimBlkfront> disks()
    {
        return disks;
    }

    /**
     * @return the vifs connected now, by handle.
     */
    public Map<String, SimNetfront> nics()
    {
        return nics;
    }

    private void connectDisk(final String devid)
    {
        try
        {
            final SimBlkfront front = SimBlkfront.connect(guest, xs, devid, SimBlkfront.Options.linuxDefaults(),
                CONNECT_TIMEOUT_MS);
            disks.put(devid, front);
            log.accept("blkfront: vbd " + devid + " (" + xs.readOrNull(deviceDir + "/vbd/" + devid + "/backend") +
                ") connected, " + front.sectors() + " sectors");
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        catch (final TimeoutException | RuntimeException ex)
        {
            failed.add("vbd/" + devid);
            log.accept("blkfront: vbd " + devid + " failed: " + ex.getMessage());
        }
    }

    private void connectNic(final String devid)
    {
        try
        {
            nics.put(devid, SimNetfront.connect(guest, xs, devid, SimNetfront.Options.linuxDefaults(),
                CONNECT_TIMEOUT_MS));
            log.accept("netfront: vif " + devid + " connected, mac " + xs.readOrNull(deviceDir + "/vif/" + devid +
                "/mac"));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        catch (final TimeoutException | RuntimeException ex)
        {
            failed.add("vif/" + devid);
            log.accept("netfront: vif " + devid + " failed: " + ex.getMessage());
        }
    }

    private void disconnect(final String devid, final SimBlkfront front)
    {
        try
        {
            front.disconnect(DISCONNECT_TIMEOUT_MS);
            log.accept("blkfront: vbd " + devid + " detached");
        }
        catch (final TimeoutException ex)
        {
            log.accept("blkfront: vbd " + devid + ": " + ex.getMessage());
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the device's directory is gone or its backend is closing (a detach), as xenbus sees it. */
    private boolean leaving(final String type, final String devid)
    {
        final String fe = deviceDir + "/" + type + "/" + devid;
        final String backend = xs.readOrNull(fe + "/backend");
        if (null == backend)
        {
            return true;
        }
        final String state = xs.readOrNull(backend + "/state");
        return null == state || XenbusState.CLOSING.wireValue().equals(state) ||
            XenbusState.CLOSED.wireValue().equals(state);
    }

    private List<String> list(final String type)
    {
        final String dir = deviceDir + "/" + type;
        return xs.exists(dir) ? xs.directory(dir) : List.of();
    }

    /**
     * The domain is gone: stops watching and lets the frontends go without a handshake (their pages went with it).
     */
    public void abandon()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        watch.close();
        disks.values().forEach(SimBlkfront::close);
        disks.clear();
        nics.clear();
    }

    /**
     * Disconnects every device as a guest shutting down does, and stops watching. Idempotent.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        watch.close();
        for (final var e : disks.entrySet())
        {
            disconnect(e.getKey(), e.getValue());
        }
        disks.clear();
        nics.values().forEach(SimNetfront::close);
        nics.clear();
    }
}
