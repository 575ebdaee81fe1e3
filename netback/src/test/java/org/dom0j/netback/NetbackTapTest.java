package org.dom0j.netback;

import org.dom0j.sim.guest.NetFrames;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.NetStats;
import org.dom0j.sim.guest.SimNetStack;
import org.dom0j.sim.guest.SimNetfront;
import org.dom0j.test.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * TAPs for real. Drop-in mode: each vif gets a TAP {@code vif<domid>.<handle>} in dom0, made before InitWait as
 * Linux's netdev is, and the guest's frames go through it to dom0's own stack. Switch mode: the switch's TAP uplink
 * joins dom0's stack to the guests on the switch. Each test moves the interface into a network namespace of its own,
 * gives it an address there, and Linux's {@code ping} reaches the simulated guest (whose netfront and IP stack
 * answer ARP and ICMP) while the guest pings back. Needs root and /dev/net/tun; skips without.
 */
@Timeout(120)
class NetbackTapTest
{
    private static final String HOST_IP = "10.77.0.1";
    private static final String GUEST_IP = "10.77.0.2";
    /** Bounds the wait for the TAP to go; generous, since only a failing test waits it out. */
    private static final long WAIT_MS = 10_000;

    @TempDir
    Path dir;

    private ThreadedNetback net;
    private TestNamespace namespace;
    private final int domid = 200 + (int)(ProcessHandle.current().pid() % 50);

    @BeforeEach
    void setUp() throws Exception
    {
        namespace = TestNamespace.create("dj");
    }

    @AfterEach
    void tearDown() throws Exception
    {
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
    void shouldCarryPingsBothWaysBetweenDom0sStackAndTheGuestThroughItsTap() throws Exception
    {
        net = new ThreadedNetback(dir, (gnttab, counters) ->
            NetbackDeviceType.withTaps(NetbackConfiguration.fromSystemProperties(), gnttab, counters));
        final String vif = "vif" + domid + ".0";
        final NetStats stats = pingBothWays(vif);
        assertThat(stats.echoAnswered).as("the guest answered dom0's pings").isGreaterThanOrEqualTo(20);
        assertThat(stats.pingReplies).as("dom0 answered the guest's pings").isGreaterThanOrEqualTo(10);
        assertThat(stats.checksumErrors).isZero();
        assertThat(Path.of("/sys/class/net", vif)).as("not in dom0's namespace").doesNotExist();
        // withVif returns once the backend is Closed and its directory removed; the conductor's thread then forgets
        // the device, and only that closes the persistent TAP: wait for it, do not race it.
        Await.until("the TAP gone with the device", WAIT_MS, () -> !linkExists(vif));
    }

    /** Whether the namespace still has the interface ({@code ip link show} finds it). */
    private boolean linkExists(final String device)
    {
        try
        {
            return namespace.exec("ip", "link", "show", device) == 0;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    @Test
    void shouldCarryPingsBetweenDom0AndAGuestOnTheSwitchThroughTheTapUplink() throws Exception
    {
        final String uplink = "djup" + ProcessHandle.current().pid() % 10000;
        net = new ThreadedNetback(dir, (gnttab, counters) ->
        {
            final NetbackDeviceType vif = NetbackDeviceType.withSwitch(NetbackConfiguration.fromSystemProperties(),
                gnttab, counters);
            vif.addTapUplink(uplink);
            return vif;
        });
        final NetStats stats = pingBothWays(uplink);
        assertThat(stats.echoAnswered).as("the guest answered dom0's pings").isGreaterThanOrEqualTo(20);
        assertThat(stats.pingReplies).as("dom0 answered the guest's pings").isGreaterThanOrEqualTo(10);
        assertThat(stats.checksumErrors).isZero();
    }

    /**
     * Moves {@code device} into the test's namespace, addresses it, and pings the guest from there while the guest
     * pings back.
     */
    private NetStats pingBothWays(final String device) throws Exception
    {
        final String vif = device;
        final int guestIp = NetFrames.parseIpv4(GUEST_IP);
        final int hostIp = NetFrames.parseIpv4(HOST_IP);
        return NetGuest.withVif(net.machine, domid, "tap-guest", 2048, "0",
            NetGuest.defaultMac(domid, "0"), SimNetfront.Options.linuxDefaults(), front -> unchecked(() ->
            {
                assertThat(Path.of("/sys/class/net", vif)).as("the TAP exists in dom0").exists();
                assertThat(namespace.moveIn(vif, HOST_IP + "/24")).as("moved into the namespace, addressed, up")
                    .isTrue();
                final SimNetStack stack = new SimNetStack(front.mac(), guestIp, 1,
                    SimNetStack.Config.defaults().withOffload(true),
                    (flow, frame, length, txFlags, gsoType, gsoSize) ->
                        front.send(0, frame, 0, length, txFlags, gsoType, gsoSize));
                final SimNetfront.FrameHandler receive = (queue, frame, length, rxFlags, gsoType, gsoSize) ->
                    stack.receive(frame, length, rxFlags, gsoType, gsoSize);
                final Process ping = namespace.start("ping", "-c", "20", "-i", "0.05", "-s", "1400", "-W", "5",
                    GUEST_IP);
                final List<String> output = new ArrayList<>();
                final Thread reader = new Thread(() -> readLines(ping, output));
                reader.start();
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                int seq = 0;
                long nextPing = System.nanoTime();
                while ((ping.isAlive() || stack.stats().pingReplies < 10) && System.nanoTime() < deadline)
                {
                    front.poll(receive);
                    stack.pump();
                    if (System.nanoTime() - nextPing > 0 && stack.stats().pingsSent < 20)
                    {
                        stack.ping(hostIp, seq++);
                        nextPing = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
                    }
                    front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
                }
                reader.join(5_000);
                assertThat(ping.waitFor(5, TimeUnit.SECONDS)).isTrue();
                assertThat(String.join("\n", output)).contains("20 packets transmitted, 20 received");
                assertThat(ping.exitValue()).isZero();
                return stack.stats();
            }));
    }

    /** A body that may throw what a test may throw. */
    private interface Body<T>
    {
        T run() throws Exception;
    }

    private static <T> T unchecked(final Body<T> body)
    {
        try
        {
            return body.run();
        }
        catch (final RuntimeException | Error ex)
        {
            throw ex;
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private static void readLines(final Process process, final List<String> into)
    {
        try
        {
            into.addAll(List.of(new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                .split("\n")));
        }
        catch (final IOException ex)
        {
            into.add(ex.toString());
        }
    }
}
