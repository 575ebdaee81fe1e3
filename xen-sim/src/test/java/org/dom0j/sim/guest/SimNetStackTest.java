package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;
import static org.dom0j.sim.guest.NetFrames.*;

/**
 * {@link SimNetStack} between two instances joined by an in-memory wire that maps TX flags to RX flags as netback
 * does (csum_blank becomes csum_blank and data_validated).
 */
@Timeout(30)
class SimNetStackTest
{
    private static final long MAC1 = 0x00163E000001L;
    private static final long MAC2 = 0x00163E000002L;
    private static final int IP1 = 0x0A000001;
    private static final int IP2 = 0x0A000002;
    private static final long SEED = 7;

    private record Frame(byte[] bytes, int flow, int txFlags, int gsoType, int gsoSize)
    {
        UnsafeBuffer buffer()
        {
            return new UnsafeBuffer(bytes);
        }

        int rxFlags()
        {
            return ((txFlags & NETTXF_CSUM_BLANK) != 0 ? NETRXF_CSUM_BLANK | NETRXF_DATA_VALIDATED : 0) |
                ((txFlags & NETTXF_DATA_VALIDATED) != 0 ? NETRXF_DATA_VALIDATED : 0);
        }
    }

    private static final class Wire implements SimNetStack.Transmitter
    {
        final ArrayDeque<Frame> frames = new ArrayDeque<>();
        int room = Integer.MAX_VALUE;

        @Override
        public boolean transmit(
            final int flow, final DirectBuffer frame, final int length, final int txFlags, final int gsoType,
            final int gsoSize)
        {
            if (frames.size() >= room)
            {
                return false;
            }
            final byte[] copy = new byte[length];
            frame.getBytes(0, copy);
            frames.add(new Frame(copy, flow, txFlags, gsoType, gsoSize));
            return true;
        }
    }

    private final Wire wire1 = new Wire();
    private final Wire wire2 = new Wire();

    private SimNetStack stack(final long mac, final int ip, final Wire wire, final SimNetStack.Config config)
    {
        return new SimNetStack(mac, ip, SEED, config, wire);
    }

    private static void deliver(final Frame f, final SimNetStack to)
    {
        to.receive(f.buffer(), f.bytes().length, f.rxFlags(), f.gsoType(), f.gsoSize());
    }

    private static int deliverAll(final Wire from, final SimNetStack to)
    {
        int n = 0;
        Frame f;
        while (null != (f = from.frames.poll()))
        {
            deliver(f, to);
            n++;
        }
        return n;
    }

    @Test
    void shouldAnswerAnArpRequestForItsAddressByteForByte()
    {
        final SimNetStack a = stack(MAC1, IP1, wire1, SimNetStack.Config.defaults());
        final UnsafeBuffer request = new UnsafeBuffer(new byte[64]);
        final int length = NetFrames.arp(request, BROADCAST_MAC, ARP_REQUEST, MAC2, IP2, 0, IP1);

        a.receive(request, length, 0, XEN_NETIF_GSO_TYPE_NONE, 0);

        final UnsafeBuffer expected = new UnsafeBuffer(new byte[ARP_FRAME_LENGTH]);
        NetFrames.arp(expected, MAC2, ARP_REPLY, MAC1, IP1, MAC2, IP2);
        assertThat(wire1.frames).hasSize(1);
        assertThat(wire1.frames.peek().bytes()).isEqualTo(expected.byteArray());
        assertThat(a.stats().arpAnswered).isEqualTo(1);
        assertThat(a.resolve(IP2)).as("learnt from the request").isEqualTo(MAC2);
    }

    @Test
    void shouldIgnoreAnArpRequestForAnotherAddress()
    {
        final SimNetStack a = stack(MAC1, IP1, wire1, SimNetStack.Config.defaults());
        final UnsafeBuffer request = new UnsafeBuffer(new byte[64]);
        final int length = NetFrames.arp(request, BROADCAST_MAC, ARP_REQUEST, MAC2, IP2, 0, IP1 + 5);

        a.receive(request, length, 0, XEN_NETIF_GSO_TYPE_NONE, 0);

        assertThat(wire1.frames).isEmpty();
        assertThat(a.stats().rxIgnored).isEqualTo(1);
    }

    @Test
    void shouldResolveItsPeerThenPingIt()
    {
        final SimNetStack a = stack(MAC1, IP1, wire1, SimNetStack.Config.defaults());
        final SimNetStack b = stack(MAC2, IP2, wire2, SimNetStack.Config.defaults());

        assertThat(a.ping(IP2, 1)).as("not resolved yet").isFalse();
        assertThat(a.stats().arpRequests).isEqualTo(1);
        deliverAll(wire1, b);
        deliverAll(wire2, a);
        assertThat(a.ping(IP2, 1)).isTrue();
        deliverAll(wire1, b);
        deliverAll(wire2, a);

        assertThat(b.stats().arpAnswered).isEqualTo(1);
        assertThat(b.stats().echoAnswered).isEqualTo(1);
        assertThat(a.stats().pingReplies).isEqualTo(1);
        assertThat(a.stats().rttLastNanos).isPositive();
        assertThat(a.stats().rttMinNanos).isEqualTo(a.stats().rttLastNanos);
    }

