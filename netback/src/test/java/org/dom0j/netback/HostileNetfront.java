package org.dom0j.netback;

import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.protocol.netif.NetifDescriptor;
import org.dom0j.ring.RingLayout;
import org.dom0j.sim.SimMachine;
import org.dom0j.test.fuzz.Hostile;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_DROPPED;
import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_ERROR;
import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_NULL;
import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_OKAY;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_EXTRA_INFO;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_EXTRA_INFO;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_MORE_DATA;
import static org.dom0j.protocol.netif.NetifConstants.PAGE_SIZE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_FLAG_MORE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_GSO;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_HASH;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_EXTRA_TYPE_XDP;
import static org.dom0j.ring.SharedRingDescriptor.REQ_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.REQ_PROD_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_PROD_OFFSET;

/**
 * A netfront that negotiates honestly (its vif attached as libxl attaches one, its keys chosen at random among the
 * features netback offers) and then writes whatever a {@link Hostile} draws on its TX and RX rings: packets of any
 * number of slots whose sizes, offsets, flags and grant refs lie, extra infos of every type (and none), RX buffers
 * with duplicate ids and refs it did not grant or granted read-only, rewrites of published requests, event storms,
 * and producer indices that run ahead or fall behind. Its frames carry its own source address, sometimes another's
 * (which the switch must drop), and bytes of its own ({@link #HOSTILE_BYTE}) or headers meant to reach checksum and
 * segmentation code. It keeps what it needs to judge the backend: the ids it wrote, the requests it published
 * honestly per ring.
 * <p>
 * Not thread safe: the fuzz case's thread.
 */
final class HostileNetfront implements AutoCloseable
{
    /** What the payload of a hostile frame is made of. */
    static final byte HOSTILE_BYTE = (byte)0xA7;
    /** An ethertype of its own. */
    static final int HOSTILE_ETHERTYPE = 0x88B6;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final RingLayout TX_LAYOUT =
        RingLayout.of(NetifDescriptor.TX_REQUEST_LENGTH, NetifDescriptor.TX_RESPONSE_LENGTH, 1);
    private static final RingLayout RX_LAYOUT =
        RingLayout.of(NetifDescriptor.RX_REQUEST_LENGTH, NetifDescriptor.RX_RESPONSE_LENGTH, 1);

    /** One of its rings, with the indices it keeps itself. */
    static final class Ring
    {
        final String name;
        final RingLayout layout;
        final AtomicBuffer buffer;
        final int port;
        final Set<Integer> ids = new HashSet<>();
        int reqProd;
        int rspCons;
        boolean wild;
        boolean certainlyWild;
        /** RX: the next response is an extra info slot. */
        boolean expectExtra;

        Ring(final String name, final RingLayout layout, final AtomicBuffer buffer, final int port, final int start)
        {
            this.name = name;
            this.layout = layout;
            this.buffer = buffer;
            this.port = port;
            reqProd = start;
            rspCons = start;
            buffer.putInt(REQ_PROD_OFFSET, start, LE);
            buffer.putInt(RSP_PROD_OFFSET, start, LE);
            buffer.putInt(REQ_EVENT_OFFSET, start + 1, LE);
            buffer.putInt(RSP_EVENT_OFFSET, start + 1, LE);
        }

        int outstanding()
        {
            return reqProd - rspCons;
        }

        int free()
        {
            return layout.size() - outstanding();
        }
    }

    final TestNetfront front;
    final Ring tx;
    final Ring rx;
    final long mac;
    final long[] peers;
    /** TX pages (frame, ref), granted read-only, each with a frame at some offset. */
    final List<int[]> txPages = new ArrayList<>();
    final List<Integer> txFrameOffsets = new ArrayList<>();
    /** RX pages (frame, ref), granted writable. */
    final List<int[]> rxPages = new ArrayList<>();
    final Set<Integer> grantedRefs = new LinkedHashSet<>();
    /**
     * The refs of its own rings: never named as an RX buffer (the backend would write a frame over the indices and
     * responses this frontend checks).
     */
    final Set<Integer> ringRefs;
    /** TX responses by status: DROPPED, ERROR, OKAY, NULL. */
    final long[] txStatuses = new long[4];
    long rxAnswered;
    long rxErrors;
    private final Hostile in;
    /** How often this guest gets a packet wrong (some wrongs are fatal, so some guests must rarely err). */
    private final int mutationPercent;
    private final byte[] slot = new byte[16];

