package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.Platforms;
import org.dom0j.sim.xenstored.SimXenstored;
import org.dom0j.sim.xenstored.SimXenstoredConfig;
import org.dom0j.test.Await;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XsPermission;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code dom0j xenstore ...} against the simulator's xenstored, its output compared with what Debian's
 * {@code xenstore-*} tools print for the same store (those comparisons are skipped when the tools are missing).
 */
@Timeout(120)
class XenstoreCommandTest
{
    /** Bounds each wait for the command's thread; generous, since only a failing test waits it out. */
    private static final long WAIT_MS = 10_000;

    @TempDir
    Path dir;

    private SimXenstored server;
    private XenStoreClient xs;

    record Run(int exit, String out, String err)
    {
    }

    @BeforeEach
    void start() throws Exception
    {
        server = SimXenstored.start(dir.resolve("socket"), SimXenstoredConfig.defaults());
        xs = XenStoreClient.connect(server.socketPath());
        xs.write("/t/b", "2");
        xs.write("/t/a/deep", "x\ty\\z\u0001");
        xs.write("/t/long", "v".repeat(100));
        xs.write("/t/mid", "0123456789".repeat(5));
        xs.setPermissions("/t/b", List.of(XsPermission.parse("n1"), XsPermission.parse("r2")));
    }

    @AfterEach
    void stop()
    {
        xs.close();
        server.close();
    }

    private Run cli(final String... args)
    {
        final PlatformEnvironment env = new PlatformEnvironment(dir, Map.of("XENSTORED_PATH",
            server.socketPath().toString()), lib -> "not here");
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int exit = Cli.run(env, out, err, args);
        return new Run(exit, out.toString(), err.toString());
    }

