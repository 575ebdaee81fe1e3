package org.dom0j.netback;

import org.dom0j.protocol.netif.NetifDescriptor;
import org.dom0j.protocol.netif.NetifRxRequestFlyweight;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * What a guest's receive side may cost: a guest that posts no buffers (or one at a time) holds only a bounded backlog
 * for a bounded time (XSA-392), is called stalled and has its carrier turned off, and costs the sender nothing; a bad
 * receive grant fails its own slot only; the multicast filter a guest sets is applied.
 */
@Timeout(60)
class NetbackReceiveBoundsTest
{
    private static final long MAC_A = 0x00163E000021L;
    private static final long MAC_B = 0x00163E000022L;

    @TempDir
    Path dir;

    private NetbackHarness net;

    private void start(final long drainMs, final long stallMs)
    {
        net = new NetbackHarness(dir, NetbackConfiguration.fromSystemProperties()
            .withMode(NetbackConfiguration.Mode.SWITCH).withRxTimeouts(drainMs, stallMs));
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
    void shouldBoundTheBacklogOfAGuestThatPostsNoBuffersAndKeepTheSenderGoing()
    {
        start(10_000, 60_000);
        final TestNetfront a = net.guest(1, MAC_A, Map.of());
        final TestNetfront b = net.guest(2, MAC_B, Map.of());
        final byte[] frame = TestFrames.raw(MAC_B, MAC_A, 1500, 1);

        for (int i = 0; i < 800; i++)
        {
            a.send(frame, 0, 0, 0);
            if (i % 100 == 99)
            {
                net.pump();
            }
        }
        net.pump();

        // 800 frames of 1.5 KB is 1.2 MB: the queue holds what fits in 512 KiB, the rest is dropped at once.
        assertThat(a.txResponses).hasSize(800).allSatisfy(r -> assertThat(r.status()).isEqualTo(NETIF_RSP_OKAY));
        final long dropped = net.vif.counters(b.backendPath).get(0).rxDropped();
        assertThat(dropped).isBetween(800L - 512 * 1024 / 1524, 800L - 300);
        assertThat(b.rxPackets).isEmpty();

        // The ring holds 256 buffers: post until every queued frame is in.
        for (int round = 0; round < 4 && b.rxPackets.size() < 800 - dropped; round++)
        {
            b.postRx(256);
            net.pump();
        }
        assertThat(b.rxPackets).hasSize((int)(800 - dropped));
        assertThat(b.rxPackets).allSatisfy(p -> assertThat(p.data()).isEqualTo(frame));
    }

    @Test
    void shouldDropWhatWaitedLongerThanTheDrainTimeout()
    {
        start(50, 60_000);
        final TestNetfront a = net.guest(1, MAC_A, Map.of());
        final TestNetfront b = net.guest(2, MAC_B, Map.of());
        a.send(TestFrames.raw(MAC_B, MAC_A, 500, 2), 0, 0, 0);
        a.send(TestFrames.raw(MAC_B, MAC_A, 500, 3), 0, 0, 0);
        net.pump();

        net.pumpUntil(() -> net.vif.counters(b.backendPath).get(0).rxDropped() == 2);

        final byte[] fresh = TestFrames.raw(MAC_B, MAC_A, 500, 4);
        b.postRx(8);
        a.send(fresh, 0, 0, 0);
        net.pump();
        assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(fresh);
    }

    @Test
    void shouldCallAGuestStalledTurnItsCarrierOffAndOnAgainWhenItPostsBuffers()
    {
        start(10_000, 100);
        final TestNetfront a = net.guest(1, MAC_A, Map.of());
        final TestNetfront b = net.guest(2, MAC_B, Map.of());
        a.send(TestFrames.raw(MAC_B, MAC_A, 500, 5), 0, 0, 0);
        net.pumpUntil(() -> net.vif.counters(b.backendPath).get(0).rxStalls() == 1);

        // While the carrier is off, frames for it are dropped at once.
        final long before = net.vif.counters(b.backendPath).get(0).rxDropped();
        a.send(TestFrames.raw(MAC_B, MAC_A, 500, 6), 0, 0, 0);
        net.pump();
        assertThat(net.vif.counters(b.backendPath).get(0).rxDropped()).isEqualTo(before + 1);

        b.postRx(8);
        net.pump();
        assertThat(b.rxPackets).hasSize(1);
        final byte[] after = TestFrames.raw(MAC_B, MAC_A, 500, 7);
        a.send(after, 0, 0, 0);
        net.pump();
        assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).contains(after);
    }

