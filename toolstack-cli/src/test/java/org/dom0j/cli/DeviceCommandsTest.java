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
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Disks and vifs hot-plugged into a running simulated guest ({@code dom0j create} on a machine started here, with
 * {@code dom0j serve} as a process): {@code block-attach} and {@code network-attach} write libxl's entries and
 * return once serve took the device, the guest's xenbus connects it, the lists show it, and {@code block-detach} and
 * {@code network-detach} take it away once the guest lets it go; and the refusals, each saying why.
 */
@Timeout(150)
class DeviceCommandsTest
{
    @TempDir
    Path root;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(final Path sim, final String... args)
    {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        return Cli.run(new PlatformEnvironment(root, Map.of("DOM0J_SIM_DIR", sim.toString()), library -> null), out,
            err, args);
    }

    private Path disk(final String name, final long bytes) throws IOException
    {
        final Path disk = root.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw"))
        {
            f.setLength(bytes);
        }
        return disk;
    }

    @Test
    void shouldHotPlugADiskAndAVifIntoARunningGuestAndTakeThemAway() throws Exception
    {
        final Path sim = root.resolve("sim");
        final Path first = disk("first.img", 16L << 20);
        final Path second = disk("second.img", 8L << 20);
        final Path cfg = Files.writeString(root.resolve("h1.cfg"), """
            name = "h1"
            memory = 64
            disk = [ '%s,raw,xvda,rw' ]
            """.formatted(first));
        try (SimMachine machine = SimMachine.start(sim);
            ServeProcess serve = ServeProcess.start(sim, root.resolve("serve.log")))
        {
            try
            {
                final XenStore xs = machine.xenStore();
                assertThat(run(sim, "--platform", "sim", "create", cfg.toString())).as(err.toString())
                    .isEqualTo(ExitCodes.OK);
                Await.until("the first disk connected", 30_000,
                    () -> "4".equals(xs.readOrNull("/local/domain/1/device/vbd/51712/state")));

                // A second disk, positional as the issue spells it: TARGET VDEV [r|w].
                assertThat(run(sim, "--platform", "sim", "block-attach", "h1", second.toString(), "xvdb", "r"))
                    .as(err.toString()).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).isEqualTo("Attached " + second + " to domain 1 as xvdb (vbd 51728, " +
                    "read-only)\n");
                final String fe = "/local/domain/1/device/vbd/51728";
                final String be = "/local/domain/0/backend/vbd/1/51728";
                Await.until("the guest connected the new disk", 30_000,
                    () -> "4".equals(xs.readOrNull(fe + "/state")) && "4".equals(xs.readOrNull(be + "/state")));
                assertThat(xs.read(be + "/params")).isEqualTo(second.toString());
                assertThat(xs.read(be + "/mode")).isEqualTo("r");
                assertThat(xs.read(be + "/sectors")).isEqualTo(Long.toString((8L << 20) / 512));
                assertThat(xs.read(fe + "/virtual-device")).isEqualTo("51728");
                // The guest logs the disk just after it writes Connected: wait for the line, do not race it.
                Await.until("the guest logged the new disk", 30_000,
                    () -> read(GuestProcess.log(sim, 1)).contains("blkfront: vbd 51728 ("));

                assertThat(run(sim, "--platform", "sim", "block-list", "h1")).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).containsPattern("(?m)^Vdev +BE ")
                    .containsPattern("(?m)^51712 +0 +xvda +51712 +4 +[0-9]+ +[0-9]+ ")
                    .containsPattern("(?m)^51728 +0 +xvdb +51728 +4 .*/local/domain/0/backend/vbd/1/51728$");
                assertThat(run(sim, "--platform", "sim", "--json", "block-list", "1")).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).contains("\"devid\":51728", "\"vdev\":\"xvdb\"",
                    "\"params\":\"" + second + "\"");

