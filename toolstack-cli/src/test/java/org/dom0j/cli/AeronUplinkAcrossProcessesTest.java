package org.dom0j.cli;

import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.NetFrames;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.NetWorkload;
import org.dom0j.sim.guest.SimNetfront;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two hosts' dom0j services as two {@code dom0j serve} processes, each serving its own simulated machine in switch
 * mode, joined over Aeron UDP on loopback with the command line's options: a guest on one and a guest on the other
 * ping each other and move verified streams both ways, as one L2 segment.
 */
@Timeout(180)
class AeronUplinkAcrossProcessesTest
{
    @TempDir
    Path root;

    private static int freeUdpPort() throws Exception
    {
        try (DatagramSocket socket = new DatagramSocket(0))
        {
            return socket.getLocalPort();
        }
    }

    @Test
    void shouldJoinTwoServeProcessesSwitchesOverAeronUdp() throws Exception
    {
        final int portA = freeUdpPort();
        final int portB = freeUdpPort();
        final Path simA = root.resolve("host-a");
        final Path simB = root.resolve("host-b");
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try (SimMachine a = SimMachine.start(simA);
            SimMachine b = SimMachine.start(simB);
            ServeProcess serveA = ServeProcess.start(simA, root.resolve("serve-a.log"), "--net-mode", "switch",
                "--aeron-subscribe", "aeron:udp?endpoint=127.0.0.1:" + portA,
                "--aeron-publish", "aeron:udp?endpoint=127.0.0.1:" + portB);
            ServeProcess serveB = ServeProcess.start(simB, root.resolve("serve-b.log"), "--net-mode", "switch",
                "--aeron-subscribe", "aeron:udp?endpoint=127.0.0.1:" + portB,
                "--aeron-publish", "aeron:udp?endpoint=127.0.0.1:" + portA))
        {
            final int ip5 = NetFrames.parseIpv4("10.0.0.5");
            final int ip6 = NetFrames.parseIpv4("10.0.0.6");
            final Future<NetWorkload.Result> five = pool.submit(() -> NetGuest.run(a, 5, "0", ip5, ip6,
                SimNetfront.Options.linuxDefaults(), 42, 2, null));
            final Future<NetWorkload.Result> six = pool.submit(() -> NetGuest.run(b, 6, "0", ip6, ip5,
                SimNetfront.Options.linuxDefaults(), 42, 2, null));
            for (final NetWorkload.Result result : List.of(five.get(120, TimeUnit.SECONDS),
                six.get(120, TimeUnit.SECONDS)))
            {
                assertThat(result.problem()).isNull();
                assertThat(result.stats().verifiedBytes).isGreaterThan(100_000);
                assertThat(result.stats().mismatches).isZero();
                assertThat(result.stats().pingReplies).isPositive();
            }
            assertThat(serveA.stop()).as("serve a stopped cleanly").isTrue();
            assertThat(serveB.stop()).as("serve b stopped cleanly").isTrue();
        }
        finally
        {
            pool.shutdownNow();
        }
    }
}
