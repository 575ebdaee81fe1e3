package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.guest.SimNetfront;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntUnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * Queue steering by the frontend's Toeplitz configuration, end to end: netback threaded as {@code dom0j serve} runs
 * it, a two-queue guest whose simulated Linux-like netfront has a control ring sets the algorithm, the hash types,
 * Microsoft's key and a mapping table, and another guest sends it frames of several TCP and UDP flows over IPv4 and
 * IPv6 through the switch. Every frame arrives on the queue the table names for its hash, with a HASH extra info
 * whose value is the Toeplitz hash of netif.h's bytes for the flow (written from the flow, not parsed from the
 * frame); a table naming a queue the guest does not have is refused and the old one stays in force.
 */
@Timeout(120)
class NetbackHashSteeringTest
{
    private static final long TIMEOUT_MS = 10_000;
    private static final String MAC_A = "00:16:3e:00:00:05";
    private static final String MAC_B = "00:16:3e:00:00:06";
    private static final SimNetfront.FrameHandler IGNORE = (queue, frame, length, flags, gsoType, gsoSize) ->
    {
    };

    @TempDir
    Path dir;

    private ThreadedNetback net;
    private final List<AutoCloseable> open = new ArrayList<>();
    private final Map<Integer, SimDomain> domains = new java.util.HashMap<>();

    /** A frame as the guest received it. */
    private record Received(int queue, byte[] frame, int hash)
    {
    }

    @BeforeEach
    void setUp()
    {
        net = new ThreadedNetback(dir, (gnttab, counters) -> NetbackDeviceType.withSwitch(
            NetbackConfiguration.fromSystemProperties().withMaxQueues(4).withCtrlRing(true), gnttab, counters));
    }

    @AfterEach
    void tearDown() throws Exception
    {
        for (int i = open.size() - 1; i >= 0; i--)
        {
            open.get(i).close();
        }
        net.close();
        assertThat(net.errors).as("errors raised by agents").isEmpty();
    }

    private SimNetfront connect(final int domid, final String mac, final SimNetfront.Options options)
        throws Exception
    {
        final SimDomain guest = net.machine.createGuest(domid, "net" + domid, 4096);
        domains.put(domid, guest);
        XenbusDevices.attach(net.machine.xenStore(), 0, "vif", domid, "0",
            Map.of("script", "/bin/true", "mac", mac, "bridge", "xenbr0", "handle", "0", "type", "vif"),
            Map.of("handle", "0", "mac", mac, "mtu", "1500", "trusted", "1"));
        final XenStore xs = net.machine.connectAsGuest(domid);
        open.add(xs);
        final SimNetfront front = SimNetfront.connect(guest, xs, "0", options, TIMEOUT_MS);
        open.add(front);
        return front;
    }

