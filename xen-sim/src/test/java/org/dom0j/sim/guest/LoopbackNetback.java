package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.XenbusState;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.netif.NetifExtraInfoFlyweight;
import org.dom0j.protocol.netif.NetifRxRequestFlyweight;
import org.dom0j.protocol.netif.NetifRxResponseFlyweight;
import org.dom0j.protocol.netif.NetifTxRequestFlyweight;
import org.dom0j.protocol.netif.NetifTxResponseFlyweight;
import org.dom0j.ring.BackRing;
import org.dom0j.ring.RingLayout;
import org.dom0j.ring.SharedRingDescriptor;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsWatch;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import static org.dom0j.protocol.netif.NetifConstants.*;
import static org.dom0j.protocol.netif.NetifDescriptor.*;

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
 * Everything touching rings, grants and event channels runs on its one thread; the public methods only write
 * xenstore or set fields.
 */
final class LoopbackNetback implements AutoCloseable
{
    /** What Linux's netback writes at probe (with 8 queues, the default on an 8-CPU dom0). */
    static final Map<String, String> LINUX_FEATURES = linuxFeatures();

    private static final int HEADERS = NetFrames.TCP_FRAME_HEADERS;
    private static final int PACKET_BYTES = 80 * 1024;

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
    private final GrantCopyBatch batch = new GrantCopyBatch(64);
    private final List<Vif> vifs = new CopyOnWriteArrayList<>();
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private final NetifTxRequestFlyweight txRequest = new NetifTxRequestFlyweight();
    private final NetifTxResponseFlyweight txResponse = new NetifTxResponseFlyweight();
    private final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight();
    private final NetifRxRequestFlyweight rxRequest = new NetifRxRequestFlyweight();
    private final NetifRxResponseFlyweight rxResponse = new NetifRxResponseFlyweight();
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[16]);
    private final int[] slotRef = new int[32];
    private final int[] slotOffset = new int[32];
    private final int[] slotSize = new int[32];
    private final int[] slotId = new int[32];
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
    }

    /** One vif served. */
    final class Vif
    {
        final int domid;
        final String devid;
        final String fe;
        final String be;
        final Map<String, String> features;
        final AtomicBoolean stateChanged = new AtomicBoolean(true);
        final List<String> multicast = new CopyOnWriteArrayList<>();
        volatile Vif peer = this;
        volatile XenbusState phase = XenbusState.INITIALISING;
        volatile String failure;
        XsWatch watch;
        Queue[] queues = new Queue[0];
        GrantMapping ctrlMap;
        BackRing ctrlRing;
        int ctrlPort = -1;

        Vif(final int domid, final String devid, final Map<String, String> features)
        {
            this.domid = domid;
            this.devid = devid;
            this.fe = XenbusDevices.frontendPath(domid, "vif", devid);
            this.be = XenbusDevices.backendPath(0, "vif", domid, devid);
            this.features = features;
        }

        /**
         * @return the backend's state as the loop last wrote it.
         */
        XenbusState phase()
        {
            return phase;
        }

        /**
         * @return the frontend's keys as they are now (relative names), for negotiation checks.
         */
        Map<String, String> frontendKeys()
        {
            final Map<String, String> keys = new HashMap<>();
            collect(fe, "", keys);
            return keys;
        }

        private void collect(final String dir, final String prefix, final Map<String, String> keys)
        {
            for (final String name : xs.directory(dir))
            {
                final String path = dir + "/" + name;
                final String value = xs.readOrNull(path);
                final List<String> children = xs.directory(path);
                if (children.isEmpty())
                {
                    keys.put(prefix + name, value);
                }
                else
                {
                    collect(path, prefix + name + "/", keys);
                }
            }
        }
    }

    private final class Queue
    {
        final GrantMapping txMap;
        final GrantMapping rxMap;
        final BackRing tx;
        final BackRing rx;
        final int txPort;
        final int rxPort;
        final UnsafeBuffer packet = new UnsafeBuffer(ByteBuffer.allocateDirect(PACKET_BYTES));
        boolean held;
        int length;
        int flags;
        int gsoType;
        int gsoSize;

        Queue(final int domid, final int txRef, final int rxRef, final int txRemote, final int rxRemote)
        {
            txMap = gnttab.mapOne(domid, txRef, true);
            rxMap = gnttab.mapOne(domid, rxRef, true);
            tx = new BackRing(RingLayout.of(TX_REQUEST_LENGTH, TX_RESPONSE_LENGTH, 1), txMap.buffer())
                .attach(txMap.buffer().getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET));
            rx = new BackRing(RingLayout.of(RX_REQUEST_LENGTH, RX_RESPONSE_LENGTH, 1), rxMap.buffer())
                .attach(rxMap.buffer().getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET));
            txPort = evtchn.bindInterdomain(domid, txRemote);
            rxPort = txRemote == rxRemote ? txPort : evtchn.bindInterdomain(domid, rxRemote);
        }

        void close()
        {
            evtchn.unbind(txPort);
            if (rxPort != txPort)
            {
                evtchn.unbind(rxPort);
            }
            txMap.close();
            rxMap.close();
        }
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
    Vif attach(final int domid, final String devid, final String mac, final Map<String, String> features)
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
    Vif serve(final int domid, final String devid, final Map<String, String> features)
    {
        final Vif vif = new Vif(domid, devid, features);
        vifs.add(vif);
        return vif;
    }

    /**
     * @param a one vif.
     * @param b another: what either sends goes to the other.
     */
    static void crossConnect(final Vif a, final Vif b)
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

    /** Writes raw responses, on the loop thread, for hostile tests. */
    @FunctionalInterface
    interface Raw
    {
        /**
         * @param writer writes responses into queue 0's ring.
         */
        void write(RawWriter writer);
    }

    /** Takes requests and writes whatever responses a test wants, in ring order. */
    final class RawWriter
    {
        private final BackRing ring;
        private int bump;

        private RawWriter(final BackRing ring)
        {
            this.ring = ring;
        }

        /**
         * @return requests posted and not taken.
         */
        int available()
        {
            return ring.unconsumedRequests();
        }

        /**
         * Takes the next request.
         *
         * @return its id.
         */
        int take()
        {
            ring.copyRequest(copy, 0);
            return copy.getShort(0, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        }

        /**
         * Takes the next RX request and answers it with a data response naming it.
         *
         * @param pageOffset offset.
         * @param flags      NETRXF_*.
         * @param status     size or negative status.
         */
        void rxData(final int pageOffset, final int flags, final int status)
        {
            final int id = take();
            rxResponse.wrap(ring.buffer(), ring.claimResponse()).id(id).pageOffset(pageOffset).flags(flags)
                .status(status);
            ring.commitResponse();
        }

        /**
         * Takes the next RX request and answers it with any id.
         *
         * @param id         the id to write.
         * @param pageOffset offset.
         * @param flags      NETRXF_*.
         * @param status     size or negative status.
         */
        void rxResponse(final int id, final int pageOffset, final int flags, final int status)
        {
            take();
            LoopbackNetback.this.rxResponse.wrap(ring.buffer(), ring.claimResponse()).id(id).pageOffset(pageOffset)
                .flags(flags).status(status);
            ring.commitResponse();
        }

        /**
         * Takes the next RX request and answers it with an extra info.
         *
         * @param type    extra type.
         * @param flags   XEN_NETIF_EXTRA_FLAG_*.
         * @param gsoSize for a GSO extra.
         * @param gsoType for a GSO extra.
         */
        void rxExtra(final int type, final int flags, final int gsoSize, final int gsoType)
        {
            take();
            extra.wrap(ring.buffer(), ring.claimResponse()).type(type).flags(flags).gsoSize(gsoSize)
                .gsoType(gsoType);
            ring.commitResponse();
        }

        /**
         * Answers a request already taken, with any id.
         *
         * @param id     the id to write.
         * @param status the status.
         */
        void txResponse(final int id, final int status)
        {
            respond(ring, id, status);
        }

        /**
         * Moves rsp_prod on without writing responses.
         *
         * @param by how far.
         */
        void bumpRspProd(final int by)
        {
            bump = by;
        }
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
                for (final Vif vif : vifs)
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

    private int step(final Vif vif)
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
                work += serviceTx(vif, q);
            }
            work += serviceCtrl(vif);
        }
        return work;
    }

    private int runRaw(final Queue queue)
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
        final RawWriter writer = new RawWriter(ring);
        raw.write(writer);
        ring.pushResponses();
        if (writer.bump != 0)
        {
            ring.buffer().putIntRelease(SharedRingDescriptor.RSP_PROD_OFFSET, ring.rspProdPvt() + writer.bump);
        }
        evtchn.notify(port);
    }

    private int frontendChanged(final Vif vif)
    {
        final String text = xs.readOrNull(vif.fe + "/state");
        final XenbusState state = null == text ? XenbusState.UNKNOWN : XenbusState.parse(text);
        if (state == XenbusState.CONNECTED && vif.phase == XenbusState.INIT_WAIT)
        {
            try
            {
                connect(vif);
            }
            catch (final RuntimeException ex)
            {
                vif.failure = "connect: " + ex;
                errors.add(ex);
                return 1;
            }
            xs.write(vif.be + "/state", XenbusState.CONNECTED.wireValue());
            vif.phase = XenbusState.CONNECTED;
            return 1;
        }
        if ((state == XenbusState.CLOSING || state == XenbusState.CLOSED || state == XenbusState.UNKNOWN) &&
            vif.phase != XenbusState.CLOSED)
        {
            if (vif.phase == XenbusState.CONNECTED)
            {
                disconnect(vif);
            }
            final XenbusState next = state == XenbusState.CLOSING ? XenbusState.CLOSING : XenbusState.CLOSED;
            if (xs.exists(vif.be))
            {
                xs.write(vif.be + "/state", next.wireValue());
            }
            vif.phase = next;
            return 1;
        }
        return 0;
    }

    private long number(final String path, final long defaultValue)
    {
        return NetbackFeatures.readNumber(xs, path, defaultValue);
    }

    private void connect(final Vif vif)
    {
        final int n = (int)number(vif.fe + "/multi-queue-num-queues", 1);
        final Queue[] queues = new Queue[n];
        for (int q = 0; q < n; q++)
        {
            final String dir = n == 1 ? vif.fe : vif.fe + "/queue-" + q;
            final int txRef = (int)number(dir + "/tx-ring-ref", -1);
            final int rxRef = (int)number(dir + "/rx-ring-ref", -1);
            int txPort = (int)number(dir + "/event-channel-tx", -1);
            int rxPort = (int)number(dir + "/event-channel-rx", -1);
            if (txPort < 0 || rxPort < 0)
            {
                txPort = (int)number(dir + "/event-channel", -1);
                rxPort = txPort;
            }
            queues[q] = new Queue(vif.domid, txRef, rxRef, txPort, rxPort);
        }
        final int ctrlRef = (int)number(vif.fe + "/ctrl-ring-ref", -1);
        if (ctrlRef >= 0)
        {
            vif.ctrlMap = gnttab.mapOne(vif.domid, ctrlRef, true);
            vif.ctrlRing = new BackRing(RingLayout.of(CTRL_REQUEST_LENGTH, CTRL_RESPONSE_LENGTH, 1),
                vif.ctrlMap.buffer()).attach(0);
            vif.ctrlPort = evtchn.bindInterdomain(vif.domid, (int)number(vif.fe + "/event-channel-ctrl", -1));
        }
        vif.queues = queues;
    }

    private void disconnect(final Vif vif)
    {
        for (final Queue q : vif.queues)
        {
            q.close();
        }
        vif.queues = new Queue[0];
        if (null != vif.ctrlMap)
        {
            evtchn.unbind(vif.ctrlPort);
            vif.ctrlMap.close();
            vif.ctrlMap = null;
        }
    }

    private int serviceCtrl(final Vif vif)
    {
        if (null == vif.ctrlRing)
        {
            return 0;
        }
        int n = 0;
        while (vif.ctrlRing.unconsumedRequests() > 0)
        {
            vif.ctrlRing.copyRequest(copy, 0);
            final int id = copy.getShort(CTRL_REQUEST_ID_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            final int type = copy.getShort(CTRL_REQUEST_TYPE_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            final UnsafeBuffer ring = (UnsafeBuffer)vif.ctrlRing.buffer();
            final int at = vif.ctrlRing.claimResponse();
            ring.putShort(at + CTRL_RESPONSE_ID_OFFSET, (short)id, ByteOrder.LITTLE_ENDIAN);
            ring.putShort(at + CTRL_RESPONSE_TYPE_OFFSET, (short)type, ByteOrder.LITTLE_ENDIAN);
            final boolean known = type == XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE;
            ring.putInt(at + CTRL_RESPONSE_STATUS_OFFSET,
                known ? XEN_NETIF_CTRL_STATUS_SUCCESS : XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED, ByteOrder.LITTLE_ENDIAN);
            ring.putInt(at + CTRL_RESPONSE_DATA_OFFSET, known ? 128 : 0, ByteOrder.LITTLE_ENDIAN);
            vif.ctrlRing.commitResponse();
            n++;
        }
        if (n > 0 && vif.ctrlRing.pushResponsesAndCheckNotify())
        {
            evtchn.notify(vif.ctrlPort);
        }
        vif.ctrlRing.finalCheckForRequests();
        return n;
    }

    private int serviceTx(final Vif vif, final int q)
    {
        final Queue queue = vif.queues[q];
        final Vif peer = vif.peer;
        final Queue target = peer.phase == XenbusState.CONNECTED && peer.queues.length > 0 ?
            peer.queues[q % peer.queues.length] : null;
        int work = 0;
        if (null != target && target.held)
        {
            if (!deliver(peer, target))
            {
                return 0;
            }
            work++;
        }
        boolean notify = false;
        while (work < 64 && queue.tx.unconsumedRequests() > 0)
        {
            final boolean multicast = takePacket(vif, queue, null == target ? queue : target);
            notify |= queue.tx.pushResponsesAndCheckNotify();
            work++;
            if (!multicast && null != target)
            {
                txPackets++;
                if (!deliver(peer, target))
                {
                    break;
                }
            }
        }
        if (notify)
        {
            evtchn.notify(queue.txPort);
        }
        if (work == 0 && queue.tx.finalCheckForRequests())
        {
            work++;
        }
        return work;
    }

    /**
     * Takes one packet off the TX ring into {@code into}'s buffer and answers its slots.
     *
     * @return whether it was a multicast control dummy (nothing to deliver).
     */
    private boolean takePacket(final Vif vif, final Queue queue, final Queue into)
    {
        final BackRing tx = queue.tx;
        tx.copyRequest(copy, 0);
        txRequest.wrap(copy, 0);
        final int size = txRequest.size();
        final int flags = txRequest.flags();
        int slots = 0;
        slotRef[0] = txRequest.gref();
        slotOffset[0] = txRequest.pageOffset();
        slotId[0] = txRequest.id();
        slots++;
        int extras = 0;
        int gsoType = XEN_NETIF_GSO_TYPE_NONE;
        int gsoSize = 0;
        boolean multicast = false;
        boolean more = (flags & NETTXF_EXTRA_INFO) != 0;
        while (more)
        {
            require(tx.unconsumedRequests() > 0, vif, "missing extra info");
            tx.copyRequest(copy, 0);
            extra.wrap(copy, 0);
            extras++;
            if (extra.type() == XEN_NETIF_EXTRA_TYPE_GSO)
            {
                gsoType = extra.gsoType();
                gsoSize = extra.gsoSize();
            }
            else if (extra.type() == XEN_NETIF_EXTRA_TYPE_MCAST_ADD || extra.type() == XEN_NETIF_EXTRA_TYPE_MCAST_DEL)
            {
                multicast = true;
                vif.multicast.add((extra.type() == XEN_NETIF_EXTRA_TYPE_MCAST_ADD ? "add " : "del ") +
                    NetFrames.formatMac(extra.mcastAddress()));
            }
            more = (extra.flags() & XEN_NETIF_EXTRA_FLAG_MORE) != 0;
        }
        int rest = 0;
        boolean moreData = (flags & NETTXF_MORE_DATA) != 0 && !multicast;
        while (moreData)
        {
            require(tx.unconsumedRequests() > 0 && slots < slotRef.length, vif, "more_data past req_prod");
            tx.copyRequest(copy, 0);
            txRequest.wrap(copy, 0);
            slotRef[slots] = txRequest.gref();
            slotOffset[slots] = txRequest.pageOffset();
            slotSize[slots] = txRequest.size();
            slotId[slots] = txRequest.id();
            rest += slotSize[slots];
            slots++;
            moreData = (txRequest.flags() & NETTXF_MORE_DATA) != 0;
        }
        slotSize[0] = size - rest;
        if (!multicast)
        {
            require(slotSize[0] >= 0 && size <= PACKET_BYTES, vif, "first slot size below 0");
            batch.clear();
            int at = 0;
            for (int s = 0; s < slots; s++)
            {
                require(slotOffset[s] + slotSize[s] <= PAGE_SIZE, vif, "slot crosses its page");
                batch.addFromForeign(vif.domid, slotRef[s], slotOffset[s], into.packet.addressOffset() + at,
                    slotSize[s]);
                at += slotSize[s];
            }
            gnttab.copy(batch);
            require(batch.allOkay(), vif, "grant copy from the frontend failed");
            into.length = size;
            into.flags = ((flags & NETTXF_CSUM_BLANK) != 0 ? NETRXF_CSUM_BLANK | NETRXF_DATA_VALIDATED : 0) |
                ((flags & NETTXF_DATA_VALIDATED) != 0 ? NETRXF_DATA_VALIDATED : 0);
            into.gsoType = gsoType;
            into.gsoSize = gsoSize;
        }
        respond(tx, slotId[0], NETIF_RSP_OKAY);
        for (int e = 0; e < extras; e++)
        {
            respond(tx, 0, NETIF_RSP_NULL);
        }
        for (int s = 1; s < slots; s++)
        {
            respond(tx, slotId[s], NETIF_RSP_OKAY);
        }
        return multicast;
    }

    private void respond(final BackRing tx, final int id, final int status)
    {
        txResponse.wrap(tx.buffer(), tx.claimResponse()).id(id).status(status);
        tx.commitResponse();
    }

    private static void require(final boolean condition, final Vif vif, final String what)
    {
        if (!condition)
        {
            vif.failure = what;
            throw new IllegalStateException("frontend of vif " + vif.domid + "/" + vif.devid + ": " + what);
        }
    }

    private boolean deliver(final Vif peer, final Queue target)
    {
        final boolean gso = target.gsoType != XEN_NETIF_GSO_TYPE_NONE;
        final int head = splitHeader && gso && target.length > HEADERS ? HEADERS : 0;
        final int dataSlots = (head > 0 ? 1 : 0) + (target.length - head + PAGE_SIZE - 1) / PAGE_SIZE;
        final int needed = dataSlots + (gso ? 1 : 0);
        final BackRing rx = target.rx;
        if (rx.unconsumedRequests() < needed)
        {
            rx.finalCheckForRequests();
            if (rx.unconsumedRequests() < needed)
            {
                if (!target.held)
                {
                    rxWaits++;
                }
                target.held = true;
                return false;
            }
        }
        batch.clear();
        int done = 0;
        for (int s = 0; s < dataSlots; s++)
        {
            final int chunk = s == 0 && head > 0 ? head : Math.min(PAGE_SIZE, target.length - done);
            rx.copyRequest(copy, 0);
            rxRequest.wrap(copy, 0);
            batch.addToForeign(peer.domid, rxRequest.gref(), 0, target.packet.addressOffset() + done, chunk);
            done += chunk;
            final int slotFlags = (done < target.length ? NETRXF_MORE_DATA : 0) |
                (s == 0 ? target.flags | (gso ? NETRXF_EXTRA_INFO : 0) : 0);
            final int at = rx.claimResponse();
            rxResponse.wrap(rx.buffer(), at).id(rxRequest.id()).pageOffset(0).flags(slotFlags).status(chunk);
            if (s == 0 && null != tamper)
            {
                tamper.accept(rxResponse);
                tamper = null;
            }
            rx.commitResponse();
            if (s == 0 && gso)
            {
                rx.copyRequest(copy, 0);
                extra.wrap(rx.buffer(), rx.claimResponse()).type(XEN_NETIF_EXTRA_TYPE_GSO).flags(0)
                    .gsoSize(target.gsoSize).gsoType(target.gsoType).gsoFeatures(0);
                rx.commitResponse();
            }
        }
        gnttab.copy(batch);
        require(batch.allOkay(), peer, "grant copy into the frontend failed");
        if (rx.pushResponsesAndCheckNotify())
        {
            evtchn.notify(target.rxPort);
        }
        target.held = false;
        lastRxSlots = needed;
        rxPackets++;
        return true;
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
        for (final Vif vif : vifs)
        {
            if (vif.phase == XenbusState.CONNECTED)
            {
                disconnect(vif);
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
