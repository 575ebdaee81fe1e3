package org.dom0j.toolstack;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.dom0j.backend.XenbusState;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.toolstack.xl.DiskSpec;
import org.dom0j.toolstack.xl.VifSpec;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsWatch;

/**
 * Disks and vifs added to and taken from a domain the way libxl does it ({@code libxl__device_disk_add},
 * {@code libxl__initiate_device_generic_remove}): the backend and frontend directories written in one transaction
 * with their keys and permissions ({@link XenbusDevices#attach}), then a wait of up to
 * {@value #INIT_TIMEOUT_MS} ms for the backend to take the device (InitWait); a removal writes {@code online} 0 and
 * state Closing in the backend, waits up to {@value #DESTROY_TIMEOUT_MS} ms for it to close (its frontend lets the
 * device go first), then deletes both directories. Used by {@code dom0j create} on the simulator and by
 * {@code dom0j block-attach}, {@code block-detach}, {@code network-attach} and {@code network-detach} on any
 * platform. Only Domain-0 serves backends here.
 * <p>
 * No hotplug script runs here: on real Xen the CLI runs a vif's ({@link HotplugScript}, {@code vif-bridge} by
 * default, as libxl) once the backend took it, and before a removed one's directories go; a vbd's is
 * {@code /bin/true} unless its spec names one, and none is run (dom0j's blkback opens the target itself).
 * <p>
 * Threads: one at a time per connection.
 */
public final class DeviceHotplug
{
    /** How long libxl waits for a new device's backend (LIBXL_INIT_TIMEOUT, seconds in libxl). */
    public static final long INIT_TIMEOUT_MS = 10_000;
    /** How long libxl waits for a removed device's backend to close (LIBXL_DESTROY_TIMEOUT). */
    public static final long DESTROY_TIMEOUT_MS = 10_000;

    /**
     * One device of a domain, as {@code xl block-list} and {@code xl network-list} show it.
     *
     * @param type          "vbd" or "vif".
     * @param devid         its device id (a vbd's virtual-device number, a vif's handle).
     * @param backendPath   its backend directory: the one its frontend names, when that is a dom0 backend directory of
     *                      this device that names the frontend back, else where dom0j attaches it.
     * @param backendDomid  the backend's domain, as the frontend names it (-1 when unreadable).
     * @param frontendState the frontend's xenbus state (0 when missing).
     * @param backendState  the backend's (0 when missing).
     * @param eventChannel  the frontend's event channel, or -1 (several queues: the first queue's).
     * @param ringRef       the frontend's (first) ring reference, or -1.
     * @param name          what it is: a vbd's {@code dev} (xvdb), a vif's MAC.
     * @param target        a vbd's {@code params}, a vif's bridge.
     */
    public record Device(
        String type,
        int devid,
        String backendPath,
        int backendDomid,
        int frontendState,
        int backendState,
        int eventChannel,
        int ringRef,
        String name,
        String target)
    {
    }

    private DeviceHotplug()
    {
    }

    /**
     * Writes a disk's backend and frontend directories as libxl does for a PV disk served by Domain-0.
     *
     * @param xs    a privileged connection.
     * @param domid the guest.
     * @param disk  the disk, as an xl disk spec says.
     * @return its backend directory.
     * @throws XenException EEXIST when the guest already has a device with that number.
     */
    public static String attachDisk(final XenStore xs, final int domid, final DiskSpec disk)
    {
        return attachDisk(xs, domid, disk, "vbd");
    }

