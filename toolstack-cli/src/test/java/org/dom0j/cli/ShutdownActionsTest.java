package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.sim.SimMachine;
import org.dom0j.test.Await;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ShutdownActions}: {@code dom0j serve} (a process) doing what the config of a domain {@code dom0j create}
 * made says when it shuts down, on the simulator, driven as an operator drives it ({@code dom0j reboot -w},
 * {@code dom0j shutdown -w}) against a guest that shuts down as Linux does.
 */
@Timeout(180)
class ShutdownActionsTest
{
    @TempDir
    Path root;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @Test
    void shouldBuildARebootedDomainAgainAndDestroyAPoweredOffOne() throws Exception
    {
        final Path sim = root.resolve("sim");
        final Path cfg = config("r1", "");
        try (SimMachine machine = SimMachine.start(sim);
            ServeProcess serve = ServeProcess.start(sim, root.resolve("serve.log")))
        {
            assertThat(run(sim, "create", cfg.toString())).as(err.toString()).isEqualTo(ExitCodes.OK);
            final DomainRecords records = DomainRecords.of("sim", environment(sim));
            assertThat(records.domids()).containsExactly(1);
            assertThat(records.read(1).config()).isEqualTo(Files.readString(cfg));
            final String uuid = records.read(1).uuid();

            // renamed since it was created: built again under the name it has now, as xl's daemon does
            assertThat(run(sim, "rename", "r1", "r1b")).as(err.toString()).isEqualTo(ExitCodes.OK);
            assertThat(run(sim, "reboot", "-w", "r1b")).as(out + " " + err).isEqualTo(ExitCodes.OK);
            final int second = newDomid(out.toString());
            assertThat(second).isNotEqualTo(1);
            awaitLog("dom0j serve: domain 1 \\(r1b\\) shut down \\(reboot\\): built again as domain " + second +
                " \\(on_reboot=restart\\)");
            assertThat(records.domids()).containsExactly(second);
            assertThat(records.read(second).uuid()).isEqualTo(uuid);
            assertThat(records.read(second).restarts()).hasSize(1);
            final XenStore xs = machine.xenStore();
            Await.until("the rebuilt guest's disk connected", 30_000, () ->
                "4".equals(xs.readOrNull("/local/domain/" + second + "/device/vbd/51728/state")) &&
                "4".equals(xs.readOrNull("/local/domain/0/backend/vbd/" + second + "/51728/state")));
            assertThat(xs.readOrNull("/local/domain/1")).isNull();

            out.getBuffer().setLength(0);
            assertThat(xs.read("/local/domain/" + second + "/name")).isEqualTo("r1b");
            assertThat(run(sim, "shutdown", "-w", "r1b")).as(out + " " + err).isEqualTo(ExitCodes.OK);
            assertThat(out.toString()).contains("is gone");
            awaitLog("dom0j serve: domain " + second + " \\(r1b\\) shut down \\(poweroff\\): destroyed " +
                "\\(on_poweroff=destroy\\)");
            assertThat(records.domids()).isEmpty();
            assertThat(xs.readOrNull("/local/domain/" + second)).isNull();
            assertThat(xs.readOrNull("/local/domain/0/backend/vbd/" + second)).isNull();
        }
    }

    @Test
    void shouldKeepTheOldDomainOnRenameRestartAndLeaveAGuestRebootingInALoopShutDown() throws Exception
    {
        final Path sim = root.resolve("sim");
        final Path cfg = config("r2", "on_reboot = 'rename-restart'\n");
        try (SimMachine machine = SimMachine.start(sim);
            ServeProcess serve = ServeProcess.start(sim, root.resolve("serve.log")))
        {
            assertThat(run(sim, "create", cfg.toString())).as(err.toString()).isEqualTo(ExitCodes.OK);
            assertThat(run(sim, "reboot", "-w", "r2")).as(out + " " + err).isEqualTo(ExitCodes.OK);
            final int second = newDomid(out.toString());
            awaitLog("dom0j serve: domain 1 \\(r2\\) shut down \\(reboot\\): kept as r2-[0-9]{8}T[0-9]{4}Z " +
                "\\(on_reboot=rename-restart\\)");
            awaitLog("dom0j serve: domain 1 \\(r2\\) shut down \\(reboot\\): built again as domain " + second);
            final XenStore xs = machine.xenStore();
            assertThat(xs.read("/local/domain/1/name")).matches("r2-[0-9]{8}T[0-9]{4}Z");
            final DomainRecords records = DomainRecords.of("sim", environment(sim));
            assertThat(records.domids()).containsExactly(second);
            final String oldUuid = xs.read("/local/domain/1/vm");
            assertThat(xs.read("/local/domain/" + second + "/vm")).isNotEqualTo(oldUuid);

            // As if it had been built again five times in the last minute: the next reboot is not followed.
            final DomainRecords.Record r = records.read(second);
            final long now = System.currentTimeMillis();
            records.write(new DomainRecords.Record(second, r.uuid(), r.source(), r.config(),
                new long[] { now - 4000, now - 3000, now - 2000, now - 1000, now }));
            out.getBuffer().setLength(0);
            assertThat(run(sim, "reboot", "-w", "r2")).isEqualTo(ExitCodes.FAILURE);
            assertThat(out.toString() + err).contains("stays shut down");
            awaitLog("dom0j serve: domain " + second + " \\(r2\\) shut down \\(reboot\\) after 5 restarts within " +
                "60 s: left shut down instead of restarted \\(on_reboot=rename-restart\\)");
            assertThat(records.domids()).containsExactly(second);

            // dom0j destroy takes it; serve forgets it at the next domain event
            assertThat(run(sim, "destroy", Integer.toString(second))).isEqualTo(ExitCodes.OK);
            Await.until("serve forgot the destroyed domain", 30_000, () -> records.domids().isEmpty());
        }
    }

    private Path config(final String name, final String extra) throws IOException
    {
        final Path disk = root.resolve(name + ".img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw"))
        {
            f.setLength(8L << 20);
        }
        final Path kernel = Files.writeString(root.resolve("vmlinuz"), "not booted on the simulator");
        return Files.writeString(root.resolve(name + ".cfg"), """
            name = "%s"
            memory = 64
            kernel = "%s"
            disk = [ '%s,raw,xvdb,rw' ]
            %s""".formatted(name, kernel, disk, extra));
    }

    private static int newDomid(final String text)
    {
        final Matcher m = Pattern.compile("it is now domain ([0-9]+)").matcher(text);
        assertThat(m.find()).as(text).isTrue();
        return Integer.parseInt(m.group(1));
    }

    /**
     * Waits for serve to say something: it says what it did after doing it, so after the command's wait ended.
     */
    private void awaitLog(final String regex) throws InterruptedException
    {
        final Pattern p = Pattern.compile(regex);
        Await.until("serve's log to match " + regex, 30_000, () -> p.matcher(serveLog()).find());
    }

    private String serveLog()
    {
        final Path log = root.resolve("serve.log");
        try
        {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        }
        catch (final IOException ex)
        {
            return "";
        }
    }

    private PlatformEnvironment environment(final Path sim)
    {
        return new PlatformEnvironment(root, Map.of("DOM0J_SIM_DIR", sim.toString()), library -> null);
    }

    private int run(final Path sim, final String... args)
    {
        final String[] all = new String[args.length + 2];
        all[0] = "--platform";
        all[1] = "sim";
        System.arraycopy(args, 0, all, 2, args.length);
        return Cli.run(environment(sim), out, err, all);
    }
}
