package org.dom0j.blkback.jna;

import com.sun.jna.LastErrorException;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;

import java.lang.ref.Cleaner;

/**
 * Page-aligned anonymous memory from mmap(2), for bounce pages: the kernel backs a page only when it is first
 * touched, so a queue sized for its largest batch costs resident memory only for the batches it has served (a
 * direct ByteBuffer would be zeroed, and so made resident, at once).
 * <p>
 * Not thread safe: {@link #close} after the last use, by the owner. Memory dropped without it is unmapped by a
 * cleaner.
 */
public final class NativeMemory implements AutoCloseable
{
    private static final int PROT_READ_WRITE = 3;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;

    private final UnsafeBuffer buffer;
    private final Cleaner.Cleanable cleanable;

    private NativeMemory(final long address, final long length)
    {
        this.buffer = new UnsafeBuffer(address, (int)length);
        this.cleanable = IoUring.Sys.CLEANER.register(this, () -> IoUring.Sys.unmap(address, length));
    }

    /**
     * @param length bytes, at most 2 GiB - 1.
     * @return zero-filled memory, not yet resident.
     * @throws OutOfMemoryError when it cannot be mapped.
     */
    public static NativeMemory allocate(final int length)
    {
        try
        {
            final long address = IoUring.Sys.mmap(0, length, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0);
            if (address == -1L)
            {
                throw new OutOfMemoryError("mmap of " + length + " bytes failed");
            }
            return new NativeMemory(address, length);
        }
        catch (final LastErrorException ex)
        {
            throw new OutOfMemoryError("mmap of " + length + " bytes failed: " + Errno.describe(ex.getErrorCode()));
        }
    }

    /**
     * @return the memory; not to be used after {@link #close}.
     */
    public UnsafeBuffer buffer()
    {
        return buffer;
    }

    /**
     * Unmaps it; a second call does nothing.
     */
    @Override
    public void close()
    {
        cleanable.clean();
    }
}