    /**
     * {@link #attachDisk(XenStore, int, DiskSpec)} with its backend directory under {@code backend/<backendType>}:
     * served by a {@code dom0j serve --blk-type backendType} beside Linux's xen-blkback. The frontend directory is
     * {@code device/vbd} whatever serves it.
     *
     * @param xs          a privileged connection.
     * @param domid       the guest.
     * @param disk        the disk, as an xl disk spec says.
     * @param backendType the backend's device type.
     * @return its backend directory.
     * @throws XenException EEXIST when the guest already has a device with that number.
     */
    public static String attachDisk(final XenStore xs, final int domid, final DiskSpec disk, final String backendType)
    {
        final String devid = Integer.toString(disk.deviceNumber());
        refuseTaken(xs, "vbd", domid, devid, disk.vdev());
        if (xs.exists(XenbusDevices.backendPath(0, backendType, domid, devid)))
        {
            throw new XenException(Errno.EEXIST.number(), "domain " + domid + " already has " + disk.vdev() +
                " (" + backendType + " " + devid + ")");
        }
        final Map<String, String> back = new LinkedHashMap<>();
        back.put("params", disk.target());
        back.put("script", null != disk.script() ? disk.script() : "/bin/true");
        back.put("type", "phy");
        back.put("mode", disk.readwrite() ? "w" : "r");
        back.put("device-type", disk.cdrom() ? "cdrom" : "disk");
        back.put("removable", disk.removable() ? "1" : "0");
        back.put("bootable", "1");
        back.put("dev", disk.vdev());
        back.put("discard-enable", Boolean.FALSE.equals(disk.discard()) ? "0" : "1");
        XenbusDevices.attach(xs, 0, backendType, "vbd", domid, devid, back,
            Map.of("virtual-device", devid, "device-type", disk.cdrom() ? "cdrom" : "disk", "trusted", "1"));
        return XenbusDevices.backendPath(0, backendType, domid, devid);
    }

    /**
     * Writes a vif's backend and frontend directories as libxl does for a vif served by Domain-0: its
     * {@code script} is the spec's, or libxl's default {@code vif-bridge}, a name without a directory made a path in
     * {@link HotplugScript#SCRIPTS_DIRECTORY}.
     *
     * @param xs    a privileged connection.
     * @param domid the guest.
     * @param vif   the vif, as an xl vif spec says.
     * @param mac   its MAC (the spec's, or one the caller made up, as libxl does: 00:16:3e and three random bytes).
     * @return its backend directory.
     * @throws XenException EEXIST when the guest already has a vif with that handle.
     */
    public static String attachVif(final XenStore xs, final int domid, final VifSpec vif, final String mac)
    {
        final String devid = Integer.toString(vif.devid());
        refuseTaken(xs, "vif", domid, devid, "vif " + devid);
        final Map<String, String> back = new LinkedHashMap<>();
        // libxl's default, and a name without a directory made absolute, as libxl__abs_path does.
        back.put("script", HotplugScript.resolve(null != vif.script() ? vif.script() : "vif-bridge",
            HotplugScript.SCRIPTS_DIRECTORY).toString());
        back.put("mac", mac);
        back.put("bridge", null != vif.bridge() ? vif.bridge() : "xenbr0");
        back.put("handle", devid);
        back.put("type", "vif");
        if (null != vif.ip())
        {
            back.put("ip", vif.ip());
        }
        if (null != vif.vifname())
        {
            back.put("vifname", vif.vifname());
        }
        if (vif.rateBytesPerInterval() != 0)
        {
            back.put("rate", vif.rateBytesPerInterval() + "," + vif.rateIntervalUsecs());
        }
        XenbusDevices.attach(xs, 0, "vif", domid, devid, back,
            Map.of("handle", devid, "mac", mac, "mtu", Integer.toString(0 != vif.mtu() ? vif.mtu() : 1500),
                "trusted", "1"));
        return XenbusDevices.backendPath(0, "vif", domid, devid);
    }

    /**
     * Waits, as libxl does, for a new device's backend to take it: InitWait or later.
     *
     * @param xs          a connection that may read the backend.
     * @param backendPath the backend directory.
     * @param timeoutMs   how long at most.
     * @throws XenException ETIMEDOUT, saying what to check, when no backend took it in time.
     */
    public static void awaitBackend(final XenStore xs, final String backendPath, final long timeoutMs)
    {
        if (!awaitState(xs, backendPath + "/state", s -> s == XenbusState.INIT_WAIT ||
            s == XenbusState.INITIALISED || s == XenbusState.CONNECTED, timeoutMs))
        {
            throw new XenException(Errno.ETIMEDOUT.number(), "no backend took " + backendPath + " within " +
                timeoutMs / 1000 + " s (its state is " + state(xs, backendPath + "/state") + "): is 'dom0j serve' " +
                "running and serving this device type?");
        }
    }

