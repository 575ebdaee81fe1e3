package org.dom0j.ring;

/**
 * Layout of a Xen shared ring page ({@code struct <name>_sring} from {@code xen/include/public/io/ring.h}, as
 * {@code DEFINE_RING_TYPES} declares it), and the ring-size arithmetic of {@code __CONST_RING_SIZE}.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+  0
 *  |                    req_prod   (u32, front writes)             |
 *  +---------------------------------------------------------------+  4
 *  |                    req_event  (u32, back writes)              |
 *  +---------------------------------------------------------------+  8
 *  |                    rsp_prod   (u32, back writes)              |
 *  +---------------------------------------------------------------+ 12
 *  |                    rsp_event  (u32, front writes)             |
 *  +---------------------------------------------------------------+ 16
 *  |  pvt (4 bytes: netif smartpoll_active, tapif_user msg, pad)   |
 *  +---------------------------------------------------------------+ 20
 *  |                    __pad[44]                                  |
 *  +---------------------------------------------------------------+ 64
 *  |  ring[0]: union { request; response; }   slotLength bytes     |
 *  |  ring[1] ...                          up to ring[size - 1]    |
 *  +---------------------------------------------------------------+ pages * 4096
 * </pre>
 * Indices ({@code RING_IDX}) are free-running unsigned 32-bit counters; an index selects slot
 * {@code index & (size - 1)}. Fields are in the guest's byte order, which is little-endian on every architecture
 * Xen runs PV backends on; Agrona's volatile accessors use native order, so dom0j rings run on little-endian hosts.
 * <p>
 * Stateless: any thread.
 */
public final class SharedRingDescriptor
{
    /** Xen's page size: every ring page is one granted page. */
    public static final int PAGE_SIZE = 4096;

    /** {@code req_prod}: the front's published request producer index. */
    public static final int REQ_PROD_OFFSET = 0;

    /** {@code req_event}: the back asks to be notified when req_prod passes this index. */
    public static final int REQ_EVENT_OFFSET = 4;

    /** {@code rsp_prod}: the back's published response producer index. */
    public static final int RSP_PROD_OFFSET = 8;

    /** {@code rsp_event}: the front asks to be notified when rsp_prod passes this index. */
    public static final int RSP_EVENT_OFFSET = 12;

    /** {@code pvt}: four bytes private to some protocols (netif smartpoll, tapif). */
    public static final int PVT_OFFSET = 16;

    /** Length of {@code pvt}. */
    public static final int PVT_LENGTH = 4;

    /** {@code __pad[44]}. */
    public static final int PAD_OFFSET = 20;

    /** Length of {@code __pad}. */
    public static final int PAD_LENGTH = 44;

    /** {@code offsetof(struct _sring, ring)}: where the entries start. */
    public static final int ENTRIES_OFFSET = 64;

    /** The largest {@code ring-page-order} dom0j accepts (16 pages), as Linux's blkback and netback. */
    public static final int MAX_RING_PAGE_ORDER = 4;

    /** The most pages of a ring: {@code 1 << MAX_RING_PAGE_ORDER}. */
    public static final int MAX_RING_PAGES = 1 << MAX_RING_PAGE_ORDER;

    private SharedRingDescriptor()
    {
    }

    /**
     * {@code __RD32}: rounds an unsigned 32-bit value down to a power of two (0 stays 0).
     *
     * @param value treated as unsigned.
     * @return the largest power of two not above it, or 0.
     */
    public static int roundDownToPowerOfTwo(final int value)
    {
        return Integer.highestOneBit(value);
    }

    /**
     * The slot length of a ring whose entries are {@code union { request; response; }}. The lengths are the C
     * {@code sizeof} of each struct (which already includes its tail padding), so the union is the larger of them.
     *
     * @param requestLength  sizeof the request struct.
     * @param responseLength sizeof the response struct.
     * @return sizeof the union.
     */
    public static int slotLength(final int requestLength, final int responseLength)
    {
        return Math.max(requestLength, responseLength);
    }

    /**
     * {@code __CONST_RING_SIZE}: how many entries fit in {@code ringBytes} after the header, rounded down to a power
     * of two.
     *
     * @param ringBytes  the bytes of the shared ring (pages * 4096).
     * @param slotLength sizeof one entry.
     * @return the number of entries (0 when not even one fits).
     */
    public static int ringSize(final int ringBytes, final int slotLength)
    {
        if (slotLength <= 0)
        {
            throw new IllegalArgumentException("slot length must be positive: " + slotLength);
        }
        if (ringBytes < ENTRIES_OFFSET)
        {
            return 0;
        }
        return roundDownToPowerOfTwo((ringBytes - ENTRIES_OFFSET) / slotLength);
    }

    /**
     * @param index      a free-running ring index.
     * @param size       the ring size (a power of two).
     * @param slotLength sizeof one entry.
     * @return the byte offset of the slot that index selects ({@code RING_GET_REQUEST/RESPONSE}).
     */
    public static int slotOffset(final int index, final int size, final int slotLength)
    {
        return ENTRIES_OFFSET + (index & (size - 1)) * slotLength;
    }
}