    private static int call(final SimNetfront front, final int type, final int data0, final int data1,
        final int data2)
    {
        final int id = front.ctrlRequest(type, data0, data1, data2);
        assertThat(id).isNotNegative();
        final long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!front.ctrlAnswered(id))
        {
            if (front.poll(IGNORE) == 0)
            {
                front.awaitEvent(1_000_000);
            }
            if (System.nanoTime() > deadline)
            {
                fail("control request " + type + " not answered");
            }
        }
        final int status = front.ctrlStatus(id);
        front.ctrlForget(id);
        return status;
    }

    /** Grants the guest's page holding {@code bytes} read-only to dom0. */
    private int grant(final SimNetfront front, final byte[] bytes)
    {
        final SimDomain guest = domains.get(Integer.parseInt(front.frontendPath().split("/")[3]));
        final int frame = guest.allocatePage();
        guest.page(frame).putBytes(0, bytes);
        return guest.grantAccess(0, frame, true);
    }

    private int grantTable(final SimNetfront front, final int entries, final IntUnaryOperator entry)
    {
        final byte[] bytes = new byte[entries * 4];
        final UnsafeBuffer b = new UnsafeBuffer(bytes);
        for (int i = 0; i < entries; i++)
        {
            b.putInt(i * 4, entry.applyAsInt(i), ByteOrder.LITTLE_ENDIAN);
        }
        return grant(front, bytes);
    }

    /**
     * Sends every frame from {@code sender} and takes what {@code receiver} gets, until all arrived.
     */
    private static List<Received> exchange(final SimNetfront sender, final SimNetfront receiver,
        final List<byte[]> frames)
    {
        final List<Received> got = new ArrayList<>();
        final SimNetfront.FrameHandler take = (queue, frame, length, flags, gsoType, gsoSize) ->
        {
            final byte[] bytes = new byte[length];
            frame.getBytes(0, bytes);
            got.add(new Received(queue, bytes, receiver.rxLastHash(queue)));
        };
        final long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        int next = 0;
        while (got.size() < frames.size())
        {
            while (next < frames.size() && sender.canSend(0, frames.get(next).length, false))
            {
                final byte[] frame = frames.get(next++);
                assertThat(sender.send(0, new UnsafeBuffer(frame), 0, frame.length, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
                    .isTrue();
            }
            if (sender.poll(IGNORE) + receiver.poll(take) == 0)
            {
                receiver.awaitEvent(1_000_000);
            }
            if (System.nanoTime() > deadline)
            {
                fail("only " + got.size() + " of " + frames.size() + " frames arrived");
            }
        }
        assertThat(sender.violation()).isNull();
        assertThat(receiver.violation()).isNull();
        return got;
    }

    private static int expectedHash(final TestFlow flow)
    {
        final byte[] input = flow.hashInput(flow.protocol() == PacketHeaders.IPPROTO_TCP);
        return ToeplitzHash.hash(ToeplitzHashTest.MS_KEY, 40, new UnsafeBuffer(input), 0, input.length);
    }

    @Test
    void shouldSteerEveryFlowByTheFrontendsTableAndSendItsToeplitzHash() throws Exception
    {
        final SimNetfront a = connect(5, MAC_A, SimNetfront.Options.linuxDefaults().withQueues(2)
            .withControl(true, false));
        final SimNetfront b = connect(6, MAC_B, SimNetfront.Options.linuxDefaults());
        assertThat(a.queueCount()).isEqualTo(2);
        assertThat(a.hasCtrlRing()).isTrue();
        final long macA = Vif.parseMac(MAC_A);
        final long macB = Vif.parseMac(MAC_B);
        final List<TestFlow> flows = List.of(
            TestFlow.ipv4(PacketHeaders.IPPROTO_TCP, "10.0.0.6", "10.0.0.5", 40000, 80),
            TestFlow.ipv4(PacketHeaders.IPPROTO_TCP, "10.0.0.6", "10.0.0.5", 40001, 80),
            TestFlow.ipv4(PacketHeaders.IPPROTO_TCP, "10.0.0.7", "10.0.0.5", 40000, 22),
            TestFlow.ipv4(PacketHeaders.IPPROTO_UDP, "10.0.0.6", "10.0.0.5", 5353, 53),
            TestFlow.ipv6(PacketHeaders.IPPROTO_TCP, "fd00::6", "fd00::5", 40002, 443),
            TestFlow.ipv6(PacketHeaders.IPPROTO_TCP, "fd00::7", "fd00::5", 40003, 443),
            TestFlow.ipv6(PacketHeaders.IPPROTO_UDP, "fd00::6", "fd00::5", 546, 547));
        final List<byte[]> frames = new ArrayList<>();
        final List<TestFlow> flowOf = new ArrayList<>();
        for (int round = 0; round < 4; round++)
        {
            for (final TestFlow flow : flows)
            {
                // Each frame's payload bytes are its own index: what arrives is matched to what was sent.
                frames.add(flow.frame(macA, macB, 64 + frames.size(), frames.size(), TestFlow.Shape.PLAIN));
                flowOf.add(flow);
            }
        }

        assertThat(call(a, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(call(a, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, HashConfig.SUPPORTED_TYPES, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(call(a, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, grant(a, ToeplitzHashTest.MS_KEY), 40, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(call(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 128, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(call(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, grantTable(a, 128, i -> 1), 128, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        // XSA-270: a table naming queue 2 of a two-queue guest is refused whole; the old one stays in force.
        assertThat(call(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, grantTable(a, 128, i -> i == 100 ? 2 : 0), 128, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);

        final List<Received> toQueue1 = exchange(b, a, frames);
        assertThat(toQueue1).hasSize(frames.size());
        for (int i = 0; i < frames.size(); i++)
        {
            final Received r = toQueue1.get(i);
            assertThat(r.queue()).as("frame %d", i).isEqualTo(1);
            assertThat(r.frame()).as("frame %d, in order on its queue", i).isEqualTo(frames.get(i));
            assertThat(r.hash()).as("frame %d's HASH extra", i).isEqualTo(expectedHash(flowOf.get(i)));
        }

        // A table that sends flows to both queues; it also straddles the backend's staging page.
        final IntUnaryOperator spread = i -> (i / 3) % 2;
        assertThat(call(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, grantTable(a, 128, spread), 128, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        final HashConfig config = net.vif.hashConfig(a.backendPath());
        for (int i = 0; i < 128; i++)
        {
            assertThat(config.mapping(i)).as("entry %d", i).isEqualTo(spread.applyAsInt(i));
        }
        final Set<Integer> expectedQueues = new HashSet<>();
        for (final TestFlow flow : flows)
        {
            expectedQueues.add(spread.applyAsInt(Integer.remainderUnsigned(expectedHash(flow), 128)));
        }
        assertThat(expectedQueues).as("these flows' hashes reach both queues").containsExactlyInAnyOrder(0, 1);

        final List<Received> spreadOut = exchange(b, a, frames);
        final Set<Integer> used = new HashSet<>();
        final int[] lastOnQueue = { -1, -1 };
        for (final Received r : spreadOut)
        {
            final int i = r.frame()[r.frame().length - 1] & 0xFF;
            assertThat(r.frame()).isEqualTo(frames.get(i));
            final int hash = expectedHash(flowOf.get(i));
            assertThat(r.hash()).as("frame %d's HASH extra", i).isEqualTo(hash);
            assertThat(r.queue()).as("frame %d's queue", i)
                .isEqualTo(spread.applyAsInt(Integer.remainderUnsigned(hash, 128)));
            assertThat(i).as("frames keep their order on a queue").isGreaterThan(lastOnQueue[r.queue()]);
            lastOnQueue[r.queue()] = i;
            used.add(r.queue());
        }
        assertThat(used).containsExactlyInAnyOrder(0, 1);

        // A sub-table across the staging page's boundary (entries 60..69) changes only those entries.
        assertThat(call(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, grantTable(a, 10, i -> 1), 10, 60))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        final HashConfig patched = net.vif.hashConfig(a.backendPath());
        for (int i = 0; i < 128; i++)
        {
            assertThat(patched.mapping(i)).as("entry %d", i).isEqualTo(i >= 60 && i < 70 ? 1 : spread.applyAsInt(i));
        }

        // No table: the hash modulo the number of queues.
        assertThat(call(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 0, 0, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        for (final Received r : exchange(b, a, frames))
        {
            final int i = r.frame()[r.frame().length - 1] & 0xFF;
            assertThat(r.queue()).as("frame %d's queue", i)
                .isEqualTo(Integer.remainderUnsigned(expectedHash(flowOf.get(i)), 2));
        }
    }

    @Test
    void shouldKeepTheBackendsOwnSpreadingAndSendNoHashWhileHashingIsOff() throws Exception
    {
        final SimNetfront a = connect(5, MAC_A, SimNetfront.Options.linuxDefaults().withQueues(2)
            .withControl(true, false));
        final SimNetfront b = connect(6, MAC_B, SimNetfront.Options.linuxDefaults());
        final long macA = Vif.parseMac(MAC_A);
        final long macB = Vif.parseMac(MAC_B);
        final List<byte[]> frames = new ArrayList<>();
        final PacketHeaders headers = new PacketHeaders();
        final List<Integer> expectedQueue = new ArrayList<>();
        for (int i = 0; i < 32; i++)
        {
            final byte[] frame = TestFlow.ipv4(PacketHeaders.IPPROTO_TCP, "10.0.0.6", "10.0.0.5", 40000 + i, 80)
                .frame(macA, macB, 64, i, TestFlow.Shape.PLAIN);
            frames.add(frame);
            final UnsafeBuffer view = new UnsafeBuffer(frame);
            headers.parse(view, 0, frame.length);
            expectedQueue.add(Math.floorMod(headers.flowHash(view, 0), 2));
        }
        for (final Received r : exchange(b, a, frames))
        {
            final int i = r.frame()[r.frame().length - 1] & 0xFF;
            assertThat(r.queue()).as("frame %d", i).isEqualTo(expectedQueue.get(i));
            assertThat(r.hash()).as("no HASH extra came").isZero();
        }
        assertThat(net.vif.hashConfig(a.backendPath()).isActive()).isFalse();
    }
}
