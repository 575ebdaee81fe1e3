package org.dom0j.console;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.ConcurrentCountersManager;
import org.dom0j.backend.AgentScheduler;
import org.dom0j.backend.BackendConductor;
import org.dom0j.backend.XenbusState;
import org.dom0j.evtchn.EventChannelIdleStrategy;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.console.XenconsDescriptor;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.dom0j.sim.guest.SimConsoleFront;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_SIZE;

/**
 * The backend framework and the console on the real simulator (not the in-memory fixtures of backend-core's own
 * tests): a {@link SimMachine} with its xenstored, {@link SimPlatform} grant tables and event channels, the
 * {@link BackendConductor} with {@link ConsoleDeviceType}, and {@link PrimaryConsoles}, wired as {@code dom0j serve}
 * wires them (one {@link ConcurrentCountersManager} for the conductor and the consoles, as serve's counters file).
 * Guests are {@link SimConsoleFront}s. Every wait has a deadline and fails saying what it waited for.
 */
@Timeout(60)
class ConsoleOnSimulatorTest
{
    private static final long WAIT_MS = 10_000;

    @TempDir
    Path dir;

    private SimMachine machine;
    private SimPlatform platform;
    private XenStore store;
    private GrantTables gnttab;
    private AgentScheduler scheduler;
    private AgentRunner conductorRunner;
    private AgentRunner primaryRunner;
    private PrimaryConsoles primaries;
    private final AtomicLong testNanos = new AtomicLong();
    private ConsoleHub hub;
    private PassWatch primaryPasses;
    private int dom0PortsBefore;
    private final List<XenStore> guestStores = new ArrayList<>();
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp()
    {
        machine = SimMachine.start(dir.resolve("sim"));
        dom0PortsBefore = machine.host().domain(0).boundPortCount();
        platform = new SimPlatform(machine.host(), 0);
        store = platform.openXenStore();
        gnttab = platform.openGrantTables();
        startService(ConsoleConfiguration.defaults(), true);
    }

