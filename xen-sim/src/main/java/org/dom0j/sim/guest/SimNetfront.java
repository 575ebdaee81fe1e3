package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.dom0j.backend.XenbusState;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.sim.SimDomain;
import org.dom0j.xenstore.XenStore;

import java.util.concurrent.TimeoutException;

import static org.dom0j.protocol.netif.NetifConstants.PAGE_SIZE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV6;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_MAX_TX_SIZE;

/**
 * A network frontend for simulated guests, negotiating and driving its rings the way Linux's xen-netfront does.
 * <p>
 * <b>Negotiation</b> (talk_to_netback): once the backend is InitWait, reads its features (it refuses a backend
 * without feature-rx-copy, as Linux does) and the MAC and MTU from the frontend directory, sets up per queue a TX
 * and an RX ring (one granted page each) and one event channel, or two with split channels, then writes in one
 * transaction: multi-queue-num-queues (whenever the backend wrote multi-queue-max-queues, so also for one queue,
 * as Linux does), the ring refs and channels at top level for one queue or under {@code queue-N/} for several,
 * request-rx-copy, feature-rx-notify, feature-sg, feature-gso-tcpv4, feature-gso-tcpv6,
 * feature-ipv6-csum-offload, feature-no-csum-offload when checksum offload is off, the control ring when asked and
 * offered, request-multicast-control when asked and offered, and xdp-headroom 0 when the backend offers XDP headroom.
 * It then posts its RX buffers, goes straight to Connected and waits for the backend's Connected.
 * <p>
 * <b>Data</b>: see {@link NetfrontTx} and {@link NetfrontRx}. What it may send follows Linux's
 * xennet_fix_features: scatter-gather and GSO only when both ends have them. A backend that breaks the protocol
 * stops the queue it broke (the reason is in {@link #violation}); the other queues go on.
 * <p>
 * <b>Events</b>: one {@link EventChannels} handle; TX pushes notify the TX channel, RX refills the RX channel (the
 * same one without split channels), each only when the ring's push asks for it.
 * <p>
 * <b>Where it departs from Linux's netfront</b>: it waits for the backend's Connected before {@link #connect}
 * returns (Linux does not wait; Linux's netback with a hotplug script that never writes hotplug-status stays in
 * InitWait, so against that this connect times out); the options can turn off what Linux always writes 1
 * (feature-sg, GSO, IPv6 checksum offload) and add what Linux never writes (feature-no-csum-offload, a control
 * ring, request-multicast-control); xdp-headroom is written inside the transaction (Linux writes it before); it
 * reads the frontend's {@code mtu}; RX packets Linux only drops and counts (bad status, offset + size beyond the
 * page, too many slots, bad extras, a packet cut at rsp_prod) stop the queue instead, except NETIF_RSP_ERROR and
 * NETIF_RSP_DROPPED, which drop the packet and count as errors; an RX data response must carry its slot's id
 * (Linux ignores the id); TX requests take ids from a free list and pages from a pool made at connect (Linux
 * grants the skb's own pages).
 * <p>
 * The parts: {@link NetfrontXenbus} (the xenstore side of connect and close), {@link NetfrontQueues} (a
 * {@link NetfrontTx} and a {@link NetfrontRx} per queue), {@link NetfrontCtrl}, and the granted pages they lend the
 * backend ({@link GrantedRingPage}, {@link GrantedPagePool}).
 * <p>
 * Not thread safe: one guest thread drives it.
 */
public final class SimNetfront implements AutoCloseable
{
    static final int MAX_QUEUES = 64;
    private static final int ETH_HLEN = 14;

