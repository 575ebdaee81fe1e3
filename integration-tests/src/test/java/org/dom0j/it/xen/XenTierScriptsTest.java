package org.dom0j.it.xen;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The host side of the real-Xen tier ({@code integration-tests/xen}) without booting anything: every script
 * parses, and the tier fails with its summary line when it cannot run. The tier itself (QEMU, Xen, dom0) is
 * run by {@code run-tier.sh}, not by Maven. Test thread only.
 */
@Timeout(60)
class XenTierScriptsTest
{
    private static final Path XEN = Path.of("xen").toAbsolutePath();

    @ParameterizedTest
    @ValueSource(strings = { "run-tier.sh", "setup.sh", "boot.sh", "dom0-tier.sh" })
    void shouldParseBashScripts(final String script) throws Exception
    {
        final Result r = run(List.of("bash", "-n", XEN.resolve(script).toString()), Path.of("."), List.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = { "init-dom0", "init-domU" })
    void shouldParseBusyboxInitScriptsAsPosixSh(final String script) throws Exception
    {
        final Result r = run(List.of("sh", "-n", XEN.resolve(script).toString()), Path.of("."), List.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
    }

    @Test
    void shouldFailWithSummaryLineWhenTheJarIsMissing(@TempDir final Path dir) throws Exception
    {
        final Path repo = Files.createDirectories(dir.resolve("repo"));
        final Result r = run(List.of("bash", XEN.resolve("run-tier.sh").toString()), dir,
            List.of("DOM0J_REPO=" + repo, "DOM0J_XEN_DIR=" + dir.resolve("work")));

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.output()).contains("TEST: tier-jar FAIL " + repo + "/toolstack-cli/target/dom0j.jar is missing");
        final String[] lines = r.output().strip().split("\n");
        assertThat(lines[lines.length - 1]).isEqualTo("0 passed, 1 failed, 0 skipped");
    }

    @Test
    void shouldRefuseToBootWithoutSetupArtefacts(@TempDir final Path dir) throws Exception
    {
        final Result r = run(List.of("bash", XEN.resolve("boot.sh").toString(), "probe"), dir,
            List.of("DOM0J_XEN_DIR=" + dir));

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.output()).contains("xen.elf missing: run setup.sh first");
    }

    private record Result(int exitCode, String output)
    {
    }

    private static Result run(final List<String> command, final Path workDir, final List<String> env)
        throws IOException, InterruptedException
    {
        final ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true);
        for (final String kv : env)
        {
            final int eq = kv.indexOf('=');
            pb.environment().put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        final Process p = pb.start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }
}
