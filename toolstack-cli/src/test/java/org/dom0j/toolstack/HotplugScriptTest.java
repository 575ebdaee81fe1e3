package org.dom0j.toolstack;

import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.sim.xenstored.SimXenstored;
import org.dom0j.sim.xenstored.SimXenstoredConfig;
import org.dom0j.test.Await;
import org.dom0j.toolstack.xl.VifSpec;
import org.dom0j.xenstore.XenStoreClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A device's hotplug script run as libxl runs it, against the simulator's xenstored: the fake scripts here record
 * their arguments, environment and stdin, and say how it went as Xen's scripts do, with Debian's
 * {@code xenstore-write} (xenstore-utils) on {@code $XENBUS_PATH}, talking to this xenstored through
 * {@code XENSTORED_PATH} (those cases are skipped when the tools are missing). Each failure is checked for what it
 * tells the operator.
 */
@Timeout(60)
class HotplugScriptTest
{
    /** Long enough for any script here that is meant to finish: it only bounds a failing test. */
    private static final long GENEROUS_MS = 20_000;
    private static final String BE = "/local/domain/0/backend/vif/5/0";

    @TempDir
    Path dir;

    private SimXenstored server;
    private XenStoreClient xs;

    @BeforeEach
    void start() throws Exception
    {
        server = SimXenstored.start(dir.resolve("xenstored.sock"), SimXenstoredConfig.defaults());
        xs = XenStoreClient.connect(server.socketPath());
    }

    @AfterEach
    void stop()
    {
        xs.close();
        server.close();
    }

