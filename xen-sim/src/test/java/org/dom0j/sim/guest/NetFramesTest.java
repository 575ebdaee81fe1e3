package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.dom0j.sim.guest.NetFrames.*;

/**
 * Checksums against known vectors, and frames byte for byte against ones computed by an independent
 * implementation (a few lines of Python's struct module, outside this code base).
 */
@Timeout(10)
class NetFramesTest
{
    private static final long MAC1 = 0x00163E000001L;
    private static final long MAC2 = 0x00163E000002L;
    private static final int IP1 = 0x0A000001;
    private static final int IP2 = 0x0A000002;

    private final UnsafeBuffer frame = new UnsafeBuffer(new byte[70_000]);

    private static UnsafeBuffer hex(final String hex)
    {
        return new UnsafeBuffer(HexFormat.of().parseHex(hex));
    }

    private String frameHex(final int length)
    {
        final byte[] bytes = new byte[length];
        frame.getBytes(0, bytes);
        return HexFormat.of().formatHex(bytes);
    }

    @Test
    void shouldSumTheRfc1071Example()
    {
        final UnsafeBuffer b = hex("0001f203f4f5f6f7");

        assertThat(InternetChecksum.fold(InternetChecksum.add(0, b, 0, 8))).isEqualTo(0xDDF2);
        assertThat(InternetChecksum.checksum(b, 0, 8)).isEqualTo(0x220D);
    }

    @Test
    void shouldComputeAndVerifyAnIpv4HeaderChecksum()
    {
        final UnsafeBuffer header = hex("450000730000400040110000c0a80001c0a800c7");

        assertThat(InternetChecksum.checksum(header, 0, 20)).isEqualTo(0xB861);
        header.putShort(10, (short)0xB861, ByteOrder.BIG_ENDIAN);
        assertThat(InternetChecksum.verify(header, 0, 20, 0)).isTrue();
        header.putByte(15, (byte)2);
        assertThat(InternetChecksum.verify(header, 0, 20, 0)).isFalse();
    }

