package org.dom0j.protocol.console;

/**
 * Layout of the PV console's shared page, {@code struct xencons_interface} of {@code xen/include/public/io/console.h}
 * (Xen 4.17), the same for every guest ABI. Checked against that header by {@code XenconsLayoutTest}.
 * <pre>
 *   0                 1024                        3072     3076     3080      3084      3088
 *   +-----------------+---------------------------+--------+--------+---------+---------+
 *   | in[1024]        | out[2048]                 |in_cons |in_prod |out_cons |out_prod |
 *   +-----------------+---------------------------+--------+--------+---------+---------+
 *     back produces,    front produces,             front    back     back      front
 *     front consumes    back consumes               writes   writes   writes    writes
 * </pre>
 * {@code in} carries keyboard input to the guest, {@code out} the guest's output. Indices are free-running unsigned
 * 32-bit values ({@code XENCONS_RING_IDX}); a byte lives at {@code MASK_XENCONS_IDX(idx, ring)} = {@code idx & (size -
 * 1)}. {@code prod - cons} (wrapping at 2^32) is what is unread; more than the ring's size is a protocol violation.
 * Fields are little-endian. Nobody but the two ends' code reads it, so it is a plain constants class.
 */
public final class XenconsDescriptor
{
    /** Offset of {@code in[]}: console input, written by the backend. */
    public static final int IN_OFFSET = 0;
    /** {@code sizeof(in)}. */
    public static final int IN_SIZE = 1024;
    /** Offset of {@code out[]}: console output, written by the guest. */
    public static final int OUT_OFFSET = 1024;
    /** {@code sizeof(out)}. */
    public static final int OUT_SIZE = 2048;
    /** Offset of {@code in_cons}, written by the guest. */
    public static final int IN_CONS_OFFSET = 3072;
    /** Offset of {@code in_prod}, written by the backend. */
    public static final int IN_PROD_OFFSET = 3076;
    /** Offset of {@code out_cons}, written by the backend. */
    public static final int OUT_CONS_OFFSET = 3080;
    /** Offset of {@code out_prod}, written by the guest. */
    public static final int OUT_PROD_OFFSET = 3084;
    /** {@code sizeof(struct xencons_interface)}; the rest of the 4 KiB page is unused. */
    public static final int LENGTH = 3088;

    private XenconsDescriptor()
    {
    }

    /**
     * {@code MASK_XENCONS_IDX(idx, in)}.
     *
     * @param idx a free-running index.
     * @return the offset of that byte in the page.
     */
    public static int inOffset(final int idx)
    {
        return IN_OFFSET + (idx & (IN_SIZE - 1));
    }

    /**
     * {@code MASK_XENCONS_IDX(idx, out)}.
     *
     * @param idx a free-running index.
     * @return the offset of that byte in the page.
     */
    public static int outOffset(final int idx)
    {
        return OUT_OFFSET + (idx & (OUT_SIZE - 1));
    }
}
