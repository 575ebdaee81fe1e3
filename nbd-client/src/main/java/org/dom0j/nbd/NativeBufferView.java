package org.dom0j.nbd;

import java.nio.Buffer;
import java.nio.ByteBuffer;

import org.agrona.BufferUtil;
import org.agrona.UnsafeApi;

/**
 * A direct {@link ByteBuffer} that can be pointed at any native memory, over and over, without allocating: what lets
 * a socket read into, or write from, the caller's memory (blkback's bounce pages, a mapping) in one system call and
 * no copy. The JDK offers no public way to make a {@code ByteBuffer} at an address; this one sets the
 * {@code address} and {@code capacity} fields of a small direct buffer of its own, through Agrona's Unsafe, as Agrona
 * itself reads {@code address} ({@link BufferUtil#BYTE_BUFFER_ADDRESS_FIELD_OFFSET}). The buffer's own allocation
 * is still what its cleaner frees. Checked once, when the class loads.
 * <p>
 * Not thread-safe: each view belongs to one thread.
 */
final class NativeBufferView
{
    private static final long CAPACITY_FIELD_OFFSET = UnsafeApi.objectFieldOffset(Buffer.class, "capacity");

    static
    {
        final ByteBuffer probe = ByteBuffer.allocateDirect(64);
        final long address = BufferUtil.address(probe) + 8;
        final ByteBuffer view = point(allocate(), address, 16);
        if (BufferUtil.address(view) != address || view.capacity() != 16 || view.remaining() != 16)
        {
            throw new IllegalStateException("this JVM's direct ByteBuffer cannot be pointed at native memory");
        }
    }

    private NativeBufferView()
    {
    }

    /**
     * @return a view to {@link #point}; it points at a byte of its own until then.
     */
    static ByteBuffer allocate()
    {
        return ByteBuffer.allocateDirect(1);
    }

    /**
     * @param view    a buffer from {@link #allocate()}.
     * @param address the first byte.
     * @param length  how many bytes; position 0, limit and capacity {@code length}.
     * @return {@code view}.
     */
    static ByteBuffer point(final ByteBuffer view, final long address, final int length)
    {
        UnsafeApi.putLong(view, BufferUtil.BYTE_BUFFER_ADDRESS_FIELD_OFFSET, address);
        UnsafeApi.putInt(view, CAPACITY_FIELD_OFFSET, length);
        view.clear();
        return view;
    }
}
