package org.dom0j.nbd;

import java.nio.ByteBuffer;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Native memory for a test's requests, as blkback's bounce pages are: page-aligned, addressed by a {@code long}.
 */
final class NativeMemory
{
    final ByteBuffer buffer;
    final UnsafeBuffer view;
    final long address;

    NativeMemory(final int length)
    {
        buffer = BufferUtil.allocateDirectAligned(Math.max(4096, (length + 4095) & ~4095), 4096);
        view = new UnsafeBuffer(buffer);
        address = view.addressOffset();
    }

    byte[] bytes(final int offset, final int length)
    {
        final byte[] copy = new byte[length];
        view.getBytes(offset, copy);
        return copy;
    }

    void put(final int offset, final byte[] bytes)
    {
        view.putBytes(offset, bytes);
    }

    void fill(final int offset, final int length, final byte value)
    {
        view.setMemory(offset, length, value);
    }
}
