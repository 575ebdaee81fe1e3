package org.dom0j.sim.guest;

import com.sun.management.ThreadMXBean;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.XenbusState;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.test.Await;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.dom0j.protocol.netif.NetifConstants.*;
import static org.dom0j.sim.guest.NetFrames.*;

/**
 * {@link SimNetfront} against {@link LoopbackNetback} on a simulated machine: what it writes in xenstore, pings and
 * verified streams through the loopback, a GSO frame received over 17 RX slots, and what it does when the backend
 * breaks the protocol.
 */
@Timeout(60)
class SimNetfrontTest
{
    private static final int DOMID = 5;
    private static final String MAC = "00:16:3e:00:05:00";
    private static final int IP = 0x0A000005;
    private static final long WAIT_MS = 10_000;

    @TempDir
    Path dir;

    private SimMachine machine;
    private SimDomain guest;
    private XenStore guestStore;
    private LoopbackNetback backend;
    private LoopbackVif vif;
    private SimNetfront front;
    private int grantsBefore;
    private int portsBefore;

    @BeforeEach
    void setUp()
    {
        machine = SimMachine.start(dir.resolve("sim"));
        guest = machine.createGuest(DOMID, "net-guest", 16_384);
        guestStore = machine.connectAsGuest(DOMID);
        backend = new LoopbackNetback(machine).start();
        grantsBefore = guest.grantedRefCount();
        portsBefore = guest.boundPortCount();
    }

    @AfterEach
    void tearDown()
    {
        try
        {
            if (null != front)
            {
                front.close();
            }
            assertThat(backend.errors()).isEmpty();
        }
        finally
        {
            backend.close();
            guestStore.close();
            machine.close();
        }
    }

    private SimNetfront connect(final SimNetfront.Options options, final Map<String, String> features)
        throws Exception
    {
        vif = backend.attach(DOMID, "0", MAC, features);
        front = SimNetfront.connect(guest, guestStore, "0", options, WAIT_MS);
        return front;
    }

    private static Map<String, String> features(final String... changes)
    {
        final Map<String, String> m = new HashMap<>(LoopbackNetback.LINUX_FEATURES);
        for (int i = 0; i < changes.length; i += 2)
        {
            if (null == changes[i + 1])
            {
                m.remove(changes[i]);
            }
            else
            {
                m.put(changes[i], changes[i + 1]);
            }
        }
        return m;
    }

    private SimNetStack stack()
    {
        final int queues = front.queueCount();
        return new SimNetStack(front.mac(), IP, 11, NetWorkload.stackConfig(front),
            (flow, frame, length, flags, gsoType, gsoSize) ->
                front.send(flow % queues, frame, 0, length, flags, gsoType, gsoSize));
    }

