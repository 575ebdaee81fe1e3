package org.dom0j.protocol.netif;

/**
 * Layouts of the network protocol's structs, {@code xen/include/public/io/netif.h} (Xen 4.17): the same on every
 * guest ABI (no 64-bit field, no padding that differs). Checked at compile time against that header by
 * {@code NetifLayoutConformanceTest}. All fields are little-endian.
 * <pre>
 *  netif_tx_request (12)            netif_tx_response (4, in a 12-byte slot)
 *  +------+------+------+------+    +------+------+
 *  | gref (u32)  |offset|flags |    |  id  |status|
 *  +------+------+------+------+    +------+------+
 *  |  id  | size |                   netif_rx_request (8)          netif_rx_response (8)
 *  +------+------+                   +------+------+------+------+ +------+------+------+------+
 *                                    |  id  | pad  | gref (u32)  | |  id  |offset|flags |status|
 *  netif_extra_info (8)              +------+------+------+------+ +------+------+------+------+
 *  +----+-----+------------------------------------+
 *  |type|flags| gso: size u16, type u8, pad, features u16 | mcast: addr[6] |
 *  |    |     | hash: type u8, algorithm u8, value u32 (LE) | xdp: headroom u16 |
 *  +----+-----+------------------------------------+
 *  xen_netif_ctrl_request (16)                        xen_netif_ctrl_response (12, in a 16-byte slot)
 *  +------+------+-------------+-------------+-------------+  +------+------+-------------+-------------+
 *  |  id  | type | data[0]     | data[1]     | data[2]     |  |  id  | type | status      | data        |
 *  +------+------+-------------+-------------+-------------+  +------+------+-------------+-------------+
 * </pre>
 * The TX ring's slots are 12 bytes (requests and extra infos), the RX ring's 8 (responses and extra infos), the ctrl
 * ring's 16; one page holds 256, 256 and 128 of them.
 */
public final class NetifDescriptor
{
    /** sizeof(struct netif_tx_request). */
    public static final int TX_REQUEST_LENGTH = 12;
    /** offsetof(netif_tx_request, gref). */
    public static final int TX_REQUEST_GREF_OFFSET = 0;
    /** offsetof(netif_tx_request, offset). */
    public static final int TX_REQUEST_OFFSET_OFFSET = 4;
    /** offsetof(netif_tx_request, flags). */
    public static final int TX_REQUEST_FLAGS_OFFSET = 6;
    /** offsetof(netif_tx_request, id). */
    public static final int TX_REQUEST_ID_OFFSET = 8;
    /** offsetof(netif_tx_request, size). */
    public static final int TX_REQUEST_SIZE_OFFSET = 10;

    /** sizeof(struct netif_tx_response). */
    public static final int TX_RESPONSE_LENGTH = 4;
    /** offsetof(netif_tx_response, id). */
    public static final int TX_RESPONSE_ID_OFFSET = 0;
    /** offsetof(netif_tx_response, status). */
    public static final int TX_RESPONSE_STATUS_OFFSET = 2;

    /** sizeof(struct netif_rx_request). */
    public static final int RX_REQUEST_LENGTH = 8;
    /** offsetof(netif_rx_request, id). */
    public static final int RX_REQUEST_ID_OFFSET = 0;
    /** offsetof(netif_rx_request, gref). */
    public static final int RX_REQUEST_GREF_OFFSET = 4;

    /** sizeof(struct netif_rx_response). */
    public static final int RX_RESPONSE_LENGTH = 8;
    /** offsetof(netif_rx_response, id). */
    public static final int RX_RESPONSE_ID_OFFSET = 0;
    /** offsetof(netif_rx_response, offset). */
    public static final int RX_RESPONSE_OFFSET_OFFSET = 2;
    /** offsetof(netif_rx_response, flags). */
    public static final int RX_RESPONSE_FLAGS_OFFSET = 4;
    /** offsetof(netif_rx_response, status): negative NETIF_RSP_*, else the bytes in this slot. */
    public static final int RX_RESPONSE_STATUS_OFFSET = 6;

    /** sizeof(struct netif_extra_info). */
    public static final int EXTRA_LENGTH = 8;
    /** offsetof(netif_extra_info, type). */
    public static final int EXTRA_TYPE_OFFSET = 0;
    /** offsetof(netif_extra_info, flags). */
    public static final int EXTRA_FLAGS_OFFSET = 1;
    /** offsetof(netif_extra_info, u.gso.size). */
    public static final int EXTRA_GSO_SIZE_OFFSET = 2;
    /** offsetof(netif_extra_info, u.gso.type). */
    public static final int EXTRA_GSO_TYPE_OFFSET = 4;
    /** offsetof(netif_extra_info, u.gso.features). */
    public static final int EXTRA_GSO_FEATURES_OFFSET = 6;
    /** offsetof(netif_extra_info, u.mcast.addr). */
    public static final int EXTRA_MCAST_ADDR_OFFSET = 2;
    /** offsetof(netif_extra_info, u.hash.type). */
    public static final int EXTRA_HASH_TYPE_OFFSET = 2;
    /** offsetof(netif_extra_info, u.hash.algorithm). */
    public static final int EXTRA_HASH_ALGORITHM_OFFSET = 3;
    /** offsetof(netif_extra_info, u.hash.value): 4 bytes, least significant first. */
    public static final int EXTRA_HASH_VALUE_OFFSET = 4;
    /** offsetof(netif_extra_info, u.xdp.headroom) (Linux's header). */
    public static final int EXTRA_XDP_HEADROOM_OFFSET = 2;

    /** sizeof(struct xen_netif_ctrl_request). */
    public static final int CTRL_REQUEST_LENGTH = 16;
    /** offsetof(xen_netif_ctrl_request, id). */
    public static final int CTRL_REQUEST_ID_OFFSET = 0;
    /** offsetof(xen_netif_ctrl_request, type). */
    public static final int CTRL_REQUEST_TYPE_OFFSET = 2;
    /** offsetof(xen_netif_ctrl_request, data): three u32. */
    public static final int CTRL_REQUEST_DATA_OFFSET = 4;

    /** sizeof(struct xen_netif_ctrl_response). */
    public static final int CTRL_RESPONSE_LENGTH = 12;
    /** offsetof(xen_netif_ctrl_response, id). */
    public static final int CTRL_RESPONSE_ID_OFFSET = 0;
    /** offsetof(xen_netif_ctrl_response, type). */
    public static final int CTRL_RESPONSE_TYPE_OFFSET = 2;
    /** offsetof(xen_netif_ctrl_response, status). */
    public static final int CTRL_RESPONSE_STATUS_OFFSET = 4;
    /** offsetof(xen_netif_ctrl_response, data). */
    public static final int CTRL_RESPONSE_DATA_OFFSET = 8;

    /** sizeof(struct xen_netif_gref). */
    public static final int GREF_LENGTH = 8;
    /** offsetof(xen_netif_gref, ref). */
    public static final int GREF_REF_OFFSET = 0;
    /** offsetof(xen_netif_gref, flags). */
    public static final int GREF_FLAGS_OFFSET = 4;
    /** offsetof(xen_netif_gref, status). */
    public static final int GREF_STATUS_OFFSET = 6;

    private NetifDescriptor()
    {
    }
}
