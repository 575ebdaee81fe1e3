package org.dom0j.protocol.netif;

/**
 * Constants of the network protocol, {@code xen/include/public/io/netif.h} (Xen 4.17), and the few that Linux's own
 * copy of the header adds since (the XDP extra type). Checked against Xen's header by
 * {@code NetifLayoutConformanceTest}.
 */
public final class NetifConstants
{
    /** Xen page size: a slot's data never crosses it. */
    public static final int PAGE_SIZE = 4096;

    /** XEN_NETIF_NR_SLOTS_MIN: slots per packet every backend must accept (old Linux MAX_SKB_FRAGS). */
    public static final int XEN_NETIF_NR_SLOTS_MIN = 18;
    /** XEN_NETIF_MAX_TX_SIZE: the largest packet a TX request may describe. */
    public static final int XEN_NETIF_MAX_TX_SIZE = 0xFFFF;

    /** NETTXF_csum_blank: the protocol checksum field is blank (checksum offload). */
    public static final int NETTXF_CSUM_BLANK = 1;
    /** NETTXF_data_validated: the data has been checked against its protocol checksum. */
    public static final int NETTXF_DATA_VALIDATED = 1 << 1;
    /** NETTXF_more_data: the packet continues in the next request. */
    public static final int NETTXF_MORE_DATA = 1 << 2;
    /** NETTXF_extra_info: extra info descriptors follow this request. */
    public static final int NETTXF_EXTRA_INFO = 1 << 3;

    /** NETRXF_data_validated. */
    public static final int NETRXF_DATA_VALIDATED = 1;
    /** NETRXF_csum_blank. */
    public static final int NETRXF_CSUM_BLANK = 1 << 1;
    /** NETRXF_more_data. */
    public static final int NETRXF_MORE_DATA = 1 << 2;
    /** NETRXF_extra_info. */
    public static final int NETRXF_EXTRA_INFO = 1 << 3;
    /** NETRXF_gso_prefix (deprecated; never sent by dom0j). */
    public static final int NETRXF_GSO_PREFIX = 1 << 4;

    /** XEN_NETIF_EXTRA_TYPE_NONE: never valid. */
    public static final int XEN_NETIF_EXTRA_TYPE_NONE = 0;
    /** XEN_NETIF_EXTRA_TYPE_GSO. */
    public static final int XEN_NETIF_EXTRA_TYPE_GSO = 1;
    /** XEN_NETIF_EXTRA_TYPE_MCAST_ADD. */
    public static final int XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
    /** XEN_NETIF_EXTRA_TYPE_MCAST_DEL. */
    public static final int XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
    /** XEN_NETIF_EXTRA_TYPE_HASH. */
    public static final int XEN_NETIF_EXTRA_TYPE_HASH = 4;
    /** XEN_NETIF_EXTRA_TYPE_XDP (Linux's netif.h; not in Xen 4.17's): RX headroom in the first slot. */
    public static final int XEN_NETIF_EXTRA_TYPE_XDP = 5;
    /** XEN_NETIF_EXTRA_TYPE_MAX as Linux has it (one past XDP). */
    public static final int XEN_NETIF_EXTRA_TYPE_MAX = 6;
    /** XEN_NETIF_EXTRA_TYPE_MAX in Xen 4.17's header (before XDP). */
    public static final int XEN_NETIF_EXTRA_TYPE_MAX_XEN_4_17 = 5;

    /** XEN_NETIF_EXTRA_FLAG_MORE: another extra info descriptor follows. */
    public static final int XEN_NETIF_EXTRA_FLAG_MORE = 1;

    /** XEN_NETIF_GSO_TYPE_NONE. */
    public static final int XEN_NETIF_GSO_TYPE_NONE = 0;
    /** XEN_NETIF_GSO_TYPE_TCPV4. */
    public static final int XEN_NETIF_GSO_TYPE_TCPV4 = 1;
    /** XEN_NETIF_GSO_TYPE_TCPV6. */
    public static final int XEN_NETIF_GSO_TYPE_TCPV6 = 2;

    /** NETIF_RSP_DROPPED. */
    public static final short NETIF_RSP_DROPPED = -2;
    /** NETIF_RSP_ERROR. */
    public static final short NETIF_RSP_ERROR = -1;
    /** NETIF_RSP_OKAY. */
    public static final short NETIF_RSP_OKAY = 0;
    /** NETIF_RSP_NULL: the response slot of an extra info request. */
    public static final short NETIF_RSP_NULL = 1;

    /** XEN_NETIF_CTRL_TYPE_INVALID. */
    public static final int XEN_NETIF_CTRL_TYPE_INVALID = 0;
    /** XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS. */
    public static final int XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS = 1;
    /** XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS. */
    public static final int XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS = 2;
    /** XEN_NETIF_CTRL_TYPE_SET_HASH_KEY. */
    public static final int XEN_NETIF_CTRL_TYPE_SET_HASH_KEY = 3;
    /** XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE. */
    public static final int XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE = 4;
    /** XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE. */
    public static final int XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE = 5;
    /** XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING. */
    public static final int XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING = 6;
    /** XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM. */
    public static final int XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM = 7;
    /** XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE. */
    public static final int XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE = 8;
    /** XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING. */
    public static final int XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING = 9;
    /** XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING. */
    public static final int XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING = 10;

    /** XEN_NETIF_CTRL_STATUS_SUCCESS. */
    public static final int XEN_NETIF_CTRL_STATUS_SUCCESS = 0;
    /** XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED. */
    public static final int XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED = 1;
    /** XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER. */
    public static final int XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER = 2;
    /** XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW. */
    public static final int XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW = 3;

    /** XEN_NETIF_CTRL_HASH_ALGORITHM_NONE. */
    public static final int XEN_NETIF_CTRL_HASH_ALGORITHM_NONE = 0;
    /** XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ. */
    public static final int XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ = 1;

    /** _XEN_NETIF_CTRL_HASH_TYPE_IPV4: the bit number, as the HASH extra info's type carries it. */
    public static final int XEN_NETIF_CTRL_HASH_TYPE_IPV4_BIT = 0;
    /** _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP. */
    public static final int XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT = 1;
    /** _XEN_NETIF_CTRL_HASH_TYPE_IPV6. */
    public static final int XEN_NETIF_CTRL_HASH_TYPE_IPV6_BIT = 2;
    /** _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP. */
    public static final int XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP_BIT = 3;
    /** XEN_NETIF_CTRL_HASH_TYPE_IPV4: hash over the IPv4 addresses. */
    public static final int XEN_NETIF_CTRL_HASH_TYPE_IPV4 = 1 << XEN_NETIF_CTRL_HASH_TYPE_IPV4_BIT;
    /** XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP: addresses and TCP ports. */
    public static final int XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP = 1 << XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT;
    /** XEN_NETIF_CTRL_HASH_TYPE_IPV6. */
    public static final int XEN_NETIF_CTRL_HASH_TYPE_IPV6 = 1 << XEN_NETIF_CTRL_HASH_TYPE_IPV6_BIT;
    /** XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP. */
    public static final int XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP = 1 << XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP_BIT;

    /** XEN_NETIF_CTRLF_GREF_readonly. */
    public static final int XEN_NETIF_CTRLF_GREF_READONLY = 1;

    private NetifConstants()
    {
    }
}
