package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.guest.NetFrames;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.SimNetStack;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.netif.NetifConstants.*;

/**
 * Drop-in mode with Toeplitz hashing on: the kernel's tun driver picks the queue, but the guest still gets the HASH
 * extra info with each frame read from its TAP. Linux's {@code ping} from a network namespace holding the vif's TAP
 * reaches a two-queue simulated guest that turned hashing on over its control ring; every echo request it receives
 * carries the Toeplitz hash of the two IPv4 addresses under the guest's key. Needs root and /dev/net/tun; skips
 * without.
 */
@Timeout(120)
class NetbackTapHashTest
{
    private static final String HOST_IP = "10.78.0.1";
    private static final String GUEST_IP = "10.78.0.2";
    private static final long TIMEOUT_MS = 10_000;

    @TempDir
    Path dir;

    private ThreadedNetback net;
    private TestNamespace namespace;
    private final int domid = 260 + (int)(ProcessHandle.current().pid() % 50);
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception
    {
        namespace = TestNamespace.create("dh");
        net = new ThreadedNetback(dir, (gnttab, counters) -> NetbackDeviceType.withTaps(
            NetbackConfiguration.fromSystemProperties().withMaxQueues(2).withCtrlRing(true), gnttab, counters));
    }

    @AfterEach
    void tearDown() throws Exception
    {
        for (int i = open.size() - 1; i >= 0; i--)
        {
            open.get(i).close();
        }
        if (net != null)
        {
            net.close();
            assertThat(net.errors).as("errors raised by agents").isEmpty();
        }
        if (namespace != null)
        {
            namespace.close();
        }
    }

    @Test
    void shouldSendTheHashOfFramesFromTheTapOnceTheGuestTurnedHashingOn() throws Exception
    {
        final String mac = NetGuest.defaultMac(domid, "0");
        final SimDomain guest = net.machine.createGuest(domid, "tap-hash", 4096);
        XenbusDevices.attach(net.machine.xenStore(), 0, "vif", domid, "0",
            Map.of("script", "/bin/true", "mac", mac, "bridge", "xenbr0", "handle", "0", "type", "vif"),
            Map.of("handle", "0", "mac", mac, "mtu", "1500", "trusted", "1"));
        final XenStore xs = net.machine.connectAsGuest(domid);
        open.add(xs);
        final SimNetfront front = SimNetfront.connect(guest, xs, "0",
            SimNetfront.Options.linuxDefaults().withQueues(2).withControl(true, false), TIMEOUT_MS);
        open.add(front);

        final int keyFrame = guest.allocatePage();
        guest.page(keyFrame).putBytes(0, ToeplitzHashTest.MS_KEY);
        final int keyRef = guest.grantAccess(0, keyFrame, true);
        assertThat(call(front, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(call(front, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, HashConfig.SUPPORTED_TYPES, 0))
            .isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);
        assertThat(call(front, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, keyRef, 40)).isEqualTo(XEN_NETIF_CTRL_STATUS_SUCCESS);

        final String vif = "vif" + domid + ".0";
        assertThat(namespace.moveIn(vif, HOST_IP + "/24")).as("moved into the namespace, addressed, up").isTrue();
        final int guestIp = NetFrames.parseIpv4(GUEST_IP);
        final int hostIp = NetFrames.parseIpv4(HOST_IP);
        final SimNetStack stack = new SimNetStack(front.mac(), guestIp, 1, SimNetStack.Config.defaults(),
            (flow, frame, length, txFlags, gsoType, gsoSize) -> front.send(0, frame, 0, length, txFlags, gsoType,
                gsoSize));
        final List<Integer> echoHashes = new ArrayList<>();
        final SimNetfront.FrameHandler receive = (queue, frame, length, rxFlags, gsoType, gsoSize) ->
        {
            if (length >= 34 && (frame.getShort(12, ByteOrder.BIG_ENDIAN) & 0xFFFF) == PacketHeaders.ETH_P_IP &&
                frame.getByte(23) == PacketHeaders.IPPROTO_ICMP && frame.getInt(26, ByteOrder.BIG_ENDIAN) == hostIp)
            {
                echoHashes.add(front.rxLastHash(queue));
            }
            stack.receive(frame, length, rxFlags, gsoType, gsoSize);
        };
        final Process ping = namespace.start("ping", "-c", "10", "-i", "0.05", "-W", "5", GUEST_IP);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (ping.isAlive() && System.nanoTime() < deadline)
        {
            front.poll(receive);
            stack.pump();
            front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
        }
        final String output = new String(ping.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(ping.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(output).contains("10 packets transmitted, 10 received");

        final byte[] input = new byte[8];
        final UnsafeBuffer b = new UnsafeBuffer(input);
        b.putInt(0, hostIp, ByteOrder.BIG_ENDIAN);
        b.putInt(4, guestIp, ByteOrder.BIG_ENDIAN);
        final int expected = ToeplitzHash.hash(ToeplitzHashTest.MS_KEY, 40, b, 0, 8);
        assertThat(echoHashes).as("a HASH extra with each echo request from the TAP").hasSizeGreaterThanOrEqualTo(10)
            .containsOnly(expected);
    }

    private static int call(final SimNetfront front, final int type, final int data0, final int data1)
    {
        final int id = front.ctrlRequest(type, data0, data1, 0);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!front.ctrlAnswered(id) && System.nanoTime() < deadline)
        {
            if (front.poll((queue, frame, length, flags, gsoType, gsoSize) -> { }) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
        assertThat(front.ctrlAnswered(id)).as("control request %d answered", type).isTrue();
        final int status = front.ctrlStatus(id);
        front.ctrlForget(id);
        return status;
    }
}
