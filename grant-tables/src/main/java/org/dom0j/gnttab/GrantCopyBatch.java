package org.dom0j.gnttab;

/**
 * A batch of grant copy operations ({@code struct gnttab_copy}), held in parallel primitive arrays sized once,
 * reused from request to request without allocation. Each operation copies {@code length} bytes between a
 * foreign grant ({@code domid}, {@code ref}, {@code offset}) and a local buffer address, in one direction, or from
 * one foreign grant straight into another ({@link #addForeignToForeign}: Xen's {@code GNTTABOP_copy} takes a grant
 * ref on both sides, so data moves between two guests' pages in one copy, never touching this domain's memory).
 * <p>
 * Not thread safe: one batch per agent.
 */
public final class GrantCopyBatch
{
    /** GNTST_okay. */
    public static final short GNTST_OKAY = 0;
    /** GNTST_general_error. */
    public static final short GNTST_GENERAL_ERROR = -1;
    /** GNTST_bad_domain. */
    public static final short GNTST_BAD_DOMAIN = -2;
    /** GNTST_bad_gntref. */
    public static final short GNTST_BAD_GNTREF = -3;
    /** GNTST_bad_handle. */
    public static final short GNTST_BAD_HANDLE = -4;
    /** GNTST_bad_virt_addr. */
    public static final short GNTST_BAD_VIRT_ADDR = -5;
    /** GNTST_bad_dev_addr. */
    public static final short GNTST_BAD_DEV_ADDR = -6;
    /** GNTST_no_device_space. */
    public static final short GNTST_NO_DEVICE_SPACE = -7;
    /** GNTST_permission_denied. */
    public static final short GNTST_PERMISSION_DENIED = -8;
    /** GNTST_bad_page. */
    public static final short GNTST_BAD_PAGE = -9;
    /** GNTST_bad_copy_arg. */
    public static final short GNTST_BAD_COPY_ARG = -10;
    /** GNTST_address_too_big. */
    public static final short GNTST_ADDRESS_TOO_BIG = -11;
    /** GNTST_eagain. */
    public static final short GNTST_EAGAIN = -12;
    /** GNTST_no_space. */
    public static final short GNTST_NO_SPACE = -13;

    private final int capacity;
    private final boolean[] toForeign;
    private final boolean[] foreignToForeign;
    private final int[] sourceDomid;
    private final int[] sourceRef;
    private final int[] sourceOffset;
    private final int[] domid;
    private final int[] ref;
    private final int[] foreignOffset;
    private final long[] localAddress;
    private final int[] length;
    private final short[] status;
    private int count;

