package org.dom0j.backend;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.ring.SharedRingDescriptor.REQ_PROD_OFFSET;

/**
 * The conductor's device lifecycle, driven through its real code path (watches, state machine, mapping, binding,
 * ring agents in INVOKER mode) against an in-memory xenstore and in-process fake grants/event channels (test
 * fixtures; the simulator-based integration tests come with issues 3 and 4).
 */
@Timeout(30)
class BackendConductorTest
{
    private final FakeBackend backend = new FakeBackend();
    private final InMemoryXenStore xs = backend.xs;
    private final FakeHypervisor hypervisor = backend.hypervisor;
    private final AgentScheduler.Invoker invoker = backend.invoker;
    private final EchoDeviceType echo = new EchoDeviceType();
    private BackendConductor conductor;

    @BeforeEach
    void start()
    {
        conductor = newConductor(1024);
    }

    private BackendConductor newConductor(final int watchQueueCapacity)
    {
        final BackendConductor c = backend.conductor(echo, watchQueueCapacity);
        c.onStart();
        return c;
    }

    @AfterEach
    void stop()
    {
        backend.stop(conductor);
    }

    private void pump()
    {
        backend.pump(conductor);
    }

    private EchoGuest guest(final int domid)
    {
        return new EchoGuest(xs, hypervisor, domid, "0");
    }

    private List<String> recordStates(final EchoGuest guest)
    {
        final List<String> states = new ArrayList<>();
        xs.watch(guest.backendPath + "/state", "test", (path, token) ->
        {
            final String value = xs.readOrNull(path);
            if (value != null && (states.isEmpty() || !states.get(states.size() - 1).equals(value)))
            {
                states.add(value);
            }
        });
        return states;
    }

    @Test
    void shouldAdvertiseWriteHotplugStatusAndWaitForTheFrontend()
    {
        final EchoGuest guest = guest(5).plug();

        pump();

        assertThat(guest.backendState()).isEqualTo("2");
        assertThat(xs.readOrNull(guest.backendPath + "/hotplug-status")).isEqualTo("connected");
        assertThat(xs.readOrNull(guest.backendPath + "/max-ring-page-order")).isEqualTo("2");
        assertThat(xs.readOrNull(guest.backendPath + "/multi-queue-max-queues")).isEqualTo("4");
    }

    @Test
    void shouldRemoveADeviceOnceWhenItsBackendDirectoryGoesAwayButNotWhenItOnlyDisconnects()
    {
        final EchoGuest guest = guest(5).plug();
        pump();
        guest.offerRings(1, 1).state(XenbusState.INITIALISED);
        pump();
        guest.state(XenbusState.CLOSING);
        pump();
        assertThat(echo.disconnects).isEqualTo(1);
        assertThat(echo.removes).as("a disconnect keeps the device for a reconnect").isZero();

        xs.rm(guest.backendPath);
        pump();
        assertThat(conductor.devicePaths()).doesNotContain(guest.backendPath);
        assertThat(echo.removes).isEqualTo(1);
    }

    @Test
    void shouldFailADeviceWhoseSetUpThrowsAndRemoveItLater()
    {
        echo.advertiseFailure = new IllegalStateException("no TAP for you");
        final EchoGuest guest = guest(5).plug();

        pump();

        assertThat(guest.backendState()).isEqualTo("5");
        assertThat(xs.readOrNull("/local/domain/0/error/backend/echo/5/0/error"))
            .isEqualTo("could not set the device up: no TAP for you");
        xs.rm(guest.backendPath);
        pump();
        assertThat(echo.removes).as("remove runs for a device whose set-up failed part way").isEqualTo(1);
    }

