package org.dom0j.console;

import org.dom0j.test.Await;

import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
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
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The backend framework and the console on the real simulator (not the in-memory fixtures of backend-core's own
 * tests): a {@link SimMachine} with its xenstored, {@link SimPlatform} grant tables and event channels, the
 * {@link BackendConductor} with {@link ConsoleDeviceType}, and {@link PrimaryConsoles}, wired as {@code dom0j serve}
 * wires them. Guests are {@link SimConsoleFront}s.
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
    private ConsoleHub hub;
    private int dom0PortsBefore;
    private final List<XenStore> guestStores = new ArrayList<>();
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp()
    {
        machine = SimMachine.start(dir.resolve("sim"));
        dom0PortsBefore = machine.host().domain(0).boundPortCount();
        startService();
    }

    private void startService()
    {
        platform = new SimPlatform(machine.host(), 0);
        store = platform.openXenStore();
        gnttab = platform.openGrantTables();
        scheduler = AgentScheduler.eventDriven(TimeUnit.MILLISECONDS.toNanos(1), errors::add);
        hub = new ConsoleHub(dir.resolve("logs"), dir.resolve("run"));
        final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
            .platform(platform)
            .xenStore(store)
            .grantTables(gnttab)
            .scheduler(scheduler)
            .countersManager(new CountersManager(
                new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024)),
                new UnsafeBuffer(ByteBuffer.allocateDirect(16 * 1024))))
            .deviceType(new ConsoleDeviceType(hub)));
        conductorRunner = new AgentRunner(new BackoffIdleStrategy(10, 20, 1000, 1_000_000), errors::add, null,
            conductor);
        final PrimaryConsoles primaries = new PrimaryConsoles(platform, store, gnttab, hub, true);
        primaryRunner = new AgentRunner(new EventChannelIdleStrategy(primaries.eventChannels(), 10, 10, 1_000_000),
            errors::add, null, primaries);
        AgentRunner.startOnThread(conductorRunner);
        AgentRunner.startOnThread(primaryRunner);
    }

    /** Stops the agents only (what Ctrl-C on serve does first); the handles stay open so they can be inspected. */
    private void stopAgents()
    {
        if (null != conductorRunner)
        {
            conductorRunner.close();
            primaryRunner.close();
            scheduler.close();
            conductorRunner = null;
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

        try (SocketChannel client = attach(ConsoleHub.socketPath(hub.runDirectory(), 5, "1")))
        {
            assertThat(Await.until(() -> hub.session(5, "1").clientCount() == 1, WAIT_MS)).isTrue();
            front.writeFully("login: ", WAIT_MS);
            assertThat(readUntil(client, "login: ")).endsWith("login: ");
            client.write(ByteBuffer.wrap("root\r".getBytes(StandardCharsets.US_ASCII)));
            assertThat(front.readUntil("root\r", WAIT_MS)).isEqualTo("root\r");
        }
        final Path log = ConsoleHub.logPath(hub.logDirectory(), "guest5", 5, "1");
        assertThat(Await.until(() -> contents(log).contains("login: "), WAIT_MS)).isTrue();
        assertThat(log.getFileName().toString()).isEqualTo("guest-guest5-1.log");
        front.disconnect(WAIT_MS);
        assertThat(Await.until(() -> XenbusState.CLOSED.wireValue().equals(backendState(5, "1")), WAIT_MS)).isTrue();
    }

    @Test
    void shouldServeAPrimaryConsoleFromTheDomainsConsoleKeys() throws Exception
    {
        final SimDomain guest = guest(6);
        final SimConsoleFront front = SimConsoleFront.primary(guest, machine.xenStore(), 0);
        assertThat(Await.until(() -> null != hub.session(6, null), WAIT_MS)).isTrue();

        try (SocketChannel client = attach(ConsoleHub.socketPath(hub.runDirectory(), 6, null)))
        {
            assertThat(Await.until(() -> hub.session(6, null).clientCount() == 1, WAIT_MS)).isTrue();
            // More than a ring's worth, so the guest has to wait for the backend to drain it.
            final String boot = "[    0.000000] Linux version 6.1\r\n".repeat(100);
            front.writeFully(boot, WAIT_MS);
            assertThat(readUntil(client, "6.1\r\n".repeat(1))).isNotEmpty();
            client.write(ByteBuffer.wrap("ls\r".getBytes(StandardCharsets.US_ASCII)));
            assertThat(front.readUntil("ls\r", WAIT_MS)).isEqualTo("ls\r");
            final Path log = dir.resolve("logs").resolve("guest-guest6.log");
            assertThat(Await.until(() -> contents(log).length() == boot.length(), WAIT_MS)).isTrue();
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
        assertThat(Await.until(() -> null != machine.xenStore().readOrNull(ttyKey), WAIT_MS)).isTrue();
        final String tty = machine.xenStore().read(ttyKey);
        assertThat(tty).startsWith("/dev/pts/").isEqualTo(hub.session(14, null).ptyPath());

        // What xl console does: open the slave named in console/tty, read the guest, type to it.
        try (FileInputStream in = new FileInputStream(tty); FileOutputStream out = new FileOutputStream(tty))
        {
            front.writeFully("xen login: ", WAIT_MS);
            final StringBuilder seen = new StringBuilder();
            final byte[] buffer = new byte[256];
            while (!seen.toString().endsWith("xen login: "))
            {
                final int n = in.read(buffer);
                assertThat(n).isPositive();
                seen.append(new String(buffer, 0, n, StandardCharsets.US_ASCII));
            }
            out.write("root\r".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // Raw mode: the carriage return arrives as typed, not turned into a newline, and nothing is echoed.
            assertThat(front.readUntil("root\r", WAIT_MS)).isEqualTo("root\r");
        }

        machine.destroyGuest(14);
        assertThat(Await.until(() -> hub.openCount() == 0, WAIT_MS)).isTrue();
        front.close();
    }

    @Test
    void shouldReconnectWhenTheFrontendClosesAndComesBack() throws Exception
    {
        final SimDomain guest = guest(13);
        final SimConsoleFront first = secondary(guest, "1");
        first.writeFully("first boot\n", WAIT_MS);
        first.disconnect(WAIT_MS);
        assertThat(Await.until(() -> XenbusState.CLOSED.wireValue().equals(backendState(13, "1")), WAIT_MS)).isTrue();
        assertThat(Await.until(() -> gnttab.mappedPageCount() == 0, WAIT_MS)).isTrue();

        final XenStore xs = guestStores.get(0);
        xs.write(XenbusDevices.frontendPath(13, "console", "1") + "/state", XenbusState.INITIALISING.wireValue());
        final SimConsoleFront second = SimConsoleFront.connect(guest, xs, "1", WAIT_MS);

        assertThat(backendState(13, "1")).isEqualTo(XenbusState.CONNECTED.wireValue());
        assertThat(gnttab.mappedPageCount()).isEqualTo(1);
        second.writeFully("second boot\n", WAIT_MS);
        final Path log = ConsoleHub.logPath(hub.logDirectory(), "guest13", 13, "1");
        assertThat(Await.until(() -> contents(log).equals("first boot\nsecond boot\n"),
            WAIT_MS)).as(() -> contents(log)).isTrue();
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
        assertThat(Await.until(() -> null != hub.session(15, null), WAIT_MS)).as("other domains are served").isTrue();
        assertThat(hub.session(14, null)).isNull();
        assertThat(gnttab.mappedPageCount()).isEqualTo(1);

        final SimConsoleFront repaired = SimConsoleFront.primary(guest, machine.xenStore(), 0);

        assertThat(Await.until(() -> null != hub.session(14, null),
            WAIT_MS)).as("served once the keys change").isTrue();
        repaired.writeFully("repaired\n", WAIT_MS);
        assertThat(Await.until(() -> contents(dir("guest-guest14.log")).contains("repaired"), WAIT_MS)).isTrue();
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
        assertThat(Await.until(() -> null != hub.session(16, null), WAIT_MS)).isTrue();
        final int rounds = 200;
        final long[] nanos = new long[rounds];
        try (SocketChannel client = attach(ConsoleHub.socketPath(hub.runDirectory(), 16, null)))
        {
            assertThat(Await.until(() -> hub.session(16, null).clientCount() == 1, WAIT_MS)).isTrue();
            final ByteBuffer key = ByteBuffer.allocate(1);
            final ByteBuffer echo = ByteBuffer.allocate(1);
            final byte[] got = new byte[1];
            for (int i = 0; i < rounds; i++)
            {
                final byte b = (byte)('a' + i % 26);
                final long start = System.nanoTime();
                client.write(key.clear().put(b).flip());
                while (front.read(got, 0, 1) == 0)
                {
                    front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
                }
                assertThat(got[0]).isEqualTo(b);
                assertThat(front.write(got, 0, 1)).isEqualTo(1);
                echo.clear();
                while (echo.hasRemaining())
                {
                    client.read(echo);
                }
                assertThat(echo.get(0)).isEqualTo(b);
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
        assertThat(Await.until(() -> hub.openCount() == 6, WAIT_MS)).isTrue();
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

        assertThat(Await.until(() -> XenbusState.CLOSED.wireValue().equals(backendState(9, "1")), WAIT_MS)).isTrue();
        assertThat(Await.until(() -> gnttab.mappedPageCount() == 0, WAIT_MS)).isTrue();
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
        assertThat(Await.until(() -> hub.openCount() == 2, WAIT_MS)).isTrue();

        machine.destroyGuest(10);

        assertThat(Await.until(() -> hub.openCount() == 0, WAIT_MS)).isTrue();
        assertThat(Await.until(() -> gnttab.mappedPageCount() == 0, WAIT_MS)).isTrue();
        assertThat(Await.until(() -> dom0Ports() == dom0PortsBefore, WAIT_MS)).isTrue();
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
        assertThat(Await.until(() -> XenbusState.INIT_WAIT.wireValue().equals(backendState(11, "1")),
            WAIT_MS)).isTrue();
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

        assertThat(Await.until(() -> null != errorNode(11, "1"), WAIT_MS)).isTrue();
        assertThat(errorNode(11, "1")).contains(reason);
        assertThat(Await.until(() -> XenbusState.CLOSING.wireValue().equals(backendState(11, "1")), WAIT_MS))
            .as("the failed device goes Closing").isTrue();
        assertThat(gnttab.mappedPageCount()).isZero();
        assertThat(dom0Ports()).isEqualTo(dom0PortsBefore);

        final SimConsoleFront good = secondary(guest, "2");
        assertThat(backendState(11, "2")).isEqualTo(XenbusState.CONNECTED.wireValue());
        good.writeFully("still here\n", WAIT_MS);
        final Path log = ConsoleHub.logPath(hub.logDirectory(), "guest11", 11, "2");
        assertThat(Await.until(() -> contents(log).contains("still here"), WAIT_MS)).isTrue();
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

        assertThat(Await.until(() -> null != errorNode(12, "1"), WAIT_MS)).isTrue();
        assertThat(errorNode(12, "1")).contains("ring protocol violation").contains("out_prod").contains("> 2048");
        assertThat(Await.until(() -> gnttab.mappedPageCount() == 0, WAIT_MS)).isTrue();
        front.close();
    }

    private static SocketChannel attach(final Path socket) throws IOException
    {
        final SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        return channel;
    }

    private static String readUntil(final SocketChannel channel, final String expected) throws IOException
    {
        final StringBuilder sb = new StringBuilder();
        final ByteBuffer buffer = ByteBuffer.allocate(4096);
        while (!sb.toString().contains(expected))
        {
            if (channel.read(buffer.clear()) < 0)
            {
                break;
            }
            sb.append(new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII));
        }
        return sb.toString();
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
