package org.dom0j.netback;

import org.agrona.DirectBuffer;

import java.util.Arrays;

import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * A vif's hashing configuration as its frontend set it over the control ring (netif.h, "Hash types" and the
 * {@code XEN_NETIF_CTRL_TYPE_*HASH*} messages): the algorithm, the enabled hash types, the 40-byte Toeplitz key and
 * the mapping table from hash to queue (up to {@link #MAX_MAPPING_SIZE} entries, size 0 meaning hash modulo the
 * number of queues). An immutable snapshot: the control ring's agent builds a new one and publishes it in the
 * {@link Vif}'s volatile field; whichever agent delivers a frame to the vif reads that field once and uses the
 * snapshot it got.
 * <p>
 * <b>Which bytes are hashed</b> ({@link #hash}), following netif.h's definitions and its "maximal type" rule, as
 * Linux's netback chooses: for IPv4, the source and destination addresses and then the TCP source and destination
 * ports (12 bytes, type IPV4_TCP) when IPV4_TCP is enabled and the packet is TCP and not a fragment, else the two
 * addresses (8 bytes, type IPV4) when IPV4 is enabled, else no hash; the same for IPv6 with 16-byte addresses (36 or
 * 32 bytes, IPV6_TCP or IPV6). The ports are read where the TCP header is (after IPv4 options or IPv6 extension
 * headers, as Linux's flow dissector reads them); a TCP header whose ports are cut off counts as no TCP header.
 * One 802.1Q tag is looked through (Linux hashes such a frame by its inner header when the tag travels out of band).
 * <p>
 * Immutable: any thread. {@link #hash} and {@link #queue} allocate nothing.
 */
final class HashConfig
{
    /** The largest mapping table (Linux's XEN_NETBK_MAX_HASH_MAPPING_SIZE). */
    static final int MAX_MAPPING_SIZE = 128;
    /** The hash types netback computes: IPV4, IPV4_TCP, IPV6, IPV6_TCP. */
    static final int SUPPORTED_TYPES = XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |
        XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
    /** What {@link #hash} returns for a frame no enabled type covers. */
    static final long NO_HASH = -1L;
    /** Hashing off: the backend steers by its own flow hash and sends no hash to the guest. */
    static final HashConfig NONE = new HashConfig(XEN_NETIF_CTRL_HASH_ALGORITHM_NONE, 0, new byte[0],
        new int[0], 0);

    private static final int IPV4_ADDRESSES = 12;
    private static final int IPV6_ADDRESSES = 8;
    private static final int TCP_PORTS_LENGTH = 4;

    private final int algorithm;
    private final int types;
    private final byte[] key = new byte[ToeplitzHash.MAX_KEY_LENGTH];
    private final int[] mapping = new int[MAX_MAPPING_SIZE];
    private final int mappingSize;

    /**
     * @param algorithm   XEN_NETIF_CTRL_HASH_ALGORITHM_*.
     * @param types       the enabled XEN_NETIF_CTRL_HASH_TYPE_* flags (within {@link #SUPPORTED_TYPES}).
     * @param key         the key (copied; up to 40 bytes, the rest zero).
     * @param mapping     the mapping table (its first {@code mappingSize} entries are copied).
     * @param mappingSize the table's size, 0 to {@link #MAX_MAPPING_SIZE}.
     */
    HashConfig(final int algorithm, final int types, final byte[] key, final int[] mapping, final int mappingSize)
    {
        if ((types & ~SUPPORTED_TYPES) != 0 || key.length > ToeplitzHash.MAX_KEY_LENGTH ||
            mappingSize < 0 || mappingSize > MAX_MAPPING_SIZE)
        {
            throw new IllegalArgumentException("hash types " + types + ", key of " + key.length + " bytes, mapping " +
                mappingSize);
        }
        this.algorithm = algorithm;
        this.types = types;
        this.mappingSize = mappingSize;
        System.arraycopy(key, 0, this.key, 0, key.length);
        System.arraycopy(mapping, 0, this.mapping, 0, mappingSize);
    }

    /**
     * @return whether the frontend chose Toeplitz hashing (then the hash and the mapping decide the queue).
     */
    boolean isActive()
    {
        return algorithm == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
    }

    int algorithm()
    {
        return algorithm;
    }

    /**
     * @return the enabled XEN_NETIF_CTRL_HASH_TYPE_* flags.
     */
    int types()
    {
        return types;
    }

    /**
     * @param i a key byte's index, 0 to 39.
     * @return it.
     */
    int key(final int i)
    {
        return key[i] & 0xFF;
    }

    int mappingSize()
    {
        return mappingSize;
    }

    /**
     * @param i an entry, below {@link #mappingSize()}.
     * @return the queue it names.
     */
    int mapping(final int i)
    {
        return mapping[i];
    }

    /**
     * Parses a frame's headers and computes its hash for the maximal enabled type.
     *
     * @param frame   the frame's bytes, from offset 0.
     * @param length  how many of them are there.
     * @param headers parsed into (the caller's own).
     * @return {@link #NO_HASH}, or the type's bit number (_XEN_NETIF_CTRL_HASH_TYPE_*) in the upper 32 bits and the
     *         hash in the lower ({@link #typeOf}, {@link #valueOf}).
     */
    long hash(final DirectBuffer frame, final int length, final PacketHeaders headers)
    {
        headers.parse(frame, 0, length);
        final int version = headers.ipVersion();
        final boolean tcp = headers.l4Protocol() == PacketHeaders.IPPROTO_TCP && !headers.isFragment() &&
            headers.l4Offset() + TCP_PORTS_LENGTH <= length;
        final int l3 = headers.l3Offset();
        if (version == 4)
        {
            if (tcp && (types & XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP) != 0)
            {
                return result(XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT,
                    addressesAndPorts(frame, l3 + IPV4_ADDRESSES, 8, headers.l4Offset()));
            }
            if ((types & XEN_NETIF_CTRL_HASH_TYPE_IPV4) != 0)
            {
                return result(XEN_NETIF_CTRL_HASH_TYPE_IPV4_BIT,
                    ToeplitzHash.hash(key, key.length, frame, l3 + IPV4_ADDRESSES, 8));
            }
        }
        else if (version == 6)
        {
            if (tcp && (types & XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP) != 0)
            {
                return result(XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP_BIT,
                    addressesAndPorts(frame, l3 + IPV6_ADDRESSES, 32, headers.l4Offset()));
            }
            if ((types & XEN_NETIF_CTRL_HASH_TYPE_IPV6) != 0)
            {
                return result(XEN_NETIF_CTRL_HASH_TYPE_IPV6_BIT,
                    ToeplitzHash.hash(key, key.length, frame, l3 + IPV6_ADDRESSES, 32));
            }
        }
        return NO_HASH;
    }

    private int addressesAndPorts(final DirectBuffer frame, final int addresses, final int addressLength,
        final int ports)
    {
        return ToeplitzHash.hash(key, key.length, 0, frame, addresses, addressLength) ^
            ToeplitzHash.hash(key, key.length, addressLength, frame, ports, TCP_PORTS_LENGTH);
    }

    private static long result(final int typeBit, final int value)
    {
        return (long)typeBit << 32 | value & 0xFFFF_FFFFL;
    }

    /**
     * @param result what {@link #hash} returned.
     * @return the hash type's bit number, -1 for none (as {@link Frame#hash(int, int)} takes it).
     */
    static int typeOf(final long result)
    {
        return result == NO_HASH ? -1 : (int)(result >>> 32);
    }

    /**
     * @param result what {@link #hash} returned.
     * @return the hash, 0 for none (Linux steers an unhashed frame as hash 0).
     */
    static int valueOf(final long result)
    {
        return result == NO_HASH ? 0 : (int)result;
    }

    /**
     * The queue for a hash, as Linux's netback picks it: the mapping table's entry at hash modulo its size (the
     * hash taken as unsigned), or hash modulo the number of queues when there is no table; an entry the queues do
     * not reach (the table was checked against the frontend's queues, fewer may be connected yet) is taken modulo
     * their number.
     *
     * @param hash   the hash ({@link #valueOf}).
     * @param queues how many queues are connected, at least 1.
     * @return the queue's index.
     */
    int queue(final int hash, final int queues)
    {
        if (mappingSize == 0)
        {
            return Integer.remainderUnsigned(hash, queues);
        }
        final int entry = mapping[Integer.remainderUnsigned(hash, mappingSize)];
        return entry < queues ? entry : Integer.remainderUnsigned(entry, queues);
    }

    /**
     * @param otherAlgorithm   an algorithm.
     * @param otherTypes       enabled types.
     * @param otherKey         a 40-byte key.
     * @param otherMapping     a mapping table.
     * @param otherMappingSize its size.
     * @return whether this snapshot says the same (so there is nothing new to publish).
     */
    boolean matches(final int otherAlgorithm, final int otherTypes, final byte[] otherKey, final int[] otherMapping,
        final int otherMappingSize)
    {
        return algorithm == otherAlgorithm && types == otherTypes && mappingSize == otherMappingSize &&
            Arrays.equals(key, otherKey) && Arrays.equals(mapping, 0, mappingSize, otherMapping, 0, mappingSize);
    }

    @Override
    public String toString()
    {
        return "HashConfig{algorithm=" + algorithm + ", types=0x" + Integer.toHexString(types) + ", mapping " +
            mappingSize + " entries}";
    }
}
