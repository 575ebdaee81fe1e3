package org.dom0j.blkback;

import java.io.IOException;

/**
 * Where a {@link Disk}'s sectors live: a file or block device of dom0's ({@link FileStorage}), or an NBD export
 * ({@link NbdStorage}). The kind is settled once, when the disk is opened from the toolstack's {@code params}; a
 * queue picks its data path by it once, when it connects (a file: {@link CopyPath} or {@link MapPath}; an export:
 * {@link NbdPath}), and nothing on the request path asks again.
 * <p>
 * What the device advertises follows from what the storage can do: flush, discard, several queues at once, how large
 * one request may be.
 * <p>
 * Thread safety: as {@link Disk}'s.
 */
sealed interface Storage extends AutoCloseable permits FileStorage, NbdStorage
{
    /**
     * @return the size in bytes now (a file's may change: online resize).
     * @throws IOException when it cannot be read.
     */
    long size() throws IOException;

    /**
     * @return whether {@link #size()} may change while the disk is open (worth watching once a second).
     */
    boolean sizeCanChange();

    /**
     * @return the physical block size, for {@code physical-sector-size}.
     * @throws IOException when it cannot be asked.
     */
    int physicalBlockSize() throws IOException;

    /**
     * @return whether the storage itself refuses writes (a read-only export), whatever the toolstack's mode.
     */
    boolean isReadOnly();

    /**
     * @return whether writes may sit in a volatile cache that a flush must make durable (otherwise a flush has
     *         nothing to do and {@code feature-flush-cache} is not offered).
     */
    boolean canFlush();

    /**
     * @return whether discard can be passed on (hole punching, BLKDISCARD, NBD_CMD_TRIM).
     */
    boolean canDiscard();

    /**
     * @return whether a discard may securely erase (BLKSECDISCARD of a block device that can); never for a file or
     *         an export.
     */
    boolean canSecureDiscard();

    /**
     * @return whether the device's queues may each have their own way to the storage with flushes that cover each
     *         other's writes: always for a file (one descriptor, shared), for an export only with CAN_MULTI_CONN.
     */
    boolean allowsManyQueues();

    /**
     * @return the most bytes one read or write may carry ({@link Long#MAX_VALUE} for a file; an export's maximum
     *         payload).
     */
    long maxTransferBytes();

    /**
     * @return what it is, for logs: a path or a URI.
     */
    String describe();

    @Override
    void close();
}
