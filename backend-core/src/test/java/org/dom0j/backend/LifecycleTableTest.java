package org.dom0j.backend;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;


import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every frontend state (0..8, including ones a frontend should never write) arriving while the backend is in each
 * state it can rest in: the backend state that results and whether the ring stays mapped. Follows Linux's
 * xen-blkback {@code frontend_changed}: Initialising reconnects only from Closed; Initialised/Connected connect
 * unless already Connected or Closing; Closing/Closed disconnect; Unknown (the state node gone) closes; the
 * Reconfiguring states are ignored.
 */
@Timeout(30)
class LifecycleTableTest
{
    private final FakeBackend backend = new FakeBackend();
    private final InMemoryXenStore xs = backend.xs;
    private final FakeHypervisor hypervisor = backend.hypervisor;
    private final BackendConductor conductor = backend.conductor(new EchoDeviceType(), 1024);

    @AfterEach
    void stop()
    {
        backend.stop(conductor);
    }

    private void pump()
    {
        backend.pump(conductor);
    }

    @ParameterizedTest(name = "backend {0}, frontend writes {1}: backend {2}, {3} page(s) mapped")
    @CsvSource({
        "INIT_WAIT, 0, 6, 0", "INIT_WAIT, 1, 2, 0", "INIT_WAIT, 2, 2, 0", "INIT_WAIT, 3, 4, 1",
        "INIT_WAIT, 4, 4, 1", "INIT_WAIT, 5, 5, 0", "INIT_WAIT, 6, 6, 0", "INIT_WAIT, 7, 2, 0",
        "INIT_WAIT, 8, 2, 0",
        "CONNECTED, 0, 6, 0", "CONNECTED, 1, 4, 1", "CONNECTED, 2, 4, 1", "CONNECTED, 3, 4, 1",
        "CONNECTED, 4, 4, 1", "CONNECTED, 5, 5, 0", "CONNECTED, 6, 6, 0", "CONNECTED, 7, 4, 1",
        "CONNECTED, 8, 4, 1",
        "CLOSING, 0, 6, 0", "CLOSING, 1, 5, 0", "CLOSING, 2, 5, 0", "CLOSING, 3, 5, 0",
        "CLOSING, 4, 5, 0", "CLOSING, 5, 5, 0", "CLOSING, 6, 6, 0", "CLOSING, 7, 5, 0",
        "CLOSING, 8, 5, 0",
        "CLOSED, 0, 6, 0", "CLOSED, 1, 2, 0", "CLOSED, 2, 6, 0", "CLOSED, 3, 4, 1",
        "CLOSED, 4, 4, 1", "CLOSED, 5, 6, 0", "CLOSED, 6, 6, 0", "CLOSED, 7, 6, 0",
        "CLOSED, 8, 6, 0" })
    void shouldFollowTheFrontend(
        final XenbusState start, final int frontend, final String expectedBackend, final int expectedPages)
    {
        conductor.onStart();
        final EchoGuest guest = new EchoGuest(xs, hypervisor, 9, "0").plug();
        pump();
        if (start != XenbusState.INIT_WAIT)
        {
            guest.offerRings(1, 1).state(XenbusState.CONNECTED);
            pump();
            if (start == XenbusState.CLOSING)
            {
                guest.state(XenbusState.CLOSING);
            }
            else if (start == XenbusState.CLOSED)
            {
                guest.state(XenbusState.CLOSED);
            }
            pump();
        }
        assertThat(XenbusState.parse(guest.backendState())).isEqualTo(start);
        final int pagesBefore = hypervisor.mappedPages();

        if (frontend == XenbusState.INITIALISED.value() || frontend == XenbusState.CONNECTED.value())
        {
            if (pagesBefore == 0)
            {
                guest.offerRings(1, 1);
            }
        }
        xs.write(guest.frontendPath + "/state", Integer.toString(frontend));
        pump();

        assertThat(guest.backendState()).isEqualTo(expectedBackend);
        assertThat(hypervisor.mappedPages()).isEqualTo(expectedPages);
        if (expectedPages == 1)
        {
            guest.post(0, 7);
            pump();
            assertThat(guest.responses(0)).containsExactly(8);
        }
    }
}