    /**
     * @param configuration the consoles' settings.
     * @param runPrimaries  false to leave the primary consoles' agent to the test ({@link #primaries}), which then
     *                      runs its passes on the test's thread, one at a time, at the time in {@link #testNanos}.
     */
    private void startService(final ConsoleConfiguration configuration, final boolean runPrimaries)
    {
        scheduler = AgentScheduler.eventDriven(TimeUnit.MILLISECONDS.toNanos(1), errors::add);
        final ConcurrentCountersManager counters = new ConcurrentCountersManager(
            new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024)),
            new UnsafeBuffer(ByteBuffer.allocateDirect(16 * 1024)));
        hub = new ConsoleHub(dir.resolve("logs"), dir.resolve("run"), configuration, counters);
        final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
            .platform(platform)
            .xenStore(store)
            .grantTables(gnttab)
            .scheduler(scheduler)
            .countersManager(counters)
            .deviceType(new ConsoleDeviceType(hub)));
        conductorRunner = new AgentRunner(new BackoffIdleStrategy(10, 20, 1000, 1_000_000), errors::add, null,
            conductor);
        primaries = runPrimaries ? new PrimaryConsoles(platform, store, gnttab, hub, true) :
            new PrimaryConsoles(platform, store, gnttab, hub, true, testNanos::get);
        primaryPasses = new PassWatch(primaries);
        AgentRunner.startOnThread(conductorRunner);
        if (runPrimaries)
        {
            primaryRunner = new AgentRunner(
                new EventChannelIdleStrategy(primaries.eventChannels(), 10, 10, 1_000_000), errors::add, null,
                primaryPasses);
            AgentRunner.startOnThread(primaryRunner);
        }
        else
        {
            primaries.onStart();
        }
    }

    /** The service's agents stopped and started again with other console settings (before any guest is made). */
    private void restartService(final ConsoleConfiguration configuration, final boolean runPrimaries)
    {
        stopAgents();
        hub.close();
        startService(configuration, runPrimaries);
    }

    /**
     * The primary consoles' agent, watched from its own thread: counts the passes that did no work although a
     * watched page had output waiting when the pass began. Without a rate limit there are none (a pass takes any
     * output that is there), so each one is a pass in which the pump held a guest back and let the thread idle.
     */
    private static final class PassWatch implements Agent
    {
        private final Agent agent;
        private final AtomicLong idleWithOutputWaiting = new AtomicLong();
        private volatile UnsafeBuffer watched;

        PassWatch(final Agent agent)
        {
            this.agent = agent;
        }

        @Override
        public int doWork() throws Exception
        {
            final UnsafeBuffer page = watched;
            final int waiting = null == page ? 0 :
                page.getIntVolatile(XenconsDescriptor.OUT_PROD_OFFSET) -
                page.getIntVolatile(XenconsDescriptor.OUT_CONS_OFFSET);
            final int work = agent.doWork();
            if (work == 0 && waiting != 0)
            {
                idleWithOutputWaiting.incrementAndGet();
            }
            return work;
        }

        @Override
        public void onStart()
        {
            agent.onStart();
        }

        @Override
        public void onClose()
        {
            agent.onClose();
        }

        @Override
        public String roleName()
        {
            return agent.roleName();
        }
    }

    /** Stops the agents only (what Ctrl-C on serve does first); the handles stay open so they can be inspected. */
    private void stopAgents()
    {
        if (null != conductorRunner)
        {
            conductorRunner.close();
            if (null != primaryRunner)
            {
                primaryRunner.close();
            }
            else
            {
                primaries.onClose();
            }
            scheduler.close();
            conductorRunner = null;
            primaryRunner = null;
        }
    }

    @AfterEach
    void tearDown()
    {
        stopAgents();
        for (final XenStore xs : guestStores)
        {
            xs.close();
        }
        if (null != hub)
        {
            hub.close();
            gnttab.close();
            store.close();
            platform.close();
        }
        machine.close();
        assertThat(errors).as("errors raised by agents").isEmpty();
    }

    private SimDomain guest(final int domid)
    {
        return machine.createGuest(domid, "guest" + domid, 256);
    }

    private XenStore guestStore(final int domid)
    {
        final XenStore xs = machine.connectAsGuest(domid);
        guestStores.add(xs);
        return xs;
    }

    private void attachConsole(final int domid, final String devid)
    {
        XenbusDevices.attach(machine.xenStore(), 0, "console", domid, devid, Map.of("protocol", "vt100"),
            Map.of("output", "pty"));
    }

    private SimConsoleFront secondary(final SimDomain guest, final String devid) throws Exception
    {
        attachConsole(guest.domid(), devid);
        return SimConsoleFront.connect(guest, guestStore(guest.domid()), devid, WAIT_MS);
    }

    private String backendState(final int domid, final String devid)
    {
        return machine.xenStore().readOrNull(XenbusDevices.backendPath(0, "console", domid, devid) + "/state");
    }

    private String errorNode(final int domid, final String devid)
    {
        return machine.xenStore().readOrNull("/local/domain/0/error/backend/console/" + domid + "/" + devid + "/error");
    }

    private int dom0Ports()
    {
        return machine.host().domain(0).boundPortCount();
    }

    @Test
    void shouldEchoThroughASecondaryConsoleToTheLogAndAnAttachedClient() throws Exception
    {
        final SimDomain guest = guest(5);
        final SimConsoleFront front = secondary(guest, "1");
        assertThat(backendState(5, "1")).isEqualTo(XenbusState.CONNECTED.wireValue());

        try (TestClient client = TestClient.connect(ConsoleHub.socketPath(hub.runDirectory(), 5, "1")))
        {
            awaitThat("console 5/1 to count the client", () -> hub.session(5, "1").clientCount() == 1);
            front.writeFully("login: ", WAIT_MS);
            assertThat(client.readUntil("login: ", WAIT_MS)).endsWith("login: ");
            client.write("root\r", WAIT_MS);
            assertThat(front.readUntil("root\r", WAIT_MS)).isEqualTo("root\r");
        }
        final Path log = ConsoleHub.logPath(hub.logDirectory(), "guest5", 5, "1");
        awaitThat("'login: ' in the log", () -> contents(log).contains("login: "));
        assertThat(log.getFileName().toString()).isEqualTo("guest-guest5-1.log");
        front.disconnect(WAIT_MS);
        awaitBackendState(5, "1", XenbusState.CLOSED);
    }

    @Test
    void shouldServeAPrimaryConsoleFromTheDomainsConsoleKeys() throws Exception
    {
        final SimDomain guest = guest(6);
        final SimConsoleFront front = SimConsoleFront.primary(guest, machine.xenStore(), 0);
        awaitThat("domain 6's primary console to be served", () -> null != hub.session(6, null));

        try (TestClient client = TestClient.connect(ConsoleHub.socketPath(hub.runDirectory(), 6, null)))
        {
            awaitThat("console 6 to count the client", () -> hub.session(6, null).clientCount() == 1);
            // More than a ring's worth, so the guest has to wait for the backend to drain it.
            final String boot = "[    0.000000] Linux version 6.1\r\n".repeat(100);
            front.writeFully(boot, WAIT_MS);
            assertThat(client.readUntil("6.1\r\n", WAIT_MS)).isNotEmpty();
            client.write("ls\r", WAIT_MS);
            assertThat(front.readUntil("ls\r", WAIT_MS)).isEqualTo("ls\r");
            final Path log = dir.resolve("logs").resolve("guest-guest6.log");
            awaitThat("the whole boot text in the log", () -> contents(log).length() == boot.length());
            assertThat(contents(log)).isEqualTo(boot);
        }
        front.close();
    }

    @Test
    void shouldNameAPtyInConsoleTtyThatCarriesOutputAndInputAsXlConsoleUsesIt() throws Exception
    {
        final SimDomain guest = guest(14);
        final SimConsoleFront front = SimConsoleFront.primary(guest, machine.xenStore(), 0);
        final String ttyKey = "/local/domain/14/console/tty";
        awaitThat("console/tty of domain 14", () -> null != machine.xenStore().readOrNull(ttyKey));
        final String tty = machine.xenStore().read(ttyKey);
        assertThat(tty).startsWith("/dev/pts/").isEqualTo(hub.session(14, null).ptyPath());

        // What xl console does: open the slave named in console/tty, read the guest, type to it.
        try (FileInputStream in = new FileInputStream(tty); FileOutputStream out = new FileOutputStream(tty))
        {
            front.writeFully("xen login: ", WAIT_MS);
            // A read on a tty has no deadline of its own: it runs on a thread of its own, waited for with one.
            final String seen = Waits.within("'xen login: ' on the pty", () ->
            {
                final StringBuilder sb = new StringBuilder();
                final byte[] buffer = new byte[256];
                while (!sb.toString().endsWith("xen login: "))
                {
                    final int n = in.read(buffer);
                    if (n < 0)
                    {
                        throw new AssertionError("the pty closed; got '" + sb + "'");
                    }
                    sb.append(new String(buffer, 0, n, StandardCharsets.US_ASCII));
                }
                return sb.toString();
            }, WAIT_MS);
            assertThat(seen).endsWith("xen login: ");
            out.write("root\r".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // Raw mode: the carriage return arrives as typed, not turned into a newline, and nothing is echoed.
            assertThat(front.readUntil("root\r", WAIT_MS)).isEqualTo("root\r");
        }

        machine.destroyGuest(14);
        awaitThat("every console to close", () -> hub.openCount() == 0);
        front.close();
    }

    @Test
    void shouldReconnectWhenTheFrontendClosesAndComesBack() throws Exception
    {
        final SimDomain guest = guest(13);
        final SimConsoleFront first = secondary(guest, "1");
        first.writeFully("first boot\n", WAIT_MS);
        first.disconnect(WAIT_MS);
        awaitBackendState(13, "1", XenbusState.CLOSED);
        awaitThat("every page to be unmapped", () -> gnttab.mappedPageCount() == 0);

        final XenStore xs = guestStores.get(0);
        xs.write(XenbusDevices.frontendPath(13, "console", "1") + "/state", XenbusState.INITIALISING.wireValue());
        final SimConsoleFront second = SimConsoleFront.connect(guest, xs, "1", WAIT_MS);

        assertThat(backendState(13, "1")).isEqualTo(XenbusState.CONNECTED.wireValue());
        assertThat(gnttab.mappedPageCount()).isEqualTo(1);
        second.writeFully("second boot\n", WAIT_MS);
        final Path log = ConsoleHub.logPath(hub.logDirectory(), "guest13", 13, "1");
        awaitThat("both boots in the log", () -> contents(log).equals("first boot\nsecond boot\n"));
        second.close();
    }

    @Test
    void shouldLeaveAPrimaryConsoleWithBadKeysAloneUntilTheyChange() throws Exception
    {
        final SimDomain guest = guest(14);
        final String dir = "/local/domain/14/console";
        machine.xenStore().write(dir + "/ring-ref", "8");
        machine.xenStore().write(dir + "/port", "abc");
        final SimDomain other = guest(15);
        final SimConsoleFront fine = SimConsoleFront.primary(other, machine.xenStore(), 0);
        awaitThat("other domains are served", () -> null != hub.session(15, null));

        assertThat(hub.session(14, null)).isNull();
        assertThat(gnttab.mappedPageCount()).isEqualTo(1);

        final SimConsoleFront repaired = SimConsoleFront.primary(guest, machine.xenStore(), 0);

        awaitThat("served once the keys change", () -> null != hub.session(14, null));

        repaired.writeFully("repaired\n", WAIT_MS);
        awaitThat("'repaired' in domain 14's log", () -> contents(dir("guest-guest14.log")).contains("repaired"));
        fine.close();
        repaired.close();
    }

    private Path dir(final String log)
    {
        return dir.resolve("logs").resolve(log);
    }

    @Test
    void shouldEchoKeystrokesOneByOneInOrder() throws Exception
    {
        final SimDomain guest = guest(16);
        final SimConsoleFront front = SimConsoleFront.primary(guest, machine.xenStore(), 0);
        awaitThat("domain 16's primary console to be served", () -> null != hub.session(16, null));
        final int rounds = 200;
        final long[] nanos = new long[rounds];
        try (TestClient client = TestClient.connect(ConsoleHub.socketPath(hub.runDirectory(), 16, null)))
        {
            awaitThat("console 16 to count the client", () -> hub.session(16, null).clientCount() == 1);
            final byte[] got = new byte[1];
            for (int i = 0; i < rounds; i++)
            {
                final String key = String.valueOf((char)('a' + i % 26));
                final long start = System.nanoTime();
                client.write(key, WAIT_MS);
                final long deadline = start + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
                while (front.read(got, 0, 1) == 0)
                {
                    if (System.nanoTime() - deadline > 0)
                    {
                        throw new AssertionError("keystroke " + i + " ('" + key + "') did not reach the guest in " +
                            WAIT_MS + " ms");
                    }
                    front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
                }
                assertThat((char)got[0]).isEqualTo(key.charAt(0));
                assertThat(front.write(got, 0, 1)).isEqualTo(1);
                assertThat(client.readUntil(key, WAIT_MS)).as("the echo of keystroke " + i).isEqualTo(key);
                nanos[i] = System.nanoTime() - start;
            }
        }
        java.util.Arrays.sort(nanos);
        System.out.printf("console keystroke echo (client -> serve -> guest -> serve -> client), %d rounds: " +
            "median %d us, p90 %d us, max %d us%n", rounds, nanos[rounds / 2] / 1000, nanos[rounds * 9 / 10] / 1000,
            nanos[rounds - 1] / 1000);
        front.close();
    }

    @Test
    void shouldServeAQuietPrimaryConsoleWhileAnotherFloodsTheSharedThreadAndKeepTheFloodsLogBounded()
        throws Exception
    {
        final long cap = 16 * 1024;
        restartService(ConsoleConfiguration.defaults().withLogMaxBytes(cap).withRateLimit(8 * 1024, 100), true);
        final SimConsoleFront flooder = SimConsoleFront.primary(guest(20), machine.xenStore(), 0);
        final SimConsoleFront quiet = SimConsoleFront.primary(guest(21), machine.xenStore(), 0);
        awaitThat("both primary consoles to be served", () -> hub.openCount() == 2);
        final ConsoleSession flood = hub.session(20, null);
        primaryPasses.watched = flooder.page();

        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong written = new AtomicLong();
        final Thread floodThread = new Thread(() ->
        {
            final byte[] line = "flood flood flood flood flood flood flood flood flood flood flood flood\n"
                .getBytes(StandardCharsets.US_ASCII);
            while (!stop.get())
            {
                final int n = flooder.write(line, 0, line.length);
                written.addAndGet(n);
                if (n < line.length)
                {
                    // The ring is full: a real guest waits for the backend's event (hvc_xen polls).
                    flooder.awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
                }
            }
        }, "test-flooding-guest");
        floodThread.start();
        try
        {
            awaitThat("the flooding guest to be throttled", () -> flood.counters().throttled().get() > 0);
            awaitThat("a pass that left the flood waiting and did no work",
                () -> primaryPasses.idleWithOutputWaiting.get() > 0);

            // While the flood goes on, the quiet guest is heard, and what is typed to it reaches it.
            final long floodBefore = flood.counters().outputBytes().get();
            quiet.writeFully("quiet guest still heard\n", WAIT_MS);
            awaitThat("the quiet guest's line in its log", () -> contents(dir("guest-guest21.log")).contains("heard"));
            try (TestClient client = TestClient.connect(ConsoleHub.socketPath(hub.runDirectory(), 21, null)))
            {
                awaitThat("console 21 to count the client", () -> hub.session(21, null).clientCount() == 1);
                client.write("uptime\r", WAIT_MS);
                assertThat(quiet.readUntil("uptime\r", WAIT_MS)).isEqualTo("uptime\r");
            }
            awaitThat("the flood to go on meanwhile", () -> flood.counters().outputBytes().get() > floodBefore);
            awaitThat("the flood to pass three times the log's cap",
                () -> flood.counters().outputBytes().get() > 3 * cap);
        }
        finally
        {
            stop.set(true);
            floodThread.join(WAIT_MS);
        }
        assertThat(floodThread.isAlive()).as("the flooding guest's thread").isFalse();
        // the service drains the ring (throttled) after the flood stops: the log's last write, and a rotation with it
        // (the log is moved, then made afresh), may still be under way until the count reaches what was written
        awaitThat("the service to log all the flood wrote",
            () -> flood.counters().outputBytes().get() == written.get());

        final Path log = flood.logPath();
        assertThat(Files.size(log)).as("the flood's log").isLessThanOrEqualTo(cap);
        assertThat(Files.size(flood.rotatedLogPath())).as("the flood's log.1").isLessThanOrEqualTo(cap);
        assertThat(flood.counters().logRotations().get()).isPositive();
        flooder.close();
        quiet.close();
    }

    @Test
    void shouldKeepAThrottledPrimaryConsolesPortMaskedUntilItsNextPeriod() throws Exception
    {
        restartService(ConsoleConfiguration.defaults().withRateLimit(2 * OUT_SIZE, 200), false);
        final SimConsoleFront front = SimConsoleFront.primary(guest(22), machine.xenStore(), 0);
        awaitThat("domain 22's primary console to be served", () ->
        {
            primaries.doWork();
            return null != hub.session(22, null);
        });
        awaitThat("a pass with nothing to do", () -> primaries.doWork() == 0);
        final ConsoleSession session = hub.session(22, null);
        final byte[] ring = new byte[OUT_SIZE];

        for (int i = 0; i < 2; i++)
        {
            assertThat(front.write(ring, 0, OUT_SIZE)).isEqualTo(OUT_SIZE);
            assertThat(primaries.doWork()).as("the event, and the ring taken").isEqualTo(1 + OUT_SIZE);
        }
        assertThat(front.write(ring, 0, OUT_SIZE)).as("a third ring, past the allowance").isEqualTo(OUT_SIZE);

        assertThat(primaries.doWork()).as("a pass with only the throttled guest's event").isZero();
        assertThat(session.counters().throttled().get()).isEqualTo(1);
        assertThat(session.counters().outputBytes().get()).isEqualTo(2 * OUT_SIZE);
        assertThat(primaries.doWork()).isZero();

        // Input still reaches the throttled guest.
        session.offerInput(new byte[]{ 'q' }, 0, 1);
        assertThat(primaries.doWork()).as("the input moved").isEqualTo(1);
        assertThat(front.readUntil("q", WAIT_MS)).isEqualTo("q");

        // The next period: the ring is taken, the port unmasked, and the guest's events count again.
        testNanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(200));
        assertThat(primaries.doWork()).as("the third ring").isEqualTo(OUT_SIZE);
        assertThat(front.write(ring, 0, 16)).isEqualTo(16);
        assertThat(primaries.doWork()).as("the event, and 16 bytes").isEqualTo(1 + 16);
        assertThat(session.counters().outputBytes().get()).isEqualTo(3 * OUT_SIZE + 16);
        front.close();
    }

    @Test
    void shouldSleepLongWhileQuietAndNotAtAllOnceStopping() throws Exception
    {
        restartService(ConsoleConfiguration.defaults(), false);
        final long tenSeconds = TimeUnit.SECONDS.toNanos(10);
        awaitThat("a pass with nothing to do", () -> primaries.doWork() == 0);
        assertThat(primaries.idleWaitNanos(tenSeconds)).as("no guest: the agent's own bound").isEqualTo(tenSeconds);
        final SimConsoleFront front = SimConsoleFront.primary(guest(23), machine.xenStore(), 0);
        awaitThat("domain 23's primary console to be served", () ->
        {
            primaries.doWork();
            return null != hub.session(23, null);
        });
        awaitThat("a pass with nothing to do", () -> primaries.doWork() == 0);
        assertThat(primaries.idleWaitNanos(tenSeconds)).as("a quiet console: its pump's bound")
            .isEqualTo(ConsolePump.IDLE_WAIT_NANOS);

        primaries.stopping();
        assertThat(primaries.idleWaitNanos(tenSeconds)).as("stopping: no sleep").isZero();
        front.close();
    }

    @Test
    void shouldReleaseEveryMappingAndPortWhenTheServiceStops() throws Exception
    {
        final List<SimConsoleFront> fronts = new ArrayList<>();
        for (int domid = 7; domid <= 8; domid++)
        {
            final SimDomain guest = guest(domid);
            fronts.add(secondary(guest, "1"));
            fronts.add(secondary(guest, "2"));
            fronts.add(SimConsoleFront.primary(guest, machine.xenStore(), 0));
        }
        awaitThat("six consoles to open", () -> hub.openCount() == 6);
        assertThat(gnttab.mappedPageCount()).isEqualTo(6);
        assertThat(dom0Ports()).isEqualTo(dom0PortsBefore + 6);

        stopAgents();

        assertThat(gnttab.mappedPageCount()).as("pages mapped after stop").isZero();
        assertThat(dom0Ports()).as("dom0 ports bound after stop").isEqualTo(dom0PortsBefore);
        assertThat(hub.openCount()).isZero();
        assertThat(Files.list(dir.resolve("run")).count()).as("sockets left").isZero();
        for (int domid = 7; domid <= 8; domid++)
        {
            assertThat(backendState(domid, "1")).isEqualTo(XenbusState.CLOSED.wireValue());
            assertThat(backendState(domid, "2")).isEqualTo(XenbusState.CLOSED.wireValue());
        }
        for (final SimConsoleFront front : fronts)
        {
            front.close();
        }
    }

    @Test
    void shouldCloseAndReleaseADeviceWhoseFrontendVanishes() throws Exception
    {
        final SimDomain guest = guest(9);
        final SimConsoleFront front = secondary(guest, "1");
        assertThat(gnttab.mappedPageCount()).isEqualTo(1);

        guestStores.get(0).rm(XenbusDevices.frontendPath(9, "console", "1"));

        awaitBackendState(9, "1", XenbusState.CLOSED);
        awaitThat("every page to be unmapped", () -> gnttab.mappedPageCount() == 0);
        assertThat(dom0Ports()).isEqualTo(dom0PortsBefore);
        assertThat(hub.openCount()).isZero();
        front.close();
    }

    @Test
    void shouldLetGoOfEveryConsoleOfADestroyedDomain() throws Exception
    {
        final SimDomain guest = guest(10);
        final SimConsoleFront front = secondary(guest, "1");
        final SimConsoleFront primary = SimConsoleFront.primary(guest, machine.xenStore(), 0);
        awaitThat("both consoles of domain 10 to open", () -> hub.openCount() == 2);

        machine.destroyGuest(10);

        awaitThat("every console to close", () -> hub.openCount() == 0);
        awaitThat("every page to be unmapped", () -> gnttab.mappedPageCount() == 0);
        awaitThat("dom0's ports to be unbound", () -> dom0Ports() == dom0PortsBefore);
        front.close();
        primary.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "ring-ref missing      | -    | 5    | -       | ring-ref",
        "port abc              | 8    | abc  | -       | port",
        "protocol foo          | 8    | 5    | foo     | protocol",
        "ring-ref not granted  | 300  | 5    | -       | connect failed",
        "port 0                | 8    | 0    | -       | port",
        "ring-ref huge         | 99999999999 | 5 | -   | ring-ref",
    })
    void shouldFailADeviceWithBogusFrontendValuesAndGoOnServingOthers(
        final String name, final String ringRef, final String port, final String protocol, final String reason)
        throws Exception
    {
        final SimDomain guest = guest(11);
        attachConsole(11, "1");
        final XenStore xs = guestStore(11);
        awaitBackendState(11, "1", XenbusState.INIT_WAIT);
        final String fe = XenbusDevices.frontendPath(11, "console", "1");
        if (!"-".equals(ringRef))
        {
            xs.write(fe + "/ring-ref", ringRef);
        }
        xs.write(fe + "/port", port);
        if (!"-".equals(protocol))
        {
            xs.write(fe + "/protocol", protocol);
        }
        xs.write(fe + "/state", XenbusState.INITIALISED.wireValue());

        awaitThat("an error node for console 11/1", () -> null != errorNode(11, "1"));
        assertThat(errorNode(11, "1")).contains(reason);
        awaitBackendState(11, "1", XenbusState.CLOSING);
        assertThat(gnttab.mappedPageCount()).isZero();
        assertThat(dom0Ports()).isEqualTo(dom0PortsBefore);

        final SimConsoleFront good = secondary(guest, "2");
        assertThat(backendState(11, "2")).isEqualTo(XenbusState.CONNECTED.wireValue());
        good.writeFully("still here\n", WAIT_MS);
        final Path log = ConsoleHub.logPath(hub.logDirectory(), "guest11", 11, "2");
        awaitThat("'still here' in the log", () -> contents(log).contains("still here"));
        good.close();
    }

    @Test
    void shouldFailASecondaryConsoleWhoseGuestBreaksTheIndices() throws Exception
    {
        final SimDomain guest = guest(12);
        final SimConsoleFront front = secondary(guest, "1");
        final UnsafeBuffer page = front.page();

        // The ring agent wakes at least every millisecond, so no notify is needed to make it look.
        page.putIntRelease(XenconsDescriptor.OUT_PROD_OFFSET, page.getInt(XenconsDescriptor.OUT_CONS_OFFSET) + 4096);

        awaitThat("an error node for console 12/1", () -> null != errorNode(12, "1"));
        assertThat(errorNode(12, "1")).contains("ring protocol violation").contains("out_prod").contains("> 2048");
        awaitThat("every page to be unmapped", () -> gnttab.mappedPageCount() == 0);
        front.close();
    }

    private static void awaitThat(final String what, final BooleanSupplier condition) throws InterruptedException
    {
        Waits.until(what, condition, WAIT_MS);
    }

    private void awaitBackendState(final int domid, final String devid, final XenbusState state)
        throws InterruptedException
    {
        Waits.until("backend/console/" + domid + "/" + devid + " to be " + state,
            () -> state.wireValue().equals(backendState(domid, devid)), WAIT_MS);
    }

    private static String contents(final Path file)
    {
        try
        {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.US_ASCII) : "";
        }
        catch (final IOException ex)
        {
            return "";
        }
    }

}
