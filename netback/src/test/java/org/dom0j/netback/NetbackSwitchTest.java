package org.dom0j.netback;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * Guests talking through the switch inside the service, each frontend written slot by slot ({@link TestNetfront}),
 * the backend run in passes ({@link NetbackHarness}): negotiation, unicast and flooding, frames over several slots,
 * GSO and checksum offloads settled for each receiver, anti-spoofing.
 */
@Timeout(60)
class NetbackSwitchTest
{
    private static final long MAC_A = 0x00163E000001L;
    private static final long MAC_B = 0x00163E000002L;
    private static final long MAC_C = 0x00163E000003L;
    private static final Map<String, String> LINUX = Map.of("feature-gso-tcpv4", "1", "feature-gso-tcpv6", "1",
        "feature-ipv6-csum-offload", "1");

    @TempDir
    Path dir;

    private NetbackHarness net;

    private NetbackHarness start(final NetbackConfiguration configuration)
    {
        net = new NetbackHarness(dir, configuration);
        return net;
    }

    private NetbackHarness start()
    {
        return start(NetbackConfiguration.fromSystemProperties().withMode(NetbackConfiguration.Mode.SWITCH));
    }

    @AfterEach
    void stop()
    {
        if (net != null)
        {
            net.close();
            assertThat(net.errors).as("agent errors").isEmpty();
        }
    }

