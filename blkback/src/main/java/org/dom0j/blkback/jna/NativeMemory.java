package org.dom0j.blkback.jna;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.linux.Linux;
import org.dom0j.linux.LinuxException;

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
    private static final int PROT_READ_WRITE = Linux.PROT_READ | Linux.PROT_WRITE;
    private static final int MAP_PRIVATE_ANONYMOUS = Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS;

    private final UnsafeBuffer buffer;
    private final Cleaner.Cleanable cleanable;

    private NativeMemory(final long address, final long length)
    {
        this.buffer = new UnsafeBuffer(address, (int)length);
        this.cleanable = IoUring.CLEANER.register(this, () -> Linux.munmap(address, length));
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
            return new NativeMemory(Linux.mmap(0, length, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0), length);
        }
        catch (final LinuxException ex)
        {
            throw new OutOfMemoryError("mmap of " + length + " bytes failed: " + Errno.describe(ex.errno()));
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
