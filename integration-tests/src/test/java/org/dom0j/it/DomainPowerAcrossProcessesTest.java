package org.dom0j.it;

import org.dom0j.cli.Dom0j;
import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.Platforms;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.test.Await;
import org.dom0j.toolstack.XenbusDevices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j reboot -w} and {@code dom0j shutdown -w} against a guest in its own process ({@code dom0j sim guest
 * --seconds 0}: a blkfront doing verified I/O through {@code dom0j serve}, which answers {@code control/shutdown} as
 * Linux does and, as the process that owns the domain, builds it again after a reboot and destroys it after a
 * poweroff).
 */
@Timeout(120)
class DomainPowerAcrossProcessesTest
{
    private static final long WAIT_MS = 40_000;

    @TempDir
    Path dir;

    private SimServe serve;
    private Process guest;

    @AfterEach
    void stop() throws InterruptedException
    {
        if (null != guest && guest.isAlive())
        {
            guest.destroyForcibly();
        }
        if (null != serve)
        {
            serve.kill();
        }
    }

    @Test
    void shouldRebootAndThenShutDownAGuestThatRunsInItsOwnProcess() throws Exception
    {
        final Path simDir = dir.resolve("sim");
        try (SimMachine machine = SimMachine.start(simDir))
        {
            serve = SimServe.start(simDir, dir.resolve("serve.log"));
            final Path guestLog = dir.resolve("guest.log");
            final ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "org.dom0j.cli.Dom0j", "--platform=sim", "sim", "guest", "--domid", "1", "--name", "guest1",
                "--seconds", "0", "--size-mib", "16").redirectErrorStream(true).redirectOutput(guestLog.toFile());
            pb.environment().put(SimPlatformProvider.DIR_ENV, simDir.toString());
            guest = pb.start();
            awaitDiskConnected(machine, 1, guestLog);

            final StringWriter out = new StringWriter();
            final StringWriter err = new StringWriter();
            assertThat(dom0j(simDir, out, err, "reboot", "-w", "guest1")).as(err::toString).isZero();
            assertThat(out.toString()).contains("domain 1 (guest1) has rebooted: it is now domain 2");
            assertThat(machine.host().exists(1)).isFalse();
            awaitDiskConnected(machine, 2, guestLog);

            out.getBuffer().setLength(0);
            assertThat(dom0j(simDir, out, err, "shutdown", "-w", "guest1", "--json")).as(err::toString).isZero();
            // The reason is known only when the wait saw the domain shut down before it was destroyed; the guest's
            // process may destroy it first (as xl's daemon may on Xen), and then it is null.
            assertThat(out.toString().strip()).matches("\\[\\{\"domid\":2,\"name\":\"guest1\",\"request\":" +
                "\"poweroff\",\"result\":\"gone\",\"reason\":(\"poweroff\"|null)\\}]");
            assertThat(guest.waitFor(WAIT_MS, TimeUnit.MILLISECONDS)).as("the guest process ends").isTrue();
            assertThat(guest.exitValue()).as(() -> read(guestLog)).isZero();
            assertThat(read(guestLog)).contains("guest 1 (guest1) rebooting as domain 2")
                .contains("guest 2 (guest1) powered off").contains("0 blocks read back and checked wrong")
                .doesNotContain("PROBLEM");
            assertThat(machine.host().exists(2)).isFalse();
            assertThat(machine.xenStore().exists("/local/domain/2")).isFalse();
        }
    }

    private static void awaitDiskConnected(final SimMachine machine, final int domid, final Path guestLog)
        throws InterruptedException
    {
        final String state = XenbusDevices.backendPath(0, "vbd", domid, "51712") + "/state";
        Await.until("guest " + domid + "'s disk connected; guest log: " + read(guestLog), WAIT_MS,
            () -> "4".equals(machine.xenStore().readOrNull(state)));
    }

    private static int dom0j(final Path simDir, final StringWriter out, final StringWriter err, final String... args)
    {
        final CommandLine cl = Dom0j.commandLine(new PlatformEnvironment(simDir.resolve("no-xen-root"),
            Map.of(SimPlatformProvider.DIR_ENV, simDir.toString()), lib -> null), Platforms.installed());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(concat(args));
    }

    private static String[] concat(final String[] args)
    {
        final String[] all = new String[args.length + 2];
        all[0] = "--platform";
        all[1] = "sim";
        System.arraycopy(args, 0, all, 2, args.length);
        return all;
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.exists(file) ? Files.readString(file) : "";
        }
        catch (final IOException ex)
        {
            return "";
        }
    }
}
