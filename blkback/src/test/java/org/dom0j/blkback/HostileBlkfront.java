package org.dom0j.blkback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.protocol.blkif.BlkifAbi;
import org.dom0j.protocol.blkif.BlkifResponseFlyweight;
import org.dom0j.ring.RingLayout;
import org.dom0j.ring.SharedRingDescriptor;
import org.dom0j.sim.SimDomain;
import org.dom0j.test.fuzz.Chunks;
import org.dom0j.test.fuzz.Hostile;
import org.dom0j.xenstore.XenStore;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_DISCARD_SECURE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_INDIRECT;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_RESERVED_1;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_EOPNOTSUPP;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_ERROR;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_OKAY;
import static org.dom0j.ring.SharedRingDescriptor.REQ_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.REQ_PROD_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_PROD_OFFSET;

/**
 * A blkfront that negotiates honestly in xenstore (so that its rings get connected) and then writes whatever a
 * {@link Hostile} draws into its ring pages: requests with random operations, segment counts, grant refs and sector
 * ranges, indirect requests whose descriptor pages lie, discards, whole slots of random bytes, requests rewritten
 * after they were published, event storms and producer indices that run ahead or fall behind. It keeps what it needs
 * to judge the backend: every id it ever wrote, how many requests it published honestly per ring, and which of its
 * pages hold only recognisable data ({@link Chunks} of its own magic) so that a chunk from anywhere else can be seen.
 * <p>
 * Not thread safe: the fuzz case's thread.
 */
final class HostileBlkfront implements AutoCloseable
{
    /** Magic of the chunks in the hostile guest's data pages. */
    static final long GUEST_MAGIC = 0x4755_4553_5448_4F48L;
    /** Magic of the chunks on the hostile guest's disk. */
    static final long DISK_MAGIC = 0x4B53_4944_5448_4F48L;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** One ring. */
    static final class Ring
    {
        final int index;
        final RingLayout layout;
        final int[] frames;
        final int[] refs;
        final UnsafeBuffer buffer;
        final int port;
        int reqProd;
        int rspCons;
        /** Whether a dishonest producer index was published (the backend may then disable the ring). */
        boolean wild;
        /** Whether one was certainly impossible (the backend must disable the ring). */
        boolean certainlyWild;
        /** Slots rewritten after they were published, not yet answered. */
        final Set<Integer> rewritten = new HashSet<>();

        Ring(final int index, final RingLayout layout, final int[] frames, final int[] refs,
            final UnsafeBuffer buffer, final int port)
        {
            this.index = index;
            this.layout = layout;
            this.frames = frames;
            this.refs = refs;
            this.buffer = buffer;
            this.port = port;
        }

        int outstanding()
        {
            return reqProd - rspCons;
        }
    }

    /** A page granted for data: frame, ref, whether dom0 may write it. */
    record DataPage(int frame, int ref, boolean writable)
    {
    }

    final SimDomain guest;
    final XenStore xs;
    final EventChannels evtchn;
    final BlkifAbi abi;
    final String frontendPath;
    final String backendPath;
    final long capacity;
    final List<Ring> rings = new ArrayList<>();
    final List<DataPage> data = new ArrayList<>();
    final List<int[]> indirectPages = new ArrayList<>();
    /**
     * Frames whose content is not made of chunks (rings, indirect descriptors): not checked, never named as where a
     * write takes its data from (the disk, and then pages read from it, would hold bytes the checks cannot place).
     */
    final Set<Integer> structuredFrames = new HashSet<>();
    /**
     * The refs of the rings and the descriptor pages. A request never names a ring's as where a read should go
     * (except by a 2^-32 chance): the backend would do as told and overwrite the responses this frontend checks; nor
     * any of them as where a write takes its data from.
     */
    final Set<Integer> structuredRefs = new HashSet<>();
    final Set<Integer> grantedRefs = new LinkedHashSet<>();
    final Set<Long> ids = new HashSet<>();
    long responses;
    long okay;
    private final Hostile in;
    private final int maxIndirect;
    private final byte[] slot = new byte[128];
    private final BlkifResponseFlyweight response = new BlkifResponseFlyweight();

