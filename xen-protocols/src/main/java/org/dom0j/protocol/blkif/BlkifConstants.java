package org.dom0j.protocol.blkif;

/**
 * Constants of the block protocol, {@code xen/include/public/io/blkif.h} (Xen 4.17). Checked against that header
 * by {@code BlkifLayoutConformanceTest}.
 */
public final class BlkifConstants
{
    /** BLKIF_OP_READ. */
    public static final int BLKIF_OP_READ = 0;
    /** BLKIF_OP_WRITE. */
    public static final int BLKIF_OP_WRITE = 1;
    /** BLKIF_OP_WRITE_BARRIER: earlier writes complete first; then the barrier write is made durable. */
    public static final int BLKIF_OP_WRITE_BARRIER = 2;
    /** BLKIF_OP_FLUSH_DISKCACHE: make earlier completed writes durable. */
    public static final int BLKIF_OP_FLUSH_DISKCACHE = 3;
    /** BLKIF_OP_RESERVED_1 (SLES device-specific packets): answered EOPNOTSUPP. */
    public static final int BLKIF_OP_RESERVED_1 = 4;
    /** BLKIF_OP_DISCARD. */
    public static final int BLKIF_OP_DISCARD = 5;
    /** BLKIF_OP_INDIRECT: segments live in indirect pages. */
    public static final int BLKIF_OP_INDIRECT = 6;

    /** BLKIF_RSP_OKAY. */
    public static final short BLKIF_RSP_OKAY = 0;
    /** BLKIF_RSP_ERROR. */
    public static final short BLKIF_RSP_ERROR = -1;
    /** BLKIF_RSP_EOPNOTSUPP. */
    public static final short BLKIF_RSP_EOPNOTSUPP = -2;

    /** BLKIF_MAX_SEGMENTS_PER_REQUEST. */
    public static final int BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
    /** BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST. */
    public static final int BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
    /** BLKIF_DISCARD_SECURE. */
    public static final int BLKIF_DISCARD_SECURE = 1;

    /** Xen page size. */
    public static final int PAGE_SIZE = 4096;
    /** Requests count sectors of 512 bytes, whatever the disk's sector-size says. */
    public static final int SECTOR_SIZE = 512;
    /** Sectors in one page: first_sect and last_sect must be below this. */
    public static final int SECTORS_PER_PAGE = PAGE_SIZE / SECTOR_SIZE;
    /** sizeof(struct blkif_request_segment) in an indirect page (u32 gref, u8 first, u8 last, 2 padding). */
    public static final int INDIRECT_SEGMENT_SIZE = 8;
    /** Segments one indirect page holds. */
    public static final int SEGMENTS_PER_INDIRECT_PAGE = PAGE_SIZE / INDIRECT_SEGMENT_SIZE;
    /** The most indirect segments a request can carry: 8 pages of 512. */
    public static final int MAX_INDIRECT_SEGMENTS_LIMIT =
        BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * SEGMENTS_PER_INDIRECT_PAGE;
    /** What Linux's blkback advertises as feature-max-indirect-segments by default. */
    public static final int DEFAULT_MAX_INDIRECT_SEGMENTS = 256;

    private BlkifConstants()
    {
    }

    /**
     * @param segments segments of an indirect request.
     * @return how many indirect pages hold them: ceil(segments / 512).
     */
    public static int indirectPages(final int segments)
    {
        return (segments + SEGMENTS_PER_INDIRECT_PAGE - 1) / SEGMENTS_PER_INDIRECT_PAGE;
    }
}
