package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.protocol.netif.NetifExtraInfoFlyweight;
import org.dom0j.protocol.netif.NetifTxRequestFlyweight;
import org.dom0j.protocol.netif.NetifTxResponseFlyweight;
import org.dom0j.ring.FrontRing;
import org.dom0j.ring.RingEntryHandler;
import org.dom0j.ring.RingLayout;
import org.dom0j.sim.SimDomain;

import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_DROPPED;
import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_NULL;
import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_OKAY;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_EXTRA_INFO;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_MORE_DATA;
import static org.dom0j.protocol.netif.NetifConstants.PAGE_SIZE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_GSO;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_NR_SLOTS_MIN;
import static org.dom0j.protocol.netif.NetifDescriptor.TX_REQUEST_LENGTH;
import static org.dom0j.protocol.netif.NetifDescriptor.TX_RESPONSE_LENGTH;

/**
 * The transmit side of one {@link SimNetfront} queue, building requests as Linux's xennet_start_xmit does: the
 * first request carries the whole packet's size and the checksum flags, a GSO extra info follows it in the next
 * slot (NETTXF_extra_info on the first request), and the data is split at page boundaries into further requests
 * chained with NETTXF_more_data. Each data slot has a request id from a free list and its own page of a pool made
 * at connect (one page per id, 256), granted read-only for the one use and ended when the response comes.
 * <p>
 * Responses: NETIF_RSP_NULL (an extra info's slot) is skipped; a response with an id out of range or not
 * outstanding, or a grant the backend still holds, stops the queue (Linux: "Disabled for further use"). Error and
 * drop statuses of a packet's first slot are counted.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class NetfrontTx implements RingEntryHandler
{
    private final int queue;
    private final EventChannels evtchn;
    private final int port;
    private final int firstOffset;
    private final boolean sg;
    private final GrantedRingPage ringPage;
    private final UnsafeBuffer ringBuffer;
    private final FrontRing ring;
    private final GrantedPagePool pool;
    private final UnsafeBuffer pages;
    private final boolean[] pending;
    private final boolean[] head;
    private final int[] free;
    private int freeCount;
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[TX_RESPONSE_LENGTH]);
    private final NetifTxRequestFlyweight request = new NetifTxRequestFlyweight();
    private final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight();
    private final NetifTxResponseFlyweight response = new NetifTxResponseFlyweight();
    private String violation;
    private long packets;
    private long bytes;
    private long okay;
    private long errors;
    private long dropped;

    NetfrontTx(
        final SimDomain guest,
        final int backendDomid,
        final int queue,
        final EventChannels evtchn,
        final int port,
        final int firstOffset,
        final boolean sg)
    {
        this.queue = queue;
        this.evtchn = evtchn;
        this.port = port;
        this.firstOffset = firstOffset;
        this.sg = sg;
        ringPage = new GrantedRingPage(guest, backendDomid);
        ringBuffer = ringPage.buffer();
        ring = new FrontRing(RingLayout.of(TX_REQUEST_LENGTH, TX_RESPONSE_LENGTH, 1), ringBuffer).init(0);
        final int size = ring.size();
        pool = new GrantedPagePool(guest, backendDomid, size, true);
        pages = pool.pages();
        pending = new boolean[size];
        head = new boolean[size];
        free = new int[size];
        for (int i = 0; i < size; i++)
        {
            free[freeCount++] = size - 1 - i;
        }
    }

    int ringRef()
    {
        return ringPage.ref();
    }

    int port()
    {
        return port;
    }

    String violation()
    {
        return violation;
    }

    long packets()
    {
        return packets;
    }

    long bytes()
    {
        return bytes;
    }

    long okay()
    {
        return okay;
    }

    long errors()
    {
        return errors;
    }

    long dropped()
    {
        return dropped;
    }

    /**
     * @return request ids taken and not yet answered.
     */
    int outstanding()
    {
        return free.length - freeCount;
    }

    void stop(final String reason)
    {
        if (null == violation)
        {
            violation = "queue " + queue + " tx: " + reason;
        }
    }

    private static int slotCount(final int start, final int length)
    {
        return (start + length + PAGE_SIZE - 1) / PAGE_SIZE;
    }

    private int startOffset(final int length)
    {
        if (!sg)
        {
            // Without scatter-gather a packet must fit one slot (the caller keeps it to a page).
            return Math.max(0, Math.min(firstOffset, PAGE_SIZE - length));
        }
        // Linux linearises (and so starts at a page) a packet that would take more slots than a backend must take.
        return slotCount(firstOffset, length) > XEN_NETIF_NR_SLOTS_MIN ? 0 : firstOffset;
    }

    /**
     * @param length a packet length.
     * @param gso    whether it has a GSO extra.
     * @return whether {@link #send} would take it now.
     */
    boolean hasRoom(final int length, final boolean gso)
    {
        final int slots = slotCount(startOffset(length), length);
        return null == violation && freeCount >= slots && ring.freeRequests() >= slots + (gso ? 1 : 0);
    }

    boolean send(
        final DirectBuffer frame, final int offset, final int length, final int txFlags, final int gsoType,
        final int gsoSize)
    {
        final boolean gso = gsoType != XEN_NETIF_GSO_TYPE_NONE;
        if (!hasRoom(length, gso))
        {
            return false;
        }
        final int start = startOffset(length);
        final int slots = slotCount(start, length);
        int id = takeId();
        head[id] = true;
        int chunk = Math.min(length, PAGE_SIZE - start);
        pages.putBytes(id * PAGE_SIZE + start, frame, offset, chunk);
        request.wrap(ringBuffer, ring.claimRequest())
            .gref(pool.grant(id))
            .pageOffset(start)
            .flags((txFlags & (NETTXF_CSUM_BLANK | NETTXF_DATA_VALIDATED)) | (gso ? NETTXF_EXTRA_INFO : 0) |
                (slots > 1 ? NETTXF_MORE_DATA : 0))
            .id(id)
            .size(length);
        ring.commitRequest();
        if (gso)
        {
            extra.wrap(ringBuffer, ring.claimRequest())
                .type(XEN_NETIF_EXTRA_TYPE_GSO)
                .flags(0)
                .gsoSize(gsoSize)
                .gsoType(gsoType)
                .gsoFeatures(0);
            ring.commitRequest();
        }
        int done = chunk;
        while (done < length)
        {
            id = takeId();
            chunk = Math.min(PAGE_SIZE, length - done);
            pages.putBytes(id * PAGE_SIZE, frame, offset + done, chunk);
            done += chunk;
            request.wrap(ringBuffer, ring.claimRequest())
                .gref(pool.grant(id))
                .pageOffset(0)
                .flags(done < length ? NETTXF_MORE_DATA : 0)
                .id(id)
                .size(chunk);
            ring.commitRequest();
        }
        push();
        packets++;
        bytes += length;
        return true;
    }

    /**
     * A dummy request of size 0 carrying an MCAST_ADD or MCAST_DEL extra info, as netif.h describes.
     */
    boolean sendMulticastControl(final boolean add, final long mac)
    {
        if (null != violation || freeCount < 1 || ring.freeRequests() < 2)
        {
            return false;
        }
        final int id = takeId();
        head[id] = true;
        request.wrap(ringBuffer, ring.claimRequest()).gref(0).pageOffset(0).flags(NETTXF_EXTRA_INFO).id(id).size(0);
        ring.commitRequest();
        extra.wrap(ringBuffer, ring.claimRequest())
            .type(add ? XEN_NETIF_EXTRA_TYPE_MCAST_ADD : XEN_NETIF_EXTRA_TYPE_MCAST_DEL)
            .flags(0)
            .mcastAddress(mac);
        ring.commitRequest();
        push();
        return true;
    }

    private int takeId()
    {
        final int id = free[--freeCount];
        pending[id] = true;
        return id;
    }

    private void push()
    {
        if (ring.pushRequestsAndCheckNotify())
        {
            evtchn.notify(port);
        }
    }

    /**
     * Takes every response waiting (xennet_tx_buf_gc).
     *
     * @return responses taken.
     */
    int collect()
    {
        int taken = 0;
        while (null == violation)
        {
            final int n = ring.consumeResponses(this, copy, 0, Integer.MAX_VALUE);
            if (n < 0)
            {
                stop(ring.violation());
                break;
            }
            taken += n;
            if (!ring.finalCheckForResponses())
            {
                break;
            }
        }
        return taken;
    }

    @Override
    public void onEntry(final MutableDirectBuffer buffer, final int offset, final int index)
    {
        if (null != violation)
        {
            return;
        }
        response.wrap(buffer, offset);
        final int status = response.status();
        if (status == NETIF_RSP_NULL)
        {
            return;
        }
        final int id = response.id();
        if (id >= pending.length)
        {
            stop("response has incorrect id " + id);
            return;
        }
        if (!pending[id])
        {
            stop("response for inactive request id " + id);
            return;
        }
        final String busy = pool.end(id);
        if (null != busy)
        {
            stop(busy);
            return;
        }
        pending[id] = false;
        free[freeCount++] = id;
        if (head[id])
        {
            head[id] = false;
            if (status == NETIF_RSP_OKAY)
            {
                okay++;
            }
            else if (status == NETIF_RSP_DROPPED)
            {
                dropped++;
            }
            else
            {
                errors++;
            }
        }
    }

    /**
     * Ends every grant the backend no longer holds and frees those pages (xennet_release_tx_bufs and the ring).
     *
     * @return grants that could not be ended.
     */
    int release()
    {
        return pool.release() + ringPage.release();
    }
}