    @Test
    void shouldConnectServeCloseAndReconnect()
    {
        final EchoGuest guest = guest(5).plug();
        final List<String> states = recordStates(guest);
        pump();
        guest.offerRings(1, 1).state(XenbusState.INITIALISED);
        pump();
        assertThat(guest.backendState()).isEqualTo("4");
        assertThat(hypervisor.mappedPages()).isEqualTo(1);
        assertThat(invoker.agentCount()).isEqualTo(1);

        guest.post(0, 1, 2, 3);
        pump();
        assertThat(guest.responses(0)).containsExactly(2, 3, 4);
        assertThat(guest.channels.get(0).takeGuestEvents()).as("the frontend was notified").isPositive();

        guest.state(XenbusState.CLOSING);
        pump();
        assertThat(guest.backendState()).isEqualTo("5");
        assertThat(hypervisor.mappedPages()).isZero();
        assertThat(hypervisor.boundPorts()).isZero();
        assertThat(invoker.agentCount()).isZero();
        assertThat(echo.disconnects).isEqualTo(1);

        guest.state(XenbusState.CLOSED);
        pump();
        assertThat(guest.backendState()).isEqualTo("6");
        assertThat(conductor.devicePaths()).as("still online: kept for a reconnect").contains(guest.backendPath);

        guest.state(XenbusState.INITIALISING);
        pump();
        assertThat(guest.backendState()).isEqualTo("2");
        guest.offerRings(1, 1).state(XenbusState.CONNECTED);
        pump();
        assertThat(guest.backendState()).isEqualTo("4");
        guest.post(0, 41);
        pump();
        assertThat(guest.responses(0)).containsExactly(42);

        assertThat(states).containsExactly("1", "2", "4", "5", "6", "2", "4");
    }

    @Test
    void shouldServeSeveralQueuesOfSeveralPages()
    {
        final EchoGuest guest = guest(7).plug();
        pump();
        guest.offerRings(3, 4).state(XenbusState.CONNECTED);
        pump();

        assertThat(guest.backendState()).isEqualTo("4");
        assertThat(hypervisor.mappedPages()).isEqualTo(12);
        for (int q = 0; q < 3; q++)
        {
            guest.post(q, 10 * q, 10 * q + 1);
        }
        pump();
        for (int q = 0; q < 3; q++)
        {
            assertThat(guest.responses(q)).containsExactly(10 * q + 1, 10 * q + 2);
        }
    }

    @Test
    void shouldConnectAFrontendThatSkipsInitialised()
    {
        final EchoGuest guest = guest(5).plug();
        final List<String> states = recordStates(guest);
        guest.offerRings(1, 1).state(XenbusState.CONNECTED);

        pump();

        assertThat(guest.backendState()).isEqualTo("4");
        assertThat(states).containsExactly("1", "2", "4");
    }

    @Test
    void shouldWalkThroughClosingWhenTheFrontendGoesStraightToClosed()
    {
        final EchoGuest guest = guest(5).plug();
        final List<String> states = recordStates(guest);
        guest.offerRings(1, 1).state(XenbusState.CONNECTED);
        pump();

        guest.state(XenbusState.CLOSED);
        pump();

        assertThat(states).containsExactly("1", "2", "4", "5", "6");
    }

