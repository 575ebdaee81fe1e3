package org.dom0j.netback;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.QueueHandler;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.netif.NetifCtrlRequestFlyweight;
import org.dom0j.protocol.netif.NetifCtrlResponseFlyweight;
import org.dom0j.protocol.netif.NetifDescriptor;
import org.dom0j.ring.BackRing;
import org.dom0j.ring.RingEntryHandler;
import org.dom0j.ring.RingLayout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * A vif's control ring ({@code feature-ctrl-ring}; netif.h, "Control ring" and "Control messages"), served by its own
 * agent ({@code vif-<domid>-<devid>-ctrl}): the frontend sets the hash algorithm, the hash types, the Toeplitz key
 * and the table mapping hashes to queues, and the result is published to the {@link Vif} as a {@link HashConfig}
 * that every agent delivering to the vif reads.
 * <p>
 * Each request is copied out of the ring once ({@code consumeRequests}) and only the copy is validated. Every request
 * is answered {@code {id, type, status, data}} as Linux's netback answers it ({@code xenvif_ctrl_action}):
 * <ul>
 *   <li>SET_HASH_ALGORITHM: NONE or TOEPLITZ, else INVALID_PARAMETER.</li>
 *   <li>GET_HASH_FLAGS: NOT_SUPPORTED while the algorithm is NONE, else the four types netback hashes.</li>
 *   <li>SET_HASH_FLAGS: INVALID_PARAMETER for a type outside those four or while the algorithm is NONE.</li>
 *   <li>SET_HASH_KEY (data[0] gref, data[1] length): INVALID_PARAMETER for more than 40 bytes or a grant that cannot
 *       be copied (the key stays as it was); the key's bytes past the length are zero.</li>
 *   <li>GET_HASH_MAPPING_SIZE: 128.</li>
 *   <li>SET_HASH_MAPPING_SIZE: INVALID_PARAMETER above 128; the table's first {@code size} entries become 0.</li>
 *   <li>SET_HASH_MAPPING (data[0] gref, data[1] entries, data[2] offset), with the XSA-270 checks: INVALID_PARAMETER
 *       when offset + entries wraps in 32 bits, passes the table's size, or asks for more entries than one page
 *       holds (1024); the entries are grant-copied into a staging table (two copy operations when the staging area
 *       crosses a page, as Linux splits its copy) and taken only when every one names a queue below the number of
 *       data queues, so a bad table leaves the old one in force.</li>
 *   <li>everything else (INVALID, the GREF_MAPPING requests): NOT_SUPPORTED, data 0.</li>
 * </ul>
 * Statuses other than SUCCESS are counted in the queue's {@code errors}. A producer index that runs ahead of the ring
 * fails the device, as on any ring.
 * <p>
 * The responses of a pass go out together, after the pass's new configuration (if it changed anything) is published:
 * a frontend that sees an answer sees its effect. Requests are served without allocation; publishing a changed
 * configuration allocates one snapshot per pass (about 600 bytes), never one per request.
 * <p>
 * <b>Thread</b>: the control queue's agent only.
 */
final class CtrlRingHandler implements QueueHandler
{
    /** The control ring: one page, 128 slots of 16 bytes. */
    static final RingLayout LAYOUT =
        RingLayout.of(NetifDescriptor.CTRL_REQUEST_LENGTH, NetifDescriptor.CTRL_RESPONSE_LENGTH, 1);
    /** The name of the control ring's queue (and of its agent). */
    static final String QUEUE_NAME = "ctrl";
    /** The most mapping entries one SET_HASH_MAPPING may name: what one granted page holds. */
    static final int MAX_MAPPING_ENTRIES_PER_GRANT = PAGE_SIZE / 4;

    /** The key's staging area: page aligned, so it never crosses a page. */
    private static final int KEY_AT = 0;
    /**
     * The mapping's staging table starts this far before a page boundary, so entries 64..127 lie in the next page:
     * a copy into entries on both sides takes two grant copy operations (as Linux's does when its table straddles a
     * page), and is exercised by every full table a frontend sends.
     */
    private static final int TABLE_BEFORE_BOUNDARY = 256;
    private static final int TABLE_AT = 2 * PAGE_SIZE - TABLE_BEFORE_BOUNDARY;

