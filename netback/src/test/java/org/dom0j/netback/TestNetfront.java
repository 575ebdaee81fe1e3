package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.protocol.netif.NetifDescriptor;
import org.dom0j.protocol.netif.NetifExtraInfoFlyweight;
import org.dom0j.protocol.netif.NetifRxRequestFlyweight;
import org.dom0j.protocol.netif.NetifRxResponseFlyweight;
import org.dom0j.protocol.netif.NetifTxRequestFlyweight;
import org.dom0j.protocol.netif.NetifTxResponseFlyweight;
import org.dom0j.ring.FrontRing;
import org.dom0j.ring.RingLayout;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * A network frontend written request by request, for tests that must put exactly what they want on the rings,
 * hostile requests included: the guest's vif is attached as libxl attaches one, the frontend writes its keys and
 * goes Connected, and the test posts receive buffers, builds transmit requests slot by slot, and collects what comes
 * back. Not thread safe; driven by the test's thread between passes of the backend.
 */
final class TestNetfront implements AutoCloseable
{
    /** A TX response. */
    record TxResponse(int id, int status)
    {
    }

    /** A packet assembled from RX responses. */
    record RxPacket(byte[] data, int flags, int gsoType, int gsoSize, int hashType, int hash, int slots, int status)
    {
    }