    /**
     * Attaches the vif, grants its rings and pages, writes its keys; not yet Connected.
     *
     * @param machine the machine.
     * @param domid   the hostile guest.
     * @param mac     its address.
     * @param peers   the other guests' addresses (for destinations, and for spoofing).
     * @param in      its choices.
     */
    HostileNetfront(final SimMachine machine, final int domid, final long mac, final long[] peers, final Hostile in)
    {
        this.in = in;
        this.mac = mac;
        this.peers = peers;
        this.mutationPercent = in.pickInt(0, 0, 1, 3, 10, 30);
        final Map<String, String> keys = new java.util.LinkedHashMap<>();
        for (final String feature : new String[]{ "feature-gso-tcpv4", "feature-gso-tcpv6",
            "feature-no-csum-offload", "feature-ipv6-csum-offload", "request-multicast-control" })
        {
            if (in.chance(40))
            {
                keys.put(feature, "1");
            }
        }
        if (in.chance(30))
        {
            keys.put("feature-rx-notify", "0");
        }
        if (in.chance(20))
        {
            keys.put("feature-sg", "0");
        }
        if (in.chance(20))
        {
            keys.put("xdp-headroom", Integer.toString(in.between(0, 300)));
        }
        front = new TestNetfront(machine, domid, mac, in.nextBoolean(), keys);
        ringRefs = Set.of(Integer.parseInt(front.xs.read(front.frontendPath + "/tx-ring-ref")),
            Integer.parseInt(front.xs.read(front.frontendPath + "/rx-ring-ref")));
        final int start = in.chance(30) ? -in.nextInt(300) : in.nextInt();
        tx = new Ring("tx", TX_LAYOUT, front.tx.buffer(), front.txPort, start);
        rx = new Ring("rx", RX_LAYOUT, front.rx.buffer(), front.rxPort, in.chance(50) ? start : in.nextInt());
        // A zeroed slot taken after a wild index carries id 0.
        tx.ids.add(0);
        rx.ids.add(0);
        for (int i = in.between(2, 12); i > 0; i--)
        {
            final int frame = front.guest.allocatePage();
            final UnsafeBuffer page = front.guest.page(frame);
            page.setMemory(0, PAGE_SIZE, HOSTILE_BYTE);
            final int offset = in.chance(60) ? 0 : in.nextInt(PAGE_SIZE - 60);
            writeFrame(page, offset);
            final int ref = front.guest.grantAccess(0, frame, true);
            grantedRefs.add(ref);
            txPages.add(new int[]{ frame, ref });
            txFrameOffsets.add(offset);
        }
        for (int i = in.between(2, 24); i > 0; i--)
        {
            final int frame = front.guest.allocatePage();
            front.guest.page(frame).setMemory(0, PAGE_SIZE, HOSTILE_BYTE);
            final int ref = front.guest.grantAccess(in.chance(5) ? 5 : 0, frame, in.chance(5));
            grantedRefs.add(ref);
            rxPages.add(new int[]{ frame, ref });
        }
    }

    /**
     * @return the backend's state.
     */
    String backendState()
    {
        return front.backendState();
    }

    /** A header the switch can route (a destination and its own source, mostly) and, half the time, IP headers. */
    private void writeFrame(final UnsafeBuffer page, final int offset)
    {
        final long dst = switch (in.nextInt(6))
        {
            case 0 -> 0xFFFF_FFFF_FFFFL;
            case 1 -> 0x0100_5E00_0001L | in.nextInt(0x7F_FFFF);
            case 2 -> mac;
            case 3 -> in.nextLong() & 0xFEFF_FFFF_FFFFL;
            default -> peers[in.nextInt(peers.length)];
        };
        final long src = in.chance(90) ? mac : in.chance(50) ? peers[in.nextInt(peers.length)] : in.nextLong();
        putMac(page, offset, dst);
        putMac(page, offset + 6, src);
        final int room = PAGE_SIZE - offset - 14;
        switch (in.nextInt(4))
        {
            case 0 ->
            {
                page.putShort(offset + 12, (short)0x0008, LE);
                final int ip = offset + 14;
                if (room >= 40)
                {
                    page.putByte(ip, (byte)(in.chance(80) ? 0x45 : in.nextInt(256)));
                    page.putShort(ip + 2, Short.reverseBytes((short)(in.chance(70) ? in.between(40, 9000) :
                        in.nextInt(0x10000))), LE);
                    page.putByte(ip + 9, (byte)(in.chance(70) ? 6 : in.chance(50) ? 17 : in.nextInt(256)));
                    page.putByte(ip + 32, (byte)(in.chance(80) ? 0x50 : in.nextInt(256)));
                }
            }
            case 1 ->
            {
                page.putShort(offset + 12, (short)0xDD86, LE);
                if (room >= 60)
                {
                    page.putByte(offset + 14, (byte)0x60);
                    page.putShort(offset + 18, Short.reverseBytes((short)in.nextInt(9000)), LE);
                    page.putByte(offset + 20, (byte)(in.chance(70) ? 6 : in.nextInt(256)));
                }
            }
            case 2 -> page.putShort(offset + 12, Short.reverseBytes((short)in.nextInt(0x10000)), LE);
            default -> page.putShort(offset + 12, Short.reverseBytes((short)HOSTILE_ETHERTYPE), LE);
        }
    }