    /**
     * What the frontend asks for and offers; it gets at most what the backend offers.
     *
     * @param queues             queues wanted (multi-queue-num-queues), 1 to 64.
     * @param splitEventChannels use event-channel-tx and event-channel-rx when the backend offers them.
     * @param sg                 feature-sg: scatter-gather both ways.
     * @param gsoTcpv4           feature-gso-tcpv4.
     * @param gsoTcpv6           feature-gso-tcpv6.
     * @param ipv6CsumOffload    feature-ipv6-csum-offload.
     * @param csumOffload        IPv4 checksum offload; off writes feature-no-csum-offload = 1.
     * @param ctrlRing           set up a control ring when the backend offers feature-ctrl-ring.
     * @param multicastControl   write request-multicast-control when the backend offers it.
     * @param txFirstOffset      where in its page a packet's first slot starts (Linux: where skb->data lies),
     *                           0 to 4082.
     */
    public record Options(
        int queues,
        boolean splitEventChannels,
        boolean sg,
        boolean gsoTcpv4,
        boolean gsoTcpv6,
        boolean ipv6CsumOffload,
        boolean csumOffload,
        boolean ctrlRing,
        boolean multicastControl,
        int txFirstOffset)
    {
        /**
         * Checks the values.
         */
        public Options
        {
            if (queues < 1 || queues > MAX_QUEUES)
            {
                throw new IllegalArgumentException("queues must be 1.." + MAX_QUEUES + ": " + queues);
            }
            if (txFirstOffset < 0 || txFirstOffset > PAGE_SIZE - ETH_HLEN)
            {
                throw new IllegalArgumentException("txFirstOffset must be 0.." + (PAGE_SIZE - ETH_HLEN));
            }
        }

        /**
         * @return what a 1-vCPU Linux guest asks: one queue, split channels, scatter-gather, GSO for TCPv4 and
         *         TCPv6, checksum offload, no control ring, no multicast control.
         */
        public static Options linuxDefaults()
        {
            return new Options(1, true, true, true, true, true, true, false, false, 0);
        }

        /**
         * @param n queues wanted.
         * @return a copy.
         */
        public Options withQueues(final int n)
        {
            return new Options(n, splitEventChannels, sg, gsoTcpv4, gsoTcpv6, ipv6CsumOffload, csumOffload,
                ctrlRing, multicastControl, txFirstOffset);
        }

        /**
         * @param split use split event channels.
         * @return a copy.
         */
        public Options withSplitEventChannels(final boolean split)
        {
            return new Options(queues, split, sg, gsoTcpv4, gsoTcpv6, ipv6CsumOffload, csumOffload, ctrlRing,
                multicastControl, txFirstOffset);
        }

        /**
         * @param on scatter-gather, GSO (both) and checksum offload (IPv4 and IPv6) all on or all off.
         * @return a copy.
         */
        public Options withOffloads(final boolean on)
        {
            return new Options(queues, splitEventChannels, on, on, on, on, on, ctrlRing, multicastControl,
                txFirstOffset);
        }

        /**
         * @param ctrl    set up a control ring.
         * @param mcast   ask for multicast control.
         * @return a copy.
         */
        public Options withControl(final boolean ctrl, final boolean mcast)
        {
            return new Options(queues, splitEventChannels, sg, gsoTcpv4, gsoTcpv6, ipv6CsumOffload, csumOffload,
                ctrl, mcast, txFirstOffset);
        }

        /**
         * @param offset where a packet's first slot starts in its page.
         * @return a copy.
         */
        public Options withTxFirstOffset(final int offset)
        {
            return new Options(queues, splitEventChannels, sg, gsoTcpv4, gsoTcpv6, ipv6CsumOffload, csumOffload,
                ctrlRing, multicastControl, offset);
        }
    }

    /**
     * Receives each frame.
     */
    @FunctionalInterface
    public interface FrameHandler
    {
        /**
         * @param queue   the queue it came on.
         * @param frame   the frame at offset 0, a private copy valid only during the call.
         * @param length  its length.
         * @param rxFlags NETRXF_csum_blank and NETRXF_data_validated as the backend set them.
         * @param gsoType XEN_NETIF_GSO_TYPE_* from a GSO extra info, else NONE.
         * @param gsoSize its size, else 0.
         */
        void onFrame(int queue, DirectBuffer frame, int length, int rxFlags, int gsoType, int gsoSize);
    }

    private final String frontendPath;
    private final String backendPath;
    private final Options options;
    private final NetbackFeatures backend;
    private final long mac;
    private final int mtu;
    private final boolean split;
    private final boolean sg;
    private final boolean multicastRequested;
    private final EventChannels evtchn;
    private final NetfrontQueues queues;
    private final NetfrontCtrl ctrl;
    private final NetfrontXenbus xenbus;
    private boolean closed;
    private int leakedGrants;

    private SimNetfront(
        final SimDomain guest,
        final String frontendPath,
        final String backendPath,
        final int backendDomid,
        final Options options,
        final NetbackFeatures backend,
        final long mac,
        final int mtu,
        final NetfrontXenbus xenbus)
    {
        this.frontendPath = frontendPath;
        this.backendPath = backendPath;
        this.options = options;
        this.backend = backend;
        this.mac = mac;
        this.xenbus = xenbus;
        this.split = options.splitEventChannels() && backend.splitEventChannels();
        this.sg = options.sg() && backend.sg();
        this.mtu = sg ? mtu : Math.min(mtu, 1500);
        this.multicastRequested = options.multicastControl() && backend.multicastControl();
        final int count = Math.max(1, Math.min(options.queues(), backend.maxQueues()));
        this.evtchn = guest.openEventChannels();
        this.queues = new NetfrontQueues(guest, backendDomid, evtchn, count, split, options.txFirstOffset(), sg);
        ctrl = options.ctrlRing() && backend.ctrlRing() ?
            new NetfrontCtrl(guest, backendDomid, evtchn, evtchn.bindUnboundPort(backendDomid)) : null;
    }