    /**
     * Allocates and grants the rings and data pages; nothing is written to xenstore yet.
     *
     * @param guest        the hostile domain.
     * @param xs           its xenstore connection.
     * @param devid        the vbd's devid.
     * @param in           its choices.
     * @param abi          the ABI it will name.
     * @param queues       rings to offer.
     * @param order        ring page order.
     * @param maxIndirect  what the backend advertised in feature-max-indirect-segments.
     * @param capacity     the disk's size in sectors.
     */
    HostileBlkfront(final SimDomain guest, final XenStore xs, final String devid, final Hostile in,
        final BlkifAbi abi, final int queues, final int order, final int maxIndirect, final long capacity)
    {
        this.guest = guest;
        this.xs = xs;
        this.in = in;
        this.abi = abi;
        this.maxIndirect = maxIndirect;
        this.capacity = capacity;
        this.frontendPath = "/local/domain/" + guest.domid() + "/device/vbd/" + devid;
        this.backendPath = xs.read(frontendPath + "/backend");
        this.evtchn = guest.openEventChannels();
        // A zeroed slot published by a wild index is a request with id 0.
        ids.add(0L);
        final RingLayout layout = RingLayout.ofPageOrder(abi.requestSize(), abi.responseSize(), order);
        final int start = in.chance(30) ? -in.nextInt(64) : in.nextInt();
        for (int q = 0; q < queues; q++)
        {
            final int pages = 1 << order;
            final int first = guest.allocateContiguous(pages);
            final int[] frames = new int[pages];
            final int[] refs = new int[pages];
            for (int p = 0; p < pages; p++)
            {
                frames[p] = first + p;
                refs[p] = grant(frames[p], false);
                structuredFrames.add(frames[p]);
                structuredRefs.add(refs[p]);
            }
            final UnsafeBuffer buffer = guest.pages(first, pages);
            buffer.setMemory(0, buffer.capacity(), (byte)0);
            final Ring ring = new Ring(q, layout, frames, refs, buffer, evtchn.bindUnboundPort(0));
            ring.reqProd = start;
            ring.rspCons = start;
            buffer.putInt(REQ_PROD_OFFSET, start, LE);
            buffer.putInt(RSP_PROD_OFFSET, start, LE);
            buffer.putInt(REQ_EVENT_OFFSET, start + 1, LE);
            buffer.putInt(RSP_EVENT_OFFSET, start + 1, LE);
            rings.add(ring);
        }
        final int pages = in.between(2, 24);
        final byte[] chunk = new byte[SharedRingDescriptor.PAGE_SIZE];
        for (int i = 0; i < pages; i++)
        {
            final int frame = guest.allocatePage();
            for (int c = 0; c < chunk.length / Chunks.SIZE; c++)
            {
                Chunks.fill(chunk, c * Chunks.SIZE, GUEST_MAGIC, guestLabel(guest.domid(), frame, c));
            }
            guest.page(frame).putBytes(0, chunk);
            final boolean writable = !in.chance(20);
            // Now and then a page granted to another domain than dom0: the backend must not be able to use it.
            final int ref = in.chance(5) ? guest.grantAccess(5, frame, !writable) : grant(frame, !writable);
            grantedRefs.add(ref);
            data.add(new DataPage(frame, ref, writable));
        }
        final int indirect = in.between(0, 3);
        for (int i = 0; i < indirect; i++)
        {
            final int frame = guest.allocatePage();
            final int ref = grant(frame, in.chance(80));
            structuredFrames.add(frame);
            structuredRefs.add(ref);
            indirectPages.add(new int[]{ frame, ref });
            fillIndirectPage(guest.page(frame));
        }
    }

    /**
     * A chunk's label in guest memory. Its low 32 bits, read as a grant ref (when a page of chunks is taken for
     * indirect descriptors), are at least 2^31: never a ref this guest granted.
     */
    static long guestLabel(final int domid, final int frame, final int chunk)
    {
        return ((long)domid << 32) | 0x8000_0000L | (frame * 8L + chunk);
    }

    /**
     * @param sector a sector of the hostile disk.
     * @return its chunk's label (high bit set in the low word, as {@link #guestLabel}).
     */
    static long diskLabel(final long sector)
    {
        return 0x8000_0000L | sector;
    }

    private int grant(final int frame, final boolean readonly)
    {
        final int ref = guest.grantAccess(0, frame, readonly);
        grantedRefs.add(ref);
        return ref;
    }