    @Test
    void shouldWaitForAGuestThatPostsOneBufferAtATimeUntilTheFrameFits()
    {
        start(10_000, 60_000);
        final TestNetfront a = net.guest(1, MAC_A, Map.of());
        final TestNetfront b = net.guest(2, MAC_B, Map.of());
        final byte[] jumbo = TestFrames.raw(MAC_B, MAC_A, 9000, 8);
        a.send(jumbo, 0, 0, 0);
        net.pump();

        b.postRx(1);
        net.pump();
        assertThat(b.rxPackets).isEmpty();
        b.postRx(1);
        net.pump();
        assertThat(b.rxPackets).as("three slots needed, two posted").isEmpty();
        b.postRx(1);
        net.pump();
        assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(jumbo);
    }

    @Test
    void shouldFailOnlyTheSlotOfABadReceiveGrant()
    {
        start(10_000, 60_000);
        final TestNetfront a = net.guest(1, MAC_A, Map.of());
        final TestNetfront b = net.guest(2, MAC_B, Map.of());
        // A receive request whose grant ref was never granted.
        final UnsafeBuffer slot = new UnsafeBuffer(new byte[8]);
        new NetifRxRequestFlyweight().wrap(slot, 0).id(0).gref(31_000);
        b.rx.putRequest(slot, 0, NetifDescriptor.RX_REQUEST_LENGTH);
        b.rx.pushRequests();
        a.send(TestFrames.raw(MAC_B, MAC_A, 400, 9), 0, 0, 0);
        net.pump();

        assertThat(b.rxPackets).hasSize(1);
        assertThat(b.rxPackets.get(0).status()).isNegative();
        assertThat(net.vif.counters(b.backendPath).get(0).rxErrors()).isEqualTo(1);

        b.postRx(4);
        final byte[] next = TestFrames.raw(MAC_B, MAC_A, 400, 10);
        a.send(next, 0, 0, 0);
        net.pump();
        assertThat(b.rxPackets.get(1).data()).isEqualTo(next);
    }

    @Test
    void shouldApplyTheMulticastFilterTheGuestAsksFor()
    {
        start(10_000, 60_000);
        final TestNetfront a = net.guest(1, MAC_A, Map.of());
        final TestNetfront b = net.guest(2, MAC_B, Map.of("request-multicast-control", "1"));
        b.postRx(16);
        final long mdns = 0x01005E0000FBL;
        // A dummy transmit request carrying MCAST_ADD (netif.h's multicast control).
        b.txRequest(0, 0, NETTXF_EXTRA_INFO, 0, 0);
        b.txExtra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0).mcastAddress(mdns);
        b.putExtra();
        b.pushTx();
        net.pump();
        assertThat(b.txResponses).containsExactly(new TestNetfront.TxResponse(0, NETIF_RSP_OKAY),
            new TestNetfront.TxResponse(0, NETIF_RSP_NULL));

        final byte[] wanted = TestFrames.raw(mdns, MAC_A, 100, 11);
        final byte[] unwanted = TestFrames.raw(0x01005E000001L, MAC_A, 100, 12);
        final byte[] broadcast = TestFrames.raw(TestFrames.BROADCAST, MAC_A, 100, 13);
        a.send(wanted, 0, 0, 0);
        a.send(unwanted, 0, 0, 0);
        a.send(broadcast, 0, 0, 0);
        net.pump();
        assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(wanted, broadcast);

        // request-multicast-control is dynamic: turned off, every multicast frame goes in.
        b.xs.write(b.frontendPath + "/request-multicast-control", "0");
        net.pumpUntil(() ->
        {
            a.send(unwanted, 0, 0, 0);
            return b.rxPackets.stream().anyMatch(p -> java.util.Arrays.equals(p.data(), unwanted));
        });
    }
}