    /**
     * Negotiates with the backend and connects, as netfront's probe, xennet_connect and talk_to_netback do.
     *
     * @param guest     the guest domain.
     * @param xs        the guest's own xenstore connection.
     * @param devid     the device id, e.g. "0".
     * @param options   what to ask for.
     * @param timeoutMs how long to wait for the backend at each step (also at {@link #close()}).
     * @return the connected frontend.
     * @throws TimeoutException      when the backend does not reach InitWait or Connected in time.
     * @throws InterruptedException  when interrupted.
     * @throws IllegalStateException when the backend lacks feature-rx-copy or the frontend's mac is not one.
     */
    public static SimNetfront connect(
        final SimDomain guest, final XenStore xs, final String devid, final Options options, final long timeoutMs)
        throws TimeoutException, InterruptedException
    {
        final String fe = "/local/domain/" + guest.domid() + "/device/vif/" + devid;
        final String be = xs.read(fe + "/backend");
        final int backendDomid = Integer.parseInt(xs.read(fe + "/backend-id").trim());
        final long mac = NetFrames.parseMac(xs.readOrNull(fe + "/mac"));
        if (mac < 0)
        {
            throw new IllegalStateException("parsing " + fe + "/mac: " + xs.readOrNull(fe + "/mac"));
        }
        final long mtuKey = NetbackFeatures.readNumber(xs, fe + "/mtu", 1500);
        final int mtu = (int)Math.max(68, Math.min(XEN_NETIF_MAX_TX_SIZE, mtuKey));
        final NetfrontXenbus xenbus = new NetfrontXenbus(xs, fe, be, "netfront-" + devid, timeoutMs);
        SimNetfront front = null;
        try
        {
            xenbus.awaitBackend(XenbusState.INIT_WAIT);
            final NetbackFeatures features = NetbackFeatures.read(xs, be);
            if (!features.rxCopy())
            {
                throw new IllegalStateException("backend " + be + " does not support copying receive path " +
                    "(no feature-rx-copy)");
            }
            front = new SimNetfront(guest, fe, be, backendDomid, options, features, mac, mtu, xenbus);
            xenbus.publish(options, features, front.queues, front.ctrl, front.split, front.multicastRequested);
            front.queues.refill();
            xenbus.connect();
            return front;
        }
        catch (final TimeoutException | InterruptedException | RuntimeException ex)
        {
            if (null != front)
            {
                front.closed = true;
                front.release();
            }
            else
            {
                xenbus.close();
            }
            throw ex;
        }
    }

    /**
     * @return the frontend directory.
     */
    public String frontendPath()
    {
        return frontendPath;
    }

    /**
     * @return the backend directory.
     */
    public String backendPath()
    {
        return backendPath;
    }

    /**
     * @return what the backend offered.
     */
    public NetbackFeatures backendFeatures()
    {
        return backend;
    }

    /**
     * @return what was asked for.
     */
    public Options options()
    {
        return options;
    }

    /**
     * @return the MAC from the frontend directory.
     */
    public long mac()
    {
        return mac;
    }

    /**
     * @return the MTU: the frontend directory's {@code mtu} (1500 when absent), at most 1500 without
     *         scatter-gather.
     */
    public int mtu()
    {
        return mtu;
    }

    /**
     * @return queues in use.
     */
    public int queueCount()
    {
        return queues.count();
    }

    /**
     * @return whether split event channels are in use.
     */
    public boolean isSplit()
    {
        return split;
    }

    /**
     * @return whether packets may take several slots (both ends have feature-sg).
     */
    public boolean canScatterGather()
    {
        return sg;
    }

    /**
     * @param gsoType XEN_NETIF_GSO_TYPE_TCPV4 or TCPV6.
     * @return whether the backend takes GSO packets of that type from us (needs scatter-gather, as in Linux).
     */
    public boolean canGso(final int gsoType)
    {
        return sg && switch (gsoType)
        {
            case XEN_NETIF_GSO_TYPE_TCPV4 -> options.gsoTcpv4() && backend.gsoTcpv4();
            case XEN_NETIF_GSO_TYPE_TCPV6 -> options.gsoTcpv6() && backend.gsoTcpv6();
            default -> false;
        };
    }