    static Stream<Arguments> bogusFrontendValues()
    {
        return Stream.of(
            Arguments.of("ring-page-order", "99", "ring-page-order = \"99\": out of range 0..2"),
            Arguments.of("ring-ref", null, "ring-ref missing: required"),
            Arguments.of("event-channel", "abc", "event-channel = \"abc\": not a decimal number"),
            Arguments.of("protocol", "foo", "protocol = \"foo\": unknown protocol"),
            Arguments.of("event-channel", "0", "event-channel = \"0\": out of range"),
            Arguments.of("event-channel", "-1", "not a decimal number"),
            Arguments.of("event-channel", " 7", "not a decimal number"),
            Arguments.of("ring-ref", "4294967296", "ring-ref = \"4294967296\": out of range"),
            Arguments.of("ring-ref", "99999999999999999999", "not a decimal number of 1..10 digits"),
            Arguments.of("ring-ref", "0x10", "not a decimal number"),
            Arguments.of("ring-ref", "12345", "connect failed: map grant ref 12345"),
            Arguments.of("multi-queue-num-queues", "9", "multi-queue-num-queues = \"9\": out of range 1..4"),
            Arguments.of("multi-queue-num-queues", "0", "out of range 1..4"),
            Arguments.of("event-channel", "999", "connect failed: bind port 999"));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("bogusFrontendValues")
    void shouldFailOnlyTheDeviceWithABogusValueAndSayWhy(final String key, final String value, final String reason)
    {
        final EchoGuest good = guest(3).plug();
        final EchoGuest bad = guest(4).plug();
        pump();
        good.offerRings(1, 1).state(XenbusState.CONNECTED);
        bad.offerRings(1, 1);
        final String path = bad.frontendPath + "/" + key;
        if (value == null)
        {
            xs.rm(path);
        }
        else
        {
            xs.write(path, value);
        }
        bad.state(XenbusState.CONNECTED);
        pump();

        assertThat(bad.backendState()).isEqualTo("5");
        assertThat(xs.readOrNull("/local/domain/0/error/backend/echo/4/0/error")).contains(reason);
        assertThat(hypervisor.mappedPages()).as("only the good device's ring is mapped").isEqualTo(1);
        assertThat(hypervisor.boundPorts()).isEqualTo(1);

        good.post(0, 99);
        pump();
        assertThat(good.backendState()).isEqualTo("4");
        assertThat(good.responses(0)).containsExactly(100);

        // the failed device stays failed until its frontend closes, then may reconnect
        bad.state(XenbusState.CLOSED);
        pump();
        assertThat(bad.backendState()).isEqualTo("6");
        bad.state(XenbusState.INITIALISING);
        pump();
        if (key.equals("ring-page-order") || key.equals("multi-queue-num-queues"))
        {
            xs.rm(path);
        }
        bad.offerRings(1, 1).state(XenbusState.CONNECTED);
        pump();
        assertThat(bad.backendState()).isEqualTo("4");
    }

    @Test
    void shouldAnswerABadRequestWithAnErrorAndGoOn()
    {
        final EchoGuest guest = guest(5).plug();
        guest.offerRings(1, 1).state(XenbusState.CONNECTED);
        pump();

        guest.post(0, 1, EchoDeviceType.BAD_VALUE, 2);
        pump();

        assertThat(guest.responses(0)).containsExactly(2, -22, 3);
        assertThat(guest.backendState()).isEqualTo("4");
    }

    @Test
    void shouldFailTheDeviceWhenTheFrontendOverflowsItsRing()
    {
        final EchoGuest guest = guest(5).plug();
        guest.offerRings(1, 1).state(XenbusState.CONNECTED);
        pump();
        guest.post(0, 1);
        pump();
        assertThat(guest.responses(0)).containsExactly(2);

        guest.rings.get(0).buffer().putIntVolatile(REQ_PROD_OFFSET, 1_000_000);
        guest.channels.get(0).notifyBackend();
        pump();

        assertThat(guest.backendState()).isEqualTo("5");
        assertThat(xs.readOrNull("/local/domain/0/error/backend/echo/5/0/error"))
            .contains("ring protocol violation").contains("RING_REQUEST_PROD_OVERFLOW");
        assertThat(hypervisor.mappedPages()).isZero();
        assertThat(invoker.agentCount()).isZero();
    }

    @Test
    void shouldRefuseARingWhoseIndicesAreImpossibleAtConnect()
    {
        final EchoGuest guest = guest(5).plug();
        guest.offerRings(1, 1);
        guest.rings.get(0).buffer().putIntVolatile(REQ_PROD_OFFSET, 5000);
        guest.state(XenbusState.CONNECTED);

        pump();

        assertThat(guest.backendState()).isEqualTo("5");
        assertThat(xs.readOrNull("/local/domain/0/error/backend/echo/5/0/error")).contains("ring indices impossible");
    }

    @Test
    void shouldCloseTheHandlersOfQueuesMadeBeforeALaterQueueFailedToConnect()
    {
        // Found by BlkbackRingFuzzTest: blkback's queues q0 and q1 kept their io_uring descriptors (and bounce
        // pages) until a garbage collection, when q2's ring was refused; a guest reconnecting in a loop could pile
        // them up.
        final EchoGuest guest = guest(5).plug();
        guest.offerRings(3, 1);
        guest.rings.get(2).buffer().putIntVolatile(REQ_PROD_OFFSET, 5000);
        guest.state(XenbusState.CONNECTED);

        pump();

        assertThat(guest.backendState()).isEqualTo("5");
        assertThat(xs.readOrNull("/local/domain/0/error/backend/echo/5/0/error"))
            .contains("queue q2 ring indices impossible");
        assertThat(echo.handlersMade).as("q0 and q1 were connected before q2 was refused").isEqualTo(2);
        assertThat(echo.handlersOpen).as("their handlers, made but never started, are closed").isZero();
        assertThat(hypervisor.mappedPages()).isZero();
        assertThat(invoker.agentCount()).isZero();
    }

    @Test
    void shouldNotMakeAgainABackendDirectoryTheToolstackRemovedWhenItFailsTheDeviceLate()
    {
        // Found by BlkbackRingFuzzTest: a guest broke its ring just as it was destroyed; the conductor failed the
        // device after xl had removed its directories, and its state writes (Closing, then Closed when the frontend
        // was seen gone) made /local/domain/0/backend/vbd/<domid>/<devid>/state again, for good.
        final EchoGuest guest = guest(5).plug();
        guest.offerRings(1, 1).state(XenbusState.CONNECTED);
        pump();
        guest.rings.get(0).buffer().putIntVolatile(REQ_PROD_OFFSET, 1_000_000);
        guest.channels.get(0).notifyBackend();
        invoker.invokeAll();
        // xl destroy removes both directories; the conductor takes the violation before the watch events come.
        xs.rmHoldingWatchEvents(guest.backendPath);
        xs.rmHoldingWatchEvents(guest.frontendPath);
        conductor.doWork();
        xs.fireRemoval(guest.backendPath);
        xs.fireRemoval(guest.frontendPath);

        pump();

        assertThat(xs.exists(guest.backendPath)).as("the removed backend directory stays removed").isFalse();
        assertThat(xs.readOrNull("/local/domain/0/error/backend/echo/5/0/error")).contains("ring protocol violation");
        assertThat(hypervisor.mappedPages()).isZero();
        assertThat(invoker.agentCount()).isZero();
    }

    @Test
    void shouldCloseEveryHandlerOnceWhenItsDeviceDisconnects()
    {
        final EchoGuest guest = guest(5).plug();
        guest.offerRings(2, 1).state(XenbusState.CONNECTED);
        pump();
        assertThat(echo.handlersOpen).isEqualTo(2);

        guest.state(XenbusState.CLOSED);
        pump();

        assertThat(guest.backendState()).isEqualTo("6");
        assertThat(echo.handlersMade).isEqualTo(2);
        assertThat(echo.handlersOpen).isZero();
    }

    @Test
    void shouldCloseADeviceWhoseFrontendVanishes()
    {
        final EchoGuest guest = guest(5).plug();
        guest.offerRings(1, 1).state(XenbusState.CONNECTED);
        pump();

        xs.rm(guest.frontendPath);
        pump();

        assertThat(guest.backendState()).isEqualTo("6");
        assertThat(hypervisor.mappedPages()).isZero();
        assertThat(hypervisor.boundPorts()).isZero();

        // the toolstack re-creates the frontend: the device reconnects
        guest.plug();
        pump();
        assertThat(guest.backendState()).isEqualTo("2");

        // the toolstack removes the dead domain's backend: forgotten
        xs.rm(guest.backendPath);
        pump();
        assertThat(conductor.devicePaths()).isEmpty();
    }

    @Test
    void shouldUnplugWhenTheBackendNodeIsRemoved()
    {
        final EchoGuest guest = guest(5).plug();
        guest.offerRings(1, 1).state(XenbusState.CONNECTED);
        pump();
        final int watchesWhileConnected = xs.watchCount();

        xs.rm(guest.backendPath);
        pump();

        assertThat(conductor.devicePaths()).isEmpty();
        assertThat(hypervisor.mappedPages()).isZero();
        assertThat(hypervisor.boundPorts()).isZero();
        assertThat(xs.watchCount()).as("frontend watch removed").isEqualTo(watchesWhileConnected - 1);
        assertThat(xs.exists(guest.backendPath)).as("not recreated").isFalse();
    }

    @Test
    void shouldRemoveADeviceTakenOfflineOnceItsFrontendCloses()
    {
        final EchoGuest guest = guest(5).plug();
        guest.offerRings(1, 1).state(XenbusState.CONNECTED);
        pump();

        // what libxl does to detach: online 0, backend state Closing, then waits for Closed
        xs.write(guest.backendPath + "/online", "0");
        xs.write(guest.backendPath + "/state", "5");
        guest.state(XenbusState.CLOSING);
        pump();
        guest.state(XenbusState.CLOSED);
        pump();

        assertThat(guest.backendState()).isEqualTo("6");
        assertThat(conductor.devicePaths()).isEmpty();
        xs.write(guest.backendPath + "/some-key", "x");
        pump();
        assertThat(conductor.devicePaths()).as("an offline device is not recreated").isEmpty();
    }

    @Test
    void shouldIgnoreADeviceUntilTheToolstackSetsOnline()
    {
        final EchoGuest guest = guest(5);
        xs.write(guest.backendPath + "/frontend", guest.frontendPath);
        xs.write(guest.backendPath + "/frontend-id", "5");
        pump();
        assertThat(conductor.devicePaths()).isEmpty();

        guest.plug();
        pump();
        assertThat(guest.backendState()).isEqualTo("2");
    }

    @Test
    void shouldRefuseAFrontendPathOutsideTheFrontendsDomain()
    {
        final EchoGuest guest = guest(5).plug();
        xs.write(guest.backendPath + "/frontend", "/local/domain/0/device/echo/0");

        final BackendConductor other = newConductor(1024);
        conductor.onClose();
        conductor = other;
        xs.rm(guest.backendPath + "/state");
        pump();

        assertThat(xs.readOrNull("/local/domain/0/error/backend/echo/5/0/error"))
            .contains("not a device directory of domain 5");
        assertThat(guest.backendState()).isEqualTo("5");
    }

    @Test
    void shouldCoalesceAWatchEventFloodIntoARescan()
    {
        conductor.onClose();
        conductor = newConductor(2);
        final List<EchoGuest> guests = new ArrayList<>();
        for (int domid = 1; domid <= 6; domid++)
        {
            guests.add(guest(domid).plug());
        }

        pump();

        for (final EchoGuest g : guests)
        {
            assertThat(g.backendState()).isEqualTo("2");
        }
    }

    @Test
    void shouldCloseEveryDeviceCleanlyOnShutdownAndBeIdempotent()
    {
        final EchoGuest a = guest(5).plug();
        final EchoGuest b = guest(6).plug();
        a.offerRings(1, 2).state(XenbusState.CONNECTED);
        pump();
        assertThat(hypervisor.mappedPages()).isEqualTo(2);

        conductor.onClose();
        conductor.onClose();

        assertThat(a.backendState()).isEqualTo("6");
        assertThat(b.backendState()).isEqualTo("6");
        assertThat(invoker.agentCount()).isZero();
        assertThat(hypervisor.mappedPages()).isZero();
        assertThat(echo.disconnects).isEqualTo(1);
    }
}