    private Run tool(final String... command) throws Exception
    {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin", command[0])),
            "Debian's xenstore-utils are not installed: comparison with " + command[0] + " skipped");
        final ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("XENSTORED_PATH", server.socketPath().toString());
        final Process p = pb.start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        final String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out, err);
    }

    @Test
    void shouldPrintLsLikeXenstoreLs() throws Exception
    {
        for (final String[] args : List.of(new String[]{ "/t" }, new String[]{ "-p", "/t" },
            new String[]{ "-f", "/t" }, new String[]{ "-f", "-p", "/t" }, new String[0]))
        {
            final List<String> c = new ArrayList<>(List.of("xenstore", "ls"));
            c.addAll(List.of(args));
            final List<String> t = new ArrayList<>(List.of("xenstore-ls"));
            t.addAll(List.of(args));
            final Run mine = cli(c.toArray(new String[0]));
            assertThat(mine.exit()).isZero();
            final Run theirs = tool(t.toArray(new String[0]));
            assertThat(mine.out()).as("ls " + String.join(" ", args)).isEqualTo(theirs.out());
        }
    }

    @Test
    void shouldPrintReadAndListLikeTheTools() throws Exception
    {
        assertThat(cli("xenstore", "read", "/t/b", "/t/a/deep").out())
            .isEqualTo(tool("xenstore-read", "/t/b", "/t/a/deep").out()).isEqualTo("2\nx\\ty\\\\z\\001\n");
        assertThat(cli("xenstore", "read", "-p", "/t/mid").out())
            .isEqualTo(tool("xenstore-read", "-p", "/t/mid").out());
        assertThat(cli("xenstore", "list", "/t").out()).isEqualTo(tool("xenstore-list", "/t").out());
        assertThat(cli("xenstore", "list", "-p", "/t").out()).isEqualTo(tool("xenstore-list", "-p", "/t").out());
    }

    @Test
    void shouldWriteEscapedValuesLikeXenstoreWrite() throws Exception
    {
        assertThat(cli("xenstore", "write", "/w/mine", "a\\tb\\x41\\101\\\\", "/w/two", "2").exit()).isZero();
        assertThat(tool("xenstore-write", "/w/theirs", "a\\tb\\x41\\101\\\\").exit()).isZero();
        assertThat(xs.readBytes("/w/mine")).containsExactly(xs.readBytes("/w/theirs"));
        assertThat(xs.read("/w/mine")).isEqualTo("a\tbAA\\");
        assertThat(cli("xenstore", "write", "-R", "/w/raw", "a\\t").exit()).isZero();
        assertThat(xs.read("/w/raw")).isEqualTo("a\\t");
    }

    @Test
    void shouldRemoveMkdirAndAnswerExists()
    {
        assertThat(cli("xenstore", "mkdir", "/m/a/b").exit()).isZero();
        assertThat(cli("xenstore", "exists", "/m/a/b").exit()).isZero();
        assertThat(cli("xenstore", "exists", "/m/zz").exit()).isEqualTo(ExitCodes.FAILURE);
        assertThat(cli("xenstore", "rm", "-t", "/m/a/b").exit()).isZero();
        assertThat(xs.exists("/m")).isFalse();
        assertThat(cli("xenstore", "--json", "exists", "/t/b").out().trim()).isEqualTo("{\"exists\":true}");
    }

    @Test
    void shouldChmodAndPrintPerms()
    {
        assertThat(cli("xenstore", "chmod", "-r", "/t/a", "n3", "r4").exit()).isZero();
        assertThat(xs.getPermissions("/t/a/deep")).containsExactly(XsPermission.parse("n3"),
            XsPermission.parse("r4"));
        assertThat(cli("xenstore", "perms", "/t/a", "/t/b").out()).isEqualTo("n3,r4\nn1,r2\n");
        assertThat(cli("xenstore", "perms", "--json", "/t/b").out().trim()).isEqualTo("{\"/t/b\":[\"n1\",\"r2\"]}");
        assertThat(cli("xenstore", "chmod", "/t/b", "q1").exit()).isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void shouldMapXenstoreErrorsToExitCodeFour()
    {
        final Run missing = cli("xenstore", "read", "/t/nope");
        assertThat(missing.exit()).isEqualTo(ExitCodes.XEN_ERROR);
        assertThat(missing.err()).contains("read /t/nope").contains("ENOENT");
        final PlatformEnvironment env = new PlatformEnvironment(dir, Map.of("XENSTORED_PATH",
            dir.resolve("nobody").toString()), lib -> "not here");
        final CommandLine cl = Dom0j.commandLine(env, Platforms.installed());
        final StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        assertThat(cl.execute("xenstore", "read", "/x")).isEqualTo(ExitCodes.XEN_ERROR);
        assertThat(err.toString()).contains("no xenstored to talk to").contains("XENSTORED_PATH");
    }

    @Test
    void shouldPrintJson()
    {
        assertThat(cli("xenstore", "read", "--json", "/t/b").out().trim()).isEqualTo("{\"/t/b\":\"2\"}");
        assertThat(cli("xenstore", "ls", "--json", "/t/a").out().trim()).isEqualTo(
            "{\"path\":\"/t/a\",\"value\":\"\",\"children\":[{\"path\":\"/t/a/deep\",\"value\":\"x\\ty\\\\z\\u0001\"," +
            "\"children\":[]}]}");
        assertThat(cli("xenstore", "list", "--json", "/t").out().trim())
            .isEqualTo("{\"/t\":[\"b\",\"a\",\"long\",\"mid\"]}");
    }

    @Test
    void shouldPrintWatchEventsLikeXenstoreWatch() throws Exception
    {
        xs.mkdir("/wt");
        final AtomicInteger exit = new AtomicInteger(-1);
        final StringWriter out = new StringWriter();
        final Thread t = new Thread(() ->
        {
            final PlatformEnvironment env = new PlatformEnvironment(dir, Map.of("XENSTORED_PATH",
                server.socketPath().toString()), lib -> "not here");
            final CommandLine cl = Dom0j.commandLine(env, Platforms.installed());
            cl.setOut(new PrintWriter(out, true));
            exit.set(cl.execute("xenstore", "watch", "-n", "3", "/wt"));
        });
        t.setDaemon(true);
        t.start();
        // xenstored fires a new watch once straight away, for its own path: /wt printed means the watch is in place.
        Await.until("the watch in place (its first event, /wt, printed) or the command ended", WAIT_MS,
            () -> out.toString().contains("/wt\n") || !t.isAlive());
        assertThat(out.toString()).as("watch's first event (exit %d)", exit.get()).isEqualTo("/wt\n");
        xs.write("/wt/a", "1");
        xs.write("/other", "1");
        xs.write("/wt/b", "1");
        t.join(WAIT_MS);
        assertThat(t.isAlive()).as("watch -n 3 ended after its third event; it printed %s", out).isFalse();
        assertThat(exit.get()).isZero();
        assertThat(out.toString()).isEqualTo("/wt\n/wt/a\n/wt/b\n");
    }

    @Test
    void shouldRunXenstoredInForegroundUntilInterrupted() throws Exception
    {
        final Path socket = dir.resolve("fg/socket");
        final AtomicInteger exit = new AtomicInteger(-1);
        final StringWriter out = new StringWriter();
        final Thread t = new Thread(() ->
        {
            final CommandLine cl = Dom0j.commandLine(PlatformEnvironment.system(), Platforms.installed());
            cl.setOut(new PrintWriter(out, true));
            exit.set(cl.execute("xenstored", "--socket", socket.toString(), "--quota", "nodes=5"));
        });
        t.setDaemon(true);
        t.start();
        Await.until("xenstored listening, or its command ended", WAIT_MS,
            () -> out.toString().contains("listening") || !t.isAlive());
        assertThat(out.toString()).as("xenstored's output (exit %d)", exit.get()).contains("listening");
        try (XenStoreClient c = XenStoreClient.connect(socket))
        {
            c.write("/fg", "yes");
            assertThat(c.read("/fg")).isEqualTo("yes");
            assertThat(c.getQuota(-1, "nodes")).isEqualTo(5);
        }
        t.interrupt();
        t.join(WAIT_MS);
        assertThat(t.isAlive()).as("xenstored stopped by the interrupt").isFalse();
        assertThat(exit.get()).isZero();
        assertThat(Files.exists(socket)).isFalse();
    }

    @Test
    void shouldPrintUnreadableNodesInLsLikeXenstoreLsAsGuest() throws Exception
    {
        xs.introduceDomain(7, 1, 1);
        xs.write("/local/domain/7/pub", "p");
        xs.write("/local/domain/7/sec/child", "c");
        xs.setPermissions("/local/domain/7", List.of(XsPermission.parse("n0"), XsPermission.parse("r7")));
        xs.setPermissions("/local/domain/7/pub", List.of(XsPermission.parse("r0")));
        final Path guest = server.domainSocketPath(7);
        for (final String flag : List.of("-f", "-p"))
        {
            final PlatformEnvironment env = new PlatformEnvironment(dir, Map.of("XENSTORED_PATH", guest.toString()),
                lib -> "not here");
            final CommandLine cl = Dom0j.commandLine(env, Platforms.installed());
            final StringWriter out = new StringWriter();
            cl.setOut(new PrintWriter(out));
            cl.setErr(new PrintWriter(new StringWriter()));
            assertThat(cl.execute("xenstore", "ls", flag, "/local/domain/7")).isZero();
            assumeTrue(Files.isExecutable(Path.of("/usr/bin/xenstore-ls")), "xenstore-ls missing: comparison skipped");
            final ProcessBuilder pb = new ProcessBuilder("xenstore-ls", flag, "/local/domain/7");
            pb.environment().put("XENSTORED_PATH", guest.toString());
            pb.redirectError(ProcessBuilder.Redirect.DISCARD);
            final Process p = pb.start();
            final String theirs = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(out.toString()).as("ls " + flag).isEqualTo(theirs).contains("sec:\n");
        }
    }
}
