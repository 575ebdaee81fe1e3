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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j create} on the simulator: a machine started in this JVM, {@code dom0j serve} as a process, create run
 * as the CLI runs it; and the messages that say what is wrong with a config before anything is created.
 */
@Timeout(120)
class CreateCommandTest
{
    @TempDir
    Path root;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(final Path sim, final String... args)
    {
        return Cli.run(new PlatformEnvironment(root, Map.of("DOM0J_SIM_DIR", sim.toString()), library -> null), out,
            err, args);
    }

    @Test
    void shouldCreateASimulatedGuestWhoseDiskAndVifServeConnects() throws Exception
    {
        final Path sim = root.resolve("sim");
        final Path disk = root.resolve("t1.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw"))
        {
            f.setLength(32L << 20);
        }
        final Path kernel = Files.writeString(root.resolve("vmlinuz"), "not booted on the simulator");
        final Path cfg = Files.writeString(root.resolve("t1.cfg"), """
            name = "t1"
            memory = 96
            maxmem = 128
            vcpus = 2
            kernel = "%s"
            disk = [ '%s,raw,xvdb,rw' ]
            vif = [ 'mac=00:16:3e:0a:0b:0c,bridge=xenbr0' ]
            on_poweroff = "preserve"
            """.formatted(kernel, disk));
        try (SimMachine machine = SimMachine.start(sim);
            ServeProcess serve = ServeProcess.start(sim, root.resolve("serve.log")))
        {
            try
            {
                assertThat(run(sim, "--platform", "sim", "create", cfg.toString())).as(err.toString())
                    .isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).isEqualTo("Created domain t1 with id 1\n");
                assertThat(err.toString()).contains("dom0j create: note: the simulator boots no kernel");

                out.getBuffer().setLength(0);
                assertThat(run(sim, "--platform", "sim", "list")).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).containsPattern("(?m)^t1 +1 +96 +2 +-b---- ");

                final XenStore xs = machine.xenStore();
                final String vbdFront = "/local/domain/1/device/vbd/51728";
                final String vbdBack = "/local/domain/0/backend/vbd/1/51728";
                final String vifFront = "/local/domain/1/device/vif/0";
                final String vifBack = "/local/domain/0/backend/vif/1/0";
                Await.until("the disk and vif connected", 30_000, () ->
                    "4".equals(xs.readOrNull(vbdFront + "/state")) && "4".equals(xs.readOrNull(vbdBack + "/state")) &&
                    "4".equals(xs.readOrNull(vifFront + "/state")) && "4".equals(xs.readOrNull(vifBack + "/state")));
                assertThat(xs.read(vbdBack + "/params")).isEqualTo(disk.toString());
                assertThat(xs.read(vbdBack + "/dev")).isEqualTo("xvdb");
                assertThat(xs.read(vbdBack + "/mode")).isEqualTo("w");
                assertThat(xs.read(vbdBack + "/sectors")).isEqualTo(Long.toString((32L << 20) / 512));
                assertThat(xs.read(vbdFront + "/virtual-device")).isEqualTo("51728");
                assertThat(xs.read(vifFront + "/mac")).isEqualTo("00:16:3e:0a:0b:0c");
                assertThat(xs.read(vifBack + "/mac")).isEqualTo("00:16:3e:0a:0b:0c");
                assertThat(xs.read(vifBack + "/bridge")).isEqualTo("xenbr0");
                assertThat(xs.read("/local/domain/1/memory/target")).isEqualTo(Long.toString(96 * 1024));
                assertThat(xs.read("/local/domain/1/memory/static-max")).isEqualTo(Long.toString(128 * 1024));
                assertThat(xs.read("/local/domain/1/name")).isEqualTo("t1");
                assertThat(xs.read("/local/domain/1/console/ring-ref")).isNotEmpty();

