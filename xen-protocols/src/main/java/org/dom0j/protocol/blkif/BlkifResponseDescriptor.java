package org.dom0j.protocol.blkif;

/**
 * Layout of {@code struct blkif_response} of {@code xen/include/public/io/blkif.h} (Xen 4.17):
 * <pre>
 *   struct blkif_response { uint64_t id; uint8_t operation; int16_t status; };
 *
 *   0                               8       9       10      12              16
 *   +-------------------------------+-------+-------+-------+---------------+
 *   | id (u64, copied from request) | op u8 |  pad  |status |  pad (x86_64) |
 *   +-------------------------------+-------+-------+-------+---------------+
 * </pre>
 * The field offsets are the same on every guest ABI; only the tail padding differs: {@code uint64_t} is aligned on
 * 8 bytes on x86_64 and on 4 bytes on x86_32, so the struct is 16 bytes on one and 12 on the other ({@link BlkifAbi}
 * says which a frontend uses). A response shares its ring slot with the request it answers, which is longer: the
 * bytes past the response's size are the guest's own request and are not written. Fields are little-endian.
 * Checked against that header, for both ABIs, by {@code BlkifLayoutConformanceTest}.
 */
public final class BlkifResponseDescriptor
{
    /** offsetof(blkif_response, id): the request's id, as it came. */
    public static final int ID_OFFSET = 0;
    /** offsetof(blkif_response, operation): the operation performed (an indirect request's indirect_op). */
    public static final int OPERATION_OFFSET = 8;
    /** offsetof(blkif_response, status): BLKIF_RSP_OKAY, BLKIF_RSP_ERROR or BLKIF_RSP_EOPNOTSUPP, signed. */
    public static final int STATUS_OFFSET = 10;
    /** sizeof(struct blkif_response) on x86_64 (8-byte alignment). */
    public static final int LENGTH_X86_64 = 16;
    /** sizeof(struct blkif_response) on x86_32 (4-byte alignment of uint64_t). */
    public static final int LENGTH_X86_32 = 12;

    private BlkifResponseDescriptor()
    {
    }
}
