package org.dom0j.ring;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ZeroingTest
{
    @Test
    void zeroesExactlyTheBytesAskedForAtEveryLengthAndAlignment()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[256]);
        for (int offset = 0; offset < 9; offset++)
        {
            for (int length = 0; length <= 120; length++)
            {
                buffer.setMemory(0, buffer.capacity(), (byte)0x5A);
                Zeroing.zero(buffer, offset, length);
                for (int i = 0; i < buffer.capacity(); i++)
                {
                    final boolean inside = i >= offset && i < offset + length;
                    assertThat(buffer.getByte(i)).as("byte %d after zeroing %d at %d", i, length, offset)
                        .isEqualTo(inside ? (byte)0 : (byte)0x5A);
                }
            }
        }
    }
}
