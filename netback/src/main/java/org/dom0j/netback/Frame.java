package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * One Ethernet frame on its way through the service, described rather than held: its first {@link #localLength()}
 * bytes lie contiguously in this process's memory, the rest (if any) in foreign grants ({@link #segmentCount()}
 * segments of a guest's TX pages), together with what travels with a frame in Xen and virtio: checksum state, GSO
 * type and size, a flow hash. Data is moved by the receiving end with one grant copy per piece, so a frame whose
 * bytes are still in a sender's pages is copied once, straight from guest to guest.
 * <p>
 * A mutable holder, reused: each agent keeps its own in fields. Not thread safe.
 */
final class Frame
{
    /** No checksum information: the receiver verifies. */
    static final int CSUM_NONE = 0;
    /** The L4 checksum field holds only the pseudo-header sum ({@code csum_blank} / {@code CHECKSUM_PARTIAL}). */
    static final int CSUM_PARTIAL = 1;
    /** The data has been checked against its checksum ({@code data_validated} / {@code CHECKSUM_UNNECESSARY}). */
    static final int CSUM_VALIDATED = 2;

    /** The most foreign segments a frame carries: netif's fatal slot limit, one slot each. */
    static final int MAX_SEGMENTS = 20;
    /** The largest frame: netif's XEN_NETIF_MAX_TX_SIZE. */
    static final int MAX_LENGTH = 0xFFFF;

    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private final PacketHeaders headers = new PacketHeaders();
    private final int[] segDomid = new int[MAX_SEGMENTS];
    private final int[] segRef = new int[MAX_SEGMENTS];
    private final int[] segOffset = new int[MAX_SEGMENTS];
    private final int[] segLength = new int[MAX_SEGMENTS];
    private int length;
    private long localAddress;
    private int localLength;
    private int segmentCount;
    private int csum;
    private int gsoType;
    private int gsoSize;
    private int hashType = -1;
    private int hash;
    private int flowHash;
    private int completionEndpoint = -1;
    private int completionToken;

    /**
     * Starts a frame whose bytes are all local.
     *
     * @param address where the frame is.
     * @param frameLength its length.
     * @return this.
     */
    Frame local(final long address, final int frameLength)
    {
        length = frameLength;
        localAddress = address;
        localLength = frameLength;
        segmentCount = 0;
        csum = CSUM_NONE;
        gsoType = 0;
        gsoSize = 0;
        hashType = -1;
        hash = 0;
        flowHash = 0;
        completionEndpoint = -1;
        completionToken = 0;
        view.wrap(address, Math.max(frameLength, 1));
        return this;
    }

    /**
     * Starts a frame whose first {@code headerLength} bytes are local and whose remaining bytes follow in segments
     * added with {@link #addSegment}.
     *
     * @param address      where the local bytes are.
     * @param headerLength how many there are.
     * @param frameLength  the whole frame's length.
     * @return this.
     */
    Frame split(final long address, final int headerLength, final int frameLength)
    {
        local(address, headerLength);
        length = frameLength;
        return this;
    }

    /**
     * @param domid     the granting guest.
     * @param ref       its grant ref.
     * @param offset    where the bytes start in the page.
     * @param bytes     how many (the segment stays within the page).
     */
    void addSegment(final int domid, final int ref, final int offset, final int bytes)
    {
        final int i = segmentCount++;
        segDomid[i] = domid;
        segRef[i] = ref;
        segOffset[i] = offset;
        segLength[i] = bytes;
    }

    /**
     * @param state  CSUM_*.
     * @return this.
     */
    Frame csum(final int state)
    {
        csum = state;
        return this;
    }

    /**
     * @param type XEN_NETIF_GSO_TYPE_*, 0 for none.
     * @param size the segment payload size (MSS).
     * @return this.
     */
    Frame gso(final int type, final int size)
    {
        gsoType = type;
        gsoSize = size;
        return this;
    }

    /**
     * @param type  the hash type's bit number (_XEN_NETIF_CTRL_HASH_TYPE_*), -1 for none.
     * @param value the hash.
     * @return this.
     */
    Frame hash(final int type, final int value)
    {
        hashType = type;
        hash = value;
        return this;
    }

    /**
     * @param value the frame's flow hash ({@link PacketHeaders#flowHash}), which picks the receiving queue.
     * @return this.
     */
    Frame flowHash(final int value)
    {
        flowHash = value;
        return this;
    }

    int flowHash()
    {
        return flowHash;
    }

    /**
     * @param endpoint the sending queue's {@link TxEndpoints} id, for a frame whose bytes are still in the sender's
     *                 pages: each receiver tells it when it has copied them.
     * @param token    the packet's token in the sender's {@link TxCompletions}.
     * @return this.
     */
    Frame completion(final int endpoint, final int token)
    {
        completionEndpoint = endpoint;
        completionToken = token;
        return this;
    }

    /**
     * @return the sender to tell when the frame's foreign bytes have been copied, or -1 when there is none.
     */
    int completionEndpoint()
    {
        return completionEndpoint;
    }

    int completionToken()
    {
        return completionToken;
    }

    /**
     * Describes the frame's foreign bytes as now local: they were copied to just after its local bytes.
     */
    void madeLocal()
    {
        localLength = length;
        segmentCount = 0;
        view.wrap(localAddress, Math.max(length, 1));
    }

    int length()
    {
        return length;
    }

    long localAddress()
    {
        return localAddress;
    }

    int localLength()
    {
        return localLength;
    }

    /**
     * @return the local bytes, for reading headers.
     */
    UnsafeBuffer localView()
    {
        return view;
    }

    /**
     * @return a header parser that goes with this holder, for whoever holds the frame to parse it into without a
     *         parser of its own ({@link Vif#deliver} runs on whichever agent forwards the frame); it describes the
     *         frame only after that caller parsed it.
     */
    PacketHeaders headers()
    {
        return headers;
    }

    int segmentCount()
    {
        return segmentCount;
    }

    int segmentDomid(final int i)
    {
        return segDomid[i];
    }

    int segmentRef(final int i)
    {
        return segRef[i];
    }

    int segmentOffset(final int i)
    {
        return segOffset[i];
    }

    int segmentLength(final int i)
    {
        return segLength[i];
    }

    int csum()
    {
        return csum;
    }

    int gsoType()
    {
        return gsoType;
    }

    int gsoSize()
    {
        return gsoSize;
    }

    int hashType()
    {
        return hashType;
    }

    int hash()
    {
        return hash;
    }

    /**
     * @return whether every byte is local (no foreign segment).
     */
    boolean isLocal()
    {
        return segmentCount == 0;
    }
}