    private final ConnectedQueue queue;
    private final BackRing ring;
    private final Vif vif;
    private final GrantTables gnttab;
    private final int domid;
    private final int queues;
    private final UnsafeBuffer requestCopy = new UnsafeBuffer(new byte[NetifDescriptor.CTRL_REQUEST_LENGTH]);
    private final NetifCtrlRequestFlyweight request = new NetifCtrlRequestFlyweight();
    private final NetifCtrlResponseFlyweight response = new NetifCtrlResponseFlyweight();
    private final RingEntryHandler onRequest = this::onRequest;
    private final GrantCopyBatch copies = new GrantCopyBatch(2);
    private final UnsafeBuffer staging;

    // The configuration as the requests so far left it; published at the end of each pass when it changed.
    private int algorithm;
    private int types;
    private final byte[] key = new byte[ToeplitzHash.MAX_KEY_LENGTH];
    private final int[] mapping = new int[HashConfig.MAX_MAPPING_SIZE];
    private int mappingSize;

    /**
     * @param queue  the connected control queue (one ring, one port).
     * @param vif    the vif whose hashing it configures.
     * @param gnttab grant copies of the key and the mapping.
     * @param queues the frontend's number of data queues (what a mapping entry must be below).
     */
    CtrlRingHandler(final ConnectedQueue queue, final Vif vif, final GrantTables gnttab, final int queues)
    {
        this.queue = queue;
        this.ring = queue.ring();
        this.vif = vif;
        this.gnttab = gnttab;
        this.domid = queue.device().frontendDomid();
        this.queues = queues;
        // Four pages, so that a page boundary lies at a known place: KEY_AT and TABLE_AT count from the first one.
        final ByteBuffer pages = ByteBuffer.allocateDirect(4 * PAGE_SIZE);
        final UnsafeBuffer all = new UnsafeBuffer(pages);
        final int toBoundary = (int)(-all.addressOffset() & (PAGE_SIZE - 1));
        staging = new UnsafeBuffer(all, toBoundary, 3 * PAGE_SIZE);
        final HashConfig now = vif.hashConfig();
        algorithm = now.algorithm();
        types = now.types();
        for (int i = 0; i < key.length; i++)
        {
            key[i] = (byte)now.key(i);
        }
        mappingSize = now.mappingSize();
        for (int i = 0; i < mappingSize; i++)
        {
            mapping[i] = now.mapping(i);
        }
    }

    @Override
    public int doWork(final ConnectedQueue connected)
    {
        final int taken = ring.consumeRequests(onRequest, requestCopy, 0, ring.size());
        if (taken <= 0)
        {
            // Nothing, or a protocol violation (the ring is disabled; the agent reports it).
            return 0;
        }
        publish();
        queue.pushResponsesAndNotify();
        return taken;
    }

    /**
     * Every request comes with the frontend's notification: nothing is ever due on time.
     */
    @Override
    public long idleWaitNanos(final ConnectedQueue connected, final long nowNanos)
    {
        return VifQueue.IDLE_WAIT_NANOS;
    }

