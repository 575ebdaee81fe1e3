package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * {@link HashConfig}: which bytes of a frame are hashed for which enabled types (netif.h's definitions and its
 * "maximal type" rule), each expectation written from the flow's addresses and ports rather than parsed back from
 * the frame, and the queue a hash picks.
 */
@Timeout(30)
class HashConfigTest
{
    private static final long MAC_A = 0x00163E00000AL;
    private static final long MAC_B = 0x00163E00000BL;
    private static final int ALL = HashConfig.SUPPORTED_TYPES;
    private static final TestFlow TCP4 = TestFlow.ipv4(PacketHeaders.IPPROTO_TCP, "66.9.149.187", "161.142.100.80",
        2794, 1766);
    private static final TestFlow UDP4 = TestFlow.ipv4(PacketHeaders.IPPROTO_UDP, "10.1.2.3", "10.4.5.6", 53, 4000);
    private static final TestFlow TCP6 = TestFlow.ipv6(PacketHeaders.IPPROTO_TCP, "3ffe:2501:200:1fff::7",
        "3ffe:2501:200:3::1", 2794, 1766);
    private static final TestFlow UDP6 = TestFlow.ipv6(PacketHeaders.IPPROTO_UDP, "fe80::1", "fe80::2", 546, 547);

    private static HashConfig toeplitz(final int types)
    {
        return new HashConfig(XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, types, ToeplitzHashTest.MS_KEY,
            new int[0], 0);
    }

    private static long hashOf(final HashConfig config, final byte[] frame)
    {
        return config.hash(new UnsafeBuffer(frame), frame.length, new PacketHeaders());
    }

    private static int expected(final TestFlow flow, final boolean ports)
    {
        final byte[] input = flow.hashInput(ports);
        return ToeplitzHash.hash(ToeplitzHashTest.MS_KEY, 40, new UnsafeBuffer(input), 0, input.length);
    }

    private static void assertHash(final long result, final int typeBit, final int value)
    {
        assertThat(HashConfig.typeOf(result)).as("type").isEqualTo(typeBit);
        assertThat(HashConfig.valueOf(result)).as("value").isEqualTo(value);
    }

    @Test
    void shouldHashMicrosoftsExampleAsAFrame()
    {
        final byte[] frame = TCP4.frame(MAC_A, MAC_B, 100, 1, TestFlow.Shape.PLAIN);
        assertHash(hashOf(toeplitz(ALL), frame), XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT, 0x51ccc178);
        assertHash(hashOf(toeplitz(XEN_NETIF_CTRL_HASH_TYPE_IPV4), frame), XEN_NETIF_CTRL_HASH_TYPE_IPV4_BIT,
            0x323e8fc2);
        final byte[] frame6 = TCP6.frame(MAC_A, MAC_B, 100, 1, TestFlow.Shape.PLAIN);
        assertHash(hashOf(toeplitz(ALL), frame6), XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP_BIT, 0x40207d3d);
        assertHash(hashOf(toeplitz(XEN_NETIF_CTRL_HASH_TYPE_IPV6), frame6), XEN_NETIF_CTRL_HASH_TYPE_IPV6_BIT,
            0x2cc18cd5);
    }

    @ParameterizedTest
    @EnumSource(value = TestFlow.Shape.class, names = { "PLAIN", "VLAN", "IP_OPTIONS" })
    void shouldHashTheFourTupleOfTcpWhenItsTypeIsEnabled(final TestFlow.Shape shape)
    {
        assertHash(hashOf(toeplitz(ALL), TCP4.frame(MAC_A, MAC_B, 10, 1, shape)),
            XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT, expected(TCP4, true));
        assertHash(hashOf(toeplitz(XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP), TCP4.frame(MAC_A, MAC_B, 10, 1, shape)),
            XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT, expected(TCP4, true));
        assertHash(hashOf(toeplitz(ALL), TCP6.frame(MAC_A, MAC_B, 10, 1, shape)),
            XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP_BIT, expected(TCP6, true));
    }

