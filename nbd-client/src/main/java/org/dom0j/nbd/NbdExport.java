package org.dom0j.nbd;

import static org.dom0j.nbd.NbdConstants.EINVAL;
import static org.dom0j.nbd.NbdConstants.ENOTSUP;
import static org.dom0j.nbd.NbdConstants.EPERM;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_CAN_MULTI_CONN;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_READ_ONLY;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_ROTATIONAL;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_SEND_FLUSH;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_SEND_FUA;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_SEND_TRIM;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_SEND_WRITE_ZEROES;

/**
 * What the handshake agreed for one export: its size, the transmission flags (which commands the server takes), the
 * block size constraints ({@code NBD_INFO_BLOCK_SIZE}, or the specification's defaults when the server sent none:
 * minimum 1, preferred 4096, maximum 32 MiB), and whether replies are structured.
 * <p>
 * Immutable; any thread.
 */
public final class NbdExport
{
    private static final long MAX_EFFECT_LENGTH = 0xFFFF_FFFFL;

    private final String name;
    private final long size;
    private final int transmissionFlags;
    private final int minimumBlockSize;
    private final int preferredBlockSize;
    private final int maximumPayload;
    private final boolean structuredReplies;
    private final boolean negotiatedWithGo;

    NbdExport(
        final String name,
        final long size,
        final int transmissionFlags,
        final int minimumBlockSize,
        final int preferredBlockSize,
        final int maximumPayload,
        final boolean structuredReplies,
        final boolean negotiatedWithGo)
    {
        this.name = name;
        this.size = size;
        this.transmissionFlags = transmissionFlags;
        this.minimumBlockSize = minimumBlockSize;
        this.preferredBlockSize = preferredBlockSize;
        this.maximumPayload = maximumPayload;
        this.structuredReplies = structuredReplies;
        this.negotiatedWithGo = negotiatedWithGo;
    }

    /**
     * @return the export name asked for.
     */
    public String name()
    {
        return name;
    }

    /**
     * @return the export's size in bytes.
     */
    public long size()
    {
        return size;
    }

    /**
     * @return the 16 transmission flags ({@code NBD_FLAG_*}) as the server sent them.
     */
    public int transmissionFlags()
    {
        return transmissionFlags;
    }

    /**
     * @return true when the server said the export is read-only: writes, trims and zeroing are refused (EPERM).
     */
    public boolean isReadOnly()
    {
        return (transmissionFlags & NBD_FLAG_READ_ONLY) != 0;
    }

    /**
     * @return true when the server takes {@code NBD_CMD_FLUSH} ({@code NBD_FLAG_SEND_FLUSH}).
     */
    public boolean canFlush()
    {
        return (transmissionFlags & NBD_FLAG_SEND_FLUSH) != 0;
    }

    /**
     * @return true when the server honours forced unit access on writes ({@code NBD_FLAG_SEND_FUA}).
     */
    public boolean canFua()
    {
        return (transmissionFlags & NBD_FLAG_SEND_FUA) != 0;
    }

    /**
     * @return true when the server takes {@code NBD_CMD_TRIM} ({@code NBD_FLAG_SEND_TRIM}).
     */
    public boolean canTrim()
    {
        return (transmissionFlags & NBD_FLAG_SEND_TRIM) != 0;
    }

    /**
     * @return true when the server takes {@code NBD_CMD_WRITE_ZEROES} ({@code NBD_FLAG_SEND_WRITE_ZEROES}).
     */
    public boolean canWriteZeroes()
    {
        return (transmissionFlags & NBD_FLAG_SEND_WRITE_ZEROES) != 0;
    }

    /**
     * @return true when flushes and FUA take effect across all connections to the export
     * ({@code NBD_FLAG_CAN_MULTI_CONN}), so that a queue per connection is safe.
     */
    public boolean canMultiConn()
    {
        return (transmissionFlags & NBD_FLAG_CAN_MULTI_CONN) != 0;
    }

    /**
     * @return true when the server says the export behaves like a rotational disk.
     */
    public boolean isRotational()
    {
        return (transmissionFlags & NBD_FLAG_ROTATIONAL) != 0;
    }

    /**
     * @return the smallest unit of offsets and lengths, a power of two (1 unless the server says otherwise).
     */
    public int minimumBlockSize()
    {
        return minimumBlockSize;
    }

    /**
     * @return the size at which the server works efficiently, a power of two (4096 unless the server says so).
     */
    public int preferredBlockSize()
    {
        return preferredBlockSize;
    }

    /**
     * @return the largest read or write this client sends: the server's maximum payload, capped at 32 MiB (the
     * largest the specification lets a client count on).
     */
    public int maximumPayload()
    {
        return maximumPayload;
    }

    /**
     * @return true when the server agreed to structured replies ({@code NBD_OPT_STRUCTURED_REPLY}).
     */
    public boolean structuredReplies()
    {
        return structuredReplies;
    }

    /**
     * @return true when the export was chosen with {@code NBD_OPT_GO}, false when the server did not know that
     * option and {@code NBD_OPT_EXPORT_NAME} was used instead.
     */
    public boolean negotiatedWithGo()
    {
        return negotiatedWithGo;
    }

    /**
     * @return 0 when a read may be sent, else the errno it is refused with.
     */
    int checkRead(final long offset, final int length)
    {
        return length > maximumPayload ? EINVAL : checkRange(offset, length);
    }

    /**
     * @return 0 when a write may be sent, else the errno it is refused with.
     */
    int checkWrite(final long offset, final int length, final boolean fua)
    {
        return isReadOnly() ? EPERM : fua && !canFua() ? ENOTSUP : checkRead(offset, length);
    }

    /**
     * @return 0 when a flush may be sent, else ENOTSUP.
     */
    int checkFlush()
    {
        return canFlush() ? 0 : ENOTSUP;
    }

    /**
     * A command without payload (trim, zeroing): the maximum payload does not bind it, 32 bits of length do.
     *
     * @return 0 when it may be sent, else the errno it is refused with.
     */
    int checkEffect(final boolean offered, final long offset, final long length)
    {
        return isReadOnly() ? EPERM : !offered ? ENOTSUP : length > MAX_EFFECT_LENGTH ? EINVAL :
            checkRange(offset, length);
    }

    private int checkRange(final long offset, final long length)
    {
        final long misaligned = (offset | length) & (minimumBlockSize - 1);
        return length <= 0 || offset < 0 || offset > size - length || misaligned != 0 ? EINVAL : 0;
    }

    @Override
    public String toString()
    {
        return "NbdExport{name='" + name + "', size=" + size + ", flags=0x" + Integer.toHexString(transmissionFlags) +
            ", blockSizes=" + minimumBlockSize + "/" + preferredBlockSize + "/" + maximumPayload +
            ", structuredReplies=" + structuredReplies + ", go=" + negotiatedWithGo + "}";
    }
}