                // The guest shuts down when asked, as Linux does: acknowledged, devices closed, reason poweroff.
                xs.write("/local/domain/1/control/shutdown", "poweroff");
                final Path log = GuestProcess.log(sim, 1);
                Await.until("the guest powered off", 30_000, () -> read(log).contains("ended: poweroff"));
                assertThat(xs.read("/local/domain/1/control/shutdown")).isEmpty();
                // The guest's blkfront waits for the backend's Closing only, writes Closed and ends; serve writes the
                // backend's Closed when it sees that, on its own time: wait for it, do not race it.
                Await.until("serve's backend Closed (6) after the guest's disk closed", 30_000,
                    () -> "6".equals(xs.readOrNull(vbdBack + "/state")));
                out.getBuffer().setLength(0);
                assertThat(run(sim, "--platform", "sim", "list")).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).containsPattern("(?m)^t1 +1 +96 +2 +---s-- ");
                // serve left it so, as its on_poweroff says (xl's default would destroy it: ShutdownActionsTest)
                Await.until("serve said it left the domain as it is", 30_000, () ->
                    read(root.resolve("serve.log")).contains("dom0j serve: domain 1 (t1) shut down (poweroff): " +
                        "left as it is (on_poweroff=preserve)"));
            }
            finally
            {
                ProcessHandle.current().children()
                    .filter(p -> p.info().arguments().map(a -> String.join(" ", a).contains("sim boot")).orElse(false))
                    .forEach(ProcessHandle::destroyForcibly);
            }
        }
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        }
        catch (final IOException ex)
        {
            return "";
        }
    }

    @Test
    void shouldCreateTheDomainAndWarnWhenItCannotBeRecordedForServe() throws Exception
    {
        final Path sim = root.resolve("sim");
        final Path kernel = Files.writeString(root.resolve("vmlinuz"), "not booted on the simulator");
        final Path cfg = Files.writeString(root.resolve("n.cfg"), "name = 'n'\nmemory = 32\nkernel = '" + kernel +
            "'\n");
        try (SimMachine machine = SimMachine.start(sim))
        {
            Files.writeString(sim.resolve("domain-records"), "a file where the records' directory would be");
            assertThat(run(sim, "--platform", "sim", "create", "-p", cfg.toString())).as(err.toString())
                .isEqualTo(ExitCodes.OK);
            assertThat(err.toString()).contains("dom0j create: warning: domain 1 is not recorded, so dom0j serve " +
                "will not act on its on_poweroff, on_reboot and on_crash");
            assertThat(machine.xenStore().read("/local/domain/1/name")).isEqualTo("n");
        }
    }

    @Test
    void shouldRefuseWhatTheSimulatorCannotRunBeforeCreatingAnything() throws Exception
    {
        final Path sim = root.resolve("sim");
        final Path cfg = Files.writeString(root.resolve("h.cfg"), "name = 'h'\ntype = 'hvm'\nmemory = 64\n");
        try (SimMachine machine = SimMachine.start(sim))
        {
            assertThat(run(sim, "--platform", "sim", "create", cfg.toString())).isEqualTo(ExitCodes.FAILURE);
            assertThat(err.toString()).isEqualTo("dom0j create: " + cfg + ":2: type hvm: the simulator runs PV " +
                "guests only\n");
            assertThat(machine.xenStore().directory("/local/domain")).containsExactly("0");
        }
    }

    @Test
    void shouldSayWhichLineIsWrongWithoutTouchingThePlatform() throws Exception
    {
        final Path cfg = Files.writeString(root.resolve("bad.cfg"), """
            name = "b"
            disk = [ '/srv/b.img,raw,xvda,rw',
                     '/srv/c.img,raw,xvda,ro' ]
            """);
        assertThat(run(root.resolve("no-machine"), "--platform", "sim", "create", cfg.toString()))
            .isEqualTo(ExitCodes.FAILURE);
        assertThat(err.toString()).isEqualTo("dom0j create: " + cfg + ":3:10: disk 2: vdev xvda is the same device " +
            "(51712) as disk 1's vdev xvda\n");
    }

    @Test
    void shouldReportEveryMissingFileItNames() throws Exception
    {
        final Path cfg = Files.writeString(root.resolve("m.cfg"), "name = 'm'\nkernel = '" + root.resolve("nope") +
            "'\ndisk = [ '" + root.resolve("gone.img") + ",raw,xvda' ]\n");
        assertThat(run(root.resolve("no-machine"), "create", cfg.toString())).isEqualTo(ExitCodes.FAILURE);
        assertThat(err.toString()).isEqualTo(
            "dom0j create: " + cfg + ":2: kernel " + root.resolve("nope") + " does not exist\n" +
            "dom0j create: " + cfg + ":3: disk xvda: target " + root.resolve("gone.img") + " does not exist\n");
    }

    @Test
    void shouldPrintTheLibxlJsonOnADryRun() throws Exception
    {
        final Path kernel = Files.writeString(root.resolve("vmlinuz"), "k");
        final Path cfg = Files.writeString(root.resolve("d.cfg"), "name = 'd'\nmemory = 64\nkernel = '" + kernel +
            "'\nuuid = '00000000-0000-4000-8000-000000000001'\nbogus = 1\n");
        assertThat(run(root.resolve("no-machine"), "create", "-n", cfg.toString())).isEqualTo(ExitCodes.OK);
        assertThat(out.toString()).isEqualTo("{\"c_info\":{\"type\":\"pv\",\"name\":\"d\",\"uuid\":" +
            "\"00000000-0000-4000-8000-000000000001\",\"run_hotplug_scripts\":\"True\"},\"b_info\":{" +
            "\"max_memkb\":65536,\"target_memkb\":65536,\"sched_params\":{},\"claim_mode\":\"True\",\"kernel\":\"" +
            kernel + "\",\"type.pv\":{},\"arch_arm\":{},\"arch_x86\":{}},\"on_reboot\":\"restart\"," +
            "\"on_soft_reset\":\"soft_reset\"}\n");
        assertThat(err.toString()).isEqualTo("dom0j create: warning: " + cfg + ":5: bogus is not a setting dom0j " +
            "create uses; ignored\n");
    }
}
