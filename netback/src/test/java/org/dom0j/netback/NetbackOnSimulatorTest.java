package org.dom0j.netback;

import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.NetFrames;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.NetWorkload;
import org.dom0j.sim.guest.SimNetfront;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * netback as {@code dom0j serve} runs it (the conductor on its own thread, one thread per queue idling on its event
 * channels) serving two guests whose simulated netfront negotiates the way Linux's does, through the switch: ARP,
 * pings and a verified TCP-like stream each way, with and without GSO and checksum offload, one and two queues.
 */
@Timeout(120)
class NetbackOnSimulatorTest
{
    @TempDir
    Path dir;

    private ThreadedNetback net;
    private SimMachine machine;

    @BeforeEach
    void setUp()
    {
        net = new ThreadedNetback(dir, (gnttab, counters) ->
            NetbackDeviceType.withSwitch(NetbackConfiguration.fromSystemProperties(), gnttab, counters));
        machine = net.machine;
    }

    @AfterEach
    void tearDown()
    {
        net.close();
        assertThat(net.errors).as("errors raised by agents").isEmpty();
    }

    @ParameterizedTest(name = "{0} queue(s), offloads {1}")
    @CsvSource({ "1,true", "2,true", "1,false", "2,false" })
    void shouldPingAndMoveVerifiedStreamsBetweenTwoLinuxLikeGuests(final int queues, final boolean offloads)
        throws Exception
    {
        final int ip5 = NetFrames.parseIpv4("10.0.0.5");
        final int ip6 = NetFrames.parseIpv4("10.0.0.6");
        final SimNetfront.Options options = SimNetfront.Options.linuxDefaults().withQueues(queues)
            .withOffloads(offloads);
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try
        {
            final Future<NetWorkload.Result> five = pool.submit(() ->
                NetGuest.run(machine, 5, "0", ip5, ip6, options, 42, 1.5, null));
            final Future<NetWorkload.Result> six = pool.submit(() ->
                NetGuest.run(machine, 6, "0", ip6, ip5, options, 42, 1.5, null));
            for (final NetWorkload.Result result : List.of(five.get(90, TimeUnit.SECONDS),
                six.get(90, TimeUnit.SECONDS)))
            {
                assertThat(result.problem()).isNull();
                assertThat(result.queues()).isEqualTo(queues);
                final NetWorkload.Stats s = result.stats();
                assertThat(s.verifiedBytes).isGreaterThan(1_000_000);
                assertThat(s.mismatches).isZero();
                assertThat(s.errors).isZero();
                assertThat(s.pingReplies).isPositive();
                if (offloads)
                {
                    assertThat(s.gsoReceived).as("GSO frames delivered whole").isPositive();
                }
            }
            assertThat(five.get().stats().tcpAcked).isEqualTo(six.get().stats().tcpContiguous);
            assertThat(six.get().stats().tcpAcked).isEqualTo(five.get().stats().tcpContiguous);
        }
        finally
        {
            pool.shutdownNow();
        }
    }
}