    private static void putMac(final UnsafeBuffer page, final int at, final long value)
    {
        for (int i = 0; i < 6; i++)
        {
            page.putByte(at + i, (byte)(value >>> (40 - 8 * i)));
        }
    }

    /**
     * Writes packets of any shape on the TX ring and publishes them.
     *
     * @return slots published.
     */
    int postTx()
    {
        int slots = 0;
        final int budget = Math.min(tx.free(), in.chance(80) ? 24 : tx.free());
        while (slots < budget)
        {
            final int packet = packet(budget - slots);
            if (packet == 0)
            {
                break;
            }
            slots += packet;
        }
        publish(tx);
        return slots;
    }

    /**
     * One packet at tx's next indices (not published): mostly one a careful netfront could send (its slots within
     * their pages, the first slot's size the packet's, extra infos Linux knows), at this guest's rate (none to 30%)
     * with one thing wrong: too many slots, a size that does not add up, a slot crossing its page, a ref never
     * granted, flags of any value, more data promised than follows, an extra info that makes no sense, an empty slot
     * with a bogus ref.
     */
    private int packet(final int room)
    {
        if (in.chance(mutationPercent / 5))
        {
            putSlot(tx, in.bytes(NetifDescriptor.TX_REQUEST_LENGTH));
            return 1;
        }
        final int mutation = in.chance(mutationPercent) ? in.nextInt(8) : -1;
        int dataSlots = in.chance(75) ? 1 : in.between(2, in.chance(80) ? 4 : 18);
        if (mutation == 0)
        {
            dataSlots = in.between(19, 25);
        }
        int extras = in.chance(15) || mutation == 6 ? in.between(1, 2) : 0;
        dataSlots = Math.min(dataSlots, room);
        extras = Math.min(extras, room - dataSlots);
        final int[] refs = new int[dataSlots];
        final int[] offsets = new int[dataSlots];
        final int[] lengths = new int[dataSlots];
        int total = 0;
        for (int s = 0; s < dataSlots; s++)
        {
            final int page = in.nextInt(txPages.size());
            refs[s] = txPages.get(page)[1];
            if (s == 0)
            {
                offsets[s] = in.chance(80) ? txFrameOffsets.get(page) : in.nextInt(PAGE_SIZE - 14);
                lengths[s] = in.between(14, Math.min(PAGE_SIZE - offsets[s], in.chance(80) ? 1514 : PAGE_SIZE));
            }
            else
            {
                offsets[s] = in.chance(60) ? 0 : in.nextInt(PAGE_SIZE);
                lengths[s] = in.between(1, PAGE_SIZE - offsets[s]);
            }
            total += lengths[s];
        }
        int firstSize = total;
        final int victim = in.nextInt(dataSlots);
        int victimFlags = -1;
        boolean moreAtTheEnd = false;
        switch (mutation)
        {
            case 1 -> firstSize = in.nextBoolean() ? in.nextInt(total + 1) : (int)in.aroundRange(0xFFFF);
            case 2 ->
            {
                offsets[victim] = in.between(1, PAGE_SIZE - 1);
                lengths[victim] = in.between(PAGE_SIZE - offsets[victim] + 1, PAGE_SIZE);
            }
            case 3 -> refs[victim] = in.chance(50) ? in.between(8, 4095) : in.interestingInt();
            case 4 -> victimFlags = in.nextInt(0x10000);
            case 5 -> moreAtTheEnd = true;
            case 7 ->
            {
                lengths[victim] = 0;
                refs[victim] = in.interestingInt();
            }
            default ->
            {
                // None, or one applied below (the extra infos).
            }
        }
        for (int s = 0; s < dataSlots; s++)
        {
            int flags = s + 1 < dataSlots || moreAtTheEnd && s + 1 == dataSlots ? NETTXF_MORE_DATA : 0;
            if (s == 0)
            {
                flags |= extras > 0 ? NETTXF_EXTRA_INFO : 0;
                flags |= in.chance(30) ? NETTXF_CSUM_BLANK : 0;
                flags |= in.chance(30) ? NETTXF_DATA_VALIDATED : 0;
            }
            if (s == victim && victimFlags >= 0)
            {
                flags = victimFlags;
            }
            slotWrite(refs[s], offsets[s], flags, in.nextInt(0x10000), s == 0 ? firstSize : lengths[s]);
            putSlot(tx, slot);
            if (s == 0)
            {
                for (int e = 0; e < extras; e++)
                {
                    extra(e + 1 < extras, mutation == 6 && e == 0);
                    putSlot(tx, slot);
                }
            }
        }
        return dataSlots + extras;
    }