    /**
     * @return whether the frontend asked for multicast control (request-multicast-control).
     */
    public boolean isMulticastControlRequested()
    {
        return multicastRequested;
    }

    /**
     * @return whether a control ring is set up.
     */
    public boolean hasCtrlRing()
    {
        return null != ctrl;
    }

    /**
     * @param queue a queue.
     * @param length a frame length.
     * @param gso whether it has a GSO extra.
     * @return whether {@link #send} would take it now.
     */
    public boolean canSend(final int queue, final int length, final boolean gso)
    {
        return null == violation(queue) && queues.tx(queue).hasRoom(length, gso);
    }

    /**
     * Sends one frame (xennet_start_xmit).
     *
     * @param queue   the queue.
     * @param frame   the frame; copied into the TX pool before this returns.
     * @param offset  where it starts.
     * @param length  1 to 65535 bytes (at most a page without scatter-gather).
     * @param txFlags NETTXF_csum_blank and/or NETTXF_data_validated.
     * @param gsoType XEN_NETIF_GSO_TYPE_NONE, or TCPV4/TCPV6 when {@link #canGso} says so.
     * @param gsoSize the MSS of a GSO frame.
     * @return false when the queue has no room now or is stopped; {@link #poll} frees room.
     * @throws IllegalArgumentException for a length, queue or GSO request the negotiation does not allow.
     */
    public boolean send(
        final int queue, final DirectBuffer frame, final int offset, final int length, final int txFlags,
        final int gsoType, final int gsoSize)
    {
        if (queue < 0 || queue >= queues.count())
        {
            throw new IllegalArgumentException("no queue " + queue + " (" + queues.count() + " in use)");
        }
        if (length < 1 || length > XEN_NETIF_MAX_TX_SIZE || (!sg && length > PAGE_SIZE))
        {
            throw new IllegalArgumentException("frame length " + length + " not in 1.." +
                (sg ? XEN_NETIF_MAX_TX_SIZE : PAGE_SIZE));
        }
        if (gsoType != XEN_NETIF_GSO_TYPE_NONE && (!canGso(gsoType) || gsoSize <= 0 || gsoSize > 0xFFFF))
        {
            throw new IllegalArgumentException("GSO type " + gsoType + " size " + gsoSize + " not negotiated");
        }
        if (null != violation(queue))
        {
            return false;
        }
        return queues.tx(queue).send(frame, offset, length, txFlags, gsoType, gsoSize);
    }

    /**
     * Adds or removes a multicast address in the backend's filter: a dummy TX request carrying an MCAST_ADD or
     * MCAST_DEL extra info (netif.h).
     *
     * @param add true to add, false to remove.
     * @param address the multicast MAC.
     * @return false when queue 0 has no room or is stopped.
     * @throws IllegalStateException when the backend does not offer feature-multicast-control.
     */
    public boolean sendMulticastControl(final boolean add, final long address)
    {
        if (!backend.multicastControl())
        {
            throw new IllegalStateException("backend " + backendPath + " has no feature-multicast-control");
        }
        return null == violation(0) && queues.tx(0).sendMulticastControl(add, address);
    }

    /**
     * Sends a control ring request.
     *
     * @param type  XEN_NETIF_CTRL_TYPE_*.
     * @param data0 data[0].
     * @param data1 data[1].
     * @param data2 data[2].
     * @return its id, or -1 when the ring is full or stopped.
     * @throws IllegalStateException without a control ring.
     */
    public int ctrlRequest(final int type, final int data0, final int data1, final int data2)
    {
        return ctrl().request(type, data0, data1, data2);
    }

    /**
     * @param id a control request id.
     * @return whether its response came (then read {@link #ctrlStatus} and {@link #ctrlData}, and
     *         {@link #ctrlForget} it).
     */
    public boolean ctrlAnswered(final int id)
    {
        return ctrl().isAnswered(id);
    }

    /**
     * @param id an answered control request.
     * @return its status (XEN_NETIF_CTRL_STATUS_*).
     */
    public int ctrlStatus(final int id)
    {
        return ctrl().status(id);
    }

    /**
     * @param id an answered control request.
     * @return its response's data.
     */
    public int ctrlData(final int id)
    {
        return ctrl().data(id);
    }

    /**
     * @param id an answered control request, whose id may now be reused.
     */
    public void ctrlForget(final int id)
    {
        ctrl().forget(id);
    }

