package org.dom0j.xenstore;

/**
 * The layout of one xs_wire message ({@code struct xsd_sockmsg} in Xen's {@code xen/include/public/io/xs_wire.h})
 * and the protocol's size limits. All header fields are little-endian unsigned 32-bit integers.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                         type (XS_*)                           |  0
 *  +---------------------------------------------------------------+
 *  |               req_id (echoed in the daemon's reply)           |  4
 *  +---------------------------------------------------------------+
 *  |             tx_id (0 when outside a transaction)              |  8
 *  +---------------------------------------------------------------+
 *  |                 len (payload bytes that follow)               | 12
 *  +---------------------------------------------------------------+
 *  |      payload: NUL-terminated strings, at most 4096 bytes      | 16
 *  +---------------------------------------------------------------+
 * </pre>
 * Constants only; any thread.
 */
public final class XsWireDescriptor
{
    /** Offset of {@code type}. */
    public static final int TYPE_OFFSET = 0;
    /** Offset of {@code req_id}. */
    public static final int REQ_ID_OFFSET = 4;
    /** Offset of {@code tx_id}. */
    public static final int TX_ID_OFFSET = 8;
    /** Offset of {@code len}. */
    public static final int LENGTH_OFFSET = 12;
    /** Size of the header; the payload starts here. */
    public static final int HEADER_LENGTH = 16;

    /** {@code XENSTORE_PAYLOAD_MAX}: the largest payload either side may send. */
    public static final int PAYLOAD_MAX = 4096;
    /** {@code XENSTORE_ABS_PATH_MAX}: the longest absolute path. */
    public static final int ABS_PATH_MAX = 3072;
    /** {@code XENSTORE_REL_PATH_MAX}: the longest relative path, and the part below /local/domain/N/. */
    public static final int REL_PATH_MAX = 2048;
    /** The largest whole message. */
    public static final int MESSAGE_MAX = HEADER_LENGTH + PAYLOAD_MAX;
    /** {@code XENSTORE_RING_SIZE}: the guest ring's size each way. */
    public static final int RING_SIZE = 1024;
    /** The first domain id Xen reserves ({@code DOMID_FIRST_RESERVED}); real domains are below it. */
    public static final int DOMID_FIRST_RESERVED = 0x7FF0;

    private XsWireDescriptor()
    {
    }
}
