package org.dom0j.netback;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * A guest that breaks netif's rules on purpose, request by request (the XSA-423, 432 and 448 classes among them):
 * a bad packet is answered with NETIF_RSP_ERROR on every slot and the vif goes on; what Linux's netback treats as
 * fatal fails the device with the reason in xenstore, and the other guest's vif goes on. Each test fails if its
 * defence is removed.
 */
@Timeout(60)
class NetbackHostileGuestTest
{
    private static final long MAC_A = 0x00163E00000AL;
    private static final long MAC_B = 0x00163E00000BL;

    @TempDir
    Path dir;

    private NetbackHarness net;
    private TestNetfront hostile;
    private TestNetfront peer;

    @BeforeEach
    void start()
    {
        net = new NetbackHarness(dir,
            NetbackConfiguration.fromSystemProperties().withMode(NetbackConfiguration.Mode.SWITCH));
        hostile = net.guest(1, MAC_A, Map.of());
        peer = net.guest(2, MAC_B, Map.of());
        peer.postRx(64);
    }

    @AfterEach
    void stop()
    {
        net.close();
        assertThat(net.errors).as("agent errors").isEmpty();
    }

    private byte[] frame(final int length)
    {
        return TestFrames.raw(MAC_B, MAC_A, length, length);
    }

    /** Sends {@code slots} slots of {@code each} bytes as one packet. */
    private void sendSlots(final int slots, final int each)
    {
        final byte[] data = frame(each);
        for (int i = 0; i < slots; i++)
        {
            final int ref = hostile.grantTxPage(data, 0);
            hostile.txRequest(ref, 0, i + 1 < slots ? NETTXF_MORE_DATA : 0, i, i == 0 ? slots * each : each);
        }
        hostile.pushTx();
    }

    private void assertVifGoesOn()
    {
        final byte[] good = frame(200);
        hostile.send(good, 0, 0, 0);
        net.pump();
        assertThat(peer.rxPackets).extracting(TestNetfront.RxPacket::data).contains(good);
        assertThat(hostile.backendState()).isEqualTo("4");
    }

    private void assertVifFailed(final String reason)
    {
        net.pumpUntil(() -> "5".equals(hostile.backendState()));
        assertThat(net.machine.xenStore().readOrNull("/local/domain/0/error/backend/vif/1/0/error"))
            .contains(reason);
        // The other guest's vif is unaffected.
        final TestNetfront other = net.guest(3, 0x00163E00000CL, Map.of());
        final byte[] frame = TestFrames.raw(MAC_B, 0x00163E00000CL, 300, 9);
        other.send(frame, 0, 0, 0);
        net.pump();
        assertThat(peer.rxPackets).extracting(TestNetfront.RxPacket::data).contains(frame);
    }

    @Test
    void shouldAnswerErrorOnEverySlotOfAPacketOfTwentySlotsAndGoOn()
    {
        sendSlots(20, 100);
        net.pump();

        assertThat(hostile.txResponses).hasSize(20);
        assertThat(hostile.txResponses).allSatisfy(r -> assertThat(r.status()).isEqualTo(NETIF_RSP_ERROR));
        assertThat(peer.rxPackets).isEmpty();
        assertThat(net.vif.counters(hostile.backendPath).get(0).txErrors()).isEqualTo(1);
        assertVifGoesOn();
    }

    @Test
    void shouldAcceptAPacketOfNineteenSlots()
    {
        sendSlots(19, 100);
        net.pump();

        assertThat(hostile.txResponses).hasSize(19);
        assertThat(hostile.txResponses).allSatisfy(r -> assertThat(r.status()).isEqualTo(NETIF_RSP_OKAY));
        assertThat(peer.rxPackets).hasSize(1);
        assertThat(peer.rxPackets.get(0).data()).hasSize(1900);
    }

    @Test
    void shouldFailTheVifForAPacketOfTwentyTwoSlots()
    {
        sendSlots(22, 100);
        assertVifFailed("slots");
    }

    @Test
    void shouldFailTheVifForASlotCrossingItsPage()
    {
        final int ref = hostile.grantTxPage(frame(200), 0);
        final int second = hostile.grantTxPage(frame(200), 0);
        hostile.txRequest(ref, 0, NETTXF_MORE_DATA, 0, 300);
        hostile.txRequest(second, 4000, 0, 1, 100);
        hostile.pushTx();
        assertVifFailed("crosses its page");
    }

