package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;

class PacketHeadersTest
{
    private static final long A = 0x00163E000001L;
    private static final long B = 0x00163E000002L;

    @Test
    void adjacentSourcePortsSpreadOverQueues()
    {
        // Flows from adjacent source ports between one pair of hosts (as a test tool or a NAT opens them) land on the
        // same queue about as often as chance says: half the time of 2 queues, a quarter of 4. The first flow hash
        // here put adjacent ports together 69% of the time with 2 queues and never with 4 (40000-40003 all on queue
        // 1 of 2 in dom0j bench net).
        for (final int queues : new int[]{ 2, 4 })
        {
            int same = 0;
            final int pairs = 1000;
            for (int port = 40000; port < 40000 + 2 * pairs; port += 2)
            {
                if (Math.floorMod(hash(port, false), queues) == Math.floorMod(hash(port + 1, false), queues))
                {
                    same++;
                }
            }
            final double expected = 1.0 / queues;
            assertThat((double)same / pairs).as("adjacent ports on one queue of %d", queues)
                .isBetween(expected - 0.1, expected + 0.1);
        }
    }

    @Test
    void oneFlowOneHashAndPortsCount()
    {
        assertThat(hash(40000, false)).isEqualTo(hash(40000, false));
        assertThat(hash(40000, true)).isEqualTo(hash(40000, true));
        assertThat(hash(40000, false)).isNotEqualTo(hash(40001, false));
        assertThat(hash(40000, true)).isNotEqualTo(hash(40001, true));
    }

    private static int hash(final int sourcePort, final boolean ipv6)
    {
        final byte[] frame = TestFrames.tcp(B, A, ipv6, 10, 1, false, 7);
        final UnsafeBuffer b = new UnsafeBuffer(frame);
        final int l4 = 14 + (ipv6 ? 40 : 20);
        if (!ipv6)
        {
            b.putInt(14 + 12, 0x0A000001, ByteOrder.BIG_ENDIAN);
            b.putInt(14 + 16, 0x0A000002, ByteOrder.BIG_ENDIAN);
        }
        b.putShort(l4, (short)sourcePort, ByteOrder.BIG_ENDIAN);
        b.putShort(l4 + 2, (short)5201, ByteOrder.BIG_ENDIAN);
        final PacketHeaders headers = new PacketHeaders().parse(b, 0, frame.length);
        return headers.flowHash(b, 0);
    }
}
