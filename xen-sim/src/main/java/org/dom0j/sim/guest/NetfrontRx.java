package org.dom0j.sim.guest;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.protocol.netif.NetifExtraInfoFlyweight;
import org.dom0j.protocol.netif.NetifRxRequestFlyweight;
import org.dom0j.protocol.netif.NetifRxResponseFlyweight;
import org.dom0j.ring.FrontRing;
import org.dom0j.ring.RingEntryHandler;
import org.dom0j.ring.RingLayout;
import org.dom0j.sim.SimDomain;

import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_DROPPED;
import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_ERROR;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_EXTRA_INFO;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_MORE_DATA;
import static org.dom0j.protocol.netif.NetifConstants.PAGE_SIZE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_FLAG_MORE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_GSO;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_HASH;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_MAX;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_XDP;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV6;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_NR_SLOTS_MIN;
import static org.dom0j.protocol.netif.NetifDescriptor.RX_REQUEST_LENGTH;
import static org.dom0j.protocol.netif.NetifDescriptor.RX_RESPONSE_LENGTH;

/**
 * The receive side of one {@link SimNetfront} queue, as Linux's xen-netfront keeps it: the RX ring always full of
 * posted page-sized buffers (request id = ring index mod 256, a fresh grant of the slot's own page each time), and
 * responses taken as packets: the first response, its extra infos (each in its own slot, chained by
 * XEN_NETIF_EXTRA_FLAG_MORE), then further responses while NETRXF_more_data.
 * <p>
 * Each response is copied out of the ring once (by {@link FrontRing}); the slot's grant is ended before its data is
 * read, so the backend can no longer change what is checked. What Linux's netfront refuses stops the queue, with
 * the reason: an impossible rsp_prod, a response in a slot that was not posted or naming another slot's id, a
 * negative status other than NETIF_RSP_ERROR and NETIF_RSP_DROPPED (those drop the packet and count as errors),
 * offset + size beyond the page, more slots than XEN_NETIF_NR_SLOTS_MIN (one more when the first slot holds at most
 * 256 bytes), an extra info of unknown type, a GSO extra with size 0 or a type other than TCPv4/TCPv6, a grant the
 * backend still holds, and a packet whose slots are not all published at rsp_prod (Linux: "Missing extra info",
 * "Need more slots").
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class NetfrontRx implements RingEntryHandler
{
    /** Linux's RX_COPY_THRESHOLD: a first slot this small allows one more slot. */
    static final int RX_COPY_THRESHOLD = 256;
    private static final int MAX_SLOTS = XEN_NETIF_NR_SLOTS_MIN + 1;
    private static final int MAX_PASSES = 8;
    private static final int EXPECT_FIRST = 0;
    private static final int EXPECT_EXTRA = 1;
    private static final int EXPECT_DATA = 2;

    private final int queue;
    private final EventChannels evtchn;
    private final int port;
    private final GrantedRingPage ringPage;
    private final UnsafeBuffer ringBuffer;
    private final FrontRing ring;
    private final int mask;
    private final GrantedPagePool pool;
    private final UnsafeBuffer buffers;
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[RX_RESPONSE_LENGTH]);
    private final NetifRxResponseFlyweight response = new NetifRxResponseFlyweight();
    private final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight();
    private final NetifRxRequestFlyweight request = new NetifRxRequestFlyweight();
    private final UnsafeBuffer frame = new UnsafeBuffer(new byte[MAX_SLOTS * PAGE_SIZE]);

    private SimNetfront.FrameHandler handler;
    private int state = EXPECT_FIRST;
    private int firstId;
    private int firstOffset;
    private int firstStatus;
    private int flags;
    private int slots;
    private int maxSlots;
    private int length;
    private boolean dropped;
    private boolean hasGso;
    private int gsoType;
    private int gsoSize;
    private int xdpHeadroom;
    private int hashValue;
    private String violation;
    private long frames;
    private long bytes;
    private long errors;

    NetfrontRx(
        final SimDomain guest, final int backendDomid, final int queue, final EventChannels evtchn, final int port)
    {
        this.queue = queue;
        this.evtchn = evtchn;
        this.port = port;
        ringPage = new GrantedRingPage(guest, backendDomid);
        ringBuffer = ringPage.buffer();
        ring = new FrontRing(RingLayout.of(RX_REQUEST_LENGTH, RX_RESPONSE_LENGTH, 1), ringBuffer).init(0);
        mask = ring.size() - 1;
        pool = new GrantedPagePool(guest, backendDomid, ring.size(), false);
        buffers = pool.pages();
    }

    int ringRef()
    {
        return ringPage.ref();
    }

    int port()
    {
        return port;
    }

    int ringSize()
    {
        return ring.size();
    }

    String violation()
    {
        return violation;
    }

    long frames()
    {
        return frames;
    }

    long bytes()
    {
        return bytes;
    }

    long errors()
    {
        return errors;
    }

    /**
     * @return RX buffers posted to the backend and not yet answered.
     */
    int posted()
    {
        return ring.reqProdPvt() - ring.rspCons();
    }

    /**
     * @return the last HASH extra's value (0 before any).
     */
    int lastHash()
    {
        return hashValue;
    }

    void stop(final String reason)
    {
        if (null == violation)
        {
            violation = "queue " + queue + " rx: " + reason;
        }
    }

    /**
     * Fills the ring with buffers (xennet_alloc_rx_buffers) and notifies the backend if the push says so.
     */
    void refill()
    {
        if (null != violation)
        {
            return;
        }
        int posted = 0;
        while (ring.freeRequests() > 0)
        {
            final int id = ring.reqProdPvt() & mask;
            if (pool.isGranted(id))
            {
                break;
            }
            final int ref = pool.grant(id);
            request.wrap(ringBuffer, ring.claimRequest()).id(id).gref(ref);
            ring.commitRequest();
            posted++;
        }
        if (posted > 0 && ring.pushRequestsAndCheckNotify())
        {
            evtchn.notify(port);
        }
    }

    /**
     * Takes every complete packet waiting (xennet_poll), hands each to {@code frameHandler}, then refills.
     *
     * @param frameHandler receives each frame.
     * @return packets taken (delivered or dropped).
     */
    int poll(final SimNetfront.FrameHandler frameHandler)
    {
        if (null != violation)
        {
            return 0;
        }
        handler = frameHandler;
        final long before = frames + errors;
        for (int pass = 0; pass < MAX_PASSES; pass++)
        {
            final int waiting = ring.unconsumedResponses();
            // rsp_prod is read once here; taking exactly that many keeps a packet's slots inside one push.
            final int limit = waiting < 0 || waiting > ring.size() ? ring.size() : waiting;
            if (limit > 0)
            {
                if (ring.consumeResponses(this, copy, 0, limit) < 0)
                {
                    stop(ring.violation());
                }
                if (null != violation)
                {
                    break;
                }
                if (state != EXPECT_FIRST)
                {
                    stop("packet incomplete at rsp_prod " + Integer.toUnsignedString(ring.rspCons()) +
                        (state == EXPECT_EXTRA ? " (missing extra info)" : " (need more slots)"));
                    break;
                }
            }
            if (!ring.finalCheckForResponses())
            {
                break;
            }
        }
        refill();
        return (int)(frames + errors - before);
    }

    @Override
    public void onEntry(final MutableDirectBuffer buffer, final int offset, final int index)
    {
        if (null != violation)
        {
            return;
        }
        final int id = index & mask;
        if (!pool.isGranted(id))
        {
            stop("response at ring index " + Integer.toUnsignedString(index) + " for slot " + id +
                " that was not posted");
            return;
        }
        final String busy = pool.end(id);
        if (null != busy)
        {
            stop(busy);
            return;
        }
        if (state == EXPECT_EXTRA)
        {
            // An extra info overlays the response, id included: only its slot identifies it (netif.h).
            takeExtra(buffer, offset);
            return;
        }
        response.wrap(buffer, offset);
        if (response.id() != id)
        {
            stop("response id " + response.id() + " in the slot of request " + id);
            return;
        }
        if (state == EXPECT_FIRST)
        {
            firstId = id;
            firstOffset = response.pageOffset();
            firstStatus = response.status();
            flags = response.flags();
            slots = 1;
            length = 0;
            dropped = false;
            hasGso = false;
            xdpHeadroom = -1;
            maxSlots = XEN_NETIF_NR_SLOTS_MIN + (firstStatus <= RX_COPY_THRESHOLD ? 1 : 0);
            if ((flags & NETRXF_EXTRA_INFO) != 0)
            {
                state = EXPECT_EXTRA;
                return;
            }
            takeData(firstId, firstOffset, firstStatus, flags);
            return;
        }
        if (++slots > maxSlots)
        {
            stop("packet takes more than " + maxSlots + " slots");
            return;
        }
        takeData(id, response.pageOffset(), response.status(), response.flags());
    }

    private void takeExtra(final MutableDirectBuffer buffer, final int offset)
    {
        extra.wrap(buffer, offset);
        final int type = extra.type();
        if (type == XEN_NETIF_EXTRA_TYPE_NONE || type >= XEN_NETIF_EXTRA_TYPE_MAX)
        {
            stop("extra info of unknown type " + type);
            return;
        }
        if (type == XEN_NETIF_EXTRA_TYPE_GSO)
        {
            hasGso = true;
            gsoSize = extra.gsoSize();
            gsoType = extra.gsoType();
        }
        else if (type == XEN_NETIF_EXTRA_TYPE_HASH)
        {
            hashValue = extra.hashValue();
        }
        else if (type == XEN_NETIF_EXTRA_TYPE_XDP)
        {
            // Linux: the XDP extra moves the first slot's data to its headroom.
            xdpHeadroom = extra.xdpHeadroom();
        }
        if ((extra.flags() & XEN_NETIF_EXTRA_FLAG_MORE) == 0)
        {
            takeData(firstId, xdpHeadroom >= 0 ? xdpHeadroom : firstOffset, firstStatus, flags);
        }
    }

    private void takeData(final int id, final int pageOffset, final int status, final int slotFlags)
    {
        if (status < 0)
        {
            if (status != NETIF_RSP_ERROR && status != NETIF_RSP_DROPPED)
            {
                stop("status " + status + " in slot " + id);
                return;
            }
            dropped = true;
        }
        else if (pageOffset + status > PAGE_SIZE)
        {
            stop("offset " + pageOffset + " + size " + status + " > " + PAGE_SIZE + " in slot " + id);
            return;
        }
        else if (!dropped)
        {
            frame.putBytes(length, buffers, id * PAGE_SIZE + pageOffset, status);
            length += status;
        }
        if ((slotFlags & NETRXF_MORE_DATA) != 0)
        {
            state = EXPECT_DATA;
            return;
        }
        state = EXPECT_FIRST;
        finishPacket();
    }

    private void finishPacket()
    {
        if (hasGso && (gsoSize == 0 || (gsoType != XEN_NETIF_GSO_TYPE_TCPV4 && gsoType != XEN_NETIF_GSO_TYPE_TCPV6)))
        {
            stop("GSO extra with size " + gsoSize + " and type " + gsoType);
            return;
        }
        if (dropped)
        {
            errors++;
            return;
        }
        frames++;
        bytes += length;
        handler.onFrame(queue, frame, length, flags & (NETRXF_CSUM_BLANK | NETRXF_DATA_VALIDATED),
            hasGso ? gsoType : XEN_NETIF_GSO_TYPE_NONE, hasGso ? gsoSize : 0);
    }

    /**
     * Ends every grant the backend no longer holds and frees those pages (xennet_release_rx_bufs and the ring).
     *
     * @return grants that could not be ended (the backend still maps them; their pages stay allocated).
     */
    int release()
    {
        return pool.release() + ringPage.release();
    }
}
