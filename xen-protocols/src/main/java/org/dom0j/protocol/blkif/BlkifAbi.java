package org.dom0j.protocol.blkif;

/**
 * The request and response layouts of the block ring, one per guest ABI. A 64-bit guest uses natural alignment;
 * a 32-bit x86 guest aligns {@code uint64_t} on 4 bytes, which moves every field after {@code handle}. The
 * frontend names its ABI in its {@code protocol} key ("x86_32-abi", "x86_64-abi"); no key means native, which
 * for dom0j (x86_64) is the 64-bit layout.
 *
 * <pre>
 * request, read/write                 x86_64   x86_32
 *   u8  operation                          0        0
 *   u8  nr_segments                        1        1
 *   u16 handle                             2        2
 *   u64 id                                 8        4
 *   u64 sector_number                     16       12
 *   seg[11] {u32 gref; u8 first_sect;     24       20    (8 bytes each)
 *            u8 last_sect; u16 pad}
 *   size                                 112      108
 * request, discard: u8 flag at 1, u64 nr_sectors after sector_number (24 / 20)
 * request, indirect: u8 indirect_op at 1, u16 nr_segments at 2, u16 handle after sector_number (24 / 20),
 *   u32 indirect_grefs[8] at 28 / 24
 * response: u64 id 0, u8 operation 8, i16 status 10; size 16 / 12 (BlkifResponseDescriptor)
 * </pre>
 * Immutable; any thread.
 */
public enum BlkifAbi
{
    /** 64-bit x86 guests, and the native layout of dom0j. */
    X86_64("x86_64-abi", 8, 112, BlkifResponseDescriptor.LENGTH_X86_64),
    /** 32-bit x86 guests. */
    X86_32("x86_32-abi", 4, 108, BlkifResponseDescriptor.LENGTH_X86_32);

    private final String protocol;
    private final int idOffset;
    private final int requestSize;
    private final int responseSize;

    BlkifAbi(final String protocol, final int idOffset, final int requestSize, final int responseSize)
    {
        this.protocol = protocol;
        this.idOffset = idOffset;
        this.requestSize = requestSize;
        this.responseSize = responseSize;
    }

    /**
     * @return the value of the frontend's {@code protocol} key for this ABI.
     */
    public String protocol()
    {
        return protocol;
    }

    /**
     * @return offset of the u64 {@code id} in every request variant.
     */
    public int idOffset()
    {
        return idOffset;
    }

    /**
     * @return offset of {@code sector_number} (read/write, discard and indirect alike).
     */
    public int sectorNumberOffset()
    {
        return idOffset + 8;
    }

    /**
     * @return offset of the first of the 11 direct segments.
     */
    public int segmentsOffset()
    {
        return idOffset + 16;
    }

    /**
     * @return offset of {@code nr_sectors} in a discard request.
     */
    public int discardNrSectorsOffset()
    {
        return idOffset + 16;
    }

    /**
     * @return offset of {@code handle} in an indirect request.
     */
    public int indirectHandleOffset()
    {
        return idOffset + 16;
    }

    /**
     * @return offset of {@code indirect_grefs[0]} in an indirect request.
     */
    public int indirectGrefsOffset()
    {
        return idOffset + 20;
    }

    /**
     * @return sizeof(blkif_request) in this ABI.
     */
    public int requestSize()
    {
        return requestSize;
    }

    /**
     * @return sizeof(blkif_response) in this ABI.
     */
    public int responseSize()
    {
        return responseSize;
    }

    /**
     * @return the ring slot size: requests and responses share slots.
     */
    public int slotSize()
    {
        return Math.max(requestSize, responseSize);
    }

    /**
     * @param protocol the frontend's {@code protocol} value, or null when it wrote none.
     * @return the ABI, or null when the value names none dom0j serves.
     */
    public static BlkifAbi ofProtocol(final String protocol)
    {
        if (null == protocol || protocol.isEmpty())
        {
            return X86_64;
        }
        for (final BlkifAbi abi : values())
        {
            if (abi.protocol.equals(protocol))
            {
                return abi;
            }
        }
        return null;
    }
}
