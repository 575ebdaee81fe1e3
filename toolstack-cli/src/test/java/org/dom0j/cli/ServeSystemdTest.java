package org.dom0j.cli;

import org.dom0j.linux.UnixDatagramSocket;
import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.sim.SimMachine;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j serve} as a systemd {@code Type=notify} service: READY=1 once it serves, RELOADING=1 then READY=1
 * around a SIGHUP (which rereads the configuration file, applies what can change while serving, and does not stop
 * serve), STOPPING=1 on SIGTERM; and log
 * lines the journal can take.
 */
@Timeout(90)
class ServeSystemdTest
{
    private static final int RECEIVE_MILLIS = 30_000;

    @TempDir
    Path root;

    @Test
    void shouldNotifySystemdWhenReadyReloadingAndStopping() throws Exception
    {
        // serve inherits this JVM's signal dispositions: under nohup its SIGHUP is ignored and cannot be handled
        Assumptions.assumeFalse(HangUpSignal.ignoredByThisProcess(),
            "SIGHUP is ignored in this process (run under nohup?), so serve could not be reloaded by it");
        final Path sim = root.resolve("sim");
        final Path conf = root.resolve("dom0j.conf");
        Files.writeString(conf, "on-exit = detach\n");
        final String notifySocket = "@dom0j-test-notify-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (UnixDatagramSocket systemd = UnixDatagramSocket.bind(notifySocket);
            SimMachine machine = SimMachine.start(sim);
            ServeProcess serve = ServeProcess.start(sim, root.resolve("serve.log"),
                Map.of(SystemdNotify.NOTIFY_SOCKET_ENV, notifySocket), "--config", conf.toString()))
        {
            assertThat(systemd.receive(RECEIVE_MILLIS, 4096))
                .startsWith("READY=1\nSTATUS=serving vbd, vif and console (and primary consoles) on ");

            Files.writeString(conf, "on-exit = close\nmax-queues = 2\ndata-path = copy\n");
            final Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(serve.pid())).start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(kill.exitValue()).isZero();

            assertThat(systemd.receive(RECEIVE_MILLIS, 4096)).matches("RELOADING=1\nMONOTONIC_USEC=[0-9]+");
            assertThat(systemd.receive(RECEIVE_MILLIS, 4096)).startsWith("READY=1\nSTATUS=serving ");
            assertThat(Files.readString(serve.log(), StandardCharsets.UTF_8))
                .contains("dom0j serve: reload: read " + conf + ": 3 option(s) changed, 2 applied now")
                .contains("dom0j serve: reload: on-exit: detach -> close, applied now")
                .contains("dom0j serve: reload: max-queues: 4 -> 2, applied now")
                .contains("dom0j serve: reload: data-path: auto -> copy, which takes effect at the next start");

            // a disk set up after the reload is offered 2 queues
            final Path disk = root.resolve("d.img");
            Files.write(disk, new byte[1 << 20]);
            final Path kernel = Files.writeString(root.resolve("vmlinuz"), "not booted on the simulator");
            final Path cfg = Files.writeString(root.resolve("g.cfg"),
                "name = 'g'\nmemory = 32\nkernel = '" + kernel + "'\ndisk = [ '" + disk + ",raw,xvda,rw' ]\n");
            final StringWriter out = new StringWriter();
            final StringWriter err = new StringWriter();
            assertThat(Cli.run(new PlatformEnvironment(root, Map.of("DOM0J_SIM_DIR", sim.toString()), l -> null), out,
                err, "--platform", "sim", "create", "-p", cfg.toString())).as(err.toString()).isEqualTo(ExitCodes.OK);
            assertThat(machine.xenStore().read("/local/domain/0/backend/vbd/1/51712/multi-queue-max-queues"))
                .isEqualTo("2");

            // and stopping closes every device, as the reloaded on-exit says
            assertThat(serve.stop()).as("stopped cleanly after the reload").isTrue();
            assertThat(systemd.receive(RECEIVE_MILLIS, 4096))
                .isEqualTo("STOPPING=1\nSTATUS=stopping (--on-exit close)");
            assertThat(Files.readString(serve.log(), StandardCharsets.UTF_8))
                .contains("dom0j serve: stopping, closing every device");
        }
    }

    @Test
    void journalLinesShouldCarryTheSyslogPriorityAndNoTimestamp()
    {
        final JournalFormatter formatter = new JournalFormatter();
        final LogRecord warning = new LogRecord(Level.WARNING, "vbd {0}: frontend closed");
        warning.setLoggerName("org.dom0j.backend.BackendConductor");
        warning.setParameters(new Object[]{ "3/51712" });
        final LogRecord fine = new LogRecord(Level.FINE, "two\nlines");
        fine.setLoggerName("org.dom0j.blkback.BlkbackQueue");

        assertThat(formatter.format(warning)).isEqualTo("<4>BackendConductor: vbd 3/51712: frontend closed\n");
        assertThat(formatter.format(fine)).isEqualTo("<7>BlkbackQueue: two lines\n");
        assertThat(JournalFormatter.priority(Level.SEVERE)).isEqualTo(3);
        assertThat(JournalFormatter.priority(Level.INFO)).isEqualTo(6);
    }
}