    /**
     * Writes the keys of an honest blkfront and goes Initialised (or straight to Connected).
     *
     * @param order       the ring page order.
     * @param persistent  ask for persistent grants.
     */
    void publish(final int order, final boolean persistent)
    {
        xs.transaction(tx ->
        {
            final boolean multi = rings.size() > 1 || in.chance(10);
            if (multi)
            {
                tx.write(frontendPath + "/multi-queue-num-queues", Integer.toString(rings.size()));
            }
            for (final Ring ring : rings)
            {
                final String dir = multi ? frontendPath + "/queue-" + ring.index : frontendPath;
                if (order == 0 && in.nextBoolean())
                {
                    tx.write(dir + "/ring-ref", Integer.toString(ring.refs[0]));
                }
                else
                {
                    for (int i = 0; i < ring.refs.length; i++)
                    {
                        tx.write(dir + "/ring-ref" + i, Integer.toString(ring.refs[i]));
                    }
                }
                tx.write(dir + "/event-channel", Integer.toString(ring.port));
            }
            if (order > 0 || in.chance(20))
            {
                tx.write(frontendPath + "/ring-page-order", Integer.toString(order));
            }
            tx.write(frontendPath + "/protocol", abi.protocol());
            tx.write(frontendPath + "/feature-persistent", persistent ? "1" : "0");
            tx.write(frontendPath + "/state", in.chance(80) ? "3" : "4");
            return null;
        });
    }

    /**
     * Publishes impossible indices on a ring before the backend attaches to it.
     *
     * @param ring the ring.
     * @return whether the backend must refuse them (req_prod - rsp_prod above the ring's size).
     */
    boolean scrambleBeforeConnect(final Ring ring)
    {
        final int reqProd = in.wildIndex(ring.rspCons, ring.layout.size());
        ring.buffer.putIntRelease(REQ_PROD_OFFSET, reqProd);
        ring.wild = true;
        ring.certainlyWild = Integer.compareUnsigned(reqProd - ring.rspCons, ring.layout.size()) > 0;
        return ring.certainlyWild;
    }

    /**
     * @return requests that may still be posted on a ring without overrunning the responses not taken.
     */
    int free(final Ring ring)
    {
        return ring.layout.size() - ring.outstanding();
    }

