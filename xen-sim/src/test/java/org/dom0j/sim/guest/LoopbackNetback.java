package org.dom0j.sim.guest;

import org.dom0j.backend.XenbusState;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.netif.NetifRxResponseFlyweight;
import org.dom0j.ring.BackRing;
import org.dom0j.ring.SharedRingDescriptor;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A small network backend for tests, in dom0 of a {@link SimMachine}: it serves vifs the way Linux's netback
 * presents itself (features in the backend directory, InitWait, Connected once the frontend is Connected), maps
 * each queue's TX and RX rings through dom0's grant tables, binds the event channels, and moves every packet a
 * frontend sends into the RX ring of its peer: the same vif (a loopback) unless {@link #crossConnect} joined two.
 * Data moves by grant copy; TX flags become RX flags as netback sets them (csum_blank gives csum_blank and
 * data_validated), a GSO extra is passed on, MCAST_ADD/DEL dummies are answered and recorded, and a control ring
 * answers GET_HASH_MAPPING_SIZE. A packet that does not fit the peer's posted RX buffers waits (and the TX ring
 * waits behind it).
 * <p>
 * Test hooks: {@link #splitHeader} puts the first 66 bytes of a GSO packet in a slot of their own (as netback does
 * when the headers sit in the linear area and the payload in page frags); {@link #tamperNextRx} rewrites the next
 * RX data response after it is written.
 * <p>
 * The parts: {@link LoopbackVif} (one vif's state, rings and control ring), {@link LoopbackQueue} (one queue's
 * rings), {@link LoopbackPacketMover} (TX to RX) and {@link LoopbackRawWriter} (hostile responses); this class
 * runs the loop and the xenbus states.
 * <p>
 * Everything touching rings, grants and event channels runs on its one thread; the public methods only write
 * xenstore or set fields.
 */
final class LoopbackNetback implements AutoCloseable
{
    /** What Linux's netback writes at probe (with 8 queues, the default on an 8-CPU dom0). */
    static final Map<String, String> LINUX_FEATURES = linuxFeatures();

    private static Map<String, String> linuxFeatures()
    {
        final Map<String, String> m = new LinkedHashMap<>();
        m.put("feature-sg", "1");
        m.put("feature-gso-tcpv4", "1");
        m.put("feature-gso-tcpv6", "1");
        m.put("feature-ipv6-csum-offload", "1");
        m.put("feature-rx-copy", "1");
        m.put("feature-xdp-headroom", "1");
        m.put("feature-rx-flip", "0");
        m.put("feature-multicast-control", "1");
        m.put("feature-dynamic-multicast-control", "1");
        m.put("feature-split-event-channels", "1");
        m.put("multi-queue-max-queues", "8");
        m.put("feature-ctrl-ring", "1");
        return Map.copyOf(m);
    }

    /** Rewrites an RX data response in the ring. */
    @FunctionalInterface
    interface RxTamper extends Consumer<NetifRxResponseFlyweight>
    {
    }

    private final XenStore xs;
    private final SimPlatform platform;
    private final GrantTables gnttab;
    private final EventChannels evtchn;
    private final LoopbackPacketMover mover;
    private final List<LoopbackVif> vifs = new CopyOnWriteArrayList<>();
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private volatile RxTamper tamper;
    private volatile Raw rawRx;
    private volatile Raw rawTx;
    private Thread thread;
    private volatile boolean running;

    /** Leave TX requests on the ring (for {@link #injectTx}). */
    volatile boolean holdTx;
    /** Put a GSO packet's headers in an RX slot of their own. */
    volatile boolean splitHeader;
    /** Packets taken from TX rings. */
    volatile long txPackets;
    /** Packets written into RX rings. */
    volatile long rxPackets;
    /** RX slots (data and extras) the last packet took. */
    volatile int lastRxSlots;
    /** Times a packet waited for RX buffers. */
    volatile long rxWaits;

    LoopbackNetback(final SimMachine machine)
    {
        this.xs = machine.xenStore();
        this.platform = new SimPlatform(machine.host(), 0);
        this.gnttab = platform.openGrantTables();
        this.evtchn = platform.openEventChannels();
        this.mover = new LoopbackPacketMover(this, gnttab, evtchn);
    }

    /**
     * Attaches a vif as libxl does (backend and frontend directories, with the MAC in both) and serves it.
     *
     * @param domid    the guest.
     * @param devid    the device id.
     * @param mac      the guest's MAC, "aa:bb:..".
     * @param features the backend's features.
     * @return the vif.
     */
    LoopbackVif attach(final int domid, final String devid, final String mac, final Map<String, String> features)
    {
        XenbusDevices.attach(xs, 0, "vif", domid, devid,
            Map.of("mac", mac, "handle", devid, "script", "/bin/true", "bridge", "xenbr0", "type", "vif"),
            Map.of("mac", mac, "handle", devid, "mtu", "1500", "trusted", "1"));
        return serve(domid, devid, features);
    }

    /**
     * Serves a vif someone else attaches (now or later): once its backend directory exists, writes the features
     * and InitWait.
     *
     * @param domid    the guest.
     * @param devid    the device id.
     * @param features the backend's features.
     * @return the vif.
     */
    LoopbackVif serve(final int domid, final String devid, final Map<String, String> features)
    {
        final LoopbackVif vif = new LoopbackVif(xs, domid, devid, features);
        vifs.add(vif);
        return vif;
    }

    /**
     * @param a one vif.
     * @param b another: what either sends goes to the other.
     */
    static void crossConnect(final LoopbackVif a, final LoopbackVif b)
    {
        a.peer = b;
        b.peer = a;
    }

    /**
     * @param change applied once, to the next RX data response written.
     */
    void tamperNextRx(final RxTamper change)
    {
        tamper = change;
    }

    /**
     * Applies the {@link #tamperNextRx} change, if one is set, and clears it.
     *
     * @param response the RX data response just written.
     */
    void tamperOnce(final NetifRxResponseFlyweight response)
    {
        if (null != tamper)
        {
            tamper.accept(response);
            tamper = null;
        }
    }

    /** Writes raw responses, on the loop thread, for hostile tests. */
    @FunctionalInterface
    interface Raw
    {
        /**
         * @param writer writes responses into queue 0's ring.
         */
        void write(LoopbackRawWriter writer);
    }

    /**
     * @param raw run once on the loop thread against the first connected vif's queue 0 RX ring, then pushed.
     */
    void injectRx(final Raw raw)
    {
        rawRx = raw;
    }

    /**
     * @param raw run once on the loop thread against the first connected vif's queue 0 TX ring, then pushed.
     */
    void injectTx(final Raw raw)
    {
        rawTx = raw;
    }

    /**
     * @return errors of the loop (a test asserts there were none).
     */
    List<Throwable> errors()
    {
        return errors;
    }

    LoopbackNetback start()
    {
        running = true;
        thread = new Thread(this::run, "loopback-netback");
        thread.setDaemon(true);
        thread.start();
        return this;
    }

    private void run()
    {
        while (running)
        {
            int work = 0;
            try
            {
                for (final LoopbackVif vif : vifs)
                {
                    work += step(vif);
                }
            }
            catch (final Throwable t)
            {
                errors.add(t);
                running = false;
                break;
            }
            if (work == 0)
            {
                final int port = evtchn.pending(TimeUnit.MILLISECONDS.toNanos(5));
                if (port >= 0)
                {
                    evtchn.unmask(port);
                }
            }
        }
    }

    private int step(final LoopbackVif vif)
    {
        int work = 0;
        if (vif.phase == XenbusState.INITIALISING && xs.exists(vif.be + "/frontend"))
        {
            xs.transaction(t ->
            {
                vif.features.forEach((k, v) -> t.write(vif.be + "/" + k, v));
                t.write(vif.be + "/state", XenbusState.INIT_WAIT.wireValue());
                return null;
            });
            vif.watch = xs.watch(vif.fe + "/state", "loopback-" + vif.domid + "-" + vif.devid,
                (path, token) -> vif.stateChanged.set(true));
            vif.phase = XenbusState.INIT_WAIT;
            work++;
        }
        if (vif.stateChanged.getAndSet(false) && vif.phase != XenbusState.INITIALISING)
        {
            work += frontendChanged(vif);
        }
        if (vif.phase == XenbusState.CONNECTED && vif.queues.length > 0)
        {
            work += runRaw(vif.queues[0]);
        }
        if (vif.phase == XenbusState.CONNECTED && !holdTx)
        {
            for (int q = 0; q < vif.queues.length; q++)
            {
                work += mover.serviceTx(vif, q);
            }
            work += vif.serviceCtrl(evtchn);
        }
        return work;
    }

    private int runRaw(final LoopbackQueue queue)
    {
        final Raw rx = rawRx;
        if (null != rx)
        {
            rawRx = null;
            write(rx, queue.rx, queue.rxPort);
            return 1;
        }
        final Raw tx = rawTx;
        if (null != tx)
        {
            rawTx = null;
            write(tx, queue.tx, queue.txPort);
            return 1;
        }
        return 0;
    }

    private void write(final Raw raw, final BackRing ring, final int port)
    {
        final LoopbackRawWriter writer = new LoopbackRawWriter(ring);
        raw.write(writer);
        ring.pushResponses();
        if (writer.bump() != 0)
        {
            ring.buffer().putIntRelease(SharedRingDescriptor.RSP_PROD_OFFSET, ring.rspProdPvt() + writer.bump());
        }
        evtchn.notify(port);
    }

    private int frontendChanged(final LoopbackVif vif)
    {
        final String text = xs.readOrNull(vif.fe + "/state");
        final XenbusState state = null == text ? XenbusState.UNKNOWN : XenbusState.parse(text);
        if (state == XenbusState.CONNECTED && vif.phase == XenbusState.INIT_WAIT)
        {
            try
            {
                vif.connect(gnttab, evtchn);
            }
            catch (final RuntimeException ex)
            {
                vif.failure = "connect: " + ex;
                errors.add(ex);
                return 1;
            }
            // The phase first: a frontend that sees Connected in xenstore (and a test that then asks) finds it.
            vif.phase = XenbusState.CONNECTED;
            xs.write(vif.be + "/state", XenbusState.CONNECTED.wireValue());
            return 1;
        }
        if ((state == XenbusState.CLOSING || state == XenbusState.CLOSED || state == XenbusState.UNKNOWN) &&
            vif.phase != XenbusState.CLOSED)
        {
            if (vif.phase == XenbusState.CONNECTED)
            {
                vif.disconnect(evtchn);
            }
            final XenbusState next = state == XenbusState.CLOSING ? XenbusState.CLOSING : XenbusState.CLOSED;
            vif.phase = next;
            if (xs.exists(vif.be))
            {
                xs.write(vif.be + "/state", next.wireValue());
            }
            return 1;
        }
        return 0;
    }

    @Override
    public void close()
    {
        running = false;
        if (null != thread)
        {
            try
            {
                thread.join(TimeUnit.SECONDS.toMillis(10));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        for (final LoopbackVif vif : vifs)
        {
            if (vif.phase == XenbusState.CONNECTED)
            {
                vif.disconnect(evtchn);
            }
            if (null != vif.watch)
            {
                vif.watch.close();
            }
        }
        evtchn.close();
        gnttab.close();
        // The platform shares the machine's host: the machine closes it.
    }
}
