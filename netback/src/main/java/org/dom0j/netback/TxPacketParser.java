package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.protocol.netif.NetifExtraInfoFlyweight;
import org.dom0j.protocol.netif.NetifTxRequestFlyweight;
import org.dom0j.ring.BackRing;

import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * Takes one packet's requests off a TX ring and judges them the way Linux's {@code xenvif_count_requests} and
 * {@code xenvif_tx_build_gops} do, planning one response per slot in a {@link TxResponses}. Each request is copied out
 * of the ring once and only the copy is read. A good packet's slots are left in this parser's fields for the
 * {@link TxPath} to copy; everything else is answered or fatal here:
 * <ul>
 *   <li>dropped, every slot answered NETIF_RSP_ERROR: more than {@link TxPath#LEGACY_SLOTS_MAX} data slots, a slot
 *       larger than what the first slot says is left, a first slot shorter than an Ethernet header;</li>
 *   <li>fatal: a {@code more_data} chain or an extra info running past the requests produced, more than
 *       {@link TxPath#FATAL_SLOTS} following slots, a slot crossing its page, an extra info of an unknown type, a GSO
 *       extra with size 0 or an unknown type.</li>
 * </ul>
 * A multicast control request (an MCAST_ADD or MCAST_DEL extra) changes the {@link MulticastFilter} and is answered
 * like a packet. The rate limit holds a packet back without taking it.
 * <p>
 * Agent thread only. No allocation per packet.
 */
final class TxPacketParser
{
    /** A good packet: its slots are in {@link #firstRef} and the following-slot arrays. */
    static final int PACKET = 0;
    /** Taken and answered here: dropped with errors, or a multicast control request. */
    static final int ANSWERED = 1;
    /** Not taken: the rate limit or the staging space holds it back; the batch ends. */
    static final int HELD = 2;
    /** The frontend broke the protocol: the violation was reported and the pass's responses discarded. */
    static final int FATAL = 3;

    private final BackRing ring;
    private final CreditLimiter credit;
    private final MulticastFilter multicast;
    private final TxResponses responses;
    private final TxPath.Violations violations;
    private final NetbackCounters counters;
    private final UnsafeBuffer request;
    private final NetifTxRequestFlyweight txReq = new NetifTxRequestFlyweight();
    private final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight();
    private final int[] extraFlags = new int[XEN_NETIF_EXTRA_TYPE_MAX];
    private final long[] extraValue = new long[XEN_NETIF_EXTRA_TYPE_MAX];
    private final boolean[] extraSeen = new boolean[XEN_NETIF_EXTRA_TYPE_MAX];
    private int rp;
    private boolean rateLimited;

    // The packet last parsed (valid after PACKET).
    int firstRef;
    int firstOffset;
    /** The first slot's own bytes: its size field less what the following slots carry. */
    int firstSize;
    int flags;
    int gsoType;
    int gsoSize;
    /** The frontend's hash type (-1 without a hash extra) and value. */
    int hashType;
    int hash;
    int respStart;
    int respEnd;
    /** Following slots (their grant, offset in page, size), some of which may be empty. */
    int slots;
    final int[] followRef = new int[TxPath.FATAL_SLOTS + 1];
    final int[] followOffset = new int[TxPath.FATAL_SLOTS + 1];
    final int[] followSize = new int[TxPath.FATAL_SLOTS + 1];

    /**
     * @param ring       the TX ring.
     * @param credit     the rate limit.
     * @param multicast  the vif's multicast filter.
     * @param responses  where responses are planned.
     * @param violations told of a fatal error.
     * @param counters   tx_errors counts dropped packets.
     */
    TxPacketParser(
        final BackRing ring,
        final CreditLimiter credit,
        final MulticastFilter multicast,
        final TxResponses responses,
        final TxPath.Violations violations,
        final NetbackCounters counters)
    {
        this.ring = ring;
        this.credit = credit;
        this.multicast = multicast;
        this.responses = responses;
        this.violations = violations;
        this.counters = counters;
        this.request = new UnsafeBuffer(new byte[ring.layout().slotLength()]);
    }

    /**
     * Starts a pass.
     *
     * @param requestProd the ring's {@code req_prod}, read once for the pass and already checked.
     */
    void begin(final int requestProd)
    {
        rp = requestProd;
        rateLimited = false;
    }

    /**
     * @return requests produced and not taken, bounded by free response slots.
     */
    int available()
    {
        final int produced = rp - ring.reqCons();
        final int free = ring.size() - (ring.reqCons() - ring.rspProdPvt());
        // An adopted ring first hands out again what the service's previous process took and never answered.
        return ring.replayRemaining() + (Integer.compareUnsigned(produced, free) < 0 ? produced : free);
    }

    /**
     * @return whether the pass stopped at a packet the rate limit holds back.
     */
    boolean isRateLimited()
    {
        return rateLimited;
    }

    /**
     * @return the packet's length: the first slot's own bytes and every following slot's.
     */
    int length()
    {
        int total = firstSize;
        for (int i = 0; i < slots; i++)
        {
            total += followSize[i];
        }
        return total;
    }

    /**
     * Takes the next packet (or multicast control request) when one is available.
     *
     * @param nowNanos the current time (rate limit).
     * @param room     staging bytes left: a packet whose first slot says more is not taken.
     * @return {@link #PACKET}, {@link #ANSWERED}, {@link #HELD} or {@link #FATAL}.
     */
    int parse(final long nowNanos, final int room)
    {
        ring.peekRequest(request, 0);
        txReq.wrap(request, 0);
        final int firstId = txReq.id();
        final int size = txReq.size();
        if (size > room)
        {
            return HELD;
        }
        if (!credit.tryTake(size, nowNanos))
        {
            // Held back, not taken: looked at again on the next pass (the agent wakes at least every millisecond).
            rateLimited = true;
            return HELD;
        }
        flags = txReq.flags();
        firstRef = txReq.gref();
        firstOffset = txReq.pageOffset();
        ring.takePeekedRequest();
        respStart = responses.count();
        responses.add(firstId, NETIF_RSP_OKAY);
        if ((flags & NETTXF_EXTRA_INFO) != 0 && !readExtras(firstId))
        {
            return FATAL;
        }
        if (extraSeen[XEN_NETIF_EXTRA_TYPE_MCAST_ADD] || extraSeen[XEN_NETIF_EXTRA_TYPE_MCAST_DEL])
        {
            multicastControl();
            return ANSWERED;
        }
        return readSlots(firstId, size);
    }

    private boolean readExtras(final int firstId)
    {
        int extraInfoFlags;
        do
        {
            if (available() == 0)
            {
                return fatal("missing extra info after TX request " + firstId);
            }
            ring.copyRequest(request, 0);
            extra.wrap(request, 0);
            final int type = extra.type();
            extraInfoFlags = extra.flags();
            if (type == XEN_NETIF_EXTRA_TYPE_NONE || type >= XEN_NETIF_EXTRA_TYPE_MAX)
            {
                return fatal("TX extra info of unknown type " + type);
            }
            extraSeen[type] = true;
            extraFlags[type] = type == XEN_NETIF_EXTRA_TYPE_GSO ? extra.gsoType() : extra.hashType();
            extraValue[type] = type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD || type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL ?
                extra.mcastAddress() : type == XEN_NETIF_EXTRA_TYPE_GSO ? extra.gsoSize() : extra.hashValue();
            responses.add(-1, NETIF_RSP_NULL);
        }
        while ((extraInfoFlags & XEN_NETIF_EXTRA_FLAG_MORE) != 0);
        return true;
    }

    /**
     * A multicast control request: no data, answered OKAY (or ERROR when the list is full).
     */
    private void multicastControl()
    {
        if (extraSeen[XEN_NETIF_EXTRA_TYPE_MCAST_ADD])
        {
            if (!multicast.add(extraValue[XEN_NETIF_EXTRA_TYPE_MCAST_ADD]))
            {
                responses.status(respStart, NETIF_RSP_ERROR);
            }
        }
        else
        {
            multicast.remove(extraValue[XEN_NETIF_EXTRA_TYPE_MCAST_DEL]);
        }
        clearExtras();
    }

    /**
     * Reads the following slots, counted and checked as Linux's xenvif_count_requests does, and kept until the
     * packet is known to be good (a dropped packet is never copied), then the packet's extras.
     */
    private int readSlots(final int firstId, final int size)
    {
        slots = 0;
        boolean drop = false;
        int slotFlags = flags;
        int firstOwn = size;
        while ((slotFlags & NETTXF_MORE_DATA) != 0)
        {
            if (available() == 0)
            {
                return fatalVerdict("TX packet " + firstId + " asks for more slots than were produced");
            }
            // slots = following slots read so far, as Linux counts: 1 + 19 slots pass, 20 and 21 are dropped, 22 or
            // more disable the vif.
            if (slots >= TxPath.FATAL_SLOTS)
            {
                return fatalVerdict("TX packet " + firstId + " has more than " + (slots + 1) + " slots (fatal above " +
                    (TxPath.FATAL_SLOTS + 1) + ")");
            }
            if (slots >= TxPath.LEGACY_SLOTS_MAX)
            {
                drop = true;
            }
            ring.copyRequest(request, 0);
            txReq.wrap(request, 0);
            final int slotSize = txReq.size();
            final int slotOffset = txReq.pageOffset();
            slotFlags = txReq.flags();
            responses.add(txReq.id(), NETIF_RSP_OKAY);
            if (!drop && slotSize > firstOwn)
            {
                drop = true;
            }
            if (slotOffset + slotSize > PAGE_SIZE)
            {
                return fatalVerdict("TX slot crosses its page: offset " + slotOffset + " size " + slotSize);
            }
            if (!drop)
            {
                firstOwn -= slotSize;
            }
            followRef[slots] = txReq.gref();
            followOffset[slots] = slotOffset;
            followSize[slots] = slotSize;
            slots++;
        }
        respEnd = responses.count();
        if (drop || firstOwn < PacketHeaders.ETH_HLEN)
        {
            responses.fail(respStart, respEnd);
            counters.txErrors.incrementRelease();
            clearExtras();
            return ANSWERED;
        }
        if (firstOffset + firstOwn > PAGE_SIZE)
        {
            return fatalVerdict("TX first slot crosses its page: offset " + firstOffset + " size " + firstOwn);
        }
        firstSize = firstOwn;
        return readOffloads() ? PACKET : FATAL;
    }

    private boolean readOffloads()
    {
        gsoType = 0;
        gsoSize = 0;
        if (extraSeen[XEN_NETIF_EXTRA_TYPE_GSO])
        {
            gsoSize = (int)extraValue[XEN_NETIF_EXTRA_TYPE_GSO];
            gsoType = extraFlags[XEN_NETIF_EXTRA_TYPE_GSO];
            if (gsoSize == 0)
            {
                return fatal("TX GSO extra with size 0");
            }
            if (gsoType != XEN_NETIF_GSO_TYPE_TCPV4 && gsoType != XEN_NETIF_GSO_TYPE_TCPV6)
            {
                return fatal("TX GSO extra of unknown type " + gsoType);
            }
        }
        hashType = extraSeen[XEN_NETIF_EXTRA_TYPE_HASH] ? extraFlags[XEN_NETIF_EXTRA_TYPE_HASH] : -1;
        hash = (int)extraValue[XEN_NETIF_EXTRA_TYPE_HASH];
        clearExtras();
        return true;
    }

    private void clearExtras()
    {
        for (int t = 0; t < XEN_NETIF_EXTRA_TYPE_MAX; t++)
        {
            extraSeen[t] = false;
            extraValue[t] = 0;
        }
    }

    private int fatalVerdict(final String reason)
    {
        fatal(reason);
        return FATAL;
    }

    private boolean fatal(final String reason)
    {
        // Responses already planned are not written: the queue stops here, as Linux's netback disables the vif.
        responses.discard();
        clearExtras();
        violations.fatal(reason);
        return false;
    }
}