    final SimDomain guest;
    final int domid;
    final String backendPath;
    final String frontendPath;
    final long mac;
    final XenStore xs;
    final EventChannels evtchn;
    final FrontRing tx;
    final FrontRing rx;
    final int txPort;
    final int rxPort;
    final List<TxResponse> txResponses = new ArrayList<>();
    final List<RxPacket> rxPackets = new ArrayList<>();
    private final UnsafeBuffer slot = new UnsafeBuffer(new byte[16]);
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[16]);
    private final NetifTxRequestFlyweight txReq = new NetifTxRequestFlyweight();
    private final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight();
    private final NetifRxRequestFlyweight rxReq = new NetifRxRequestFlyweight();
    private final Map<Integer, int[]> rxPosted = new HashMap<>();
    private final Map<Integer, Integer> txGrants = new HashMap<>();
    private ByteArrayOutputStream partial;
    private int partialFlags;
    private int partialSlots;
    private int partialStatus;
    private int gsoType;
    private int gsoSize;
    private int hashType = -1;
    private int hash;
    private boolean expectExtra;
    private boolean lastDataMore;
    private int nextTxId;

    /**
     * Attaches a vif to a new guest and connects its frontend.
     *
     * @param machine   the simulated machine.
     * @param domid     the guest.
     * @param mac       its address.
     * @param split     use split event channels.
     * @param frontKeys extra frontend keys (feature-gso-tcpv4 etc.), written with the rings.
     */
    TestNetfront(final SimMachine machine, final int domid, final long mac, final boolean split,
        final Map<String, String> frontKeys)
    {
        this(machine, domid, mac, split, frontKeys, Map.of());
    }

    /**
     * @param backendKeys more keys of the backend directory, as the toolstack writes them (e.g. rate).
     */
    TestNetfront(final SimMachine machine, final int domid, final long mac, final boolean split,
        final Map<String, String> frontKeys, final Map<String, String> backendKeys)
    {
        this.domid = domid;
        this.mac = mac;
        this.guest = machine.createGuest(domid, "net" + domid, 4096);
        final String macText = Vif.formatMac(mac);
        final Map<String, String> backend = new LinkedHashMap<>(
            Map.of("mac", macText, "handle", "0", "type", "vif", "script", "/bin/true", "bridge", "xenbr0"));
        backend.putAll(backendKeys);
        XenbusDevices.attach(machine.xenStore(), 0, "vif", domid, "0", backend, Map.of("mac", macText, "handle", "0"));
        backendPath = XenbusDevices.backendPath(0, "vif", domid, "0");
        frontendPath = XenbusDevices.frontendPath(domid, "vif", "0");
        xs = machine.connectAsGuest(domid);
        evtchn = guest.openEventChannels();
        final int txFrame = guest.allocatePage();
        final int rxFrame = guest.allocatePage();
        tx = new FrontRing(RingLayout.of(NetifDescriptor.TX_REQUEST_LENGTH, NetifDescriptor.TX_RESPONSE_LENGTH, 1),
            guest.pages(txFrame, 1)).init(0);
        rx = new FrontRing(RingLayout.of(NetifDescriptor.RX_REQUEST_LENGTH, NetifDescriptor.RX_RESPONSE_LENGTH, 1),
            guest.pages(rxFrame, 1)).init(0);
        final int txRef = guest.grantAccess(0, txFrame, false);
        final int rxRef = guest.grantAccess(0, rxFrame, false);
        txPort = evtchn.bindUnboundPort(0);
        rxPort = split ? evtchn.bindUnboundPort(0) : txPort;
        final Map<String, String> keys = new LinkedHashMap<>();
        keys.put("tx-ring-ref", Integer.toString(txRef));
        keys.put("rx-ring-ref", Integer.toString(rxRef));
        if (split)
        {
            keys.put("event-channel-tx", Integer.toString(txPort));
            keys.put("event-channel-rx", Integer.toString(rxPort));
        }
        else
        {
            keys.put("event-channel", Integer.toString(txPort));
        }
        keys.put("request-rx-copy", "1");
        keys.put("feature-rx-notify", "1");
        keys.put("feature-sg", "1");
        keys.putAll(frontKeys);
        xs.transaction(t ->
        {
            keys.forEach((k, v) -> t.write(frontendPath + "/" + k, v));
            return null;
        });
    }

    /**
     * Goes Connected (as Linux's netfront does once the backend is in InitWait).
     */
    void connect()
    {
        xs.write(frontendPath + "/state", "4");
    }

    /**
     * Posts {@code count} page-sized receive buffers, id = ring index (as Linux's netfront).
     *
     * @param count how many.
     */
    void postRx(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            final int index = rx.reqProdPvt();
            final int id = index & (rx.size() - 1);
            final int frame = guest.allocatePage();
            final int ref = guest.grantAccess(0, frame, false);
            rxPosted.put(id, new int[]{ frame, ref });
            slot.setMemory(0, 16, (byte)0);
            rxReq.wrap(slot, 0).id(id).gref(ref);
            rx.putRequest(slot, 0, NetifDescriptor.RX_REQUEST_LENGTH);
        }
        if (rx.pushRequestsAndCheckNotify())
        {
            evtchn.notify(rxPort);
        }
    }

    /**
     * @param data bytes to put in a new page, at {@code offset}.
     * @param offset where in the page.
     * @return a read-only grant of the page to dom0.
     */
    int grantTxPage(final byte[] data, final int offset)
    {
        final int frame = guest.allocatePage();
        guest.page(frame).putBytes(offset, data);
        return guest.grantAccess(0, frame, true);
    }

    /**
     * Puts one raw TX request (not pushed).
     */
    void txRequest(final int gref, final int offset, final int flags, final int id, final int size)
    {
        slot.setMemory(0, 16, (byte)0);
        txReq.wrap(slot, 0).gref(gref).pageOffset(offset).flags(flags).id(id).size(size);
        tx.putRequest(slot, 0, NetifDescriptor.TX_REQUEST_LENGTH);
    }

    /**
     * Puts one raw extra info slot (not pushed).
     */
    NetifExtraInfoFlyweight txExtra(final int type, final int flags)
    {
        slot.setMemory(0, 16, (byte)0);
        extra.wrap(slot, 0).type(type).flags(flags);
        return extra;
    }

    /**
     * Puts the extra info last built with {@link #txExtra} (not pushed).
     */
    void putExtra()
    {
        tx.putRequest(slot, 0, NetifDescriptor.TX_REQUEST_LENGTH);
    }

    /**
     * Pushes TX requests and notifies.
     */
    void pushTx()
    {
        if (tx.pushRequestsAndCheckNotify())
        {
            evtchn.notify(txPort);
        }
    }

    /**
     * Sends a frame the way netfront does: page-sized slots, the first slot's size the whole length, an optional
     * GSO extra right after the first slot.
     *
     * @param frame    the frame.
     * @param flags    NETTXF_csum_blank / data_validated for the first slot.
     * @param gso      XEN_NETIF_GSO_TYPE_*, 0 for none.
     * @param mss      the GSO size.
     * @return the first request's id.
     */
    int send(final byte[] frame, final int flags, final int gso, final int mss)
    {
        final int slots = Math.max(1, (frame.length + PAGE_SIZE - 1) / PAGE_SIZE);
        final int firstId = nextTxId;
        for (int s = 0; s < slots; s++)
        {
            final int from = s * PAGE_SIZE;
            final int n = Math.min(PAGE_SIZE, frame.length - from);
            final byte[] part = java.util.Arrays.copyOfRange(frame, from, from + n);
            final int ref = grantTxPage(part, 0);
            final int id = nextTxId++ & 0xFF;
            txGrants.put(id, ref);
            int f = s + 1 < slots ? NETTXF_MORE_DATA : 0;
            if (s == 0)
            {
                f |= flags | (gso != 0 ? NETTXF_EXTRA_INFO : 0);
            }
            txRequest(ref, 0, f, id, s == 0 ? frame.length : n);
            if (s == 0 && gso != 0)
            {
                txExtra(XEN_NETIF_EXTRA_TYPE_GSO, 0).gsoType(gso).gsoSize(mss);
                putExtra();
            }
        }
        pushTx();
        return firstId;
    }

    /**
     * Takes every response on both rings.
     */
    void collect()
    {
        final NetifTxResponseFlyweight txRsp = new NetifTxResponseFlyweight();
        tx.consumeResponses((buffer, offset, index) ->
        {
            txRsp.wrap(buffer, offset);
            txResponses.add(new TxResponse(txRsp.id(), txRsp.status()));
        }, copy, 0, 1024);
        final NetifRxResponseFlyweight rxRsp = new NetifRxResponseFlyweight();
        rx.consumeResponses((buffer, offset, index) -> onRx(buffer, offset, index, rxRsp), copy, 0, 1024);
        int port;
        while ((port = evtchn.pending()) >= 0)
        {
            evtchn.unmask(port);
        }
    }

    private void onRx(final org.agrona.MutableDirectBuffer buffer, final int offset, final int index,
        final NetifRxResponseFlyweight rxRsp)
    {
        final int id = index & (rx.size() - 1);
        if (expectExtra)
        {
            extra.wrap(buffer, offset);
            if (extra.type() == XEN_NETIF_EXTRA_TYPE_GSO)
            {
                gsoType = extra.gsoType();
                gsoSize = extra.gsoSize();
            }
            else if (extra.type() == XEN_NETIF_EXTRA_TYPE_HASH)
            {
                hashType = extra.hashType();
                hash = extra.hashValue();
            }
            expectExtra = (extra.flags() & XEN_NETIF_EXTRA_FLAG_MORE) != 0;
            partialSlots++;
            completeIfDone();
            return;
        }
        rxRsp.wrap(buffer, offset);
        final int[] posted = rxPosted.remove(id);
        if (partial == null)
        {
            partial = new ByteArrayOutputStream();
            partialFlags = rxRsp.flags();
            partialSlots = 0;
            partialStatus = 0;
            gsoType = 0;
            gsoSize = 0;
            hashType = -1;
            expectExtra = (rxRsp.flags() & NETRXF_EXTRA_INFO) != 0;
        }
        partialSlots++;
        if (rxRsp.status() < 0)
        {
            partialStatus = rxRsp.status();
        }
        else if (posted != null)
        {
            final byte[] data = new byte[rxRsp.status()];
            guest.page(posted[0]).getBytes(rxRsp.pageOffset(), data);
            partial.write(data, 0, data.length);
        }
        lastDataMore = (rxRsp.flags() & NETRXF_MORE_DATA) != 0;
        completeIfDone();
    }

    private void completeIfDone()
    {
        if (!lastDataMore && !expectExtra)
        {
            rxPackets.add(new RxPacket(partial.toByteArray(), partialFlags, gsoType, gsoSize, hashType, hash,
                partialSlots, partialStatus));
            partial = null;
        }
    }

    /**
     * @return the backend's state.
     */
    String backendState()
    {
        return xs.readOrNull(backendPath + "/state");
    }

    @Override
    public void close()
    {
        xs.close();
        evtchn.close();
    }
}