                // The same vdev again, a domain that does not exist, a spec that is wrong: refused, saying why.
                assertThat(run(sim, "--platform", "sim", "block-attach", "h1", second.toString(), "xvdb"))
                    .isEqualTo(ExitCodes.FAILURE);
                assertThat(err.toString()).contains("already has xvdb");
                assertThat(run(sim, "--platform", "sim", "block-attach", "nosuch", second.toString(), "xvdc"))
                    .isEqualTo(ExitCodes.FAILURE);
                assertThat(err.toString()).contains("no domain 'nosuch'", "h1 (1)");
                assertThat(run(sim, "--platform", "sim", "block-attach", "h1", "vdev=xvdc,format=qcow7,target=/x"))
                    .isEqualTo(ExitCodes.FAILURE);
                assertThat(err.toString()).contains("dom0j block-attach: ").contains("qcow7");

                // A vif, its MAC made up as libxl does, on the next free handle. Its script does not exist, and it
                // does not matter: the simulator runs no hotplug scripts (real Xen would refuse it, saying why).
                assertThat(run(sim, "--platform", "sim", "network-attach", "h1", "bridge=xenbr1",
                    "script=/nonexistent/vif-script")).as(err.toString()).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).matches("Attached vif 0 \\(mac 00:16:3e:[0-9a-f:]{8}\\) to domain 1\n");
                Await.until("the guest connected the vif", 30_000,
                    () -> "4".equals(xs.readOrNull("/local/domain/1/device/vif/0/state")) &&
                    "4".equals(xs.readOrNull("/local/domain/0/backend/vif/1/0/state")));
                assertThat(xs.read("/local/domain/0/backend/vif/1/0/bridge")).isEqualTo("xenbr1");
                assertThat(xs.read("/local/domain/0/backend/vif/1/0/script")).isEqualTo("/nonexistent/vif-script");
                assertThat(run(sim, "--platform", "sim", "network-list", "h1")).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).as("the frontend's event channel and tx ring, wherever it wrote them")
                    .containsPattern("(?m)^0 +0 +00:16:3e:[0-9a-f:]{8} +0 +4 +[0-9]+ +[0-9]+ +" +
                        "/local/domain/0/backend/vif/1/0$");

                // Detached while idle: the guest lets each go, and the entries are removed.
                assertThat(run(sim, "--platform", "sim", "block-detach", "h1", "xvdb")).as(err.toString())
                    .isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).isEqualTo("Detached vbd 51728 from domain 1\n");
                assertThat(xs.exists(fe)).isFalse();
                assertThat(xs.exists(be)).isFalse();
                Await.until("the guest let the disk go", 30_000,
                    () -> read(GuestProcess.log(sim, 1)).contains("blkfront: vbd 51728 detached"));
                assertThat(xs.read("/local/domain/1/device/vbd/51712/state")).as("the first disk stays")
                    .isEqualTo("4");
                assertThat(run(sim, "--platform", "sim", "network-detach", "h1", "0")).as(err.toString())
                    .isEqualTo(ExitCodes.OK);
                assertThat(xs.exists("/local/domain/1/device/vif/0")).isFalse();
                assertThat(run(sim, "--platform", "sim", "block-list", "h1")).isEqualTo(ExitCodes.OK);
                assertThat(out.toString().lines().toList()).hasSize(2);
                assertThat(run(sim, "--platform", "sim", "block-detach", "h1", "xvdb"))
                    .isEqualTo(ExitCodes.FAILURE);
                assertThat(err.toString()).contains("domain 1 has no vbd 51728");

                // Attached again after the detach: the guest connects it as a new device.
                assertThat(run(sim, "--platform", "sim", "block-attach", "h1", second.toString(), "xvdb"))
                    .as(err.toString()).isEqualTo(ExitCodes.OK);
                Await.until("the guest connected the disk again", 30_000,
                    () -> "4".equals(xs.readOrNull(fe + "/state")) && "4".equals(xs.readOrNull(be + "/state")));
            }
            finally
            {
                ProcessHandle.current().children()
                    .filter(p -> p.info().arguments().map(a -> String.join(" ", a).contains("sim boot")).orElse(false))
                    .forEach(ProcessHandle::destroyForcibly);
            }
        }
    }

    @Test
    void shouldAttachADiskThatAServeBesideTheKernelsBlkbackServesAndTakeItAway() throws Exception
    {
        final Path sim = root.resolve("sim");
        final Path data = disk("beside.img", 8L << 20);
        final Path cfg = Files.writeString(root.resolve("h3.cfg"), "name = \"h3\"\nmemory = 64\n");
        try (SimMachine machine = SimMachine.start(sim);
            ServeProcess serve = ServeProcess.start(sim, root.resolve("serve.log"), "--blk-type", "dom0j-vbd"))
        {
            try
            {
                final XenStore xs = machine.xenStore();
                assertThat(run(sim, "--platform", "sim", "create", cfg.toString())).as(err.toString())
                    .isEqualTo(ExitCodes.OK);
                assertThat(run(sim, "--platform", "sim", "block-attach", "h3", data.toString(), "xvdb", "w",
                    "--backend-type", "dom0j-vbd")).as(err.toString()).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).isEqualTo("Attached " + data + " to domain 1 as xvdb (dom0j-vbd 51728, " +
                    "read-write)\n");
                final String fe = "/local/domain/1/device/vbd/51728";
                final String be = "/local/domain/0/backend/dom0j-vbd/1/51728";
                assertThat(xs.read(fe + "/backend")).isEqualTo(be);
                assertThat(xs.exists("/local/domain/0/backend/vbd/1/51728")).isFalse();
                Await.until("the guest connected the disk served under dom0j-vbd", 30_000,
                    () -> "4".equals(xs.readOrNull(fe + "/state")) && "4".equals(xs.readOrNull(be + "/state")));
                assertThat(xs.read(be + "/sectors")).isEqualTo(Long.toString((8L << 20) / 512));

                assertThat(run(sim, "--platform", "sim", "block-list", "h3")).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).containsPattern("(?m)^51728 +0 +xvdb +51728 +4 .*" + be + "$");
                // Found through the frontend's backend key, wherever it is.
                assertThat(run(sim, "--platform", "sim", "block-detach", "h3", "xvdb")).as(err.toString())
                    .isEqualTo(ExitCodes.OK);
                assertThat(xs.exists(fe)).isFalse();
                assertThat(xs.exists(be)).isFalse();
                assertThat(run(sim, "--platform", "sim", "block-attach", "h3", data.toString(), "xvdc",
                    "--backend-type", "dom0j/vbd")).isEqualTo(ExitCodes.FAILURE);
                assertThat(err.toString()).contains("--backend-type must be 1-32 of a-z");
            }
            finally
            {
                ProcessHandle.current().children()
                    .filter(p -> p.info().arguments().map(a -> String.join(" ", a).contains("sim boot")).orElse(false))
                    .forEach(ProcessHandle::destroyForcibly);
            }
        }
    }

    @Test
    void shouldRunVifHotplugScriptsOnRealXenOnly()
    {
        assertThat(NetworkCommands.runsScripts("xen")).isTrue();
        assertThat(NetworkCommands.runsScripts("sim")).as("the simulator's vifs meet in serve's switch").isFalse();
    }

    @Test
    void shouldRemoveADiskNoBackendTakesAndSaySo() throws Exception
    {
        final Path sim = root.resolve("sim");
        final Path second = disk("second.img", 8L << 20);
        try (SimMachine machine = SimMachine.start(sim))
        {
            machine.createGuest(4, "nobody", 1024);
            assertThat(run(sim, "--platform", "sim", "block-attach", "--timeout", "1", "nobody", second.toString(),
                "xvdb")).isEqualTo(ExitCodes.FAILURE);
            assertThat(err.toString()).contains("no backend took /local/domain/0/backend/vbd/4/51728 within 1 s",
                "is 'dom0j serve' running");
            assertThat(machine.xenStore().exists("/local/domain/4/device/vbd/51728")).as("removed again").isFalse();
            assertThat(machine.xenStore().exists("/local/domain/0/backend/vbd/4/51728")).isFalse();
            assertThat(run(sim, "--platform", "sim", "block-list", "nobody")).isEqualTo(ExitCodes.OK);
            assertThat(out.toString().lines().toList()).isEqualTo(List.of(out.toString().lines().findFirst()
                .orElseThrow()));
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
}