    /**
     * @param capacity the most operations one batch holds.
     */
    public GrantCopyBatch(final int capacity)
    {
        if (capacity <= 0)
        {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.capacity = capacity;
        toForeign = new boolean[capacity];
        foreignToForeign = new boolean[capacity];
        sourceDomid = new int[capacity];
        sourceRef = new int[capacity];
        sourceOffset = new int[capacity];
        domid = new int[capacity];
        ref = new int[capacity];
        foreignOffset = new int[capacity];
        localAddress = new long[capacity];
        length = new int[capacity];
        status = new short[capacity];
    }

    /**
     * Empties the batch for reuse.
     */
    public void clear()
    {
        count = 0;
    }

    /**
     * @return the most operations it holds.
     */
    public int capacity()
    {
        return capacity;
    }

    /**
     * @return how many operations it holds.
     */
    public int count()
    {
        return count;
    }

    /**
     * @return whether no more operations fit.
     */
    public boolean isFull()
    {
        return count == capacity;
    }

    /**
     * Adds a copy from a foreign grant into local memory.
     *
     * @param domid         granting domain.
     * @param ref           grant ref.
     * @param foreignOffset offset within the granted page.
     * @param localAddress  address of the local destination.
     * @param length        bytes, so that {@code foreignOffset + length <= 4096}.
     * @return the index of the operation.
     */
    public int addFromForeign(
        final int domid, final int ref, final int foreignOffset, final long localAddress, final int length)
    {
        return add(false, domid, ref, foreignOffset, localAddress, length);
    }

    /**
     * Adds a copy from local memory into a foreign grant.
     *
     * @param domid         granting domain.
     * @param ref           grant ref.
     * @param foreignOffset offset within the granted page.
     * @param localAddress  address of the local source.
     * @param length        bytes, so that {@code foreignOffset + length <= 4096}.
     * @return the index of the operation.
     */
    public int addToForeign(
        final int domid, final int ref, final int foreignOffset, final long localAddress, final int length)
    {
        return add(true, domid, ref, foreignOffset, localAddress, length);
    }

    /**
     * Adds a copy from one foreign grant into another ({@code GNTCOPY_source_gref | GNTCOPY_dest_gref}). For this
     * operation {@link #domid}, {@link #ref} and {@link #foreignOffset} name the destination; {@link #localAddress}
     * is unused.
     *
     * @param srcDomid  the domain that granted the source page.
     * @param srcRef    the source grant ref.
     * @param srcOffset offset within the source page.
     * @param dstDomid  the domain that granted the destination page.
     * @param dstRef    the destination grant ref (granted writable).
     * @param dstOffset offset within the destination page.
     * @param length    bytes, so that neither side crosses its page.
     * @return the index of the operation.
     */
    public int addForeignToForeign(
        final int srcDomid,
        final int srcRef,
        final int srcOffset,
        final int dstDomid,
        final int dstRef,
        final int dstOffset,
        final int length)
    {
        final int i = add(true, dstDomid, dstRef, dstOffset, 0L, length);
        foreignToForeign[i] = true;
        sourceDomid[i] = srcDomid;
        sourceRef[i] = srcRef;
        sourceOffset[i] = srcOffset;
        return i;
    }

    private int add(
        final boolean toForeign,
        final int domid,
        final int ref,
        final int foreignOffset,
        final long localAddress,
        final int length)
    {
        if (count == capacity)
        {
            throw new IllegalStateException("grant copy batch is full: " + capacity);
        }
        final int i = count++;
        this.toForeign[i] = toForeign;
        this.foreignToForeign[i] = false;
        this.domid[i] = domid;
        this.ref[i] = ref;
        this.foreignOffset[i] = foreignOffset;
        this.localAddress[i] = localAddress;
        this.length[i] = length;
        this.status[i] = GNTST_GENERAL_ERROR;
        return i;
    }

    /**
     * @param i operation index.
     * @return true when it copies local memory to the foreign grant.
     */
    public boolean toForeign(final int i)
    {
        return toForeign[i];
    }

    /**
     * @param i operation index.
     * @return true when both sides are foreign grants ({@link #addForeignToForeign}).
     */
    public boolean foreignToForeign(final int i)
    {
        return foreignToForeign[i];
    }

    /**
     * @param i an operation added with {@link #addForeignToForeign}.
     * @return the source page's granting domain.
     */
    public int sourceDomid(final int i)
    {
        return sourceDomid[i];
    }

    /**
     * @param i an operation added with {@link #addForeignToForeign}.
     * @return the source grant ref.
     */
    public int sourceRef(final int i)
    {
        return sourceRef[i];
    }

    /**
     * @param i an operation added with {@link #addForeignToForeign}.
     * @return the offset within the source page.
     */
    public int sourceOffset(final int i)
    {
        return sourceOffset[i];
    }

    /**
     * @param i operation index.
     * @return the granting domain (the destination's, for a foreign-to-foreign copy).
     */
    public int domid(final int i)
    {
        return domid[i];
    }

    /**
     * @param i operation index.
     * @return the grant ref.
     */
    public int ref(final int i)
    {
        return ref[i];
    }

    /**
     * @param i operation index.
     * @return the offset within the granted page.
     */
    public int foreignOffset(final int i)
    {
        return foreignOffset[i];
    }

    /**
     * @param i operation index.
     * @return the local address.
     */
    public long localAddress(final int i)
    {
        return localAddress[i];
    }

    /**
     * @param i operation index.
     * @return the number of bytes.
     */
    public int length(final int i)
    {
        return length[i];
    }

    /**
     * @param i operation index.
     * @return its GNTST_* status, set by {@link GrantTables#copy}.
     */
    public short status(final int i)
    {
        return status[i];
    }

    /**
     * Set by implementations of {@link GrantTables#copy}.
     *
     * @param i      operation index.
     * @param status GNTST_* value.
     */
    public void status(final int i, final short status)
    {
        this.status[i] = status;
    }

    /**
     * @return whether every operation's status is GNTST_okay.
     */
    public boolean allOkay()
    {
        for (int i = 0; i < count; i++)
        {
            if (status[i] != GNTST_OKAY)
            {
                return false;
            }
        }
        return true;
    }
}