    @Test
    void shouldFailTheVifForAFirstSlotCrossingItsPage()
    {
        final int ref = hostile.grantTxPage(frame(200), 0);
        hostile.txRequest(ref, 4000, 0, 0, 200);
        hostile.pushTx();
        assertVifFailed("crosses its page");
    }

    @Test
    void shouldFailTheVifForAnExtraInfoOfUnknownType()
    {
        final int ref = hostile.grantTxPage(frame(200), 0);
        hostile.txRequest(ref, 0, NETTXF_EXTRA_INFO, 0, 200);
        hostile.txExtra(9, 0);
        hostile.putExtra();
        hostile.pushTx();
        assertVifFailed("unknown type 9");
    }

    @Test
    void shouldFailTheVifForAGsoExtraOfSizeZero()
    {
        final int ref = hostile.grantTxPage(frame(200), 0);
        hostile.txRequest(ref, 0, NETTXF_EXTRA_INFO, 0, 200);
        hostile.txExtra(XEN_NETIF_EXTRA_TYPE_GSO, 0).gsoType(XEN_NETIF_GSO_TYPE_TCPV4).gsoSize(0);
        hostile.putExtra();
        hostile.pushTx();
        assertVifFailed("GSO extra with size 0");
    }

    @Test
    void shouldFailTheVifWhenMoreDataRunsPastTheRequestsProduced()
    {
        final int ref = hostile.grantTxPage(frame(200), 0);
        hostile.txRequest(ref, 0, NETTXF_MORE_DATA, 0, 400);
        hostile.pushTx();
        assertVifFailed("more slots than were produced");
    }

    @Test
    void shouldFailTheVifWhenAnExtraInfoIsMissing()
    {
        final int ref = hostile.grantTxPage(frame(200), 0);
        hostile.txRequest(ref, 0, NETTXF_EXTRA_INFO, 0, 200);
        hostile.pushTx();
        assertVifFailed("missing extra info");
    }

    @Test
    void shouldAnswerErrorForAFirstSlotShorterThanAnEthernetHeader()
    {
        final int ref = hostile.grantTxPage(frame(200), 0);
        hostile.txRequest(ref, 0, 0, 0, 10);
        hostile.pushTx();
        net.pump();

        assertThat(hostile.txResponses).containsExactly(new TestNetfront.TxResponse(0, NETIF_RSP_ERROR));
        assertVifGoesOn();
    }

    @Test
    void shouldAnswerErrorForAFollowingSlotLargerThanWhatThePacketHasLeft()
    {
        final byte[] data = frame(200);
        // The packet is 300 bytes in all, but its second slot alone claims 400.
        hostile.txRequest(hostile.grantTxPage(data, 0), 0, NETTXF_MORE_DATA, 0, 300);
        hostile.txRequest(hostile.grantTxPage(data, 0), 0, 0, 1, 400);
        hostile.pushTx();
        net.pump();

        assertThat(hostile.txResponses).extracting(TestNetfront.TxResponse::status)
            .containsExactly((int)NETIF_RSP_ERROR, (int)NETIF_RSP_ERROR);
        assertThat(peer.rxPackets).isEmpty();
        assertVifGoesOn();
    }