    private void onRequest(final MutableDirectBuffer copy, final int offset, final int index)
    {
        request.wrap(copy, offset);
        final int type = request.type();
        int data = 0;
        final int status;
        switch (type)
        {
            case XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
                status = setAlgorithm(request.data0());
                break;
            case XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
                if (algorithm == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
                {
                    status = XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
                }
                else
                {
                    status = XEN_NETIF_CTRL_STATUS_SUCCESS;
                    data = HashConfig.SUPPORTED_TYPES;
                }
                break;
            case XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
                status = setTypes(request.data0());
                break;
            case XEN_NETIF_CTRL_TYPE_SET_HASH_KEY:
                status = setKey(request.data0(), request.data1());
                break;
            case XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
                status = XEN_NETIF_CTRL_STATUS_SUCCESS;
                data = HashConfig.MAX_MAPPING_SIZE;
                break;
            case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
                status = setMappingSize(request.data0());
                break;
            case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
                status = setMapping(request.data0(), request.data1(), request.data2());
                break;
            default:
                status = XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
                break;
        }
        if (status != XEN_NETIF_CTRL_STATUS_SUCCESS)
        {
            queue.counters().errors().incrementRelease();
        }
        // The whole slot is written: claimResponse zeroes it, then every field is set. The request is answered as it
        // is taken, so its journal record is the ring's last.
        response.wrap(ring.buffer(), ring.claimResponse(ring.lastJournalEntry())).id(request.id()).type(type)
            .status(status).data(data);
        ring.commitResponse();
    }

    private int setAlgorithm(final int value)
    {
        if (value != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE && value != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
        {
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        }
        algorithm = value;
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    }

    private int setTypes(final int value)
    {
        if ((value & ~HashConfig.SUPPORTED_TYPES) != 0 || algorithm == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
        {
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        }
        types = value;
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    }

    private int setKey(final int gref, final int length)
    {
        if (Integer.compareUnsigned(length, ToeplitzHash.MAX_KEY_LENGTH) > 0)
        {
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        }
        if (length > 0 && !copyFromGuest(gref, KEY_AT, length))
        {
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        }
        staging.getBytes(KEY_AT, key, 0, length);
        Arrays.fill(key, length, key.length, (byte)0);
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    }

    private int setMappingSize(final int size)
    {
        if (Integer.compareUnsigned(size, HashConfig.MAX_MAPPING_SIZE) > 0)
        {
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        }
        mappingSize = size;
        Arrays.fill(mapping, 0, size, 0);
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    }

    private int setMapping(final int gref, final int entries, final int offset)
    {
        final int end = offset + entries;
        // XSA-270: each bound checked on its own, in unsigned 32-bit arithmetic as the guest wrote it.
        if (Integer.compareUnsigned(end, offset) < 0 ||
            Integer.compareUnsigned(end, mappingSize) > 0 ||
            Integer.compareUnsigned(entries, MAX_MAPPING_ENTRIES_PER_GRANT) > 0)
        {
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        }
        if (entries == 0)
        {
            return XEN_NETIF_CTRL_STATUS_SUCCESS;
        }
        if (!copyFromGuest(gref, TABLE_AT + offset * 4, entries * 4))
        {
            return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        }
        for (int i = offset; i < end; i++)
        {
            if (Integer.compareUnsigned(staging.getInt(TABLE_AT + i * 4, ByteOrder.LITTLE_ENDIAN), queues) >= 0)
            {
                return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
            }
        }
        for (int i = offset; i < end; i++)
        {
            mapping[i] = staging.getInt(TABLE_AT + i * 4, ByteOrder.LITTLE_ENDIAN);
        }
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
    }

    /**
     * Grant-copies {@code length} bytes (at most a page) from the start of the guest's {@code gref} into the staging
     * area at {@code at}, as two operations when the destination crosses a page.
     *
     * @return whether every operation succeeded.
     */
    private boolean copyFromGuest(final int gref, final int at, final int length)
    {
        copies.clear();
        final long address = staging.addressOffset() + at;
        final int inFirstPage = (int)Math.min(length, PAGE_SIZE - (address & (PAGE_SIZE - 1)));
        copies.addFromForeign(domid, gref, 0, address, inFirstPage);
        if (inFirstPage < length)
        {
            copies.addFromForeign(domid, gref, inFirstPage, address + inFirstPage, length - inFirstPage);
        }
        gnttab.copy(copies);
        return copies.allOkay();
    }

    private void publish()
    {
        if (!vif.hashConfig().matches(algorithm, types, key, mapping, mappingSize))
        {
            vif.hashConfig(new HashConfig(algorithm, types, key, mapping, mappingSize));
        }
    }
}