    @Test
    void shouldAdvertiseWhatLinuxNetbackAdvertisesAndConnect()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);

        assertThat(net.machine.xenStore().readOrNull(a.backendPath + "/feature-rx-copy")).isEqualTo("1");
        assertThat(net.machine.xenStore().readOrNull(a.backendPath + "/feature-rx-flip")).isEqualTo("0");
        assertThat(net.machine.xenStore().readOrNull(a.backendPath + "/feature-sg")).isEqualTo("1");
        assertThat(net.machine.xenStore().readOrNull(a.backendPath + "/feature-split-event-channels")).isEqualTo("1");
        assertThat(net.machine.xenStore().readOrNull(a.backendPath + "/hotplug-status")).isEqualTo("connected");
        assertThat(a.backendState()).isEqualTo("4");
    }

    @Test
    void shouldSwitchAUnicastFrameToItsGuestOnly()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront b = net.guest(2, MAC_B, LINUX);
        final TestNetfront c = net.guest(3, MAC_C, LINUX);
        b.postRx(16);
        c.postRx(16);
        a.postRx(16);
        // B speaks first, so the switch knows where B is (its mac is known from the start anyway).
        final byte[] frame = TestFrames.raw(MAC_B, MAC_A, 1500, 1);

        a.send(frame, 0, 0, 0);
        net.pump();

        assertThat(a.txResponses).containsExactly(new TestNetfront.TxResponse(0, NETIF_RSP_OKAY));
        assertThat(b.rxPackets).hasSize(1);
        assertThat(b.rxPackets.get(0).data()).isEqualTo(frame);
        assertThat(c.rxPackets).isEmpty();
        assertThat(a.rxPackets).isEmpty();
    }

    @Test
    void shouldCopyAFramesPayloadOnceStraightFromTheSendersPagesIntoTheReceivers()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront b = net.guest(2, MAC_B, LINUX);
        b.postRx(16);
        final byte[] frame = TestFrames.raw(MAC_B, MAC_A, 1500, 11);
        net.gnttab.reset();

        a.send(frame, 0, 0, 0);
        net.pump();

        assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(frame);
        assertThat(a.txResponses).containsExactly(new TestNetfront.TxResponse(0, NETIF_RSP_OKAY));
        // The headers are copied out to be switched (and back in); the payload goes guest to guest in one copy.
        assertThat(net.gnttab.foreignToForeign.get()).isEqualTo(1500 - TxPath.HEADER_COPY);
        assertThat(net.gnttab.fromForeign.get()).isEqualTo(TxPath.HEADER_COPY);
        assertThat(net.gnttab.toForeign.get()).isEqualTo(TxPath.HEADER_COPY);
    }

    @Test
    void shouldCopyASmallFrameWhole()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront b = net.guest(2, MAC_B, LINUX);
        b.postRx(16);
        final byte[] small = TestFrames.raw(MAC_B, MAC_A, TxPath.SMALL_PACKET, 12);
        net.gnttab.reset();

        a.send(small, 0, 0, 0);
        net.pump();

        assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(small);
        assertThat(net.gnttab.foreignToForeign.get()).isZero();
        assertThat(net.gnttab.fromForeign.get()).isEqualTo(TxPath.SMALL_PACKET);
    }

    @Test
    void shouldAnswerTheSenderAtOnceWhenTheReceiverHasNoBuffersAndDeliverLater()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront b = net.guest(2, MAC_B, LINUX);
        final byte[][] frames = new byte[10][];
        for (int i = 0; i < frames.length; i++)
        {
            frames[i] = TestFrames.raw(MAC_B, MAC_A, 3000, 100 + i);
            a.send(frames[i], 0, 0, 0);
        }
        net.pump();

        // B posted nothing: its queue copied the frames out of A's pages to wait, so A's slots are free already.
        assertThat(a.txResponses).hasSize(10).allSatisfy(r -> assertThat(r.status()).isEqualTo(NETIF_RSP_OKAY));
        assertThat(b.rxPackets).isEmpty();

        b.postRx(64);
        net.pump();
        assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(frames);
    }

    @Test
    void shouldServeAFrontendWithOneEventChannelForBothRings()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX, false);
        final TestNetfront b = net.guest(2, MAC_B, LINUX, false);
        assertThat(a.txPort).isEqualTo(a.rxPort);
        b.postRx(8);
        final byte[] frame = TestFrames.raw(MAC_B, MAC_A, 800, 21);

        a.send(frame, 0, 0, 0);
        net.pump();

        assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(frame);
        assertThat(a.txResponses).containsExactly(new TestNetfront.TxResponse(0, NETIF_RSP_OKAY));
    }

    @Test
    void shouldLeaveTheXdpHeadroomTheFrontendAskedForAndSayItInAnExtraInfo()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront b = net.guest(2, MAC_B, Map.of("xdp-headroom", "256"));
        b.postRx(8);
        // 4000 bytes: 3840 in the first page after the headroom, 160 in the next.
        final byte[] frame = TestFrames.raw(MAC_B, MAC_A, 4000, 22);

        a.send(frame, 0, 0, 0);
        net.pump();

        assertThat(b.rxPackets).hasSize(1);
        assertThat(b.rxPackets.get(0).data()).isEqualTo(frame);
        assertThat(b.rxPackets.get(0).slots()).as("two data slots and the XDP extra").isEqualTo(3);
        assertThat(b.rxPackets.get(0).flags() & NETRXF_EXTRA_INFO).isNotZero();
    }

    @Test
    void shouldHoldBackWhatTheRateDoesNotAllowAndFollowTheRateWhenItChanges()
    {
        start();
        // 3000 bytes every 10 s, from the toolstack before the guest connects: two frames of 1400 go, the third
        // waits (not taken, not answered).
        final TestNetfront a = net.guest(1, MAC_A, LINUX, true, Map.of("rate", "3000,10000000"));
        final TestNetfront b = net.guest(2, MAC_B, LINUX);
        b.postRx(16);
        for (int i = 0; i < 3; i++)
        {
            a.send(TestFrames.raw(MAC_B, MAC_A, 1400, 30 + i), 0, 0, 0);
        }
        net.pump();
        net.pump();
        assertThat(a.txResponses).hasSize(2);
        assertThat(b.rxPackets).hasSize(2);
        assertThat(net.invoker.invokeAll()).as("the held request does not keep the agent busy").isZero();

        // The toolstack raises the rate: the held frame goes.
        net.machine.xenStore().write(a.backendPath + "/rate", "1000000,1000");
        net.pumpUntil(() -> a.txResponses.size() == 3);
        assertThat(b.rxPackets).hasSize(3);
    }

    @Test
    void shouldFloodABroadcastToEveryOtherGuest()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront b = net.guest(2, MAC_B, LINUX);
        final TestNetfront c = net.guest(3, MAC_C, LINUX);
        a.postRx(8);
        b.postRx(8);
        c.postRx(8);
        final byte[] frame = TestFrames.raw(TestFrames.BROADCAST, MAC_A, 60, 2);

        a.send(frame, 0, 0, 0);
        net.pump();

        assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(frame);
        assertThat(c.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(frame);
        assertThat(a.rxPackets).as("not back to the sender").isEmpty();
    }

    @Test
    void shouldCarryAJumboFrameOverSeveralSlotsBothWays()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront b = net.guest(2, MAC_B, LINUX);
        b.postRx(16);
        final byte[] frame = TestFrames.raw(MAC_B, MAC_A, 9000, 3);

        a.send(frame, 0, 0, 0);
        net.pump();

        assertThat(a.txResponses).extracting(TestNetfront.TxResponse::status).containsExactly(
            (int)NETIF_RSP_OKAY, (int)NETIF_RSP_OKAY, (int)NETIF_RSP_OKAY);
        assertThat(b.rxPackets).hasSize(1);
        assertThat(b.rxPackets.get(0).slots()).isEqualTo(3);
        assertThat(b.rxPackets.get(0).data()).isEqualTo(frame);
    }

    @Test
    void shouldDropFramesFromASourceAddressThatIsNotTheGuests()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront b = net.guest(2, MAC_B, LINUX);
        b.postRx(8);

        a.send(TestFrames.raw(MAC_B, MAC_C, 100, 4), 0, 0, 0);
        net.pump();

        assertThat(a.txResponses).extracting(TestNetfront.TxResponse::status).containsExactly((int)NETIF_RSP_OKAY);
        assertThat(b.rxPackets).isEmpty();
        assertThat(net.vif.counters(a.backendPath).get(0).txDropped()).isEqualTo(1);
    }

    @Test
    void shouldDeliverALargeTcpFrameWholeToAGsoGuestAndInSegmentsToOneWithout()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront gso = net.guest(2, MAC_B, LINUX);
        final TestNetfront plain = net.guest(3, MAC_C, Map.of("feature-gso-tcpv4", "0"));
        gso.postRx(64);
        plain.postRx(200);
        final byte[] frame = TestFrames.tcp(TestFrames.BROADCAST, MAC_A, false, 60_000, 1000, true, 5);

        a.send(frame, NETTXF_CSUM_BLANK | NETTXF_DATA_VALIDATED, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
        net.pump();

        assertThat(gso.rxPackets).hasSize(1);
        final TestNetfront.RxPacket whole = gso.rxPackets.get(0);
        assertThat(whole.data()).isEqualTo(frame);
        assertThat(whole.gsoType()).isEqualTo(XEN_NETIF_GSO_TYPE_TCPV4);
        assertThat(whole.gsoSize()).isEqualTo(1448);
        assertThat(whole.flags() & NETRXF_CSUM_BLANK).isNotZero();

        assertThat(plain.rxPackets).hasSize((60_000 + 1447) / 1448);
        int payload = 0;
        long expectedSeq = 1000;
        for (final TestNetfront.RxPacket segment : plain.rxPackets)
        {
            assertThat(segment.gsoType()).isZero();
            assertThat(segment.data().length).isLessThanOrEqualTo(14 + 20 + 20 + 1448);
            assertThat(TestFrames.checksumsRight(segment.data())).as("segment checksums").isTrue();
            final long seq = java.nio.ByteBuffer.wrap(segment.data(), 38, 4).getInt() & 0xFFFF_FFFFL;
            assertThat(seq).isEqualTo(expectedSeq);
            final int bytes = segment.data().length - 54;
            assertThat(Arrays.copyOfRange(segment.data(), 54, 54 + bytes))
                .isEqualTo(Arrays.copyOfRange(frame, 54 + payload, 54 + payload + bytes));
            payload += bytes;
            expectedSeq += bytes;
        }
        assertThat(payload).isEqualTo(60_000);
        assertThat(net.vif.counters(plain.backendPath).get(0).segmented()).isEqualTo(1);
    }

    @Test
    void shouldCompleteAPartialChecksumForAGuestWithoutChecksumOffload()
    {
        start();
        final TestNetfront a = net.guest(1, MAC_A, LINUX);
        final TestNetfront plain = net.guest(2, MAC_B, Map.of("feature-no-csum-offload", "1"));
        final TestNetfront offload = net.guest(3, MAC_C, LINUX);
        plain.postRx(8);
        offload.postRx(8);
        final byte[] frame = TestFrames.tcp(TestFrames.BROADCAST, MAC_A, false, 1000, 7, true, 6);
        assertThat(TestFrames.checksumsRight(frame)).as("a partial checksum is not a right one").isFalse();

        a.send(frame, NETTXF_CSUM_BLANK | NETTXF_DATA_VALIDATED, 0, 0);
        net.pump();

        assertThat(plain.rxPackets).hasSize(1);
        assertThat(TestFrames.checksumsRight(plain.rxPackets.get(0).data())).isTrue();
        assertThat(plain.rxPackets.get(0).flags() & NETRXF_CSUM_BLANK).isZero();
        assertThat(offload.rxPackets).hasSize(1);
        assertThat(offload.rxPackets.get(0).data()).isEqualTo(frame);
        assertThat(offload.rxPackets.get(0).flags() & NETRXF_CSUM_BLANK).isNotZero();
    }
}