    @Test
    void shouldFallBackToTheAddressesWhenOnlyTheAddressTypeCovers()
    {
        // TCP with only the address type enabled.
        assertHash(hashOf(toeplitz(XEN_NETIF_CTRL_HASH_TYPE_IPV4), TCP4.frame(MAC_A, MAC_B, 10, 1,
            TestFlow.Shape.PLAIN)), XEN_NETIF_CTRL_HASH_TYPE_IPV4_BIT, expected(TCP4, false));
        assertHash(hashOf(toeplitz(XEN_NETIF_CTRL_HASH_TYPE_IPV6), TCP6.frame(MAC_A, MAC_B, 10, 1,
            TestFlow.Shape.PLAIN)), XEN_NETIF_CTRL_HASH_TYPE_IPV6_BIT, expected(TCP6, false));
        // Not TCP: the TCP types do not cover it, the address types do.
        assertHash(hashOf(toeplitz(ALL), UDP4.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.PLAIN)),
            XEN_NETIF_CTRL_HASH_TYPE_IPV4_BIT, expected(UDP4, false));
        assertHash(hashOf(toeplitz(ALL), UDP6.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.IP_OPTIONS)),
            XEN_NETIF_CTRL_HASH_TYPE_IPV6_BIT, expected(UDP6, false));
        // A fragment has no TCP header to use; nor has a TCP header cut before its ports.
        assertHash(hashOf(toeplitz(ALL), TCP4.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.FRAGMENT)),
            XEN_NETIF_CTRL_HASH_TYPE_IPV4_BIT, expected(TCP4, false));
        assertHash(hashOf(toeplitz(ALL), TCP6.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.FRAGMENT)),
            XEN_NETIF_CTRL_HASH_TYPE_IPV6_BIT, expected(TCP6, false));
        assertHash(hashOf(toeplitz(ALL), TCP4.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.TRUNCATED)),
            XEN_NETIF_CTRL_HASH_TYPE_IPV4_BIT, expected(TCP4, false));
    }

    @Test
    void shouldNotHashWhatNoEnabledTypeCovers()
    {
        final byte[] udp = UDP4.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.PLAIN);
        assertThat(hashOf(toeplitz(XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP), udp)).isEqualTo(HashConfig.NO_HASH);
        assertThat(hashOf(toeplitz(XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP),
            TCP4.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.FRAGMENT))).isEqualTo(HashConfig.NO_HASH);
        assertThat(hashOf(toeplitz(XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP),
            TCP4.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.PLAIN))).isEqualTo(HashConfig.NO_HASH);
        assertThat(hashOf(toeplitz(XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP),
            TCP6.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.PLAIN))).isEqualTo(HashConfig.NO_HASH);
        assertThat(hashOf(toeplitz(0), TCP4.frame(MAC_A, MAC_B, 10, 1, TestFlow.Shape.PLAIN)))
            .isEqualTo(HashConfig.NO_HASH);
        assertThat(hashOf(toeplitz(ALL), TestFrames.raw(MAC_A, MAC_B, 60, 1))).isEqualTo(HashConfig.NO_HASH);
        assertThat(HashConfig.typeOf(HashConfig.NO_HASH)).isEqualTo(-1);
        assertThat(HashConfig.valueOf(HashConfig.NO_HASH)).isZero();
    }

    @Test
    void shouldPickTheQueueByTheTableOrByModuloAsLinuxDoes()
    {
        final int big = 0x8000_0003; // negative as an int: taken as unsigned, as Linux's u32
        final HashConfig modulo = toeplitz(ALL);
        assertThat(modulo.queue(big, 3)).isEqualTo(Integer.remainderUnsigned(big, 3));
        assertThat(modulo.queue(7, 4)).isEqualTo(3);
        final int[] table = { 1, 0, 2, 1, 3 };
        final HashConfig mapped = new HashConfig(XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, ALL, new byte[0], table,
            table.length);
        for (int hash = 0; hash < 20; hash++)
        {
            assertThat(mapped.queue(hash, 4)).isEqualTo(table[hash % table.length]);
        }
        assertThat(mapped.queue(big, 4)).isEqualTo(table[Integer.remainderUnsigned(big, table.length)]);
        // An entry the connected queues do not reach is taken modulo their number (Linux's start_xmit fallback).
        assertThat(mapped.queue(4, 2)).isEqualTo(1);
        assertThat(mapped.queue(2, 2)).isZero();
    }

    @Test
    void shouldBeActiveOnlyForToeplitz()
    {
        assertThat(HashConfig.NONE.isActive()).isFalse();
        assertThat(toeplitz(0).isActive()).isTrue();
        assertThat(HashConfig.NONE.matches(XEN_NETIF_CTRL_HASH_ALGORITHM_NONE, 0, new byte[40], new int[128], 0))
            .isTrue();
        assertThat(toeplitz(ALL).matches(XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, ALL, ToeplitzHashTest.MS_KEY,
            new int[128], 0)).isTrue();
        assertThat(toeplitz(ALL).matches(XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, ALL, new byte[40],
            new int[128], 0)).isFalse();
    }
}