    /**
     * Waits for a device just attached to be taken by its backend ({@link #awaitBackend}); when it is not, removes
     * it again, as libxl does, and says why.
     *
     * @param xs        a privileged connection.
     * @param type      "vbd" or "vif".
     * @param domid     the guest.
     * @param devid     the device id.
     * @param timeoutMs how long at most.
     * @throws XenException ETIMEDOUT (the device removed) when no backend took it in time.
     */
    public static void awaitBackendOrRemove(
        final XenStore xs, final String type, final int domid, final String devid, final long timeoutMs)
    {
        awaitBackendOrRemove(xs, XenbusDevices.backendPath(0, type, domid, devid),
            XenbusDevices.frontendPath(domid, type, devid), timeoutMs);
    }

    /**
     * {@link #awaitBackendOrRemove(XenStore, String, int, String, long)} of the directories given.
     *
     * @param xs          a privileged connection.
     * @param backendPath the backend directory.
     * @param frontPath   the frontend directory.
     * @param timeoutMs   how long to wait.
     * @throws XenException ETIMEDOUT (both directories removed) when no backend took the device in time.
     */
    public static void awaitBackendOrRemove(
        final XenStore xs, final String backendPath, final String frontPath, final long timeoutMs)
    {
        try
        {
            awaitBackend(xs, backendPath, timeoutMs);
        }
        catch (final XenException ex)
        {
            XenbusDevices.remove(xs, backendPath, frontPath);
            throw ex;
        }
    }

    /**
     * Takes a device from a domain as {@code xl block-detach} and {@code xl network-detach} do: {@code online} 0
     * and state Closing in the backend, a wait for the backend to close (the guest's frontend lets it go first),
     * then both directories deleted. A device whose backend does not close in time is left in place unless
     * {@code force}, as libxl leaves it (a guest still using a disk must not lose it under its feet).
     *
     * @param xs        a privileged connection.
     * @param type      "vbd" or "vif".
     * @param domid     the guest.
     * @param devid     the device id.
     * @param timeoutMs how long to wait for the backend to close.
     * @param force     delete the directories even when the backend did not close.
     * @return true when the backend closed; false when it did not and the device was removed by force.
     * @throws XenException ENOENT when the guest has no such device; ETIMEDOUT when the backend did not close and
     *                      {@code force} is not set.
     */
    public static boolean detach(
        final XenStore xs, final String type, final int domid, final String devid, final long timeoutMs,
        final boolean force)
    {
        return detach(xs, type, domid, devid, timeoutMs, force, () ->
        {
        });
    }

    /**
     * {@link #detach(XenStore, String, int, String, long, boolean)} with a step where libxl runs the device's
     * hotplug script ({@code offline}): once the backend closed (or, with {@code force}, did not in time), before
     * the directories are deleted.
     *
     * @param xs           a privileged connection.
     * @param type         "vbd" or "vif".
     * @param domid        the guest.
     * @param devid        the device id.
     * @param timeoutMs    how long to wait for the backend to close.
     * @param force        delete the directories even when the backend did not close.
     * @param beforeRemove run just before the directories are deleted; what it throws leaves them in place.
     * @return true when the backend closed; false when it did not and the device was removed by force.
     * @throws XenException as the other {@code detach} does.
     */
    public static boolean detach(
        final XenStore xs, final String type, final int domid, final String devid, final long timeoutMs,
        final boolean force, final Runnable beforeRemove)
    {
        final String fe = XenbusDevices.frontendPath(domid, type, devid);
        final String be = XenbusDevices.backendOf(xs, type, domid, devid);
        if (!xs.exists(fe) && !xs.exists(be))
        {
            throw new XenException(Errno.ENOENT.number(), "domain " + domid + " has no " + type + " " + devid);
        }
        XenbusDevices.requestDetach(xs, be);
        final boolean closed = !xs.exists(be + "/state") || awaitState(xs, be + "/state",
            s -> s == XenbusState.CLOSED, timeoutMs);
        if (!closed && !force)
        {
            throw new XenException(Errno.ETIMEDOUT.number(), type + " " + devid + " of domain " + domid +
                ": the backend did not close within " + timeoutMs / 1000 + " s (backend " +
                state(xs, be + "/state") + ", frontend " + state(xs, fe + "/state") + "); the guest may still use " +
                "it. Unmount it in the guest and try again, or use --force to remove it regardless");
        }
        beforeRemove.run();
        XenbusDevices.remove(xs, be, fe);
        return closed;
    }