    private Path script(final String name, final String body) throws IOException
    {
        final Path script = dir.resolve(name);
        Files.writeString(script, "#!/bin/sh\nexport XENSTORED_PATH='" + server.socketPath() + "'\nD='" + dir +
            "'\n" + body + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    /** What a recording script keeps: its arguments, environment and stdin, in files beside it. */
    private static String record()
    {
        return "printf '%s\\n' \"$@\" > \"$D/args\"\nenv > \"$D/env\"\nreadlink /proc/$$/fd/0 > \"$D/stdin\"";
    }

    private List<String> args() throws IOException
    {
        return Files.readAllLines(dir.resolve("args"));
    }

    private Map<String, String> env() throws IOException
    {
        final Map<String, String> env = new HashMap<>();
        for (final String line : Files.readAllLines(dir.resolve("env")))
        {
            final int eq = line.indexOf('=');
            if (eq > 0)
            {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return env;
    }

    private void attachVif(final String script)
    {
        DeviceHotplug.attachVif(xs, 5, VifSpec.parse("bridge=xenbr7,script=" + script, 0), "00:16:3e:01:02:03");
    }

    private static void assumeXenstoreTools()
    {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/xenstore-write")) &&
            Files.isExecutable(Path.of("/usr/bin/xenstore-read")),
            "Debian's xenstore-utils are not installed: scripts that write xenstore cannot run");
    }

    private static XenException failure(final Runnable run)
    {
        try
        {
            run.run();
        }
        catch (final XenException ex)
        {
            return ex;
        }
        throw new AssertionError("it did not fail");
    }

    @Test
    void shouldRunTheVifScriptAsLibxlDoesAndReturnOnceItWroteConnected() throws Exception
    {
        assumeXenstoreTools();
        final Path script = script("vif-fake", record() + "\n" +
            "echo \"vif-fake: $vif on $(xenstore-read \"$XENBUS_PATH/bridge\")\"\n" +
            "xenstore-write \"$XENBUS_PATH/hotplug-status\" connected");
        attachVif(script.toString());
        xs.write(BE + "/gatewaydev", "eth9");
        assertThat(xs.readOrNull(BE + "/hotplug-status")).as("nobody said connected yet").isNull();

        final String output = new HotplugScript(xs, dir.resolve("elsewhere"), GENEROUS_MS).run("vif", 5, "0",
            HotplugScript.Action.ADD);

        assertThat(args()).containsExactly("online", "type_if=vif");
        assertThat(env()).containsEntry("script", script.toString()).containsEntry("XENBUS_TYPE", "vif")
            .containsEntry("XENBUS_PATH", "backend/vif/5/0").containsEntry("XENBUS_BASE_PATH", "backend")
            .containsEntry("netdev", "eth9").containsEntry("vif", "vif5.0");
        assertThat(Files.readString(dir.resolve("stdin")).strip()).isEqualTo("/dev/null");
        assertThat(output).as("XENBUS_PATH is relative to dom0's home, as Xen's scripts use it")
            .isEqualTo("vif-fake: vif5.0 on xenbr7\n");
        assertThat(xs.read(BE + "/hotplug-status")).isEqualTo("connected");
    }

    @Test
    void shouldLookUpANameWithoutADirectoryInTheScriptsDirectoryAndPassOfflineOnRemoval() throws Exception
    {
        final Path scripts = Files.createDirectories(dir.resolve("scripts"));
        final Path script = script("scripts/my-vif", record());
        attachVif("/unused");
        xs.write(BE + "/script", "my-vif");

        new HotplugScript(xs, scripts, GENEROUS_MS).run("vif", 5, "0", HotplugScript.Action.REMOVE);

        assertThat(args()).containsExactly("offline", "type_if=vif");
        assertThat(env()).containsEntry("script", script.toString()).containsEntry("netdev", "")
            .containsEntry("vif", "vif5.0");
        assertThat(xs.readOrNull(BE + "/hotplug-status")).as("a removal waits for no status").isNull();
    }

    @Test
    void shouldPassAddAndRemoveToADisksScriptWithoutTheVifVariables() throws Exception
    {
        final Path script = script("block-fake", record());
        final String be = "/local/domain/0/backend/vbd/5/51712";
        xs.write(be + "/script", script.toString());
        // What dom0j's backends write before InitWait.
        xs.write(be + "/hotplug-status", "connected");
        final HotplugScript hotplug = new HotplugScript(xs, dir, GENEROUS_MS);

        hotplug.run("vbd", 5, "51712", HotplugScript.Action.ADD);
        assertThat(args()).containsExactly("add");
        assertThat(env()).containsEntry("XENBUS_TYPE", "vbd").containsEntry("XENBUS_PATH", "backend/vbd/5/51712")
            .containsEntry("XENBUS_BASE_PATH", "backend").doesNotContainKeys("netdev", "vif");
        hotplug.run("vbd", 5, "51712", HotplugScript.Action.REMOVE);
        assertThat(args()).containsExactly("remove");
        assertThatThrownBy(() -> hotplug.run("console", 5, "0", HotplugScript.Action.ADD))
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldSayWhatToDoWhenTheScriptCannotBeRun() throws Exception
    {
        final HotplugScript hotplug = new HotplugScript(xs, dir, GENEROUS_MS);
        attachVif(dir.resolve("no-such-script").toString());
        final XenException missing = failure(() -> hotplug.run("vif", 5, "0", HotplugScript.Action.ADD));
        assertThat(missing.errnoConstant()).isEqualTo(Errno.ENOENT);
        assertThat(missing.getMessage()).startsWith("vif 0 of domain 5: its hotplug script " +
            dir.resolve("no-such-script") + " (" + BE + "/script) does not exist: install Xen's hotplug scripts")
            .contains("script=NAME", "looked up in " + dir);

        final Path plain = Files.writeString(dir.resolve("not-executable"), "#!/bin/sh\n");
        xs.write(BE + "/script", plain.toString());
        final XenException denied = failure(() -> hotplug.run("vif", 5, "0", HotplugScript.Action.ADD));
        assertThat(denied.errnoConstant()).isEqualTo(Errno.EACCES);
        assertThat(denied.getMessage()).contains(plain + " is not executable: chmod +x it");

        xs.rm(BE + "/script");
        final XenException none = failure(() -> hotplug.run("vif", 5, "0", HotplugScript.Action.ADD));
        assertThat(none.errnoConstant()).isEqualTo(Errno.ENOENT);
        assertThat(none.getMessage()).contains("names no hotplug script (no script key)");
    }

    @Test
    void shouldFailWithTheExitStatusAndWhatTheScriptPrinted() throws Exception
    {
        final Path script = script("vif-fails", "echo 'vif-fails: starting'\n" +
            "echo 'bridge xenbr7 does not exist' >&2\nexit 3");
        attachVif(script.toString());

        final XenException ex = failure(() -> new HotplugScript(xs, dir, GENEROUS_MS).run("vif", 5, "0",
            HotplugScript.Action.ADD));

        assertThat(ex.errnoConstant()).isEqualTo(Errno.EIO);
        assertThat(ex.getMessage()).isEqualTo("vif 0 of domain 5: hotplug script '" + script + " online " +
            "type_if=vif' failed with exit status 3 (it wrote no hotplug-error); it printed: vif-fails: starting | " +
            "bridge xenbr7 does not exist (Xen's scripts log to /var/log/xen/xen-hotplug.log; to run it by hand: " +
            "script=" + script + " XENBUS_TYPE=vif XENBUS_PATH=backend/vif/5/0 XENBUS_BASE_PATH=backend netdev='' " +
            "vif=vif5.0 " + script + " online type_if=vif): EIO (Input/output error)");
    }

    @Test
    void shouldFailWithHotplugErrorWhenTheScriptSaysErrorAsVifBridgeDoes() throws Exception
    {
        assumeXenstoreTools();
        // xen-hotplug-common.sh's fatal: hotplug-error and hotplug-status error, then exit 1.
        final Path fatal = script("vif-fatal", "xenstore-write \"$XENBUS_PATH/hotplug-error\" " +
            "\"Could not find bridge device xenbr7 $(printf '\\033')[31m\" \"$XENBUS_PATH/hotplug-status\" error\n" +
            "exit 1");
        attachVif(fatal.toString());
        final HotplugScript hotplug = new HotplugScript(xs, dir, GENEROUS_MS);
        final XenException failed = failure(() -> hotplug.run("vif", 5, "0", HotplugScript.Action.ADD));
        assertThat(failed.errnoConstant()).isEqualTo(Errno.EIO);
        assertThat(failed.getMessage()).contains("failed with exit status 1: Could not find bridge device xenbr7 [31m;")
            .as("control characters from xenstore are not printed").doesNotContain("\u001b");

        // The same words with exit status 0: hotplug-status error still fails it.
        xs.rm(BE + "/hotplug-error");
        xs.rm(BE + "/hotplug-status");
        xs.write(BE + "/script", script("vif-error-0", "xenstore-write \"$XENBUS_PATH/hotplug-error\" " +
            "'no bridge' \"$XENBUS_PATH/hotplug-status\" error").toString());
        final XenException said = failure(() -> hotplug.run("vif", 5, "0", HotplugScript.Action.ADD));
        assertThat(said.errnoConstant()).isEqualTo(Errno.EIO);
        assertThat(said.getMessage()).contains("exited 0 but wrote hotplug-status error: no bridge;");
    }

    @Test
    void shouldWaitForConnectedWrittenAfterTheScriptExited() throws Exception
    {
        assumeXenstoreTools();
        // The write comes from a child that waits until the script itself is gone (and reaped).
        final Path script = script("vif-late", "( while kill -0 $$ 2>/dev/null; do sleep 0.05; done\n" +
            "  xenstore-write \"$XENBUS_PATH/hotplug-status\" connected ) > /dev/null 2>&1 &\nexit 0");
        attachVif(script.toString());

        new HotplugScript(xs, dir, GENEROUS_MS).run("vif", 5, "0", HotplugScript.Action.ADD);

        assertThat(xs.read(BE + "/hotplug-status")).isEqualTo("connected");
    }

    @Test
    void shouldFailWhenTheScriptExitsZeroButNeverSaysConnected() throws Exception
    {
        attachVif(script("vif-silent", "exit 0").toString());

        final XenException ex = failure(() -> new HotplugScript(xs, dir, 300).run("vif", 5, "0",
            HotplugScript.Action.ADD));

        assertThat(ex.errnoConstant()).isEqualTo(Errno.ETIMEDOUT);
        assertThat(ex.getMessage()).contains("exited 0, but " + BE + "/hotplug-status is missing, not " +
            "'connected', 300 ms after it began: a hotplug script must write it");
    }

    @Test
    void shouldKillAScriptAndItsChildrenWhenItRunsPastTheTimeout() throws Exception
    {
        attachVif(script("vif-hangs", "echo $$ > \"$D/pid\"\nsleep 600 &\necho $! > \"$D/child\"\n" +
            "echo 'vif-hangs: waiting for a lock'\nwait").toString());

        final XenException ex = failure(() -> new HotplugScript(xs, dir, 500).run("vif", 5, "0",
            HotplugScript.Action.ADD));

        assertThat(ex.errnoConstant()).isEqualTo(Errno.ETIMEDOUT);
        assertThat(ex.getMessage()).contains("did not finish within 500 ms and was killed; it printed: " +
            "vif-hangs: waiting for a lock (Xen's scripts log to");
        for (final String file : List.of("pid", "child"))
        {
            final long pid = Long.parseLong(Files.readString(dir.resolve(file)).strip());
            Await.until("the script's " + file + " " + pid + " gone", GENEROUS_MS, () -> gone(pid));
        }
    }

    @Test
    void shouldRemoveTheDeviceAgainWhenItsScriptFails() throws Exception
    {
        attachVif(script("vif-exit-1", "exit 1").toString());
        assertThat(xs.exists("/local/domain/5/device/vif/0")).isTrue();

        final XenException ex = failure(() -> new HotplugScript(xs, dir, GENEROUS_MS).addOrRemove("vif", 5, "0"));

        assertThat(ex.errnoConstant()).isEqualTo(Errno.EIO);
        assertThat(ex.getMessage()).contains("failed with exit status 1")
            .endsWith("(vif 0 was removed again): EIO (Input/output error)").containsOnlyOnce("EIO");
        assertThat(xs.exists(BE)).isFalse();
        assertThat(xs.exists("/local/domain/5/device/vif/0")).isFalse();
    }

    @Test
    void shouldWriteLibxlsDefaultScriptAndMakeANameAPathAsLibxlDoes()
    {
        DeviceHotplug.attachVif(xs, 5, VifSpec.parse("bridge=xenbr0", 0), "00:16:3e:01:02:03");
        assertThat(xs.read(BE + "/script")).isEqualTo("/etc/xen/scripts/vif-bridge");
        DeviceHotplug.attachVif(xs, 5, VifSpec.parse("script=vif-route", 1), "00:16:3e:01:02:04");
        assertThat(xs.read("/local/domain/0/backend/vif/5/1/script")).isEqualTo("/etc/xen/scripts/vif-route");
    }

    /** Gone, or a zombie nobody reaped yet (an orphan's reaper in a container may be slow): it runs no more. */
    private static boolean gone(final long pid)
    {
        try
        {
            final String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        }
        catch (final IOException ex)
        {
            return true;
        }
    }
}
