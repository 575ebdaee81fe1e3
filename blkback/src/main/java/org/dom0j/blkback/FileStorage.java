package org.dom0j.blkback;

import org.dom0j.blkback.jna.NativeFile;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A disk stored in a regular file (sparse is fine; discard punches holes) or a block device (size from
 * BLKGETSIZE64; discard is BLKDISCARD) of dom0's: one descriptor, shared by the device's queues, since all its I/O
 * is positional.
 * <p>
 * Thread safety: as {@link NativeFile}'s.
 */
final class FileStorage implements Storage
{
    private final NativeFile file;

    private FileStorage(final NativeFile file)
    {
        this.file = file;
    }

    /**
     * @param path     a regular file or a block device.
     * @param readOnly open it read-only.
     * @param direct   open it with O_DIRECT.
     * @return it, open.
     * @throws IOException when it cannot be opened; the message names the path and the errno.
     */
    static FileStorage open(final Path path, final boolean readOnly, final boolean direct) throws IOException
    {
        return new FileStorage(NativeFile.open(path, readOnly, direct));
    }

    /**
     * @return the open file, for the data paths that read and write it.
     */
    NativeFile file()
    {
        return file;
    }

    @Override
    public long size() throws IOException
    {
        return file.size();
    }

    @Override
    public boolean sizeCanChange()
    {
        return true;
    }

    @Override
    public int physicalBlockSize() throws IOException
    {
        return file.physicalBlockSize();
    }

    @Override
    public boolean isReadOnly()
    {
        return false;
    }

    @Override
    public boolean canFlush()
    {
        return true;
    }

    @Override
    public boolean canDiscard()
    {
        return true;
    }

    @Override
    public boolean canSecureDiscard()
    {
        return file.canSecureDiscard();
    }

    @Override
    public boolean allowsManyQueues()
    {
        return true;
    }

    @Override
    public long maxTransferBytes()
    {
        return Long.MAX_VALUE;
    }

    @Override
    public String describe()
    {
        return file.path().toString();
    }

    @Override
    public void close()
    {
        file.close();
    }
}
