package org.dom0j.sim;

import org.dom0j.common.Errno;
import org.dom0j.evtchn.EventChannelException;
import org.dom0j.evtchn.EventChannelIdleStrategy;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.linux.Futex;
import org.dom0j.test.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
class SimEventChannelsTest
{
    private static final int GUEST = 3;
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    /** Bounds each wait for another thread; generous, since only a failing test waits it out. */
    private static final long WAIT_MS = 10_000;

    @TempDir
    Path dir;

    private SimPlatform platform;
    private SimDomain guest;
    private EventChannels backend;
    private EventChannels front;

    @BeforeEach
    void setUp()
    {
        platform = SimPlatform.open(dir);
        guest = platform.host().createDomain(GUEST, 16);
        backend = platform.openEventChannels();
        front = guest.openEventChannels();
    }

    @AfterEach
    void tearDown()
    {
        front.close();
        backend.close();
        platform.close();
    }

    @Test
    void shouldRaiseTheNewLocalPortOnBindInterdomainAsXenDoes()
    {
        final int unbound = front.bindUnboundPort(0);
        final int local = backend.bindInterdomain(GUEST, unbound);
        assertThat(backend.pending()).isEqualTo(local);
        assertThat(backend.pending()).isEqualTo(-1);
        assertThat(front.pending()).isEqualTo(-1);
    }

    @Test
    void shouldDeliverANotifyToTheOtherEndOnly()
    {
        final int unbound = front.bindUnboundPort(0);
        final int local = backend.bindInterdomain(GUEST, unbound);
        backend.unmask(expectPending(backend, local));

        backend.notify(local);
        assertThat(front.pending()).isEqualTo(unbound);
        assertThat(backend.pending()).isEqualTo(-1);
        front.unmask(unbound);

        front.notify(unbound);
        assertThat(backend.pending(SECOND)).isEqualTo(local);
    }

    @Test
    void shouldHoldEventsOfAMaskedPortAndDeliverThemOnUnmask()
    {
        final int unbound = front.bindUnboundPort(0);
        final int local = backend.bindInterdomain(GUEST, unbound);
        backend.unmask(expectPending(backend, local));
        backend.notify(local);
        assertThat(front.pending()).isEqualTo(unbound);

        // Masked now: further events do not wake and are not reported, however many arrive.
        backend.notify(local);
        backend.notify(local);
        assertThat(front.pending(TimeUnit.MILLISECONDS.toNanos(20))).isEqualTo(-1);

        front.unmask(unbound);
        assertThat(front.pending()).isEqualTo(unbound);
        front.unmask(unbound);
        assertThat(front.pending()).isEqualTo(-1);
    }

    @Test
    void shouldWakeAWaiterBlockedInAnotherThread() throws Exception
    {
        final int unbound = front.bindUnboundPort(0);
        final int local = backend.bindInterdomain(GUEST, unbound);
        final CompletableFuture<Integer> woke = new CompletableFuture<>();
        // Up to 60 s, twice the test's timeout: only the notify can end this wait, and a timeout returns -1.
        final Thread waiter = new Thread(() ->
        {
            try
            {
                woke.complete(front.pending(60 * SECOND));
            }
            catch (final Throwable ex)
            {
                woke.completeExceptionally(ex);
            }
        }, "evtchn-waiter");
        waiter.setDaemon(true);
        waiter.start();
        Await.until("the waiter counted on its handle and asleep in Futex.await", WAIT_MS,
            () -> guest.state().eventWaiters() == 1 && inFutexWait(waiter));
        assertThat(woke).as("the waiter returned before the notify").isNotDone();

        backend.notify(local);
        Await.until("the notify to end the waiter's wait", WAIT_MS, woke::isDone);
        assertThat(woke.join()).as("the port the waiter returned (-1 would be a timeout)").isEqualTo(unbound);
        assertThat(guest.state().eventWaiters()).as("waiters left on the handle").isZero();
    }

    @Test
    void shouldReturnFromAwaitEventWhenAnotherThreadWakesTheHandleWithNoEventPending() throws Exception
    {
        front.bindUnboundPort(0);
        final CompletableFuture<Boolean> woke = new CompletableFuture<>();
        // Up to 60 s, twice the test's timeout: only the wake-up can end this wait.
        final Thread waiter = new Thread(() ->
        {
            try
            {
                woke.complete(front.awaitEvent(60 * SECOND));
            }
            catch (final Throwable ex)
            {
                woke.completeExceptionally(ex);
            }
        }, "evtchn-waiter");
        waiter.setDaemon(true);
        waiter.start();
        Await.until("the waiter counted on its handle and asleep in Futex.await", WAIT_MS,
            () -> guest.state().eventWaiters() == 1 && inFutexWait(waiter));

        front.wakeup();
        Await.until("the wake-up to end the waiter's wait", WAIT_MS, woke::isDone);
        assertThat(woke.join()).as("awaitEvent's answer: an event is deliverable").isFalse();
        assertThat(front.pending()).as("a wake-up is not an event").isEqualTo(-1);
    }

