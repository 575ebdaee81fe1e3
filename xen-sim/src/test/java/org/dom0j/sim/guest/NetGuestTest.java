package org.dom0j.sim.guest;

import org.dom0j.sim.SimMachine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two {@link NetGuest}s on one machine, each the other's peer, joined by {@link LoopbackNetback} in crossover:
 * ARP, pings and verified streams both ways, then a clean detach.
 */
@Timeout(90)
class NetGuestTest
{
    @TempDir
    Path dir;

    @Test
    void shouldPingAndMoveVerifiedStreamsBetweenTwoGuestsBothWays() throws Exception
    {
        final int ip5 = NetFrames.parseIpv4("10.0.0.5");
        final int ip6 = NetFrames.parseIpv4("10.0.0.6");
        final List<String> lines = new CopyOnWriteArrayList<>();
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try (SimMachine machine = SimMachine.start(dir.resolve("sim"));
            LoopbackNetback backend = new LoopbackNetback(machine))
        {
            LoopbackNetback.crossConnect(backend.serve(5, "0", LoopbackNetback.LINUX_FEATURES),
                backend.serve(6, "0", LoopbackNetback.LINUX_FEATURES));
            backend.start();
            final SimNetfront.Options options = SimNetfront.Options.linuxDefaults().withQueues(2);
            final Future<NetWorkload.Result> five = pool.submit(() ->
                NetGuest.run(machine, 5, "0", ip5, ip6, options, 42, 1.5, (t, s) -> lines.add(s.line(t))));
            final Future<NetWorkload.Result> six = pool.submit(() ->
                NetGuest.run(machine, 6, "0", ip6, ip5, options, 42, 1.5, null));

            for (final NetWorkload.Result result : List.of(five.get(60, TimeUnit.SECONDS),
                six.get(60, TimeUnit.SECONDS)))
            {
                assertThat(result.problem()).isNull();
                assertThat(result.queues()).isEqualTo(2);
                assertThat(result.gso()).isTrue();
                final NetWorkload.Stats s = result.stats();
                assertThat(s.verifiedBytes).isGreaterThan(1_000_000);
                assertThat(s.mismatches).isZero();
                assertThat(s.errors).isZero();
                assertThat(s.pingReplies).isPositive();
                assertThat(s.tcpContiguous).isPositive();
                assertThat(s.gsoReceived).isPositive();
            }
            assertThat(five.get().stats().tcpAcked).isEqualTo(six.get().stats().tcpContiguous);
            assertThat(six.get().stats().tcpAcked).isEqualTo(five.get().stats().tcpContiguous);
            assertThat(lines).isNotEmpty();
            assertThat(lines.get(lines.size() - 1)).contains("mismatches 0");
            assertThat(backend.errors()).isEmpty();
            assertThat(machine.host().exists(5)).isFalse();
            assertThat(machine.host().exists(6)).isFalse();
        }
        finally
        {
            pool.shutdownNow();
        }
    }
}