    /**
     * Writes {@code count} requests of any kind at the ring's next slots and publishes them.
     *
     * @param ring  the ring.
     * @param count how many (at most {@link #free}).
     */
    void post(final Ring ring, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            final int at = ring.layout.slotOffset(ring.reqProd + i);
            writeRequest();
            ring.buffer.putBytes(at, slot, 0, abi.requestSize());
            ids.add(ring.buffer.getLong(at + abi.idOffset(), LE));
        }
        // Release: the slots before the index (the frontend's wmb()).
        ring.reqProd += count;
        ring.buffer.putIntRelease(REQ_PROD_OFFSET, ring.reqProd);
    }

    /**
     * Rewrites published requests (all but their ids) after the backend may have read them: it must use the copy it
     * took, whatever the slot says now.
     *
     * @param ring  the ring.
     * @param count how many of the last published.
     */
    void rewritePublished(final Ring ring, final int count)
    {
        for (int i = 1; i <= Math.min(count, ring.outstanding()); i++)
        {
            final int at = ring.layout.slotOffset(ring.reqProd - i);
            ring.rewritten.add(ring.reqProd - i);
            final long id = ring.buffer.getLong(at + abi.idOffset(), LE);
            writeRequest();
            for (int b = 0; b < abi.requestSize(); b++)
            {
                if (b < abi.idOffset() || b >= abi.idOffset() + 8)
                {
                    ring.buffer.putByte(at + b, slot[b]);
                }
            }
            ring.buffer.putLong(at + abi.idOffset(), id, LE);
        }
    }

    /**
     * Publishes a producer index other than the honest one.
     *
     * @param ring the ring.
     * @return whether the backend must disable the ring for it.
     */
    boolean wildIndex(final Ring ring)
    {
        final int shared = ring.buffer.getIntVolatile(RSP_PROD_OFFSET);
        final int reqProd = in.wildIndex(shared, ring.layout.size());
        ring.buffer.putIntRelease(REQ_PROD_OFFSET, reqProd);
        ring.wild = true;
        ring.certainlyWild |= Hostile.certainlyOverflows(reqProd, shared, ring.layout.size());
        return ring.certainlyWild;
    }

    /**
     * Writes junk into the event indices, which steer notifications only.
     *
     * @param ring the ring.
     */
    void scribbleEventIndices(final Ring ring)
    {
        ring.buffer.putIntRelease(in.nextBoolean() ? REQ_EVENT_OFFSET : RSP_EVENT_OFFSET, in.interestingInt());
    }

    /**
     * @param ring  the ring.
     * @param times how many notifications.
     */
    void notify(final Ring ring, final int times)
    {
        for (int i = 0; i < times; i++)
        {
            evtchn.notify(ring.port);
        }
    }

    /**
     * Ends the grant of a data page (refused while dom0 has it mapped) or grants it again.
     */
    void toggleAGrant()
    {
        if (data.isEmpty())
        {
            return;
        }
        final int i = in.nextInt(data.size());
        final DataPage page = data.get(i);
        if (grantedRefs.contains(page.ref()))
        {
            try
            {
                guest.endAccess(page.ref());
                grantedRefs.remove(page.ref());
            }
            catch (final GrantTableException ex)
            {
                // In use by the backend (mapped or being copied): allowed to fail.
            }
        }
        else
        {
            data.set(i, new DataPage(page.frame(), grant(page.frame(), !page.writable()), page.writable()));
        }
    }

    /**
     * Takes the responses the backend published on a ring and checks each.
     *
     * @param ring the ring.
     * @return a problem, or null.
     */
    String collect(final Ring ring)
    {
        // Acquire: the response slots are read after rsp_prod.
        final int rspProd = ring.buffer.getIntVolatile(RSP_PROD_OFFSET);
        final int fresh = rspProd - ring.rspCons;
        if (!ring.wild && Integer.compareUnsigned(fresh, ring.outstanding()) > 0)
        {
            return "ring " + ring.index + ": rsp_prod " + Integer.toUnsignedString(rspProd) + " answers " +
                Integer.toUnsignedString(fresh) + " requests but only " + ring.outstanding() + " were published";
        }
        // After a wild (but not certainly impossible) req_prod the backend may take up to 2 rings' worth more.
        if (ring.wild && Integer.compareUnsigned(fresh, 4 * ring.layout.size()) > 0)
        {
            return "ring " + ring.index + ": rsp_prod " + Integer.toUnsignedString(rspProd) + " is " +
                Integer.toUnsignedString(fresh) + " ahead of what this frontend took, more than it could publish";
        }
        for (int i = 0; i < fresh; i++)
        {
            final int at = ring.layout.slotOffset(ring.rspCons + i);
            response.wrap(ring.buffer, at);
            final long id = response.id();
            final short status = response.status();
            if (ring.rewritten.remove(ring.rspCons + i))
            {
                // Rewritten after it was published: the backend may have answered it before, and the rewrite
                // clobbered the response. Only the count of responses tells anything.
                responses++;
                continue;
            }
            // Past a wild req_prod the backend may take stale slots, responses among them, as requests: their ids
            // are whatever bytes lie there.
            if (!ring.wild && !ids.contains(id))
            {
                return "ring " + ring.index + ": a response with id " + Long.toHexString(id) +
                    ", which no request carried";
            }
            if (status != BLKIF_RSP_OKAY && status != BLKIF_RSP_ERROR && status != BLKIF_RSP_EOPNOTSUPP)
            {
                return "ring " + ring.index + ": a response with status " + status;
            }
            responses++;
            okay += status == BLKIF_RSP_OKAY ? 1 : 0;
        }
        ring.rspCons = rspProd;
        ring.buffer.putIntRelease(RSP_EVENT_OFFSET, rspProd + 1);
        int port;
        while ((port = evtchn.pending()) >= 0)
        {
            evtchn.unmask(port);
        }
        return null;
    }

    /**
     * Checks every data page: each chunk must be one of this guest's own, one of its disk's, or zeros.
     *
     * @return a problem, or null.
     */
    String checkDataPages()
    {
        final byte[] page = new byte[SharedRingDescriptor.PAGE_SIZE];
        for (final DataPage d : data)
        {
            guest.page(d.frame()).getBytes(0, page);
            for (int c = 0; c < page.length; c += Chunks.SIZE)
            {
                final String problem = foreignChunk(page, c, guest.domid());
                if (null != problem)
                {
                    return "data page frame " + d.frame() + " ref " + d.ref() + " at byte " + c + ": " + problem;
                }
            }
        }
        return null;
    }

    /**
     * @param bytes  where.
     * @param offset the chunk.
     * @param domid  the guest whose chunks are its own.
     * @return why the chunk there is not the guest's own, nor its disk's, nor zeros; or null when it is.
     */
    static String foreignChunk(final byte[] bytes, final int offset, final int domid)
    {
        if (Chunks.isChunkOf(bytes, offset, DISK_MAGIC) || Chunks.isZero(bytes, offset))
        {
            return null;
        }
        if (Chunks.isChunkOf(bytes, offset, GUEST_MAGIC))
        {
            return Chunks.label(bytes, offset) >>> 32 == domid ? null :
                "a chunk of domain " + (Chunks.label(bytes, offset) >>> 32) + "'s memory";
        }
        return "bytes that are neither this guest's, nor its disk's, nor zeros: " + Chunks.describe(bytes, offset);
    }

    /**
     * Ends every grant this guest gave, as an honest frontend does once the backend has closed.
     *
     * @return the refs still in use by the backend (mapped, or being copied).
     */
    List<Integer> endAllGrants()
    {
        final List<Integer> busy = new ArrayList<>();
        for (final int ref : new ArrayList<>(grantedRefs))
        {
            try
            {
                guest.endAccess(ref);
                grantedRefs.remove(ref);
            }
            catch (final GrantTableException ex)
            {
                busy.add(ref);
            }
        }
        return busy;
    }

    private void writeRequest()
    {
        java.util.Arrays.fill(slot, (byte)0);
        final int kind = in.nextInt(100);
        if (kind < 8)
        {
            final byte[] junk = in.bytes(abi.requestSize());
            System.arraycopy(junk, 0, slot, 0, junk.length);
            return;
        }
        final long id = in.chance(5) ? in.interestingLong() : in.nextLong();
        putLong(abi.idOffset(), id);
        putShort(2, in.chance(90) ? 51712 : in.nextInt(0x10000));
        if (kind < 45)
        {
            readOrWrite(in.chance(50) ? BLKIF_OP_READ : BLKIF_OP_WRITE);
        }
        else if (kind < 53)
        {
            slot[0] = (byte)(in.nextBoolean() ? BLKIF_OP_FLUSH_DISKCACHE : BLKIF_OP_WRITE_BARRIER);
            slot[1] = (byte)(in.chance(80) ? 0 : in.between(1, 255));
            putLong(abi.sectorNumberOffset(), in.chance(80) ? 0 : in.interestingLong());
        }
        else if (kind < 63)
        {
            slot[0] = (byte)BLKIF_OP_DISCARD;
            slot[1] = (byte)(in.chance(80) ? 0 : in.chance(50) ? BLKIF_DISCARD_SECURE : in.between(0, 255));
            final long sector = in.aroundRange(capacity);
            putLong(abi.sectorNumberOffset(), sector);
            putLong(abi.discardNrSectorsOffset(), in.chance(70) ? in.nextLong(capacity + 2) : in.interestingLong());
        }
        else if (kind < 85)
        {
            indirect();
        }
        else if (kind < 90)
        {
            slot[0] = (byte)(in.chance(50) ? BLKIF_OP_RESERVED_1 : in.between(7, 255));
            slot[1] = (byte)in.nextInt(256);
        }
        else
        {
            readOrWrite(in.chance(50) ? BLKIF_OP_READ : BLKIF_OP_WRITE);
            for (int flips = in.between(1, 6); flips > 0; flips--)
            {
                final int at = in.nextInt(abi.requestSize());
                if ((at < abi.idOffset() || at >= abi.idOffset() + 8) && !isSegmentGref(at))
                {
                    slot[at] = (byte)in.nextInt(256);
                }
            }
        }
    }

    private void readOrWrite(final int op)
    {
        slot[0] = (byte)op;
        final int nr = in.chance(90) ? in.between(1, 11) : in.chance(50) ? 0 : in.between(12, 255);
        slot[1] = (byte)nr;
        final long sector = in.chance(85) ? in.nextLong(Math.max(1, capacity - 8L * Math.min(nr, 11))) :
            in.aroundRange(capacity);
        putLong(abi.sectorNumberOffset(), sector);
        for (int s = 0; s < Math.min(nr, 11); s++)
        {
            segment(abi.segmentsOffset() + s * 8, op);
        }
    }

    private boolean isSegmentGref(final int at)
    {
        final int inSegments = at - abi.segmentsOffset();
        return inSegments >= 0 && inSegments % 8 < 4;
    }

    private void segment(final int at, final int op)
    {
        final int gref = dataRef(op);
        putInt(at, gref);
        final int first = in.chance(90) ? in.between(0, 7) : in.nextInt(256);
        final int last = in.chance(90) ? in.between(Math.min(first, 7), 7) : in.nextInt(256);
        slot[at + 4] = (byte)first;
        slot[at + 5] = (byte)last;
    }

    private int dataRef(final int op)
    {
        final int choice = in.nextInt(100);
        if (choice < 85 && !data.isEmpty())
        {
            return in.pick(data).ref();
        }
        if (choice < 90 && op == BLKIF_OP_READ && !indirectPages.isEmpty())
        {
            // A read into a page of descriptors: allowed, and what the backend reads there next is disk data.
            return in.pick(indirectPages)[1];
        }
        return bogusRef();
    }

    /**
     * @return a ref this guest probably did not grant, never one of its rings' or descriptor pages'.
     */
    private int bogusRef()
    {
        while (true)
        {
            final int ref = in.nextBoolean() ? in.between(8, 2047) : in.interestingInt();
            if (!structuredRefs.contains(ref))
            {
                return ref;
            }
        }
    }

    private void indirect()
    {
        slot[0] = (byte)BLKIF_OP_INDIRECT;
        final int op = in.chance(90) ? (in.nextBoolean() ? BLKIF_OP_READ : BLKIF_OP_WRITE) : in.nextInt(256);
        slot[1] = (byte)op;
        final int nr = in.chance(80) ? in.between(1, Math.max(1, maxIndirect)) : in.interestingInt() & 0xFFFF;
        putShort(2, nr);
        putLong(abi.sectorNumberOffset(), in.chance(85) ?
            in.nextLong(Math.max(1, capacity - 8L * Math.min(nr, 256))) : in.aroundRange(capacity));
        putShort(abi.indirectHandleOffset(), in.chance(90) ? 51712 : in.nextInt(0x10000));
        for (int i = 0; i < 8; i++)
        {
            final int ref;
            if (!indirectPages.isEmpty() && in.chance(85))
            {
                ref = in.pick(indirectPages)[1];
            }
            else if (in.nextBoolean() && !data.isEmpty())
            {
                // A data page read as descriptors: its chunks make nonsense segments.
                ref = in.pick(data).ref();
            }
            else
            {
                ref = bogusRef();
            }
            putInt(abi.indirectGrefsOffset() + i * 4, ref);
        }
        if ((op == BLKIF_OP_WRITE) && !indirectPages.isEmpty() && in.chance(30))
        {
            // Rewrite a descriptor page now and then, so that what the backend finds differs between requests.
            fillIndirectPage(guest.page(in.pick(indirectPages)[0]));
        }
    }

    private void fillIndirectPage(final UnsafeBuffer page)
    {
        for (int i = 0; i < SharedRingDescriptor.PAGE_SIZE / 8; i++)
        {
            final int gref;
            final int choice = in.nextInt(100);
            if (choice < 85 && !data.isEmpty())
            {
                gref = in.pick(data).ref();
            }
            else
            {
                gref = bogusRef();
            }
            final int first = in.chance(95) ? in.between(0, 7) : in.nextInt(256);
            final int last = in.chance(95) ? in.between(Math.min(first, 7), 7) : in.nextInt(256);
            page.putInt(i * 8, gref, LE);
            page.putByte(i * 8 + 4, (byte)first);
            page.putByte(i * 8 + 5, (byte)last);
            page.putShort(i * 8 + 6, (short)0, LE);
        }
    }

    private void putLong(final int at, final long value)
    {
        for (int i = 0; i < 8; i++)
        {
            slot[at + i] = (byte)(value >>> (8 * i));
        }
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
        evtchn.close();
    }
}
