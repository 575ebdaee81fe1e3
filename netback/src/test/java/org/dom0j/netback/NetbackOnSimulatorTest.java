package org.dom0j.netback;

import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.AgentScheduler;
import org.dom0j.backend.BackendConductor;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.dom0j.sim.guest.NetFrames;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.NetWorkload;
import org.dom0j.sim.guest.SimNetfront;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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

    private SimMachine machine;
    private SimPlatform platform;
    private XenStore store;
    private GrantTables gnttab;
    private AgentScheduler scheduler;
    private AgentRunner conductorRunner;
    private NetbackDeviceType vif;
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp()
    {
        machine = SimMachine.start(dir.resolve("sim"));
        platform = new SimPlatform(machine.host(), 0);
        store = platform.openXenStore();
        gnttab = platform.openGrantTables();
        final ErrorHandler onError = errors::add;
        scheduler = AgentScheduler.eventDriven(TimeUnit.MILLISECONDS.toNanos(1), onError);
        final CountersManager counters = new CountersManager(
            new UnsafeBuffer(ByteBuffer.allocateDirect(256 * 1024)),
            new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024)));
        vif = NetbackDeviceType.withSwitch(NetbackConfiguration.fromSystemProperties(), gnttab, counters);
        final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
            .platform(platform)
            .xenStore(store)
            .grantTables(gnttab)
            .scheduler(scheduler)
            .countersManager(counters)
            .deviceType(vif));
        conductorRunner = new AgentRunner(new BackoffIdleStrategy(10, 20, 1000, 1_000_000), onError, null, conductor);
        AgentRunner.startOnThread(conductorRunner);
    }

    @AfterEach
    void tearDown()
    {
        conductorRunner.close();
        scheduler.close();
        gnttab.close();
        store.close();
        platform.close();
        machine.close();
        assertThat(errors).as("errors raised by agents").isEmpty();
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
