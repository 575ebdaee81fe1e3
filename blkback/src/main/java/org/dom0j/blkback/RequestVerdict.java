package org.dom0j.blkback;

import org.dom0j.protocol.blkif.BlkifConstants;

/**
 * What validation decided about one request: serve it, or answer it with an error status and count why. A bad
 * request never disables the device (Linux's blkback answers these with BLKIF_RSP_ERROR too); only a broken ring
 * does.
 */
public enum RequestVerdict
{
    /** Serve it. */
    OK(BlkifConstants.BLKIF_RSP_OKAY, false, "ok"),
    /** Reserved op 4 or an unknown op. */
    UNSUPPORTED_OPERATION(BlkifConstants.BLKIF_RSP_EOPNOTSUPP, true, "unsupported operation"),
    /** A feature this device did not advertise (discard, barrier, flush, indirect). */
    FEATURE_NOT_ADVERTISED(BlkifConstants.BLKIF_RSP_EOPNOTSUPP, true, "operation not advertised by this backend"),
    /** An indirect request whose indirect_op is neither read nor write. */
    BAD_INDIRECT_OPERATION(BlkifConstants.BLKIF_RSP_ERROR, true, "indirect_op is neither read nor write"),
    /** Zero segments on a read or write, more than 11 direct, or more than the indirect maximum. */
    BAD_SEGMENT_COUNT(BlkifConstants.BLKIF_RSP_ERROR, true, "bad number of segments"),
    /** first_sect greater than last_sect, or last_sect past the page. */
    BAD_SEGMENT_SECTORS(BlkifConstants.BLKIF_RSP_ERROR, true, "segment sectors out of the page"),
    /** The sector range runs past the end of the disk (or wraps). */
    BEYOND_END(BlkifConstants.BLKIF_RSP_ERROR, true, "access beyond end of device"),
    /** A write or discard to a read-only disk. */
    READ_ONLY(BlkifConstants.BLKIF_RSP_ERROR, true, "write to a read-only device"),
    /** A secure discard when discard-secure was not advertised. */
    SECURE_DISCARD_UNSUPPORTED(BlkifConstants.BLKIF_RSP_ERROR, true, "secure discard not supported"),
    /** A grant the guest named could not be mapped or copied. */
    BAD_GRANT(BlkifConstants.BLKIF_RSP_ERROR, false, "invalid or foreign grant"),
    /** The backing store failed. */
    IO_ERROR(BlkifConstants.BLKIF_RSP_ERROR, false, "I/O error on the backing store");

    private final short status;
    private final boolean refusal;
    private final String reason;

    RequestVerdict(final short status, final boolean refusal, final String reason)
    {
        this.status = status;
        this.refusal = refusal;
        this.reason = reason;
    }

    /**
     * @return the BLKIF_RSP_* status to answer with.
     */
    public short status()
    {
        return status;
    }

    /**
     * @return true for the {@link RequestValidator}'s refusals (the request was never served); false for OK and for
     *         what serving a valid request came to when a grant or the disk failed it.
     */
    public boolean isRefusal()
    {
        return refusal;
    }

    /**
     * @return what is wrong, for logs.
     */
    public String reason()
    {
        return reason;
    }
}