    @Test
    void shouldWakeAnAgentParkedInTheEventChannelIdleStrategy() throws Exception
    {
        final int unbound = front.bindUnboundPort(0);
        final int local = backend.bindInterdomain(GUEST, unbound);
        // Parks for up to 60 s at a time: only a notify can wake it before the test's timeout.
        final EventChannelIdleStrategy idle = new EventChannelIdleStrategy(front, 10, 2, 60 * SECOND);
        final java.util.concurrent.atomic.AtomicInteger events = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        final Thread agent = new Thread(() ->
        {
            while (running.get())
            {
                final int port = front.pending();
                if (port >= 0)
                {
                    front.unmask(port);
                    events.incrementAndGet();
                }
                idle.idle(port >= 0 ? 1 : 0);
            }
        }, "evtchn-agent");
        agent.setDaemon(true);
        agent.start();
        for (int i = 1; i <= 50; i++)
        {
            final int before = i - 1;
            Await.until("the agent parked (after " + before + " events)", WAIT_MS,
                () -> guest.state().eventWaiters() == 1 && inFutexWait(agent));
            assertThat(events.get()).as("events handled while parked").isEqualTo(before);
            backend.notify(local);
            final int expected = i;
            Await.until("notify " + i + " to wake the parked agent", WAIT_MS, () -> events.get() == expected);
        }
        running.set(false);
        backend.notify(local);
        agent.join(WAIT_MS);
        assertThat(agent.isAlive()).as("agent stopped by the notify that ends its park").isFalse();
        // The last notify (sent to end the park) may still be pending.
        final int left = front.pending();
        assertThat(events.get() + (left >= 0 ? 1 : 0)).isEqualTo(51);
        assertThat(front.awaitEvent(0)).isFalse();
    }

    @Test
    void shouldMakeTheRemoteEndUnboundAgainWhenOneEndUnbinds()
    {
        final int unbound = front.bindUnboundPort(0);
        final int local = backend.bindInterdomain(GUEST, unbound);
        backend.unbind(local);
        assertThat(guest.state().portState(unbound)).isEqualTo(SimDomainDescriptor.ECS_UNBOUND);

        // Notifying an unbound port is accepted and goes nowhere, as in Xen.
        front.notify(unbound);
        final int again = backend.bindInterdomain(GUEST, unbound);
        assertThat(expectPending(backend, again)).isEqualTo(again);
    }

    @Test
    void shouldOpenAHandlePerQueueForAHundredGuestsWithThreeDevicesEach()
    {
        // dom0j serve opens a handle per ring queue; the simulator once allowed 64 per domain, 21 such guests.
        final List<EventChannels> handles = new ArrayList<>();
        try
        {
            for (int i = 0; i < 300; i++)
            {
                final EventChannels handle = platform.openEventChannels();
                handles.add(handle);
                handle.bindUnboundPort(GUEST);
            }
            assertThat(platform.localDomain().boundPortCount()).isEqualTo(300);
        }
        finally
        {
            handles.forEach(EventChannels::close);
        }
        assertThat(platform.localDomain().boundPortCount()).isZero();
    }

    @Test
    void shouldRefuseAHandleBeyondTheDomainsLimitWithEmfile()
    {
        final List<EventChannels> handles = new ArrayList<>();
        try
        {
            // The setUp's two handles are one on each domain; dom0 has MAX_HANDLES - 1 left.
            for (int i = 1; i < SimDomainDescriptor.MAX_HANDLES; i++)
            {
                handles.add(platform.openEventChannels());
            }
            assertErrno(platform::openEventChannels, Errno.EMFILE);
        }
        finally
        {
            handles.forEach(EventChannels::close);
        }
        platform.openEventChannels().close();
    }

    @Test
    void shouldHandOutPortsPerDomainFromOne()
    {
        final EventChannels second = guest.openEventChannels();
        try
        {
            assertThat(front.bindUnboundPort(0)).isEqualTo(1);
            assertThat(second.bindUnboundPort(0)).isEqualTo(2);
            assertThat(backend.bindUnboundPort(GUEST)).isEqualTo(1);
        }
        finally
        {
            second.close();
        }
        // Closing a handle frees its ports.
        assertThat(front.bindUnboundPort(0)).isEqualTo(2);
    }