    @Test
    void shouldCountAnEchoReplyWithAnotherPayloadAsAMismatch()
    {
        final SimNetStack a = stack(MAC1, IP1, wire1, SimNetStack.Config.defaults());
        final SimNetStack b = stack(MAC2, IP2, wire2, SimNetStack.Config.defaults());
        a.resolve(IP2);
        deliverAll(wire1, b);
        deliverAll(wire2, a);
        a.ping(IP2, 9);
        deliverAll(wire1, b);

        final Frame reply = wire2.frames.poll();
        final UnsafeBuffer bytes = reply.buffer();
        final int at = L4_OFFSET + ICMP_HLEN + 20;
        bytes.putByte(at, (byte)(bytes.getByte(at) ^ 1));
        final int icmpLength = reply.bytes().length - L4_OFFSET;
        bytes.putShort(L4_OFFSET + ICMP_CHECKSUM, (short)0);
        bytes.putShort(L4_OFFSET + ICMP_CHECKSUM, (short)InternetChecksum.checksum(bytes, L4_OFFSET, icmpLength),
            ByteOrder.BIG_ENDIAN);
        a.receive(bytes, reply.bytes().length, 0, XEN_NETIF_GSO_TYPE_NONE, 0);

        assertThat(a.stats().pingMismatches).isEqualTo(1);
        assertThat(a.stats().pingReplies).isZero();
    }

    @Test
    void shouldDropAFrameWhoseIpv4HeaderChecksumIsWrong()
    {
        final SimNetStack a = stack(MAC1, IP1, wire1, SimNetStack.Config.defaults());
        final SimNetStack b = stack(MAC2, IP2, wire2, SimNetStack.Config.defaults());
        a.resolve(IP2);
        deliverAll(wire1, b);
        deliverAll(wire2, a);
        a.ping(IP2, 1);
        final Frame request = wire1.frames.poll();
        request.buffer().putByte(IP_OFFSET + IP_TTL, (byte)63);

        deliver(request, b);

        assertThat(b.stats().checksumErrors).isEqualTo(1);
        assertThat(b.stats().echoAnswered).isZero();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void shouldMoveVerifiedStreamsBothWays(final boolean offload)
    {
        final SimNetStack.Config config = SimNetStack.Config.defaults().withOffload(offload);
        final SimNetStack a = stack(MAC1, IP1, wire1, config);
        final SimNetStack b = stack(MAC2, IP2, wire2, config);
        a.openStream(IP2);
        b.openStream(IP1);
        final long target = 8L << 20;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline &&
            (b.tcpReceiver().contiguous() < target || a.tcpReceiver().contiguous() < target))
        {
            a.pump();
            b.pump();
            deliverAll(wire1, b);
            deliverAll(wire2, a);
        }
        a.stopSending();
        b.stopSending();
        while (System.nanoTime() < deadline && !(a.drained() && b.drained()))
        {
            a.pump();
            b.pump();
            deliverAll(wire1, b);
            deliverAll(wire2, a);
        }

        for (final SimNetStack[] pair : new SimNetStack[][] {{a, b}, {b, a}})
        {
            final SimNetStack sender = pair[0];
            final SimNetStack receiver = pair[1];
            assertThat(receiver.tcpReceiver().mismatches()).isZero();
            assertThat(receiver.tcpReceiver().gaps()).isZero();
            assertThat(receiver.tcpReceiver().contiguous()).isGreaterThanOrEqualTo(target)
                .isEqualTo(sender.stats().tcpBytesAcked)
                .isEqualTo(sender.stats().tcpBytesSent - sender.stats().tcpBytesResent);
            assertThat(receiver.udpReceiver().mismatches()).isZero();
            assertThat(receiver.udpReceiver().contiguous()).isPositive().isEqualTo(sender.stats().udpBytesSent);
            assertThat(receiver.stats().checksumErrors).isZero();
            assertThat(sender.stats().gsoFramesSent > 0).isEqualTo(offload);
            assertThat(receiver.stats().gsoFramesReceived).isEqualTo(sender.stats().gsoFramesSent);
            assertThat(receiver.stats().acksSent).isPositive();
        }
    }

    private Frame firstTcpFrame(final Wire wire, final boolean gso)
    {
        for (final Frame f : wire.frames)
        {
            if (f.flow() == SimNetStack.FLOW_TCP && (f.gsoType() != XEN_NETIF_GSO_TYPE_NONE) == gso)
            {
                return f;
            }
        }
        throw new AssertionError("no " + (gso ? "GSO" : "plain") + " TCP frame among " + wire.frames.size());
    }

    private SimNetStack[] streamingPair(final SimNetStack.Config config)
    {
        final SimNetStack a = stack(MAC1, IP1, wire1, config);
        final SimNetStack b = stack(MAC2, IP2, wire2, config);
        a.openStream(IP2);
        b.openStream(IP1);
        a.pump();
        deliverAll(wire1, b);
        deliverAll(wire2, a);
        a.pump();
        return new SimNetStack[] {a, b};
    }

