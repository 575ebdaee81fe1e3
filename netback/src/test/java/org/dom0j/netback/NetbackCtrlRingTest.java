package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * The control ring against netback on the simulator, request by request ({@link TestCtrlRing} on a
 * {@link TestNetfront}, the backend run by {@link NetbackHarness} on the test's thread): every request type answered
 * as Linux's netback answers it, each of the XSA-270 range checks, a key longer than 40 bytes and unreadable grants
 * refused with the configuration left as it was, a producer index running ahead failing the device, the HASH extra
 * info a guest receives once it turned hashing on (and not otherwise), and no allocation per request.
 */
@Timeout(60)
class NetbackCtrlRingTest
{
    private static final long MAC_A = 0x00163E00000AL;
    private static final long MAC_B = 0x00163E00000BL;
    private static final String ERROR_NODE = "/local/domain/0/error/backend/vif/1/0/error";
    private static final int ALL = HashConfig.SUPPORTED_TYPES;

    @TempDir
    Path dir;

    private NetbackHarness net;
    private TestNetfront front;
    private TestCtrlRing ctrl;

    @AfterEach
    void stop()
    {
        if (net != null)
        {
            net.close();
            assertThat(net.errors).as("agent errors").isEmpty();
        }
    }

    private void start(final boolean ctrlRing)
    {
        net = new NetbackHarness(dir, NetbackConfiguration.fromSystemProperties()
            .withMode(NetbackConfiguration.Mode.SWITCH).withCtrlRing(ctrlRing));
        front = new TestNetfront(net.machine, 1, MAC_A, true, Map.of());
        net.guests.add(front);
        net.pumpUntil(() -> "2".equals(front.backendState()));
        ctrl = new TestCtrlRing(front);
    }

    private void startConnected()
    {
        start(true);
        front.connect();
        net.pumpUntil(() -> "4".equals(front.backendState()));
    }

    private TestCtrlRing.Response call(final int type, final int data0, final int data1, final int data2)
    {
        final int id = ctrl.request(type, data0, data1, data2);
        net.pumpUntil(() -> ctrl.answer(id) != null);
        final TestCtrlRing.Response response = ctrl.answer(id);
        assertThat(response.type()).as("the response echoes the request's type").isEqualTo(type);
        return response;
    }

    private int status(final int type, final int data0, final int data1, final int data2)
    {
        return call(type, data0, data1, data2).status();
    }

    private HashConfig hashing()
    {
        return net.vif.hashConfig(front.backendPath);
    }

    private static int[] mappingOf(final HashConfig config)
    {
        final int[] entries = new int[config.mappingSize()];
        for (int i = 0; i < entries.length; i++)
        {
            entries[i] = config.mapping(i);
        }
        return entries;
    }

    private static byte[] keyOf(final HashConfig config)
    {
        final byte[] key = new byte[ToeplitzHash.MAX_KEY_LENGTH];
        for (int i = 0; i < key.length; i++)
        {
            key[i] = (byte)config.key(i);
        }
        return key;
    }

    @Test
    void shouldOfferTheControlRingAndServeIt()
    {
        startConnected();
        assertThat(front.xs.readOrNull(front.backendPath + "/feature-ctrl-ring")).isEqualTo("1");
        final TestCtrlRing.Response size = call(XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
        assertThat(size.status()).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(size.data()).isEqualTo(128);
        assertThat(hashing().isActive()).isFalse();
    }

    @Test
    void shouldNeitherOfferNorMapTheControlRingWhenConfiguredOff()
    {
        start(false);
        front.connect();
        net.pumpUntil(() -> "4".equals(front.backendState()));
        assertThat(front.xs.readOrNull(front.backendPath + "/feature-ctrl-ring")).isEqualTo("0");
        final int id = ctrl.request(XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
        net.pump();
        assertThat(ctrl.answer(id)).as("nobody serves the ring").isNull();
        assertThat(ctrl.rspProd()).isZero();
    }

    @ParameterizedTest(name = "event-channel-ctrl = {0}")
    @NullSource
    @ValueSource(strings = { "0", "131072", "4294967296", "seven", "" })
    void shouldFailAFrontendWhoseControlRingHasNoUsableEventChannel(final String port)
    {
        net = new NetbackHarness(dir, NetbackConfiguration.fromSystemProperties()
            .withMode(NetbackConfiguration.Mode.SWITCH).withCtrlRing(true));
        front = new TestNetfront(net.machine, 1, MAC_A, true, Map.of());
        net.guests.add(front);
        net.pumpUntil(() -> "2".equals(front.backendState()));
        front.xs.write(front.frontendPath + "/ctrl-ring-ref", "7");
        if (port != null)
        {
            front.xs.write(front.frontendPath + "/event-channel-ctrl", port);
        }
        front.connect();
        net.pumpUntil(() -> "5".equals(front.backendState()));
        assertThat(net.machine.xenStore().readOrNull(ERROR_NODE)).contains("event-channel-ctrl");
    }

    @Test
    void shouldRefuseAControlPortThatIsADataQueuesPort()
    {
        net = new NetbackHarness(dir, NetbackConfiguration.fromSystemProperties()
            .withMode(NetbackConfiguration.Mode.SWITCH).withCtrlRing(true));
        front = new TestNetfront(net.machine, 1, MAC_A, true, Map.of());
        net.guests.add(front);
        net.pumpUntil(() -> "2".equals(front.backendState()));
        front.xs.write(front.frontendPath + "/ctrl-ring-ref", "7");
        front.xs.write(front.frontendPath + "/event-channel-ctrl", Integer.toString(front.rxPort));
        front.connect();
        net.pumpUntil(() -> "5".equals(front.backendState()));
        assertThat(net.machine.xenStore().readOrNull(ERROR_NODE)).contains("event-channel-ctrl")
            .contains("the same port");
    }

    @Test
    void shouldAnswerAlgorithmAndFlagRequestsAsLinuxDoes()
    {
        startConnected();
        assertThat(status(XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0)).as("no algorithm yet")
            .isEqualTo(XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, ALL, 0, 0)).as("no algorithm yet")
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 2, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, -1, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(hashing().isActive()).isFalse();

        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        final TestCtrlRing.Response flags = call(XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0);
        assertThat(flags.status()).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(flags.data()).isEqualTo(XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |
            XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0x10, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, ALL | 0x8000_0000, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
            XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(hashing().isActive()).isTrue();
        assertThat(hashing().types()).isEqualTo(XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);

        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_HASH_ALGORITHM_NONE, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(hashing().isActive()).isFalse();
        assertThat(status(XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
    }

    @Test
    void shouldAnswerNotSupportedToEveryOtherRequestType()
    {
        startConnected();
        for (final int type : List.of(XEN_NETIF_CTRL_TYPE_INVALID, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
            XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 11, 0xFFFF))
        {
            final TestCtrlRing.Response response = call(type, 1, 2, 3);
            assertThat(response.status()).as("type %d", type).isEqualTo(XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
            assertThat(response.data()).as("type %d", type).isZero();
        }
        assertThat(front.backendState()).isEqualTo("4");
    }

    @Test
    void shouldSetTheKeyByGrantCopyAndRefuseLongKeysAndBadGrants()
    {
        startConnected();
        final int keyRef = ctrl.grant(ToeplitzHashTest.MS_KEY);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, keyRef, 40, 0)).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(keyOf(hashing())).isEqualTo(ToeplitzHashTest.MS_KEY);

        // Longer than 40 (also as a u32 that is negative as an int), and grants that cannot be read: refused, and
        // the key stays as it was.
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, keyRef, 41, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, keyRef, 0x8000_0000, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 100_000, 40, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        final int ended = ctrl.grant(new byte[40]);
        front.guest.endAccess(ended);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, ended, 16, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(keyOf(hashing())).isEqualTo(ToeplitzHashTest.MS_KEY);

        // A shorter key: the rest is zero. Length 0 clears the key without reading the grant.
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, keyRef, 10, 0)).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        final byte[] ten = Arrays.copyOf(ToeplitzHashTest.MS_KEY, 40);
        Arrays.fill(ten, 10, 40, (byte)0);
        assertThat(keyOf(hashing())).isEqualTo(ten);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, -1, 0, 0)).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(keyOf(hashing())).isEqualTo(new byte[40]);
    }

    @Test
    void shouldRangeCheckMappingRequestsAsXsa270Requires()
    {
        startConnected();
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 129, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, -1, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 4, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(mappingOf(hashing())).containsExactly(0, 0, 0, 0);
        final int zeros = ctrl.grantMapping(0, 0, 0, 0);
        final int naming1 = ctrl.grantMapping(0, 1, 0, 0);

        // offset + length wraps in 32 bits (1 + 0xFFFFFFFF = 0, 0xFFFFFFFF + 2 = 1): both "fit" a table of 4 unless
        // the wrap is checked.
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, zeros, 0xFFFF_FFFF, 1))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, zeros, 2, 0xFFFF_FFFF))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        // Past the table's size.
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, zeros, 3, 2))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, zeros, 5, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        // More entries than a page holds (the table's size refuses it first here; both checks are there).
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, zeros, 1025, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        // An entry naming a queue this one-queue frontend does not have: refused, and the table is not touched (an
        // implementation that copied into the table before checking would leave entry 1 = 1).
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, naming1, 4, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        assertThat(mappingOf(hashing())).containsExactly(0, 0, 0, 0);
        final int huge = ctrl.grantMapping(0, 0x8000_0000);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, huge, 2, 2))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        // A grant that cannot be read.
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 100_000, 2, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        // In range: accepted, including nothing at the very end.
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, zeros, 2, 2)).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, zeros, 0, 4)).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, zeros, 4, 0)).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(mappingOf(hashing())).containsExactly(0, 0, 0, 0);
        assertThat(front.backendState()).isEqualTo("4");
    }

    @Test
    void shouldSendTheGuestTheHashOnceItTurnedHashingOn()
    {
        startConnected();
        final TestNetfront peer = net.guest(2, MAC_B, Map.of());
        front.postRx(128);
        final TestFlow tcp4 = TestFlow.ipv4(PacketHeaders.IPPROTO_TCP, "10.0.0.2", "10.0.0.1", 40000, 80);
        final TestFlow udp4 = TestFlow.ipv4(PacketHeaders.IPPROTO_UDP, "10.0.0.2", "10.0.0.1", 5353, 53);
        final TestFlow tcp6 = TestFlow.ipv6(PacketHeaders.IPPROTO_TCP, "fd00::2", "fd00::1", 40001, 443);

        // Off: no hash extra, even for a frame its sender tagged with one.
        final byte[] tagged = tcp4.frame(MAC_A, MAC_B, 100, 1, TestFlow.Shape.PLAIN);
        final int ref = peer.grantTxPage(tagged, 0);
        peer.txRequest(ref, 0, NETTXF_EXTRA_INFO, 0, tagged.length);
        peer.txExtra(XEN_NETIF_EXTRA_TYPE_HASH, 0).hashType(XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT)
            .hashAlgorithm(XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ).hashValue(0x12345678);
        peer.putExtra();
        peer.pushTx();
        net.pump();
        assertThat(front.rxPackets).hasSize(1);
        assertThat(front.rxPackets.get(0).data()).isEqualTo(tagged);
        assertThat(front.rxPackets.get(0).hashType()).isEqualTo(-1);

        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, ALL, 0, 0)).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, ctrl.grant(ToeplitzHashTest.MS_KEY), 40, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        front.rxPackets.clear();
        for (final TestFlow flow : List.of(tcp4, udp4, tcp6))
        {
            peer.send(flow.frame(MAC_A, MAC_B, 200, 2, TestFlow.Shape.PLAIN), 0, 0, 0);
        }
        net.pump();
        assertThat(front.rxPackets).hasSize(3);
        assertHashExtra(front.rxPackets.get(0), XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT, tcp4, true);
        assertHashExtra(front.rxPackets.get(1), XEN_NETIF_CTRL_HASH_TYPE_IPV4_BIT, udp4, false);
        assertHashExtra(front.rxPackets.get(2), XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP_BIT, tcp6, true);

        // Only the IPv4 TCP type: UDP and IPv6 carry no hash.
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        front.rxPackets.clear();
        for (final TestFlow flow : List.of(tcp4, udp4, tcp6))
        {
            peer.send(flow.frame(MAC_A, MAC_B, 200, 3, TestFlow.Shape.PLAIN), 0, 0, 0);
        }
        net.pump();
        assertThat(front.rxPackets).hasSize(3);
        assertHashExtra(front.rxPackets.get(0), XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT, tcp4, true);
        assertThat(front.rxPackets.get(1).hashType()).isEqualTo(-1);
        assertThat(front.rxPackets.get(2).hashType()).isEqualTo(-1);
    }

    private static void assertHashExtra(final TestNetfront.RxPacket packet, final int typeBit, final TestFlow flow,
        final boolean ports)
    {
        final byte[] input = flow.hashInput(ports);
        assertThat(packet.hashType()).isEqualTo(typeBit);
        assertThat(packet.hash()).isEqualTo(ToeplitzHash.hash(ToeplitzHashTest.MS_KEY, 40, new UnsafeBuffer(input), 0,
            input.length));
        assertThat(packet.status()).isZero();
    }

    @Test
    void shouldFailTheDeviceWhenTheControlRingsProducerRunsAhead()
    {
        startConnected();
        final TestNetfront peer = net.guest(2, MAC_B, Map.of());
        assertThat(status(XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0)).isZero();
        ctrl.writeReqProd(ctrl.rspProd() + 129);
        net.pumpUntil(() -> "5".equals(front.backendState()));
        assertThat(net.machine.xenStore().readOrNull(ERROR_NODE)).contains("queue ctrl").contains("req_prod");
        assertThat(peer.backendState()).isEqualTo("4");
    }

    @Test
    void shouldForgetTheHashingWhenTheFrontendDisconnects()
    {
        startConnected();
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(hashing().isActive()).isTrue();
        front.xs.write(front.frontendPath + "/state", "6");
        net.pumpUntil(() -> "6".equals(front.backendState()));
        assertThat(hashing()).isSameAs(HashConfig.NONE);
    }

    @Test
    void shouldServeRequestsWithoutAllocatingPerRequest()
    {
        startConnected();
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0))
            .isZero();
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 8, 0, 0)).isZero();
        final int keyRef = ctrl.grant(ToeplitzHashTest.MS_KEY);
        final int mapRef = ctrl.grantMapping(0, 0, 0, 0, 0, 0, 0, 0);
        assertThat(status(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, keyRef, 40, 0)).isZero();
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        long least = Long.MAX_VALUE;
        for (int round = 0; round < 6; round++)
        {
            // A full ring of requests that read and check but leave the configuration as it is (the key and the
            // table are set again to what they are), refusals and the unsupported.
            for (int i = 0; i < 128; i++)
            {
                switch (i % 6)
                {
                    case 0 -> ctrl.request(XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0);
                    case 1 -> ctrl.request(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, keyRef, 40, 0);
                    case 2 -> ctrl.request(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, mapRef, 8, 0);
                    case 3 -> ctrl.request(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, mapRef, 2, 7);
                    case 4 -> ctrl.request(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, 0, 0);
                    default -> ctrl.request(XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
                }
            }
            final int before = ctrl.rspProd();
            final long start = threads.getCurrentThreadAllocatedBytes();
            net.invoker.invokeAll();
            final long used = threads.getCurrentThreadAllocatedBytes() - start;
            assertThat(ctrl.rspProd() - before).as("one pass answers the ring").isEqualTo(128);
            ctrl.collect();
            if (round > 0)
            {
                least = Math.min(least, used);
            }
        }
        assertThat(least).as("bytes allocated serving 128 requests (invokeAll's own list included)")
            .isLessThan(1024);

        // 128 changes in one pass publish one snapshot, not 128.
        least = Long.MAX_VALUE;
        for (int round = 0; round < 4; round++)
        {
            for (int i = 0; i < 128; i++)
            {
                ctrl.request(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, (i + round) % 2 == 0 ? ALL : 1, 0, 0);
            }
            final long start = threads.getCurrentThreadAllocatedBytes();
            net.invoker.invokeAll();
            least = Math.min(least, threads.getCurrentThreadAllocatedBytes() - start);
            ctrl.collect();
        }
        assertThat(least).as("bytes allocated for a pass of 128 changes").isLessThan(2048);
    }
}