    private NetfrontCtrl ctrl()
    {
        if (null == ctrl)
        {
            throw new IllegalStateException("no control ring (not asked for, or not offered by the backend)");
        }
        return ctrl;
    }

    /**
     * One pass without blocking: TX responses collected, RX packets taken and handed to {@code handler}, RX
     * buffers refilled, control responses taken.
     *
     * @param handler receives each frame.
     * @return responses and packets taken.
     */
    public int poll(final FrameHandler handler)
    {
        int work = queues.poll(handler);
        if (null != ctrl)
        {
            work += ctrl.poll();
        }
        return work;
    }

    /**
     * Waits for an event from the backend on any of the frontend's channels (or a timeout), as the guest's
     * interrupt handler would, and unmasks what fired.
     *
     * @param timeoutNanos how long at most.
     * @return whether an event came.
     */
    public boolean awaitEvent(final long timeoutNanos)
    {
        final int port = evtchn.pending(timeoutNanos);
        if (port < 0)
        {
            return false;
        }
        evtchn.unmask(port);
        int more;
        while ((more = evtchn.pending()) >= 0)
        {
            evtchn.unmask(more);
        }
        return true;
    }

    /**
     * @return why a queue (the first found) was stopped, or null.
     */
    public String violation()
    {
        final String v = queues.firstViolation();
        if (null != v)
        {
            return v;
        }
        return null == ctrl ? null : ctrl.violation();
    }

    /**
     * @param queue a queue.
     * @return why it was stopped, or null while it runs.
     */
    public String violation(final int queue)
    {
        return queues.violation(queue);
    }

    /**
     * @return packets sent, all queues.
     */
    public long txPackets()
    {
        return queues.sumTx(NetfrontTx::packets);
    }

    /**
     * @return bytes sent, all queues.
     */
    public long txBytes()
    {
        return queues.sumTx(NetfrontTx::bytes);
    }

    /**
     * @return packets (and multicast control requests) the backend answered NETIF_RSP_OKAY.
     */
    public long txOkay()
    {
        return queues.sumTx(NetfrontTx::okay);
    }

    /**
     * @return packets the backend answered NETIF_RSP_ERROR (or an unknown status).
     */
    public long txErrors()
    {
        return queues.sumTx(NetfrontTx::errors);
    }

    /**
     * @return packets the backend answered NETIF_RSP_DROPPED.
     */
    public long txDropped()
    {
        return queues.sumTx(NetfrontTx::dropped);
    }

    /**
     * @param queue a queue.
     * @return TX request ids sent and not yet answered.
     */
    public int txOutstanding(final int queue)
    {
        return queues.tx(queue).outstanding();
    }

    /**
     * @return frames received, all queues.
     */
    public long rxPackets()
    {
        return queues.sumRx(NetfrontRx::frames);
    }

    /**
     * @return bytes received, all queues.
     */
    public long rxBytes()
    {
        return queues.sumRx(NetfrontRx::bytes);
    }

    /**
     * @return packets the backend marked NETIF_RSP_ERROR or NETIF_RSP_DROPPED (dropped here).
     */
    public long rxErrors()
    {
        return queues.sumRx(NetfrontRx::errors);
    }

    /**
     * @param queue a queue.
     * @return RX buffers posted and not yet answered.
     */
    public int rxPosted(final int queue)
    {
        return queues.rx(queue).posted();
    }

    /**
     * @param queue a queue.
     * @return the value of the last HASH extra info received on it (0 before any).
     */
    public int rxLastHash(final int queue)
    {
        return queues.rx(queue).lastHash();
    }

    /**
     * @return grants that could not be ended at close because the backend still held them.
     */
    public int leakedGrants()
    {
        return leakedGrants;
    }

    /**
     * Disconnects as netfront does on removal (xennet_bus_close, xennet_disconnect_backend): Closing, wait for the
     * backend to close, Closed, wait for the backend's Closed, then unbind the event channels, end every grant the
     * backend no longer holds and free those pages. A backend that does not answer in the connect timeout is not
     * waited for further; grants it still holds are counted in {@link #leakedGrants()}. Idempotent.
     */
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
            xenbus.disconnect();
        }
        finally
        {
            release();
        }
    }

    private void release()
    {
        xenbus.close();
        try
        {
            queues.unbind();
            if (null != ctrl)
            {
                evtchn.unbind(ctrl.port());
            }
        }
        finally
        {
            evtchn.close();
        }
        int leaked = queues.release();
        if (null != ctrl)
        {
            leaked += ctrl.release();
        }
        leakedGrants = leaked;
    }
}