    /** Drives the guest (poll, stack pump, wait for an event) until the condition holds or the deadline passes. */
    private boolean drive(final SimNetStack stack, final BooleanSupplier done)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (System.nanoTime() < deadline)
        {
            if (null == stack)
            {
                front.poll((q, frame, length, flags, gsoType, gsoSize) -> { });
            }
            else
            {
                front.poll((q, frame, length, flags, gsoType, gsoSize) ->
                    stack.receive(frame, length, flags, gsoType, gsoSize));
                stack.pump();
            }
            if (done.getAsBoolean())
            {
                return true;
            }
            front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
        }
        return done.getAsBoolean();
    }

    private static void assertNumber(final Map<String, String> keys, final String key)
    {
        assertThat(keys).containsKey(key);
        assertThat(keys.get(key)).as(key).matches("[0-9]+");
    }

    @Test
    void shouldWriteWhatLinuxNetfrontWritesForOneQueueWithSplitChannels() throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults(), LoopbackNetback.LINUX_FEATURES);

        final Map<String, String> keys = vif.frontendKeys();
        assertThat(keys).containsEntry("multi-queue-num-queues", "1")
            .containsEntry("request-rx-copy", "1")
            .containsEntry("feature-rx-notify", "1")
            .containsEntry("feature-sg", "1")
            .containsEntry("feature-gso-tcpv4", "1")
            .containsEntry("feature-gso-tcpv6", "1")
            .containsEntry("feature-ipv6-csum-offload", "1")
            .containsEntry("xdp-headroom", "0")
            .containsEntry("state", "4")
            .doesNotContainKeys("event-channel", "feature-no-csum-offload", "ctrl-ring-ref", "event-channel-ctrl",
                "request-multicast-control", "queue-0/tx-ring-ref");
        for (final String key : new String[] {"tx-ring-ref", "rx-ring-ref", "event-channel-tx", "event-channel-rx"})
        {
            assertNumber(keys, key);
        }
        assertThat(keys.get("event-channel-tx")).isNotEqualTo(keys.get("event-channel-rx"));
        assertThat(front.isSplit()).isTrue();
        assertThat(front.queueCount()).isEqualTo(1);
        assertThat(front.canGso(XEN_NETIF_GSO_TYPE_TCPV4)).isTrue();
        assertThat(front.mac()).isEqualTo(0x00163E000500L);
        assertThat(vif.phase()).isEqualTo(XenbusState.CONNECTED);
        assertThat(guest.boundPortCount() - portsBefore).isEqualTo(2);
        assertThat(front.rxPosted(0)).as("RX ring kept full").isEqualTo(256);
        assertThat(guest.grantedRefCount() - grantsBefore).as("two rings and 256 RX buffers").isEqualTo(258);
    }

    @Test
    void shouldWriteQueueDirectoriesForTwoQueues() throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults().withQueues(4), features("multi-queue-max-queues", "2"));

        final Map<String, String> keys = vif.frontendKeys();
        assertThat(front.queueCount()).isEqualTo(2);
        assertThat(keys).containsEntry("multi-queue-num-queues", "2")
            .doesNotContainKeys("tx-ring-ref", "rx-ring-ref", "event-channel", "event-channel-tx",
                "queue-2/tx-ring-ref");
        for (final String q : new String[] {"queue-0/", "queue-1/"})
        {
            for (final String key : new String[] {"tx-ring-ref", "rx-ring-ref", "event-channel-tx", "event-channel-rx"})
            {
                assertNumber(keys, q + key);
            }
            assertThat(keys).doesNotContainKey(q + "event-channel");
        }
        assertThat(guest.boundPortCount() - portsBefore).isEqualTo(4);
    }

    @ParameterizedTest
    @CsvSource({"false, 1", "true, 0"})
    void shouldUseOneEventChannelPerQueueWithoutSplitChannels(final boolean askSplit, final String offered)
        throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults().withSplitEventChannels(askSplit),
            features("feature-split-event-channels", offered, "multi-queue-max-queues", null));

        final Map<String, String> keys = vif.frontendKeys();
        assertNumber(keys, "event-channel");
        assertThat(keys).doesNotContainKeys("event-channel-tx", "event-channel-rx", "multi-queue-num-queues");
        assertThat(front.isSplit()).isFalse();
        assertThat(guest.boundPortCount() - portsBefore).isEqualTo(1);
    }

    @Test
    void shouldAskForNoOffloadsAControlRingAndMulticastControl() throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults().withOffloads(false).withControl(true, true),
            LoopbackNetback.LINUX_FEATURES);

        final Map<String, String> keys = vif.frontendKeys();
        assertThat(keys).containsEntry("feature-sg", "0")
            .containsEntry("feature-gso-tcpv4", "0")
            .containsEntry("feature-gso-tcpv6", "0")
            .containsEntry("feature-ipv6-csum-offload", "0")
            .containsEntry("feature-no-csum-offload", "1")
            .containsEntry("request-multicast-control", "1");
        assertNumber(keys, "ctrl-ring-ref");
        assertNumber(keys, "event-channel-ctrl");
        assertThat(front.canScatterGather()).isFalse();
        assertThat(front.canGso(XEN_NETIF_GSO_TYPE_TCPV4)).isFalse();

        final int id = front.ctrlRequest(XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
        assertThat(front.sendMulticastControl(true, 0x01005E000001L)).isTrue();
        assertThat(drive(null, () -> front.ctrlAnswered(id) && front.txOkay() == 1)).isTrue();
        assertThat(front.ctrlStatus(id)).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(front.ctrlData(id)).isEqualTo(128);
        assertThat(vif.multicast).containsExactly("add 01:00:5e:00:00:01");
        assertThat(front.txOutstanding(0)).isZero();
        assertThatThrownBy(() -> front.send(0, new UnsafeBuffer(new byte[5000]), 0, 5000, 0, 0, 0))
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldRefuseABackendWithoutRxCopyAndLeaveNothingBehind()
    {
        vif = backend.attach(DOMID, "0", MAC, features("feature-rx-copy", null));

        assertThatThrownBy(() -> SimNetfront.connect(guest, guestStore, "0", SimNetfront.Options.linuxDefaults(),
            WAIT_MS)).isInstanceOf(IllegalStateException.class).hasMessageContaining("feature-rx-copy");
        assertThat(guest.grantedRefCount()).isEqualTo(grantsBefore);
        assertThat(guest.boundPortCount()).isEqualTo(portsBefore);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void shouldPingItselfThroughTheLoopback(final int queues) throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults().withQueues(queues), LoopbackNetback.LINUX_FEATURES);
        final SimNetStack stack = stack();
        final int[] seq = {0};

        assertThat(drive(stack, () ->
        {
            if (stack.stats().pingReplies == seq[0] && seq[0] < 20 && stack.ping(IP, seq[0]))
            {
                seq[0]++;
            }
            return stack.stats().pingReplies == 20;
        })).isTrue();

        assertThat(stack.stats().echoAnswered).isEqualTo(20);
        assertThat(stack.stats().pingMismatches).isZero();
        assertThat(stack.stats().rttMinNanos).isPositive();
        assertThat(front.violation()).isNull();
    }

    @ParameterizedTest
    @CsvSource({
        "linux defaults, 1, true, 0",
        "offloads off, 1, false, 0",
        "two queues, 2, true, 0",
        "skb data near a page end, 1, true, 4000"})
    void shouldMoveAVerifiedStreamThroughTheLoopback(
        final String name, final int queues, final boolean offloads, final int firstOffset) throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults().withQueues(queues).withOffloads(offloads)
            .withTxFirstOffset(firstOffset), LoopbackNetback.LINUX_FEATURES);
        final NetWorkload workload = new NetWorkload(front, IP, IP, 3, 5);

        final NetWorkload.Result result = workload.run(1.0, null);

        assertThat(result.problem()).isNull();
        final NetWorkload.Stats s = result.stats();
        assertThat(s.mismatches).isZero();
        assertThat(s.errors).isZero();
        assertThat(s.verifiedBytes).isGreaterThan(1_000_000);
        assertThat(s.tcpContiguous).isEqualTo(s.tcpAcked);
        assertThat(s.pingReplies).isPositive();
        assertThat(s.gsoReceived > 0).isEqualTo(offloads);
        assertThat(s.gsoSent).isEqualTo(s.gsoReceived);
        assertThat(s.violation).isNull();
        assertThat(workload.stack().udpReceiver().contiguous()).isEqualTo(workload.stack().stats().udpBytesSent);
    }

    @Test
    void shouldReceiveAGsoFrameSpreadOverSeventeenSlots() throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults(), LoopbackNetback.LINUX_FEATURES);
        backend.splitHeader = true;
        final SimNetStack stack = stack();
        stack.openStream(IP);
        final long seed = StreamPattern.streamSeed(11, IP, IP, PROTO_TCP);
        final int payload = 45 * 1448;
        final int length = TCP_FRAME_HEADERS + payload;
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[length]);
        NetFrames.ethernet(frame, front.mac(), front.mac(), ETHERTYPE_IPV4);
        StreamPattern.fill(frame, TCP_FRAME_HEADERS, seed, 0, payload);
        NetFrames.ipv4(frame, length - ETH_HLEN, 1, PROTO_TCP, IP, IP);
        NetFrames.tcp(frame, SimNetStack.STREAM_SOURCE_PORT, SimNetStack.TCP_STREAM_PORT,
            (int)StreamPattern.word(seed, -1), 0, TCP_ACK_FLAG | TCP_PSH, 1, length - L4_OFFSET, true);
        final int[] got = new int[4];
        final long delivered = backend.rxPackets;

        assertThat(front.send(0, frame, 0, length, NETTXF_CSUM_BLANK | NETTXF_DATA_VALIDATED,
            XEN_NETIF_GSO_TYPE_TCPV4, 1448)).isTrue();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got[0] == 0 && System.nanoTime() < deadline)
        {
            front.poll((q, f, n, flags, gsoType, gsoSize) ->
            {
                got[0] = n;
                got[1] = flags;
                got[2] = gsoType;
                got[3] = gsoSize;
                stack.receive(f, n, flags, gsoType, gsoSize);
            });
            front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
        }

        // The loopback backend records the slots after it pushed the responses the guest just took: wait until it
        // counted the packet (after the slots), do not race it.
        Await.until("the loopback backend done delivering the frame", WAIT_MS, () -> backend.rxPackets > delivered);
        assertThat(backend.lastRxSlots).as("17 data slots and the GSO extra").isEqualTo(18);
        assertThat(got).containsExactly(length, NETRXF_CSUM_BLANK | NETRXF_DATA_VALIDATED, XEN_NETIF_GSO_TYPE_TCPV4,
            1448);
        assertThat(stack.stats().checksumErrors).isZero();
        assertThat(stack.tcpReceiver().contiguous()).isEqualTo(payload);
        assertThat(stack.stats().tcpSegmentsReceived).isEqualTo(45);
        assertThat(front.violation()).isNull();
    }

    /** Pings through the loopback until a frame arrives or a queue stops. */
    private SimNetStack pingOnce()
    {
        final SimNetStack stack = stack();
        assertThat(stack.ping(IP, 1)).isTrue();
        drive(stack, () -> null != front.violation() || stack.stats().rxFrames > 0 || front.rxErrors() > 0);
        return stack;
    }

    @Test
    void shouldStopTheQueueOnAResponseBeyondItsPage() throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults(), LoopbackNetback.LINUX_FEATURES);
        backend.tamperNextRx(r -> r.pageOffset(4000).status(200));

        final SimNetStack stack = pingOnce();

        assertThat(front.violation()).isEqualTo("queue 0 rx: offset 4000 + size 200 > 4096 in slot 0");
        assertThat(stack.stats().rxFrames).isZero();
        assertThat(front.send(0, new UnsafeBuffer(new byte[60]), 0, 60, 0, 0, 0)).as("queue stopped").isFalse();
        assertThat(front.poll((q, f, n, flags, t, s) -> stack.receive(f, n, flags, t, s))).isZero();
    }

    @Test
    void shouldDropAPacketTheBackendMarksInErrorAndGoOn() throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults(), LoopbackNetback.LINUX_FEATURES);
        backend.tamperNextRx(r -> r.status(NETIF_RSP_ERROR));

        final SimNetStack stack = pingOnce();
        assertThat(front.rxErrors()).isEqualTo(1);
        assertThat(front.violation()).isNull();
        assertThat(stack.ping(IP, 2)).isTrue();
        assertThat(drive(stack, () -> stack.stats().pingReplies == 1)).isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "negative status       | STATUS    | status -5 in slot 0",
        "another slot's id     | ID        | response id 7 in the slot of request 0",
        "unknown extra type    | EXTRA     | extra info of unknown type 6",
        "GSO size 0            | GSO       | GSO extra with size 0 and type 1",
        "19 slots of 4096      | SLOTS     | packet takes more than 18 slots",
        "more_data at rsp_prod | PARTIAL   | packet incomplete at rsp_prod 1 (need more slots)",
        "extra at rsp_prod     | NOEXTRA   | packet incomplete at rsp_prod 1 (missing extra info)",
        "rsp_prod too far      | OVERFLOW  | backend rsp_prod overflow"})
    void shouldStopTheQueueOnWhatLinuxNetfrontRejects(final String name, final String how, final String why)
        throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults(), LoopbackNetback.LINUX_FEATURES);
        backend.injectRx(w ->
        {
            switch (how)
            {
                case "STATUS" -> w.rxData(0, 0, -5);
                case "ID" -> w.rxResponse(7, 0, 0, 60);
                case "EXTRA" ->
                {
                    w.rxData(0, NETRXF_EXTRA_INFO, 60);
                    w.rxExtra(6, 0, 0, 0);
                }
                case "GSO" ->
                {
                    w.rxData(0, NETRXF_EXTRA_INFO, 60);
                    w.rxExtra(XEN_NETIF_EXTRA_TYPE_GSO, 0, 0, XEN_NETIF_GSO_TYPE_TCPV4);
                }
                case "SLOTS" ->
                {
                    for (int i = 0; i < 19; i++)
                    {
                        w.rxData(0, i < 18 ? NETRXF_MORE_DATA : 0, 4096);
                    }
                }
                case "PARTIAL" -> w.rxData(0, NETRXF_MORE_DATA, 100);
                case "NOEXTRA" -> w.rxData(0, NETRXF_EXTRA_INFO, 100);
                case "OVERFLOW" -> w.bumpRspProd(300);
                default -> throw new IllegalArgumentException(how);
            }
        });

        assertThat(drive(null, () -> null != front.violation())).isTrue();
        assertThat(front.violation()).startsWith("queue 0 rx: ").contains(why);
        assertThat(front.rxPackets()).isZero();
    }

    @ParameterizedTest
    @CsvSource({"999, response has incorrect id 999", "200, response for inactive request id 200"})
    void shouldStopTheQueueOnATxResponseForNoOutstandingRequest(final int id, final String why) throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults(), LoopbackNetback.LINUX_FEATURES);
        backend.holdTx = true;
        assertThat(front.send(0, new UnsafeBuffer(new byte[60]), 0, 60, 0, 0, 0)).isTrue();
        backend.injectTx(w ->
        {
            w.take();
            w.txResponse(id, NETIF_RSP_OKAY);
        });

        assertThat(drive(null, () -> null != front.violation())).isTrue();
        assertThat(front.violation()).isEqualTo("queue 0 tx: " + why);
        assertThat(front.txOutstanding(0)).isEqualTo(1);
    }

    @Test
    void shouldCloseLikeNetfrontAndEndEveryGrant() throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults().withQueues(2).withControl(true, false),
            LoopbackNetback.LINUX_FEATURES);
        final SimNetStack stack = stack();
        assertThat(stack.ping(IP, 1)).isTrue();
        assertThat(drive(stack, () -> stack.stats().pingReplies == 1)).isTrue();

        front.close();

        assertThat(guestStore.read(front.frontendPath() + "/state")).isEqualTo("6");
        assertThat(machine.xenStore().read(front.backendPath() + "/state")).isEqualTo("6");
        assertThat(front.leakedGrants()).isZero();
        assertThat(guest.grantedRefCount()).isEqualTo(grantsBefore);
        assertThat(guest.boundPortCount()).isEqualTo(portsBefore);
        front.close();
    }

    @Test
    void shouldNotAllocatePerPacketOnTheDataPath() throws Exception
    {
        connect(SimNetfront.Options.linuxDefaults(), LoopbackNetback.LINUX_FEATURES);
        final NetWorkload workload = new NetWorkload(front, IP, IP, 5, 1000);
        workload.run(0.3, null);
        final DirectBuffer frame = new UnsafeBuffer(new byte[1514]);
        final ThreadMXBean threads = (ThreadMXBean)ManagementFactory.getThreadMXBean();
        final SimNetfront.FrameHandler sink = (q, f, n, flags, t, s) -> { };
        final long before = threads.getCurrentThreadAllocatedBytes();
        int sent = 0;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sent < 20_000 && System.nanoTime() < deadline)
        {
            if (front.send(0, frame, 0, 1514, 0, 0, 0))
            {
                sent++;
            }
            else
            {
                front.poll(sink);
            }
        }
        final long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertThat(sent).isEqualTo(20_000);
        assertThat(allocated).as("bytes allocated for 20,000 frames").isLessThan(20_000);

        final long beforeRun = threads.getCurrentThreadAllocatedBytes();
        final NetWorkload.Result result = new NetWorkload(front, IP, IP, 6, 1).run(1.0, null);
        final long allocatedByRun = threads.getCurrentThreadAllocatedBytes() - beforeRun;
        assertThat(result.problem()).isNull();
        assertThat(result.stats().rxFrames).isGreaterThan(10_000);
        assertThat(allocatedByRun).as("bytes allocated by a workload of %d frames", result.stats().rxFrames)
            .isLessThan(256 * 1024);
    }
}
