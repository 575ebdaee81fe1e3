package org.dom0j.sim.xenstored;

import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XsPermission;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Debian's {@code xenstore-*} tools (package xenstore-utils, libxenstore 4.17) against the simulator's xenstored
 * through {@code XENSTORED_PATH}: their outputs and exit codes are what they would be against C xenstored. Skipped,
 * saying so, when the tools are not installed.
 */
@Timeout(120)
class DebianXenstoreToolsConformanceTest
{
    private static final Path TOOLS = Path.of("/usr/bin");

    @TempDir
    Path dir;

    private SimXenstored server;
    private XenStoreClient xs;

    record Result(int exit, String out, String err)
    {
    }

    @BeforeEach
    void start() throws Exception
    {
        assumeTrue(Files.isExecutable(TOOLS.resolve("xenstore-read")),
            "Debian's xenstore-utils are not installed (/usr/bin/xenstore-read missing): conformance skipped");
        server = SimXenstored.start(dir.resolve("socket"), SimXenstoredConfig.defaults());
        xs = XenStoreClient.connect(server.socketPath());
    }

    @AfterEach
    void stop()
    {
        if (null != xs)
        {
            xs.close();
            server.close();
        }
    }

    private Result run(final Path socket, final String... command) throws Exception
    {
        final List<String> cmd = new ArrayList<>();
        cmd.add(TOOLS.resolve(command[0]).toString());
        cmd.addAll(List.of(command).subList(1, command.length));
        final ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("XENSTORED_PATH", socket.toString());
        final Process p = pb.start();
        p.getOutputStream().close();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        final String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out, err);
    }

    private Result run(final String... command) throws Exception
    {
        return run(server.socketPath(), command);
    }

    @Test
    void shouldWriteAndReadLikeCXenstored() throws Exception
    {
        assertThat(run("xenstore-write", "/vm/1/name", "guest one", "/vm/1/esc", "a\\tb\\x01c\\\\").exit())
            .isZero();
        assertThat(xs.read("/vm/1/name")).isEqualTo("guest one");
        assertThat(xs.readBytes("/vm/1/esc")).containsExactly('a', '\t', 'b', 1, 'c', '\\');
        assertThat(run("xenstore-read", "/vm/1/name", "/vm/1/esc").out())
            .isEqualTo("guest one\na\\tb\\001c\\\\\n");
        assertThat(run("xenstore-read", "-p", "/vm/1/name").out()).isEqualTo("/vm/1/name: guest one\n");
        final Result missing = run("xenstore-read", "/vm/nope");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("couldn't read path /vm/nope");
    }

    @Test
    void shouldListAndLsTrees() throws Exception
    {
        xs.write("/t/b", "2");
        xs.write("/t/a/deep", "x");
        xs.write("/t/long", "v".repeat(100));
        assertThat(run("xenstore-list", "/t").out()).isEqualTo("b\na\nlong\n");
        assertThat(run("xenstore-list", "-p", "/t").out()).isEqualTo("/t/b\n/t/a\n/t/long\n");
        assertThat(run("xenstore-ls", "/t").out()).isEqualTo(
            "b = \"2\"\n" +
            "a = \"\"\n" +
            " deep = \"x\"\n" +
            "long = \"" + "v".repeat(68) + "\\...\"\n");
        assertThat(run("xenstore-ls", "-f", "/t/a").out()).isEqualTo("/t/a/deep = \"x\"\n");
        xs.setPermissions("/t/b", List.of(XsPermission.parse("n1"), XsPermission.parse("r2")));
        assertThat(run("xenstore-ls", "-p", "/t").out().split("\n")[0])
            .isEqualTo("b = \"2\"  " + ". ".repeat(26) + " (n1,r2)");
        assertThat(run("xenstore-ls", "/").out()).startsWith("tool = \"\"\n xenstored = \"\"\n");
        final Result missing = run("xenstore-ls", "/nope");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("xs_directory (/nope): No such file or directory");
    }

    @Test
    void shouldRemoveAndTidy() throws Exception
    {
        xs.write("/r/a/b/c", "x");
        xs.write("/r/keep", "y");
        assertThat(run("xenstore-rm", "-t", "/r/a/b/c").exit()).isZero();
        assertThat(xs.directory("/r")).containsExactly("keep");
        assertThat(run("xenstore-rm", "/r/keep").exit()).isZero();
        assertThat(xs.directory("/r")).isEmpty();
        assertThat(run("xenstore-rm", "/r/never").exit()).isZero();
        assertThat(run("xenstore-rm", "/nothere/never").exit()).isEqualTo(1);
    }

    @Test
    void shouldAnswerExists() throws Exception
    {
        xs.write("/e/x", "1");
        assertThat(run("xenstore-exists", "/e/x").exit()).isZero();
        assertThat(run("xenstore-exists", "/e/y").exit()).isEqualTo(1);
        assertThat(run("xenstore-exists", "/e/x", "/e").exit()).isZero();
    }

    @Test
    void shouldChmodLikeCXenstored() throws Exception
    {
        xs.write("/c/a/b", "x");
        assertThat(run("xenstore-chmod", "/c/a", "n1", "r2").exit()).isZero();
        assertThat(xs.getPermissions("/c/a")).containsExactly(XsPermission.parse("n1"), XsPermission.parse("r2"));
        assertThat(xs.getPermissions("/c/a/b")).containsExactly(XsPermission.parse("n0"));
        assertThat(run("xenstore-chmod", "-r", "/c", "b3").exit()).isZero();
        assertThat(xs.getPermissions("/c/a/b")).containsExactly(XsPermission.parse("b3"));
        assertThat(run("xenstore-chmod", "/c/none", "b3").exit()).isEqualTo(1);
    }

    @Test
    void shouldWatchLikeCXenstored() throws Exception
    {
        xs.mkdir("/wt");
        final ProcessBuilder pb = new ProcessBuilder(TOOLS.resolve("xenstore-watch").toString(), "-n", "3", "/wt");
        pb.environment().put("XENSTORED_PATH", server.socketPath().toString());
        pb.redirectErrorStream(true);
        final Process p = pb.start();
        try
        {
            final BufferedReader lines = new BufferedReader(
                new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(lines.readLine()).isEqualTo("/wt");
            xs.write("/wt/one", "1");
            assertThat(lines.readLine()).isEqualTo("/wt/one");
            xs.write("/elsewhere", "1");
            xs.rm("/wt/one");
            assertThat(lines.readLine()).isEqualTo("/wt/one");
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
        }
        finally
        {
            p.destroyForcibly();
        }
    }

    @Test
    void shouldActAsGuestThroughDomainSocket() throws Exception
    {
        xs.introduceDomain(7, 1, 1);
        xs.write("/local/domain/7/name", "seven");
        xs.setPermissions("/local/domain/7", List.of(XsPermission.parse("n7")));
        xs.setPermissions("/local/domain/7/name", List.of(XsPermission.parse("n7")));
        xs.write("/secret", "s");
        final Path guest = server.domainSocketPath(7);
        assertThat(run(guest, "xenstore-read", "name").out()).isEqualTo("seven\n");
        assertThat(run(guest, "xenstore-write", "data/x", "1").exit()).isZero();
        assertThat(xs.getPermissions("/local/domain/7/data/x").get(0).domid()).isEqualTo(7);
        assertThat(run(guest, "xenstore-read", "/secret").exit()).isEqualTo(1);
        assertThat(run(guest, "xenstore-write", "/local/domain/8/x", "1").exit()).isEqualTo(1);
        assertThat(run(guest, "xenstore-list", "/local/domain/7").out()).isEqualTo("name\ndata\n");
    }

    @Test
    void shouldKeepServingAfterToolsDisconnectMidway() throws IOException, Exception
    {
        for (int i = 0; i < 20; i++)
        {
            assertThat(run("xenstore-write", "/many/k" + i, Integer.toString(i)).exit()).isZero();
        }
        assertThat(xs.directory("/many")).hasSize(20);
        assertThat(server.connectionCount()).isEqualTo(1);
    }

    @Test
    void shouldPassXensOwnXenstoreTests() throws Exception
    {
        final Path test = Path.of("/usr/lib/xen-4.17/bin/test-xenstore");
        assumeTrue(Files.isExecutable(test), test + " missing (Debian xen-utils-4.17): Xen's own test skipped");
        for (final List<String> args : List.<List<String>>of(List.of(), List.of("-i", "5"), List.of("-r", "2")))
        {
            final List<String> cmd = new ArrayList<>(List.of(test.toString()));
            cmd.addAll(args);
            final ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().put("XENSTORED_PATH", server.socketPath().toString());
            pb.redirectErrorStream(true);
            final Process p = pb.start();
            final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as("test-xenstore " + args + ":\n" + out).isZero();
            assertThat(out).doesNotContain("failed");
        }
        assertThat(server.isRunning()).isTrue();
    }
}