    @Test
    void shouldAnswerAZeroSizeFragmentWithoutUsingItsGrant()
    {
        final byte[] data = frame(200);
        // The second slot names a grant ref that was never granted: with size 0 it must never be used (XSA-448).
        hostile.txRequest(hostile.grantTxPage(data, 0), 0, NETTXF_MORE_DATA, 0, 200);
        hostile.txRequest(31_000, 0, 0, 1, 0);
        hostile.pushTx();
        net.pump();

        assertThat(hostile.txResponses).extracting(TestNetfront.TxResponse::status)
            .containsExactly((int)NETIF_RSP_OKAY, (int)NETIF_RSP_OKAY);
        assertThat(peer.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(data);
    }

    @Test
    void shouldAnswerTheReceiverDroppedNotItsOwnGrantErrorWhenTheSendersPageCannotBeRead()
    {
        // Found by NetbackRingFuzzTest: a packet going to another guest by reference is copied from the sender's
        // pages only when the receiver takes it; a following slot naming a ref never granted made that copy fail,
        // and the receiver's RX response carried GNTST_bad_gntref (-3), an error about its own grant, which a careful
        // frontend takes for a broken backend and stops its queue for.
        final byte[] data = frame(1000);
        hostile.txRequest(hostile.grantTxPage(data, 0), 0, NETTXF_MORE_DATA, 0, 1500);
        hostile.txRequest(31_000, 0, 0, 1, 500);
        hostile.pushTx();
        net.pump();

        assertThat(peer.rxPackets).hasSize(1);
        assertThat(peer.rxPackets.get(0).status()).as("the packet was dropped on its way, not refused by the " +
            "receiver's grant").isEqualTo(NETIF_RSP_DROPPED);
        assertThat(net.vif.counters(peer.backendPath).get(0).rxErrors()).isZero();
        assertThat(net.vif.counters(peer.backendPath).get(0).rxDropped()).isEqualTo(1);
        assertVifGoesOn();
    }

    @Test
    void shouldAnswerErrorForAGrantThatCannotBeRead()
    {
        hostile.txRequest(31_000, 0, 0, 0, 200);
        hostile.pushTx();
        net.pump();

        assertThat(hostile.txResponses).containsExactly(new TestNetfront.TxResponse(0, NETIF_RSP_ERROR));
        assertThat(net.vif.counters(hostile.backendPath).get(0).txErrors()).isEqualTo(1);
        assertVifGoesOn();
    }

    @Test
    void shouldAnswerExtraInfoSlotsWithNullResponsesRightAfterTheirPacketsFirst()
    {
        final byte[] data = frame(3000);
        final int first = hostile.grantTxPage(data, 0);
        hostile.txRequest(first, 0, NETTXF_EXTRA_INFO | NETTXF_MORE_DATA, 7, 3100);
        hostile.txExtra(XEN_NETIF_EXTRA_TYPE_HASH, 0).hashType(1).hashAlgorithm(1).hashValue(5);
        hostile.putExtra();
        hostile.txRequest(hostile.grantTxPage(frame(100), 0), 0, 0, 8, 100);
        hostile.pushTx();
        net.pump();

        assertThat(hostile.txResponses).containsExactly(new TestNetfront.TxResponse(7, NETIF_RSP_OKAY),
            new TestNetfront.TxResponse(0, NETIF_RSP_NULL), new TestNetfront.TxResponse(8, NETIF_RSP_OKAY));
    }

    @Test
    void shouldHoldTheEventsOfAGuestThatStormsWithNothingOnItsRingsAndStillServeItsRequests()
    {
        final TestNetfront other = net.guest(3, 0x00163E00000CL, Map.of());
        int workDuringStorm = 0;
        for (int i = 0; i < 2_000; i++)
        {
            hostile.evtchn.notify(hostile.txPort);
            hostile.evtchn.notify(hostile.rxPort);
            final int work = net.invoker.invokeAll();
            if (i >= 100)
            {
                workDuringStorm += work;
            }
        }
        assertThat(workDuringStorm).as("a storm of events with nothing on the rings is not work").isZero();
        assertThat(counter("vif 1/0 q0 event-storms")).isEqualTo(1);

        // The other guests are served meanwhile, and so is the storming guest's own traffic.
        final byte[] fromOther = TestFrames.raw(MAC_B, 0x00163E00000CL, 700, 40);
        other.send(fromOther, 0, 0, 0);
        final byte[] fromHostile = frame(600);
        hostile.send(fromHostile, 0, 0, 0);
        hostile.evtchn.notify(hostile.txPort);
        net.pump();
        assertThat(peer.rxPackets).extracting(TestNetfront.RxPacket::data).contains(fromOther, fromHostile);
        assertThat(hostile.backendState()).isEqualTo("4");
    }

    private long counter(final String label)
    {
        final long[] value = { -1 };
        new org.agrona.concurrent.status.CountersReader(net.counters.metaDataBuffer(), net.counters.valuesBuffer())
            .forEach((v, id, l) ->
            {
                if (l.equals(label))
                {
                    value[0] = v;
                }
            });
        return value[0];
    }

    @Test
    void shouldFailTheVifWhenReqProdRunsAheadOfTheRing()
    {
        hostile.tx.buffer().putIntRelease(org.dom0j.ring.SharedRingDescriptor.REQ_PROD_OFFSET, 100_000);
        hostile.evtchn.notify(hostile.txPort);
        assertVifFailed("req_prod");
    }
}