    /**
     * @param xs    a connection that may read the guest's device directories.
     * @param type  "vbd" or "vif".
     * @param domid the guest.
     * @return its devices of that type in device-id order, read from its frontend directories and their backends
     *         (values the guest wrote are read as numbers or shown as -1, never trusted further).
     */
    public static List<Device> list(final XenStore xs, final String type, final int domid)
    {
        final String dir = "/local/domain/" + domid + "/device/" + type;
        final List<Device> devices = new ArrayList<>();
        if (!xs.exists(dir))
        {
            return devices;
        }
        for (final String entry : xs.directory(dir))
        {
            final int devid = number(entry);
            if (devid < 0)
            {
                continue;
            }
            final String fe = dir + "/" + entry;
            // The backend as checked, not as the guest wrote it: its frontend directory is the guest's own.
            final String be = XenbusDevices.backendOf(xs, type, domid, entry);
            // Where frontends write them: one queue at the top, several under queue-N; a vif's event channels
            // may be split (event-channel-tx and -rx); a vbd's ring may span pages (ring-ref0, ...).
            final int eventChannel = firstNumber(xs, fe, "event-channel", "event-channel-tx", "queue-0/event-channel",
                "queue-0/event-channel-tx");
            final int ringRef = "vif".equals(type) ? firstNumber(xs, fe, "tx-ring-ref", "queue-0/tx-ring-ref") :
                firstNumber(xs, fe, "ring-ref", "ring-ref0", "queue-0/ring-ref", "queue-0/ring-ref0");
            final boolean vbd = "vbd".equals(type);
            devices.add(new Device(type, devid, be, number(xs.readOrNull(fe + "/backend-id")),
                Math.max(0, number(xs.readOrNull(fe + "/state"))), Math.max(0, number(xs.readOrNull(be + "/state"))),
                eventChannel, ringRef, String.valueOf(xs.readOrNull(be + (vbd ? "/dev" : "/mac"))),
                String.valueOf(xs.readOrNull(be + (vbd ? "/params" : "/bridge")))));
        }
        devices.sort((a, b) -> Integer.compare(a.devid(), b.devid()));
        return devices;
    }

    private static void refuseTaken(
        final XenStore xs, final String type, final int domid, final String devid, final String what)
    {
        if (xs.exists(XenbusDevices.frontendPath(domid, type, devid)) ||
            xs.exists(XenbusDevices.backendPath(0, type, domid, devid)))
        {
            throw new XenException(Errno.EEXIST.number(), "domain " + domid + " already has " + what + " (" + type +
                " " + devid + ")");
        }
    }

    private static boolean awaitState(
        final XenStore xs, final String statePath, final Predicate<XenbusState> wanted, final long timeoutMs)
    {
        final Semaphore changed = new Semaphore(0);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        try (XsWatch watch = xs.watch(statePath, "hotplug-" + statePath + "-" + System.nanoTime(),
            (path, token) -> changed.release()))
        {
            while (true)
            {
                final XenbusState now = parse(xs.readOrNull(statePath));
                if (null != now && wanted.test(now))
                {
                    return true;
                }
                final long left = deadline - System.nanoTime();
                if (left <= 0 || !changed.tryAcquire(left, TimeUnit.NANOSECONDS))
                {
                    final XenbusState last = parse(xs.readOrNull(statePath));
                    return null != last && wanted.test(last);
                }
                changed.drainPermits();
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new XenException(Errno.EINTR.number(), "interrupted waiting for " + statePath, ex);
        }
    }

    private static String state(final XenStore xs, final String statePath)
    {
        final XenbusState s = parse(xs.readOrNull(statePath));
        return null == s ? "missing" : s.name() + " (" + s.wireValue() + ")";
    }

    private static XenbusState parse(final String value)
    {
        if (null == value)
        {
            return null;
        }
        try
        {
            return XenbusState.parse(value);
        }
        catch (final RuntimeException ex)
        {
            return null;
        }
    }

    private static int firstNumber(final XenStore xs, final String dir, final String... keys)
    {
        for (final String key : keys)
        {
            final int n = number(xs.readOrNull(dir + "/" + key));
            if (n >= 0)
            {
                return n;
            }
        }
        return -1;
    }

    private static int number(final String value)
    {
        if (null == value || value.isEmpty() || value.length() > 9)
        {
            return -1;
        }
        for (int i = 0; i < value.length(); i++)
        {
            if (!Character.isDigit(value.charAt(i)))
            {
                return -1;
            }
        }
        return Integer.parseInt(value);
    }
}
