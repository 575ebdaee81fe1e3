package org.dom0j.backend;

import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.dom0j.test.Await;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The conductor on its own thread and ring agents on dedicated or shared threads, counters in a file: devices
 * connect, serve, and every device is closed cleanly when the conductor's runner is closed.
 */
@Timeout(60)
class ThreadedConductorTest
{
    /** Bounds each wait for the agents; generous, since only a failing test waits it out. */
    private static final long WAIT_MS = 30_000;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "dedicated", "shared", "event-driven", "event-driven, handlers idle for 60 s" })
    void shouldServeOnRealThreadsAndCloseEveryDeviceOnShutdown(final String mode, @TempDir final Path dir)
        throws Exception
    {
        final InMemoryXenStore xs = new InMemoryXenStore();
        final FakeHypervisor hypervisor = new FakeHypervisor(xs);
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final AgentScheduler scheduler = switch (mode)
        {
            case "dedicated" -> AgentScheduler.dedicated(YieldingIdleStrategy::new, errors::add);
            case "event-driven" -> AgentScheduler.eventDriven(TimeUnit.SECONDS.toNanos(5), errors::add);
            case "event-driven, handlers idle for 60 s" ->
                AgentScheduler.eventDriven(TimeUnit.MILLISECONDS.toNanos(1), errors::add);
            default -> AgentScheduler.shared(2, YieldingIdleStrategy::new, errors::add);
        };
        final EchoDeviceType echo = new EchoDeviceType();
        // The handlers say they may sleep for a minute: only the guests' events (and, to stop, the scheduler's
        // wake-up) may end a wait, so the requests below are answered and the agents stop well within the test.
        final boolean longIdle = mode.contains("60 s");
        if (longIdle)
        {
            echo.idleWaitNanos = TimeUnit.SECONDS.toNanos(60);
        }
        final List<EchoGuest> guests = new ArrayList<>();
        try (CountersFile counters = CountersFile.create(dir.resolve("counters"), 256))
        {
            final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
                .platform(hypervisor)
                .xenStore(xs)
                .grantTables(hypervisor.openGrantTables())
                .scheduler(scheduler)
                .countersManager(counters.manager())
                .deviceType(echo));
            final AgentRunner runner = new AgentRunner(
                conductor.idleStrategy(), errors::add, null, conductor);
            AgentRunner.startOnThread(runner);
            try
            {
                for (int domid = 1; domid <= 3; domid++)
                {
                    final EchoGuest guest = new EchoGuest(xs, hypervisor, domid, "0").plug();
                    guest.offerRings(2, 1).state(XenbusState.CONNECTED);
                    guests.add(guest);
                }
                for (final EchoGuest guest : guests)
                {
                    Await.until("guest " + guest.domid + "'s backend Connected", WAIT_MS,
                        () -> "4".equals(guest.backendState()));
                }
                for (final EchoGuest guest : guests)
                {
                    guest.post(0, 1, 2, 3);
                    guest.post(1, guest.domid);
                }
                for (final EchoGuest guest : guests)
                {
                    final List<Integer> q0 = new ArrayList<>();
                    final List<Integer> q1 = new ArrayList<>();
                    Await.until("guest " + guest.domid + "'s 3 responses on queue 0 and 1 on queue 1", WAIT_MS, () ->
                    {
                        q0.addAll(guest.responses(0));
                        q1.addAll(guest.responses(1));
                        return q0.size() == 3 && q1.size() == 1;
                    });
                    assertThat(q0).containsExactly(2, 3, 4);
                    assertThat(q1).containsExactly(guest.domid + 1);
                }
                // Counted by the ring agents from the rings' indices (the echo handler counts nothing itself), just
                // after the handler's pass that pushed the responses.
                final long[] served = new long[2];
                Await.until("12 requests and 12 responses counted", WAIT_MS, () ->
                {
                    served[0] = 0;
                    served[1] = 0;
                    counters.reader().forEach((id, typeId, key, label) ->
                    {
                        if (typeId == QueueCounters.REQUESTS_TYPE_ID)
                        {
                            served[0] += counters.reader().getCounterValue(id);
                        }
                        else if (typeId == QueueCounters.RESPONSES_TYPE_ID)
                        {
                            served[1] += counters.reader().getCounterValue(id);
                        }
                    });
                    return served[0] == 12 && served[1] == 12;
                });
                assertThat(served).containsExactly(12, 12);
            }
            finally
            {
                // the conductor sleeps until woken (10 s at most): told first, its runner's close need not wait
                final long closing = System.nanoTime();
                conductor.stopping();
                runner.close();
                assertThat(System.nanoTime() - closing).as("closing the conductor's runner")
                    .isLessThan(TimeUnit.SECONDS.toNanos(4));
                final long stopping = System.nanoTime();
                scheduler.close();
                if (longIdle)
                {
                    // 6 agents each asleep for up to 60 s; like poll(2) and a futex through JNA, the fake
                    // hypervisor's wait does not end on the interrupt AgentRunner sends: only the wake-up of
                    // RingAgent.stopping does.
                    assertThat(System.nanoTime() - stopping).as("stopping agents asleep in a long wait")
                        .isLessThan(TimeUnit.SECONDS.toNanos(30));
                }
            }
            for (final EchoGuest guest : guests)
            {
                assertThat(guest.backendState()).isEqualTo("6");
            }
            assertThat(hypervisor.mappedPages()).isZero();
            assertThat(hypervisor.boundPorts()).isZero();
            assertThat(counters.manager().available()).as("counters freed").isEqualTo(256);
        }
        assertThat(errors).isEmpty();
    }
}
