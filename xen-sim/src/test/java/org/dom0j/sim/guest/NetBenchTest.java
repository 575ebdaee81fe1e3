package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.netif.NetifConstants.NETRXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;

/**
 * {@link NetBench}'s receiver checks ({@link NetBenchReceiver}), fed frames directly: what a broken path does to
 * frames (drops, reorders, stale or corrupted bytes, lost GSO metadata, a wrong checksum) is counted, so that it
 * cannot look fast.
 */
@Timeout(10)
class NetBenchTest
{
    private static final long SENDER_MAC = 0x00163E_000100L;
    private static final long RECEIVER_MAC = 0x00163E_000200L;
    private static final NetBench.Shape SMALL = NetBench.Shape.udp(64);

    private static NetBenchReceiver receiver(final NetBench.Shape shape, final int flows)
    {
        final NetBenchReceiver r = new NetBenchReceiver(shape, flows);
        r.prepare(RECEIVER_MAC);
        return r;
    }

    private static UnsafeBuffer frame(final NetBench.Shape shape, final int flow, final int seq)
    {
        final UnsafeBuffer f = NetBenchFrames.template(shape, flow, SENDER_MAC, RECEIVER_MAC);
        NetBenchFrames.stamp(f, shape, flow, seq);
        return f;
    }

    private static void deliver(final NetBenchReceiver r, final NetBench.Shape shape, final UnsafeBuffer f)
    {
        r.onFrame(0, f, f.capacity(), NETRXF_CSUM_BLANK, shape.gso() ? XEN_NETIF_GSO_TYPE_TCPV4 :
            XEN_NETIF_GSO_TYPE_NONE, shape.gso() ? NetBench.MSS : 0);
    }

    @Test
    void shouldCountFramesInOrderAndAGapAsLostFramesPerFlow()
    {
        final NetBenchReceiver r = receiver(SMALL, 2);
        for (final int seq : new int[]{ 0, 1, 2, 5 })
        {
            deliver(r, SMALL, frame(SMALL, 0, seq));
        }
        deliver(r, SMALL, frame(SMALL, 1, 0));
        deliver(r, SMALL, frame(SMALL, 1, 1));

        assertThat(r.frames()).isEqualTo(6);
        assertThat(r.lost()).isEqualTo(2);
        assertThat(r.errors()).as(r.firstError()).isZero();
    }

    @Test
    void shouldCountASequenceNumberGoingBackAsWrong()
    {
        final NetBenchReceiver r = receiver(SMALL, 1);
        deliver(r, SMALL, frame(SMALL, 0, 0));
        deliver(r, SMALL, frame(SMALL, 0, 1));
        deliver(r, SMALL, frame(SMALL, 0, 1));

        assertThat(r.frames()).isEqualTo(2);
        assertThat(r.errors()).isEqualTo(1);
        assertThat(r.firstError()).contains("sequence number 1 after 1");
    }

    @Test
    void shouldCountAFrameWhoseTagDoesNotMatchItsSequenceNumberAsWrong()
    {
        final NetBenchReceiver r = receiver(SMALL, 1);
        final UnsafeBuffer stale = frame(SMALL, 0, 7);
        // A path that rewrote the sequence number but left an older frame's bytes behind it.
        stale.putInt(NetFrames.L4_OFFSET + NetFrames.UDP_HLEN, 8, ByteOrder.BIG_ENDIAN);
        deliver(r, SMALL, stale);

        assertThat(r.frames()).isZero();
        assertThat(r.errors()).isEqualTo(1);
        assertThat(r.firstError()).contains("tag");
    }

    @Test
    void shouldCatchACorruptedByteInASampledFrame()
    {
        final NetBenchReceiver r = receiver(NetBench.Shape.udp(1514), 1);
        final UnsafeBuffer f = frame(NetBench.Shape.udp(1514), 0, NetBench.SAMPLE_EVERY);
        f.putByte(1000, (byte)(f.getByte(1000) ^ 0x40));
        deliver(r, NetBench.Shape.udp(1514), f);

        assertThat(r.frames()).isZero();
        assertThat(r.errors()).isEqualTo(1);
        assertThat(r.firstError()).contains("byte 1000");
    }

    @Test
    void shouldCountAFrameOfAnotherLengthAsWrong()
    {
        final NetBenchReceiver r = receiver(SMALL, 1);
        final UnsafeBuffer f = frame(SMALL, 0, 0);
        r.onFrame(0, f, 60, NETRXF_CSUM_BLANK, XEN_NETIF_GSO_TYPE_NONE, 0);

        assertThat(r.frames()).isZero();
        assertThat(r.firstError()).contains("60 bytes");
    }

    @Test
    void shouldCountAGsoFrameThatLostItsGsoMetadataAsWrong()
    {
        final NetBench.Shape gso = NetBench.Shape.gsoTcp();
        final NetBenchReceiver r = receiver(gso, 1);
        deliver(r, gso, frame(gso, 0, 0));
        final UnsafeBuffer second = frame(gso, 0, 1);
        r.onFrame(0, second, second.capacity(), NETRXF_CSUM_BLANK, XEN_NETIF_GSO_TYPE_NONE, 0);

        assertThat(gso.length()).isEqualTo(65_226);
        assertThat(r.frames()).isEqualTo(1);
        assertThat(r.errors()).isEqualTo(1);
        assertThat(r.firstError()).contains("GSO type 0");
    }

    @Test
    void shouldVerifyTheWholeChecksumOfASampledFrameThatCameWithoutCsumBlank()
    {
        final NetBenchReceiver r = receiver(SMALL, 1);
        // The template's checksum is partial: without NETRXF_csum_blank it must be a whole, correct one.
        final UnsafeBuffer partial = frame(SMALL, 0, 0);
        r.onFrame(0, partial, 64, 0, XEN_NETIF_GSO_TYPE_NONE, 0);
        assertThat(r.errors()).isEqualTo(1);
        assertThat(r.firstError()).contains("UDP checksum");

        final UnsafeBuffer whole = frame(SMALL, 0, NetBench.SAMPLE_EVERY);
        final int l4 = NetFrames.L4_OFFSET;
        whole.putShort(l4 + NetFrames.UDP_CHECKSUM, (short)0);
        final int src = whole.getInt(NetFrames.IP_OFFSET + NetFrames.IP_SRC, ByteOrder.BIG_ENDIAN);
        final int dst = whole.getInt(NetFrames.IP_OFFSET + NetFrames.IP_DST, ByteOrder.BIG_ENDIAN);
        final long sum = InternetChecksum.pseudoHeader(src, dst, NetFrames.PROTO_UDP, 64 - l4);
        whole.putShort(l4 + NetFrames.UDP_CHECKSUM,
            (short)InternetChecksum.checksum(InternetChecksum.add(sum, whole, l4, 64 - l4)), ByteOrder.BIG_ENDIAN);
        r.onFrame(0, whole, 64, 0, XEN_NETIF_GSO_TYPE_NONE, 0);

        assertThat(r.errors()).as(r.firstError()).isEqualTo(1);
        assertThat(r.frames()).isEqualTo(1);
    }
}
