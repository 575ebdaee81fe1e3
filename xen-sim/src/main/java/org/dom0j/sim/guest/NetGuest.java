package org.dom0j.sim.guest;

import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A whole simulated guest with one network interface: created in the machine as {@code xl create} would, the vif
 * attached as {@code xl network-attach} would (backend and frontend directories with libxl's keys; a backend in
 * dom0, e.g. {@code dom0j serve}, must serve it), its netfront connected, a {@link NetWorkload} run against a peer
 * for a while, and the vif detached cleanly. Two of these with each other's address as peer, on one machine, give
 * pings and verified streams both ways.
 * <p>
 * Not thread safe: runs on the caller's thread (two guests: two threads or two processes).
 */
public final class NetGuest
{
    private static final long CONNECT_TIMEOUT_MS = 15_000;
    private static final int GUEST_PAGES = 16_384;

    private NetGuest()
    {
    }

    /**
     * What a guest does with its connected interface.
     *
     * @param <T> what it returns.
     */
    @FunctionalInterface
    public interface Session<T>
    {
        /**
         * @param front the connected frontend.
         * @return the outcome.
         */
        T run(SimNetfront front);
    }

    /**
     * @param domid a guest.
     * @param devid its device id (a number).
     * @return the MAC dom0j gives it: Xen's OUI 00:16:3e, then the domid (two bytes) and the devid (one byte).
     */
    public static String defaultMac(final int domid, final String devid)
    {
        return NetFrames.formatMac(0x00163E00_0000L | (domid & 0xFFFFL) << 8 | Integer.parseInt(devid) & 0xFF);
    }

    /**
     * Joins the machine in {@code machineDirectory} (started by another process), runs {@link #run} and leaves
     * the machine running.
     *
     * @param machineDirectory the sim host directory.
     * @param domid            the new guest's domid.
     * @param devid            its vif's device id, e.g. "0".
     * @param ip               its IPv4 address, e.g. "10.0.0.1".
     * @param peerIp           the peer's (its own for a loopback backend).
     * @param options          what its netfront asks for.
     * @param seed             the workload seed, the same for both peers.
     * @param seconds          how long to send.
     * @param progress         told about progress, or null.
     * @return what happened.
     * @throws TimeoutException     when the backend did not connect in time.
     * @throws InterruptedException when interrupted.
     */
    public static NetWorkload.Result run(
        final Path machineDirectory,
        final int domid,
        final String devid,
        final String ip,
        final String peerIp,
        final SimNetfront.Options options,
        final long seed,
        final double seconds,
        final NetWorkload.Progress progress) throws TimeoutException, InterruptedException
    {
        try (SimMachine machine = SimMachine.join(machineDirectory))
        {
            return run(machine, domid, devid, NetFrames.parseIpv4(ip), NetFrames.parseIpv4(peerIp), options, seed,
                seconds, progress);
        }
    }

    /**
     * Creates the guest, attaches and connects its vif, runs a {@link NetWorkload} for {@code seconds} with pings
     * every 10 ms, disconnects, detaches and destroys the guest.
     *
     * @param machine  the machine (started or joined).
     * @param domid    the new guest's domid.
     * @param devid    its vif's device id.
     * @param ip       its IPv4 address.
     * @param peerIp   the peer's.
     * @param options  what its netfront asks for.
     * @param seed     the workload seed, the same for both peers.
     * @param seconds  how long to send.
     * @param progress told about progress, or null.
     * @return what happened.
     * @throws TimeoutException     when the backend did not connect in time.
     * @throws InterruptedException when interrupted.
     */
    public static NetWorkload.Result run(
        final SimMachine machine,
        final int domid,
        final String devid,
        final int ip,
        final int peerIp,
        final SimNetfront.Options options,
        final long seed,
        final double seconds,
        final NetWorkload.Progress progress) throws TimeoutException, InterruptedException
    {
        return withVif(machine, domid, "net-guest-" + domid, GUEST_PAGES, devid, defaultMac(domid, devid), options,
            front -> new NetWorkload(front, ip, peerIp, seed, 10).run(seconds, progress));
    }

    /**
     * Creates a guest, attaches a vif as libxl does (backend keys frontend-id, online, state 1, script, mac,
     * bridge, handle, type; frontend keys backend, backend-id, state 1, handle, mac, mtu, trusted), connects its
     * netfront, runs {@code session}, closes the netfront, detaches the vif once the backend has closed, and
     * destroys the guest, whatever happened.
     *
     * @param machine the machine.
     * @param domid   the new guest's domid.
     * @param name    its name.
     * @param pages   its memory in 4 KiB pages (each queue takes about 520).
     * @param devid   the vif's device id.
     * @param mac     its MAC, "00:16:3e:..".
     * @param options what its netfront asks for.
     * @param session what to do with the interface.
     * @param <T>     what the session returns.
     * @return what the session returned.
     * @throws TimeoutException     when the backend did not connect in time.
     * @throws InterruptedException when interrupted.
     */
    public static <T> T withVif(
        final SimMachine machine,
        final int domid,
        final String name,
        final int pages,
        final String devid,
        final String mac,
        final SimNetfront.Options options,
        final Session<T> session) throws TimeoutException, InterruptedException
    {
        final SimDomain guest = machine.createGuest(domid, name, pages);
        try
        {
            XenbusDevices.attach(machine.xenStore(), 0, "vif", domid, devid,
                Map.of("script", "/bin/true", "mac", mac, "bridge", "xenbr0", "handle", devid, "type", "vif"),
                Map.of("handle", devid, "mac", mac, "mtu", "1500", "trusted", "1"));
            try (XenStore xs = machine.connectAsGuest(domid);
                SimNetfront front = SimNetfront.connect(guest, xs, devid, options, CONNECT_TIMEOUT_MS))
            {
                return session.run(front);
            }
        }
        finally
        {
            XenbusDevices.requestDetach(machine.xenStore(), 0, "vif", domid, devid);
            waitForBackendClosed(machine.xenStore(), XenbusDevices.backendPath(0, "vif", domid, devid));
            XenbusDevices.remove(machine.xenStore(), 0, "vif", domid, devid);
            machine.destroyGuest(domid);
        }
    }

    private static void waitForBackendClosed(final XenStore xs, final String backendPath) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline)
        {
            final String state = xs.readOrNull(backendPath + "/state");
            if (null == state || "6".equals(state))
            {
                return;
            }
            Thread.sleep(5);
        }
    }
}