    @Test
    void shouldPadAnOddLastByteWithZero()
    {
        assertThat(InternetChecksum.fold(InternetChecksum.add(0, hex("010203"), 0, 3))).isEqualTo(0x0402);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 0xC0FFEE})
    void shouldMatchASixteenBitWordSum(final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        for (int round = 0; round < 200; round++)
        {
            final int length = random.nextInt(3000);
            final int offset = random.nextInt(7);
            for (int i = 0; i < length; i++)
            {
                frame.putByte(offset + i, (byte)random.nextInt());
            }
            long naive = 0;
            for (int i = 0; i < length; i += 2)
            {
                final int low = i + 1 < length ? frame.getByte(offset + i + 1) & 0xFF : 0;
                naive += (frame.getByte(offset + i) & 0xFF) << 8 | low;
            }
            assertThat(InternetChecksum.fold(InternetChecksum.add(0, frame, offset, length)))
                .as("seed %d round %d", seed, round).isEqualTo(InternetChecksum.fold(naive));
        }
    }

    @Test
    void shouldBuildAnArpRequestByteForByte()
    {
        final int length = NetFrames.arp(frame, BROADCAST_MAC, ARP_REQUEST, MAC1, IP1, 0, IP2);

        assertThat(length).isEqualTo(42);
        assertThat(frameHex(length)).isEqualTo(
            "ffffffffffff00163e0000010806000108000604000100163e0000010a0000010000000000000a000002");
    }

    @Test
    void shouldBuildAnIcmpEchoRequestByteForByte()
    {
        NetFrames.ethernet(frame, MAC2, MAC1, ETHERTYPE_IPV4);
        frame.putInt(L4_OFFSET + ICMP_HLEN, 0xDEADBEEF, ByteOrder.BIG_ENDIAN);
        NetFrames.ipv4(frame, IP_HLEN + ICMP_HLEN + 4, 0x1234, PROTO_ICMP, IP1, IP2);
        NetFrames.icmpEcho(frame, ICMP_ECHO_REQUEST, 0xBEEF, 1, 4);

        assertThat(frameHex(L4_OFFSET + ICMP_HLEN + 4)).isEqualTo(
            "00163e00000200163e00000108004500002012344000400114a70a0000010a00000208009b71beef0001deadbeef");
    }

    @Test
    void shouldBuildAUdpDatagramByteForByte()
    {
        NetFrames.ethernet(frame, MAC2, MAC1, ETHERTYPE_IPV4);
        frame.putStringWithoutLengthAscii(L4_OFFSET + UDP_HLEN, "hello");
        NetFrames.ipv4(frame, IP_HLEN + UDP_HLEN + 5, 7, PROTO_UDP, IP1, IP2);
        NetFrames.udp(frame, 40001, 5002, UDP_HLEN + 5, false);

        assertThat(frameHex(L4_OFFSET + UDP_HLEN + 5)).isEqualTo(
            "00163e00000200163e00000108004500002100074000401126c30a0000010a0000029c41138a000df83368656c6c6f");

        NetFrames.udp(frame, 40001, 5002, UDP_HLEN + 5, true);
        assertThat(frame.getShort(L4_OFFSET + UDP_CHECKSUM, ByteOrder.BIG_ENDIAN) & 0xFFFF)
            .as("partial checksum: the folded pseudo-header sum").isEqualTo(0x1421);
    }

    @Test
    void shouldBuildATcpSegmentWithTimestampsByteForByte()
    {
        NetFrames.ethernet(frame, MAC2, MAC1, ETHERTYPE_IPV4);
        frame.putStringWithoutLengthAscii(TCP_FRAME_HEADERS, "abc");
        NetFrames.ipv4(frame, IP_HLEN + TCP_HLEN + 3, 9, PROTO_TCP, IP1, IP2);
        NetFrames.tcp(frame, 40001, 5001, 0x01020304, 0, TCP_ACK_FLAG | TCP_PSH, 0x11223344, TCP_HLEN + 3, false);

        assertThat(frameHex(TCP_FRAME_HEADERS + 3)).isEqualTo(
            "00163e00000200163e00000108004500003700094000400626b60a0000010a0000029c41138901020304000000008018" +
            "ffffa61600000101080a1122334400000000616263");
    }

    @Test
    void shouldParseAndFormatAddresses()
    {
        assertThat(NetFrames.parseMac("00:16:3e:0a:b:FF")).isEqualTo(0x00163E0A0BFFL);
        assertThat(NetFrames.formatMac(0x00163E0A0BFFL)).isEqualTo("00:16:3e:0a:0b:ff");
        assertThat(NetFrames.parseMac("00:16:3e:0a:0b")).isEqualTo(-1);
        assertThat(NetFrames.parseMac("00:16:3e:0a:0b:1ff")).isEqualTo(-1);
        assertThat(NetFrames.parseMac("00:16:3e:0a:0b:zz")).isEqualTo(-1);
        assertThat(NetFrames.parseIpv4("192.168.0.199")).isEqualTo(0xC0A800C7);
        assertThat(NetFrames.formatIpv4(0xC0A800C7)).isEqualTo("192.168.0.199");
        assertThatThrownBy(() -> NetFrames.parseIpv4("1.2.3.256")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldCutAGsoFrameIntoSegmentsWhoseChecksumsHold()
    {
        final int mss = 1448;
        final int payload = 3 * mss + 100;
        NetFrames.ethernet(frame, MAC2, MAC1, ETHERTYPE_IPV4);
        StreamPattern.fill(frame, TCP_FRAME_HEADERS, 42, 0, payload);
        NetFrames.ipv4(frame, IP_HLEN + TCP_HLEN + payload, 100, PROTO_TCP, IP1, IP2);
        NetFrames.tcp(frame, 40001, 5001, -2000, 0, TCP_ACK_FLAG | TCP_PSH, 1, TCP_HLEN + payload, true);
        final UnsafeBuffer segment = new UnsafeBuffer(new byte[2048]);

        assertThat(NetFrames.segmentCount(payload, mss)).isEqualTo(4);
        for (int i = 0; i < 4; i++)
        {
            final int length = NetFrames.tcpSegment(frame, TCP_FRAME_HEADERS + payload, mss, i, segment, false);
            final int size = i < 3 ? mss : 100;
            assertThat(length).isEqualTo(TCP_FRAME_HEADERS + size);
            assertThat(InternetChecksum.verify(segment, IP_OFFSET, IP_HLEN, 0)).isTrue();
            assertThat(segment.getShort(IP_OFFSET + IP_TOTAL_LENGTH, ByteOrder.BIG_ENDIAN))
                .isEqualTo((short)(IP_HLEN + TCP_HLEN + size));
            assertThat(segment.getShort(IP_OFFSET + IP_ID, ByteOrder.BIG_ENDIAN)).isEqualTo((short)(100 + i));
            assertThat(segment.getInt(L4_OFFSET + TCP_SEQ, ByteOrder.BIG_ENDIAN)).isEqualTo(-2000 + i * mss);
            assertThat(segment.getByte(L4_OFFSET + TCP_FLAGS) & TCP_PSH).isEqualTo(i == 3 ? TCP_PSH : 0);
            assertThat(InternetChecksum.verify(segment, L4_OFFSET, TCP_HLEN + size,
                InternetChecksum.pseudoHeader(IP1, IP2, PROTO_TCP, TCP_HLEN + size))).isTrue();
            assertThat(StreamPattern.firstMismatch(segment, TCP_FRAME_HEADERS, 42, (long)i * mss, size)).isEqualTo(-1);
        }
    }

    @Test
    void shouldFindTheFirstWrongByteOfAStreamSegment()
    {
        StreamPattern.fill(frame, 3, 99, 1_000_003, 10_000);
        assertThat(StreamPattern.firstMismatch(frame, 3, 99, 1_000_003, 10_000)).isEqualTo(-1);
        assertThat(StreamPattern.firstMismatch(frame, 3, 99, 1_000_004, 10_000)).isEqualTo(0);

        frame.putByte(3 + 4321, (byte)~frame.getByte(3 + 4321));
        assertThat(StreamPattern.firstMismatch(frame, 3, 99, 1_000_003, 10_000)).isEqualTo(4321);
        assertThat(StreamPattern.byteAt(99, 1_000_003 + 17)).isEqualTo(frame.getByte(3 + 17));
    }
}
