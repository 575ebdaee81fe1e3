package org.dom0j.it;

import org.dom0j.test.Await;

import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.SimConsoleFront;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Console echo end to end across three processes on the simulator: this test process runs the simulated machine
 * (xenstored) and plays the guest with {@link SimConsoleFront}; {@code java -jar dom0j.jar serve} serves the
 * consoles; {@code java -jar dom0j.jar console} is the user. The user types, the guest reads it and answers, the
 * answer reaches the user and the log; Ctrl-] leaves; SIGTERM stops serve cleanly, removing its sockets.
 */
@Timeout(120)
class ConsoleAcrossProcessesTest
{
    private static final long WAIT_MS = 20_000;
    private static Path jar;

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @BeforeAll
    static void findJar()
    {
        jar = Path.of(System.getProperty("user.dir")).resolve("../toolstack-cli/target/dom0j.jar").normalize();
        assertThat(jar).as("the CLI jar is built before integration-tests in the reactor").exists();
    }

    @AfterEach
    void killLeftovers()
    {
        for (final Process p : processes)
        {
            if (p.isAlive())
            {
                p.destroyForcibly();
            }
        }
    }

    private Process dom0j(final Path simDir, final Path output, final String... args) throws IOException
    {
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString(),
            "--platform", "sim"));
        command.addAll(List.of(args));
        final ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("DOM0J_SIM_DIR", simDir.toString());
        pb.environment().remove("DOM0J_PLATFORM");
        if (null != output)
        {
            pb.redirectOutput(output.toFile());
        }
        final Process p = pb.start();
        processes.add(p);
        return p;
    }

    @Test
    void shouldEchoBetweenAConsoleClientAndASimulatedGuestThroughServe() throws Exception
    {
        final Path simDir = dir.resolve("sim");
        try (SimMachine machine = SimMachine.start(simDir))
        {
            final Path serveLog = dir.resolve("serve.txt");
            final Process serve = dom0j(simDir, serveLog, "serve", "--on-exit", "close", "--counters",
                dir.resolve("counters").toString());
            assertThat(Await.until(() -> read(serveLog).contains("Ctrl-C stops"),
                WAIT_MS)).as(() -> read(serveLog)).isTrue();

            final SimDomain guest = machine.createGuest(5, "echo", 256);
            final SimConsoleFront primary = SimConsoleFront.primary(guest, machine.xenStore(), 0);
            XenbusDevices.attach(machine.xenStore(), 0, "console", 5, "1", Map.of("protocol", "vt100"), Map.of());
            final XenStore guestStore = machine.connectAsGuest(5);
            final SimConsoleFront secondary = SimConsoleFront.connect(guest, guestStore, "1", WAIT_MS);
            assertThat(Await.until(() -> Files.exists(simDir.resolve("console/5.sock")),
                WAIT_MS)).as(() -> read(serveLog))
                .isTrue();
            assertThat(simDir.resolve("console/5-1.sock")).exists();

            final Process client = dom0j(simDir, null, "console", "5");
            final StringBuffer seen = new StringBuffer();
            final Thread reader = collect(client.getInputStream(), seen);
            final OutputStream keyboard = client.getOutputStream();
            keyboard.write("uname\r".getBytes(StandardCharsets.US_ASCII));
            keyboard.flush();

            assertThat(primary.readUntil("uname\r", WAIT_MS)).isEqualTo("uname\r");
            primary.writeFully("uname\r\nLinux echo 6.1.0-sim\r\n# ", WAIT_MS);
            assertThat(Await.until(() -> seen.toString().contains("Linux echo 6.1.0-sim"),
                WAIT_MS)).as(seen::toString).isTrue();
            final Path log = simDir.resolve("console-logs/guest-echo.log");
            assertThat(Await.until(() -> read(log).contains("Linux echo 6.1.0-sim\r\n# "), WAIT_MS)).isTrue();

            secondary.writeFully("secondary says hi\n", WAIT_MS);
            assertThat(Await.until(() -> read(simDir.resolve("console-logs/guest-echo-1.log"))
                .contains("secondary says hi"), WAIT_MS)).isTrue();
            assertThat(seen.toString()).doesNotContain("secondary says hi");

            keyboard.write(new byte[]{ 'x', 0x1d, 'y' });
            keyboard.flush();
            assertThat(client.waitFor(WAIT_MS, TimeUnit.MILLISECONDS)).as("Ctrl-] leaves").isTrue();
            assertThat(client.exitValue()).isZero();
            reader.join(WAIT_MS);
            assertThat(primary.readUntil("x", WAIT_MS)).as("what was typed before Ctrl-] arrives").isEqualTo("x");

            serve.destroy();
            assertThat(serve.waitFor(WAIT_MS, TimeUnit.MILLISECONDS)).isTrue();
            assertThat(read(serveLog)).contains("stopped cleanly");
            // The JVM ends a SIGTERM with 128 + 15 once its shutdown hooks (serve's orderly close) have run.
            assertThat(serve.exitValue()).as(() -> read(serveLog)).isIn(0, 143);
            assertThat(simDir.resolve("console/5.sock")).doesNotExist();
            assertThat(simDir.resolve("console/5-1.sock")).doesNotExist();
            assertThat(machine.xenStore().read(XenbusDevices.backendPath(0, "console", 5, "1") + "/state"))
                .isEqualTo("6");
            primary.close();
            secondary.close();
            guestStore.close();
        }
    }

    /**
     * Issue 14: the console backend survives serve's death as blkback does. serve is killed with SIGKILL while a guest
     * has a primary and a secondary console; what the guest writes while nothing serves it reaches the logs once a
     * new serve runs, the secondary console's backend state is never written again, and typing still reaches the
     * guest.
     */
    @Test
    void shouldKeepServingBothConsolesWhenServeIsKilledAndStartedAgain() throws Exception
    {
        final Path simDir = dir.resolve("sim");
        try (SimMachine machine = SimMachine.start(simDir))
        {
            final Path firstLog = dir.resolve("serve-1.txt");
            final Process first = dom0j(simDir, firstLog, "serve", "-v", "--counters",
                dir.resolve("counters").toString());
            assertThat(Await.until(() -> read(firstLog).contains("Ctrl-C stops"), WAIT_MS)).as(() -> read(firstLog))
                .isTrue();
            final SimDomain guest = machine.createGuest(6, "phoenix", 256);
            final SimConsoleFront primary = SimConsoleFront.primary(guest, machine.xenStore(), 0);
            XenbusDevices.attach(machine.xenStore(), 0, "console", 6, "1", Map.of("protocol", "vt100"), Map.of());
            final XenStore guestStore = machine.connectAsGuest(6);
            final SimConsoleFront secondary = SimConsoleFront.connect(guest, guestStore, "1", WAIT_MS);
            final Path log = simDir.resolve("console-logs/guest-phoenix.log");
            final Path log1 = simDir.resolve("console-logs/guest-phoenix-1.log");
            primary.writeFully("before\n", WAIT_MS);
            secondary.writeFully("before 1\n", WAIT_MS);
            assertThat(Await.until(() -> read(log).contains("before\n") && read(log1).contains("before 1\n"),
                WAIT_MS)).as(() -> read(firstLog)).isTrue();
            final String be = XenbusDevices.backendPath(0, "console", 6, "1");
            final List<String> states = new java.util.concurrent.CopyOnWriteArrayList<>();
            final org.dom0j.xenstore.XsWatch watch = machine.xenStore().watch(be + "/state", "phoenix",
                (path, token) -> states.add(String.valueOf(machine.xenStore().readOrNull(be + "/state"))));
            // The watch's first event comes on the client's own thread: the check at the end counts on it.
            Await.until("the watch's first event on console 6/1's backend state", WAIT_MS, () -> !states.isEmpty());

            first.destroyForcibly();
            assertThat(first.waitFor(WAIT_MS, TimeUnit.MILLISECONDS)).isTrue();
            primary.writeFully("during\n", WAIT_MS);
            secondary.writeFully("during 1\n", WAIT_MS);
            final Path secondLog = dir.resolve("serve-2.txt");
            final Process second = dom0j(simDir, secondLog, "serve", "-v", "--counters",
                dir.resolve("counters").toString());

            assertThat(Await.until(() -> read(log).contains("during\n") && read(log1).contains("during 1\n"),
                WAIT_MS)).as(() -> read(secondLog)).isTrue();
            assertThat(Await.until(() -> read(secondLog).contains("console 6/1: adopted"), WAIT_MS))
                .as(() -> read(secondLog)).isTrue();
            primary.writeFully("after\n", WAIT_MS);
            assertThat(Await.until(() -> read(log).contains("after\n"), WAIT_MS)).isTrue();
            final Process client = dom0j(simDir, null, "console", "6");
            final OutputStream keyboard = client.getOutputStream();
            keyboard.write("typed\r".getBytes(StandardCharsets.US_ASCII));
            keyboard.flush();
            assertThat(primary.readUntil("typed\r", WAIT_MS)).isEqualTo("typed\r");
            keyboard.write(0x1d);
            keyboard.flush();
            assertThat(client.waitFor(WAIT_MS, TimeUnit.MILLISECONDS)).as("Ctrl-] leaves").isTrue();
            watch.close();
            // One event when the watch was set, one per write after it: the state was never written again.
            assertThat(states).containsExactly("4");
            assertThat(read(log)).as("each line once").containsOnlyOnce("before\n").containsOnlyOnce("during\n");

            second.destroyForcibly();
            primary.close();
            secondary.close();
            guestStore.close();
        }
    }

    @Test
    void consoleShouldSayWhenNothingIsServed() throws Exception
    {
        final Path out = dir.resolve("out.txt");
        final Process client = dom0j(dir.resolve("nosim"), out, "console", "3");
        assertThat(client.waitFor(WAIT_MS, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(client.exitValue()).isEqualTo(1);
        assertThat(read(out)).contains("no console of domain 3 is served");
    }

    private static Thread collect(final InputStream in, final StringBuffer into)
    {
        final Thread t = new Thread(() ->
        {
            final byte[] buffer = new byte[4096];
            try
            {
                int n;
                while ((n = in.read(buffer)) >= 0)
                {
                    into.append(new String(buffer, 0, n, StandardCharsets.US_ASCII));
                }
            }
            catch (final IOException ex)
            {
                // Process gone.
            }
        }, "console-client-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
        }
        catch (final IOException ex)
        {
            return "";
        }
    }

}