    @Test
    void shouldCatchAFlippedByteTheChecksumDidNotCover()
    {
        final SimNetStack[] pair = streamingPair(SimNetStack.Config.defaults());
        final Frame gso = firstTcpFrame(wire1, true);
        final int at = TCP_FRAME_HEADERS + 5000;
        gso.buffer().putByte(at, (byte)~gso.buffer().getByte(at));

        deliver(gso, pair[1]);

        assertThat(pair[1].stats().checksumErrors).as("csum_blank: only the partial sum is checked").isZero();
        assertThat(pair[1].tcpReceiver().mismatches()).isEqualTo(1);
        assertThat(pair[1].tcpReceiver().firstMismatch()).contains("stream byte 5000 ");
    }

    @Test
    void shouldCatchAFlippedByteByItsChecksumWithoutOffload()
    {
        final SimNetStack[] pair = streamingPair(SimNetStack.Config.defaults().withOffload(false));
        final Frame plain = firstTcpFrame(wire1, false);
        final int at = TCP_FRAME_HEADERS + 100;
        plain.buffer().putByte(at, (byte)~plain.buffer().getByte(at));

        deliver(plain, pair[1]);

        assertThat(pair[1].stats().checksumErrors).isEqualTo(1);
        assertThat(pair[1].tcpReceiver().segments()).isZero();
    }

    @Test
    void shouldRejectACsumBlankFrameWhosePartialChecksumIsWrong()
    {
        final SimNetStack[] pair = streamingPair(SimNetStack.Config.defaults());
        final Frame gso = firstTcpFrame(wire1, true);
        gso.buffer().putShort(L4_OFFSET + TCP_CHECKSUM, (short)0x1234);

        deliver(gso, pair[1]);

        assertThat(pair[1].stats().checksumErrors).isEqualTo(1);
    }

    @Test
    void shouldVerifyAGsoFrameWholeAndCutIntoMssSegments()
    {
        final SimNetStack[] pair = streamingPair(SimNetStack.Config.defaults());
        final SimNetStack b = pair[1];
        final Frame gso = firstTcpFrame(wire1, true);
        final int length = gso.bytes().length;
        final int payload = length - TCP_FRAME_HEADERS;
        assertThat(gso.gsoType()).isEqualTo(XEN_NETIF_GSO_TYPE_TCPV4);
        assertThat(gso.gsoSize()).isEqualTo(1448);
        assertThat(gso.txFlags()).isEqualTo(NETTXF_CSUM_BLANK | NETTXF_DATA_VALIDATED);
        final int segments = NetFrames.segmentCount(payload, gso.gsoSize());
        final UnsafeBuffer segment = new UnsafeBuffer(new byte[2048]);

        for (int i = 0; i < segments; i++)
        {
            final int n = NetFrames.tcpSegment(gso.buffer(), length, gso.gsoSize(), i, segment, false);
            b.receive(segment, n, 0, XEN_NETIF_GSO_TYPE_NONE, 0);
        }
        assertThat(b.stats().checksumErrors).isZero();
        assertThat(b.stats().tcpSegmentsReceived).isEqualTo(segments);
        assertThat(b.tcpReceiver().mismatches()).isZero();
        final long first = b.tcpReceiver().contiguous();
        assertThat(first).as("a GSO frame is the stream's first").isEqualTo(payload);

        deliver(gso, b);
        assertThat(b.stats().gsoFramesReceived).isEqualTo(1);
        assertThat(b.stats().tcpSegmentsReceived).isEqualTo(2L * segments);
        assertThat(b.tcpReceiver().duplicateBytes()).isEqualTo(payload);
        assertThat(b.tcpReceiver().mismatches()).isZero();
    }

    @Test
    void shouldRetransmitWhatWasLostAfterTheTimeout()
    {
        final SimNetStack a = stack(MAC1, IP1, wire1, SimNetStack.Config.defaults());
        final SimNetStack b = stack(MAC2, IP2, wire2, SimNetStack.Config.defaults());
        a.openStream(IP2);
        b.openStream(IP1);
        a.resolve(IP2);
        b.resolve(IP1);
        deliverAll(wire1, b);
        deliverAll(wire2, a);
        deliverAll(wire1, b);
        a.pump();
        assertThat(wire1.frames.remove(firstTcpFrame(wire1, true))).as("lose the first GSO frame").isTrue();

        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && a.stats().retransmits == 0)
        {
            a.pump();
            b.pump();
            deliverAll(wire1, b);
            deliverAll(wire2, a);
        }
        a.stopSending();
        while (System.nanoTime() < deadline && !a.drained())
        {
            a.pump();
            b.pump();
            deliverAll(wire1, b);
            deliverAll(wire2, a);
        }

        assertThat(a.stats().retransmits).isPositive();
        assertThat(b.tcpReceiver().gaps()).isPositive();
        assertThat(b.tcpReceiver().mismatches()).isZero();
        assertThat(b.tcpReceiver().contiguous()).isEqualTo(a.stats().tcpBytesAcked).isPositive();
        assertThat(a.drained()).isTrue();
    }
}