    @Test
    void shouldNeverHandOutOnePortTwiceToConcurrentBinders() throws Exception
    {
        final int threads = 4;
        final int each = 60;
        final java.util.List<CompletableFuture<int[]>> results = new java.util.ArrayList<>();
        final List<EventChannels> handles = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final EventChannels h = guest.openEventChannels();
            handles.add(h);
            results.add(CompletableFuture.supplyAsync(() ->
            {
                final int[] ports = new int[each];
                for (int i = 0; i < each; i++)
                {
                    ports[i] = h.bindUnboundPort(0);
                }
                return ports;
            }));
        }
        final java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (final CompletableFuture<int[]> r : results)
        {
            for (final int p : r.get(20, TimeUnit.SECONDS))
            {
                assertThat(seen.add(p)).as("port %d handed out twice", p).isTrue();
            }
        }
        assertThat(seen).hasSize(threads * each);
        handles.forEach(EventChannels::close);
    }

    @Test
    void shouldBindALoopbackChannelWithinOneDomain()
    {
        final int a = backend.bindUnboundPort(0);
        final int b = backend.bindInterdomain(0, a);
        assertThat(expectPending(backend, b)).isEqualTo(b);
        backend.unmask(b);
        backend.notify(b);
        assertThat(backend.pending()).isEqualTo(a);
    }

    @ParameterizedTest
    @ValueSource(ints = { -1, 1024, 5000 })
    void shouldRefusePortsOutOfRangeWithEinval(final int port)
    {
        assertErrno(() -> backend.notify(port), Errno.EINVAL);
        assertErrno(() -> backend.unmask(port), Errno.EINVAL);
        assertErrno(() -> backend.unbind(port), Errno.EINVAL);
        assertErrno(() -> backend.bindInterdomain(GUEST, port), Errno.EINVAL);
    }

    @Test
    void shouldRefusePortsThisHandleDoesNotHoldWithEnotconn()
    {
        final int unbound = front.bindUnboundPort(0);
        final int local = backend.bindInterdomain(GUEST, unbound);
        backend.unbind(local);
        assertErrno(() -> backend.notify(local), Errno.ENOTCONN);
        assertErrno(() -> backend.unbind(local), Errno.ENOTCONN);
        assertErrno(() -> backend.notify(unbound == local ? 77 : 0), Errno.ENOTCONN);
        // Another handle's port, even of the same domain.
        assertErrno(() -> guest.openEventChannels().notify(unbound), Errno.ENOTCONN);
    }

    @Test
    void shouldRefuseBindingAPortNotOfferedToThisDomain()
    {
        final int forOther = front.bindUnboundPort(GUEST);
        assertErrno(() -> backend.bindInterdomain(GUEST, forOther), Errno.EINVAL);
        assertErrno(() -> backend.bindInterdomain(GUEST, 500), Errno.EINVAL);
        assertErrno(() -> backend.bindInterdomain(77, 1), Errno.ESRCH);
        assertErrno(() -> backend.bindUnboundPort(77), Errno.ESRCH);
        final int mine = front.bindUnboundPort(0);
        backend.bindInterdomain(GUEST, mine);
        assertErrno(() -> backend.bindInterdomain(GUEST, mine), Errno.EINVAL);
    }

    @Test
    void shouldUnbindTheRemoteWhenADomainIsDestroyed()
    {
        final int unbound = front.bindUnboundPort(0);
        final int local = backend.bindInterdomain(GUEST, unbound);
        platform.openDomainControl().destroy(GUEST);
        assertThat(platform.host().state(0).portState(local)).isEqualTo(SimDomainDescriptor.ECS_UNBOUND);
        backend.notify(local);
    }

    /**
     * Random sequences of notify/pending/unmask: a port is reported at most once per unmask, and never lost: after
     * a notify, the port is either reported later or the receiver already holds it masked.
     */
    @ParameterizedTest
    @ValueSource(longs = { 1L, 42L, 20261128L })
    void shouldNeverLoseOrDuplicateEvents(final long seed)
    {
        System.out.println("seed " + seed);
        final Random random = new Random(seed);
        final int unbound = front.bindUnboundPort(0);
        final int local = backend.bindInterdomain(GUEST, unbound);
        backend.unmask(expectPending(backend, local));
        boolean owed = false;
        boolean held = false;
        for (int i = 0; i < 2000; i++)
        {
            switch (random.nextInt(3))
            {
                case 0 ->
                {
                    backend.notify(local);
                    owed = true;
                }
                case 1 ->
                {
                    final int p = front.pending();
                    if (held)
                    {
                        assertThat(p).as("seed %d step %d: masked port reported", seed, i).isEqualTo(-1);
                    }
                    else if (owed)
                    {
                        assertThat(p).as("seed %d step %d: event lost", seed, i).isEqualTo(unbound);
                        held = true;
                        owed = false;
                    }
                    else
                    {
                        assertThat(p).as("seed %d step %d: spurious event", seed, i).isEqualTo(-1);
                    }
                }
                default ->
                {
                    if (held)
                    {
                        front.unmask(unbound);
                        held = false;
                    }
                }
            }
        }
    }

    /**
     * @return whether the thread is in {@link Futex#await}, that is in the futex system call or about to enter it:
     *         a thread in a JNA call shows as RUNNABLE, so its state cannot tell.
     */
    private static boolean inFutexWait(final Thread thread)
    {
        for (final StackTraceElement frame : thread.getStackTrace())
        {
            if (Futex.class.getName().equals(frame.getClassName()) && "await".equals(frame.getMethodName()))
            {
                return true;
            }
        }
        return false;
    }

    private static int expectPending(final EventChannels evtchn, final int port)
    {
        assertThat(evtchn.pending(SECOND)).isEqualTo(port);
        return port;
    }

    private static void assertErrno(final Runnable op, final Errno errno)
    {
        assertThatThrownBy(op::run).isInstanceOfSatisfying(EventChannelException.class,
            ex -> assertThat(ex.errno()).as(ex.getMessage()).isEqualTo(errno.number()));
    }
}
