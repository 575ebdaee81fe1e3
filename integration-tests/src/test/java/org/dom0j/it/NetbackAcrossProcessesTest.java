package org.dom0j.it;

import org.agrona.IoUtil;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.NetFrames;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.SimNetStack;
import org.dom0j.sim.guest.SimNetfront;
import org.dom0j.test.Await;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XsWatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * netback in {@code dom0j serve}, its own process, killed with SIGKILL under two simulated guests that ping each
 * other through its switch, and started again: the guests' vifs are adopted (no state written), their rings taken
 * over from the ring journals, and the pings go on; no frontend sees a response it did not ask for.
 */
@Timeout(180)
class NetbackAcrossProcessesTest
{
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(60);

    private Path dir;
    private SimMachine machine;
    private SimServe serve;

    @BeforeEach
    void setUp() throws Exception
    {
        dir = Path.of("/dev/shm").resolve("dom0j-itnet-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        machine = SimMachine.start(dir);
        startServe("serve-1.log");
    }

    @AfterEach
    void tearDown() throws IOException
    {
        if (null != serve)
        {
            serve.process().destroyForcibly();
        }
        machine.close();
        IoUtil.delete(dir.toFile(), true);
    }

    private void startServe(final String logName) throws Exception
    {
        serve = SimServe.start(dir, dir.resolve(logName), "--primary-consoles", "no");
    }

    /** One guest pinging its peer every 5 ms until told to stop; counts the replies. */
    private static String pingUntil(
        final SimNetfront front, final int ip, final int peer, final AtomicLong replies, final AtomicBoolean stop)
    {
        final SimNetStack stack = new SimNetStack(front.mac(), ip, 1, SimNetStack.Config.defaults(),
            (flow, frame, length, flags, gsoType, gsoSize) -> front.send(0, frame, 0, length, flags, gsoType, gsoSize));
        int seq = 0;
        long next = System.nanoTime();
        while (!stop.get() && null == front.violation())
        {
            int work = front.poll((queue, frame, length, rxFlags, gsoType, gsoSize) ->
                stack.receive(frame, length, rxFlags, gsoType, gsoSize));
            final long now = System.nanoTime();
            if (now - next >= 0 && stack.ping(peer, ++seq & 0xFFFF))
            {
                next = now + TimeUnit.MILLISECONDS.toNanos(5);
            }
            work += stack.pump();
            replies.set(stack.stats().pingReplies);
            if (work == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
        return front.violation() + ", tx errors " + front.txErrors() + ", mismatched replies " +
            stack.stats().pingMismatches;
    }

    @Test
    void shouldAdoptBothVifsAndKeepPingingWhenTheServiceIsKilledAndStartedAgain() throws Exception
    {
        final int ip5 = NetFrames.parseIpv4("10.9.0.5");
        final int ip6 = NetFrames.parseIpv4("10.9.0.6");
        final AtomicLong replies5 = new AtomicLong();
        final AtomicLong replies6 = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        final List<String> states = new CopyOnWriteArrayList<>();
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try
        {
            final Future<String> five = pool.submit(() -> NetGuest.withVif(machine, 5, "net-5", 16_384, "0",
                NetGuest.defaultMac(5, "0"), SimNetfront.Options.linuxDefaults(),
                front -> pingUntil(front, ip5, ip6, replies5, stop)));
            final Future<String> six = pool.submit(() -> NetGuest.withVif(machine, 6, "net-6", 16_384, "0",
                NetGuest.defaultMac(6, "0"), SimNetfront.Options.linuxDefaults(),
                front -> pingUntil(front, ip6, ip5, replies6, stop)));
            awaitReplies(replies5, replies6, 20);
            final String be5 = XenbusDevices.backendPath(0, "vif", 5, "0");
            final XsWatch watch = machine.xenStore().watch(be5 + "/state", "net-restart",
                (path, token) -> states.add(String.valueOf(machine.xenStore().readOrNull(be5 + "/state"))));
            // The watch's first event comes on the client's own thread: the check at the end counts on it.
            Await.until("the watch's first event on vif 5/0's backend state", 30_000, () -> !states.isEmpty());

            for (int kill = 1; kill <= 2; kill++)
            {
                serve.kill();
                final long before5 = replies5.get();
                final long before6 = replies6.get();
                startServe("serve-" + (kill + 1) + ".log");
                serve.awaitLog("vif 5/0: adopted", 60_000);
                serve.awaitLog("vif 6/0: adopted", 60_000);
                awaitReplies(replies5, replies6, Math.max(before5, before6) + 20);
            }
            watch.close();
            stop.set(true);
            final String outcome5 = five.get(60, TimeUnit.SECONDS);
            final String outcome6 = six.get(60, TimeUnit.SECONDS);

            assertThat(outcome5).as("guest 5: violation, tx errors, mismatches").isEqualTo("null, tx errors 0, " +
                "mismatched replies 0");
            assertThat(outcome6).as("guest 6").isEqualTo("null, tx errors 0, mismatched replies 0");
            // One event when the watch was set, one per write after it: the state was never written again.
            assertThat(states).containsExactly("4");
        }
        finally
        {
            stop.set(true);
            pool.shutdownNow();
            pool.awaitTermination(30, TimeUnit.SECONDS);
        }
    }

    private void awaitReplies(final AtomicLong a, final AtomicLong b, final long atLeast) throws Exception
    {
        final long deadline = System.nanoTime() + WAIT_NANOS;
        while (a.get() < atLeast || b.get() < atLeast)
        {
            assertThat(System.nanoTime()).as("both guests had %d ping replies in 60 s (%d and %d): %s", atLeast,
                a.get(), b.get(), serve.log()).isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