    private void slotWrite(final int gref, final int offset, final int flags, final int id, final int size)
    {
        java.util.Arrays.fill(slot, (byte)0);
        putInt(0, gref);
        putShort(4, offset);
        putShort(6, flags);
        putShort(8, id);
        putShort(10, size);
    }

    private void extra(final boolean more, final boolean senseless)
    {
        java.util.Arrays.fill(slot, (byte)0);
        final int type = senseless && in.nextBoolean() ? in.pickInt(0, XEN_NETIF_EXTRA_TYPE_XDP, 6, 9, 255) :
            in.chance(60) ? XEN_NETIF_EXTRA_TYPE_GSO : in.pickInt(XEN_NETIF_EXTRA_TYPE_HASH,
            XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
        slot[0] = (byte)type;
        slot[1] = (byte)(senseless && in.nextBoolean() ? in.nextInt(256) : more ? XEN_NETIF_EXTRA_FLAG_MORE : 0);
        switch (type)
        {
            case XEN_NETIF_EXTRA_TYPE_GSO ->
            {
                putShort(2, senseless ? in.interestingInt() : in.between(1, 9000));
                slot[4] = (byte)(senseless ? in.nextInt(256) : in.between(1, 2));
                putShort(6, senseless ? in.nextInt(0x10000) : 0);
            }
            case XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_DEL ->
            {
                final long address = senseless ? in.nextLong() : 0x0100_5E00_0000L | in.nextInt(0x7F_FFFF);
                for (int i = 0; i < 6; i++)
                {
                    slot[2 + i] = (byte)(address >>> (40 - 8 * i));
                }
            }
            case XEN_NETIF_EXTRA_TYPE_HASH ->
            {
                slot[2] = (byte)(senseless ? in.nextInt(256) : in.between(0, 3));
                slot[3] = (byte)(senseless ? in.nextInt(256) : 1);
                putInt(4, in.nextInt());
            }
            default ->
            {
                final byte[] junk = in.bytes(10);
                System.arraycopy(junk, 0, slot, 2, junk.length);
            }
        }
    }

    /**
     * Posts RX buffers: ids that repeat, refs it did not grant, pages granted read-only.
     *
     * @return requests published.
     */
    int postRx()
    {
        final int count = Math.min(rx.free(), in.chance(80) ? in.between(1, 32) : rx.free());
        for (int i = 0; i < count; i++)
        {
            java.util.Arrays.fill(slot, (byte)0);
            if (in.chance(3))
            {
                System.arraycopy(in.bytes(NetifDescriptor.RX_REQUEST_LENGTH), 0, slot, 0,
                    NetifDescriptor.RX_REQUEST_LENGTH);
            }
            else
            {
                putShort(0, in.chance(70) ? (rx.reqProd + i) & (rx.layout.size() - 1) : in.nextInt(0x10000));
                putInt(4, in.chance(90) ? in.pick(rxPages)[1] : in.chance(50) ? in.pick(txPages)[1] : bogusRef());
            }
            putSlot(rx, slot);
        }
        publish(rx);
        return count;
    }

    /**
     * @return a ref it probably did not grant, never one of its rings'.
     */
    private int bogusRef()
    {
        while (true)
        {
            final int ref = in.nextBoolean() ? in.between(8, 4095) : in.interestingInt();
            if (!ringRefs.contains(ref))
            {
                return ref;
            }
        }
    }

    private void putSlot(final Ring ring, final byte[] bytes)
    {
        final int length = ring == tx ? NetifDescriptor.TX_REQUEST_LENGTH : NetifDescriptor.RX_REQUEST_LENGTH;
        final int at = ring.layout.slotOffset(ring.reqProd);
        ring.buffer.putBytes(at, bytes, 0, length);
        // The id field of every slot: a request's id, or what an extra info slot holds there (its null response
        // echoes it).
        ring.ids.add(ring.buffer.getShort(at + (ring == tx ? 8 : 0), LE) & 0xFFFF);
        ring.reqProd++;
    }

    private void publish(final Ring ring)
    {
        // Release: the slots before the index.
        ring.buffer.putIntRelease(REQ_PROD_OFFSET, ring.reqProd);
    }

    /**
     * Publishes a producer index other than the honest one.
     *
     * @param ring tx or rx.
     */
    void wildIndex(final Ring ring)
    {
        final int shared = ring.buffer.getIntVolatile(RSP_PROD_OFFSET);
        final int reqProd = in.wildIndex(shared, ring.layout.size());
        ring.buffer.putIntRelease(REQ_PROD_OFFSET, reqProd);
        ring.wild = true;
        ring.certainlyWild |= Hostile.certainlyOverflows(reqProd, shared, ring.layout.size());
    }

    /**
     * @param ring tx or rx.
     */
    void scribbleEventIndices(final Ring ring)
    {
        ring.buffer.putIntRelease(in.nextBoolean() ? REQ_EVENT_OFFSET : RSP_EVENT_OFFSET, in.interestingInt());
    }

    /**
     * @param ring  tx or rx.
     * @param times notifications.
     */
    void notify(final Ring ring, final int times)
    {
        for (int i = 0; i < times; i++)
        {
            front.evtchn.notify(ring.port);
        }
    }

    /**
     * Ends the grant of one of its pages, or grants it again.
     */
    void toggleAGrant()
    {
        final List<int[]> pages = in.nextBoolean() ? txPages : rxPages;
        final int[] page = in.pick(pages);
        if (grantedRefs.contains(page[1]))
        {
            try
            {
                front.guest.endAccess(page[1]);
                grantedRefs.remove(page[1]);
            }
            catch (final GrantTableException ex)
            {
                // In use by the backend: allowed to fail.
            }
        }
        else
        {
            page[1] = front.guest.grantAccess(0, page[0], pages == txPages);
            grantedRefs.add(page[1]);
        }
    }

    /**
     * Takes the responses on both rings and checks each.
     *
     * @return a problem, or null.
     */
    String collect()
    {
        final String problem = collect(tx);
        final String rxProblem = null == problem ? collect(rx) : problem;
        int port;
        while ((port = front.evtchn.pending()) >= 0)
        {
            front.evtchn.unmask(port);
        }
        return rxProblem;
    }

    private String collect(final Ring ring)
    {
        final int rspProd = ring.buffer.getIntVolatile(RSP_PROD_OFFSET);
        final int fresh = rspProd - ring.rspCons;
        if (!ring.wild && Integer.compareUnsigned(fresh, ring.outstanding()) > 0)
        {
            return ring.name + ": rsp_prod " + Integer.toUnsignedString(rspProd) + " answers " +
                Integer.toUnsignedString(fresh) + " requests but only " + ring.outstanding() + " were published";
        }
        if (ring.wild && Integer.compareUnsigned(fresh, 4 * ring.layout.size()) > 0)
        {
            return ring.name + ": rsp_prod " + Integer.toUnsignedString(rspProd) + " is " +
                Integer.toUnsignedString(fresh) + " ahead of what this frontend took";
        }
        for (int i = 0; i < fresh; i++)
        {
            final int index = ring.rspCons + i;
            final int at = ring.layout.slotOffset(index);
            final String problem = ring == tx ? txResponse(at) : rxResponse(at);
            if (null != problem)
            {
                return ring.name + " response " + Integer.toUnsignedString(index) + ": " + problem;
            }
        }
        ring.rspCons = rspProd;
        ring.buffer.putIntRelease(RSP_EVENT_OFFSET, rspProd + 1);
        return null;
    }

    private String txResponse(final int at)
    {
        final int id = tx.buffer.getShort(at, LE) & 0xFFFF;
        final short status = tx.buffer.getShort(at + 2, LE);
        // Past a wild req_prod the backend may take stale slots, responses among them: their ids are what lies there.
        if (!tx.wild && !tx.ids.contains(id))
        {
            return "id " + id + ", which no slot carried";
        }
        if (status != NETIF_RSP_OKAY && status != NETIF_RSP_ERROR && status != NETIF_RSP_DROPPED &&
            status != NETIF_RSP_NULL)
        {
            return "status " + status;
        }
        txStatuses[status - NETIF_RSP_DROPPED]++;
        return null;
    }

    private String rxResponse(final int at)
    {
        rxAnswered++;
        if (rx.expectExtra)
        {
            // An extra info slot: type, flags (XEN_NETIF_EXTRA_FLAG_MORE), then the union.
            final int type = rx.buffer.getByte(at) & 0xFF;
            if (type != XEN_NETIF_EXTRA_TYPE_GSO && type != XEN_NETIF_EXTRA_TYPE_HASH &&
                type != XEN_NETIF_EXTRA_TYPE_XDP)
            {
                return "an extra info of type " + type + " on the RX ring";
            }
            rx.expectExtra = (rx.buffer.getByte(at + 1) & XEN_NETIF_EXTRA_FLAG_MORE) != 0;
            return null;
        }
        final int id = rx.buffer.getShort(at, LE) & 0xFFFF;
        final int offset = rx.buffer.getShort(at + 2, LE) & 0xFFFF;
        final int flags = rx.buffer.getShort(at + 4, LE) & 0xFFFF;
        final short status = rx.buffer.getShort(at + 6, LE);
        rx.expectExtra = (flags & NETRXF_EXTRA_INFO) != 0;
        if (!rx.wild && !rx.ids.contains(id))
        {
            return "id " + id + ", which no RX request carried";
        }
        // A negative status is an error: NETIF_RSP_* or, as Linux's netback writes it, the failed copy's GNTST_*.
        if (offset + Math.max(0, (int)status) > PAGE_SIZE)
        {
            return "offset " + offset + " status " + status + ": not within one page";
        }
        rxErrors += status < 0 ? 1 : 0;
        return null;
    }

    /**
     * @param marker bytes that only another guest's frames carry.
     * @return where in this guest's pages the marker is found, or null.
     */
    String findInPages(final byte[] marker)
    {
        final byte[] page = new byte[PAGE_SIZE];
        final List<int[]> all = new ArrayList<>(rxPages);
        all.addAll(txPages);
        for (final int[] p : all)
        {
            front.guest.page(p[0]).getBytes(0, page);
            final int at = indexOf(page, page.length, marker);
            if (at >= 0)
            {
                return "frame " + p[0] + " byte " + at;
            }
        }
        return null;
    }

    /**
     * @param haystack bytes.
     * @param length   how many of them.
     * @param needle   what to find.
     * @return where it starts, or -1.
     */
    static int indexOf(final byte[] haystack, final int length, final byte[] needle)
    {
        outer:
        for (int i = 0; i + needle.length <= length; i++)
        {
            for (int j = 0; j < needle.length; j++)
            {
                if (haystack[i + j] != needle[j])
                {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /**
     * Ends every grant it gave.
     *
     * @return refs still in use by the backend.
     */
    List<Integer> endAllGrants()
    {
        final List<Integer> busy = new ArrayList<>();
        for (final int ref : new ArrayList<>(grantedRefs))
        {
            try
            {
                front.guest.endAccess(ref);
                grantedRefs.remove(ref);
            }
            catch (final GrantTableException ex)
            {
                busy.add(ref);
            }
        }
        return busy;
    }

    private void putInt(final int at, final int value)
    {
        for (int i = 0; i < 4; i++)
        {
            slot[at + i] = (byte)(value >>> (8 * i));
        }
    }

    private void putShort(final int at, final int value)
    {
        slot[at] = (byte)value;
        slot[at + 1] = (byte)(value >>> 8);
    }

    @Override
    public void close()
    {
        front.close();
    }
}
