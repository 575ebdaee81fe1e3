package org.dom0j.it;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code scripts/install.sh} staged into a temporary {@code --destdir}, as a package build would run it: the tree it
 * lays out, the installed launcher running, an existing configuration kept, and the installed unit passing
 * {@code systemd-analyze verify} (skipped where systemd-analyze is not installed).
 */
@Timeout(120)
class InstallScriptTest
{
    private static Path repo;

    @TempDir
    Path dir;

    @BeforeAll
    static void findBuild()
    {
        repo = Path.of(System.getProperty("user.dir")).resolve("..").normalize();
        assertThat(repo.resolve("toolstack-cli/target/dom0j.jar")).as("toolstack-cli is packaged first").exists();
        assertThat(repo.resolve("toolstack-cli/target/man/dom0j-serve.1")).exists();
    }

    @Test
    void shouldStageTheJarLauncherUnitCompletionManPagesAndConfiguration() throws Exception
    {
        final Path destdir = dir.resolve("stage");

        final Result install = run(Map.of(), "sh", repo.resolve("scripts/install.sh").toString(), "--destdir",
            destdir.toString());

        assertThat(install.exit).as(install.out).isZero();
        final Path prefix = destdir.resolve("usr/local");
        assertThat(prefix.resolve("share/dom0j/dom0j.jar")).hasSameBinaryContentAs(
            repo.resolve("toolstack-cli/target/dom0j.jar"));
        assertThat(prefix.resolve("bin/dom0j")).isExecutable();
        assertThat(prefix.resolve("share/bash-completion/completions/dom0j")).hasSameTextualContentAs(
            repo.resolve("toolstack-cli/target/completion/dom0j"));
        try (var pages = Files.list(repo.resolve("toolstack-cli/target/man")))
        {
            for (final Path page : pages.toList())
            {
                assertThat(prefix.resolve("share/man/man1").resolve(page.getFileName())).hasSameTextualContentAs(page);
            }
        }
        assertThat(prefix.resolve("share/man/man1/dom0j-serve.1")).exists();
        assertThat(destdir.resolve("etc/dom0j/dom0j.conf")).hasSameTextualContentAs(
            repo.resolve("packaging/dom0j.conf"));
        final List<String> unit = Files.readAllLines(prefix.resolve("lib/systemd/system/dom0j.service"));
        assertThat(unit).contains("Type=notify", "ExecStart=/usr/local/bin/dom0j serve",
            "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure");

        final Result version = run(Map.of("JAVA_HOME", System.getProperty("java.home")),
            prefix.resolve("bin/dom0j").toString(), "--version");
        assertThat(version.exit).as(version.out).isZero();
        assertThat(version.out).startsWith("dom0j 0.1.0");
    }

    @Test
    void shouldKeepAnExistingConfigurationAndFollowThePrefix() throws Exception
    {
        final Path destdir = dir.resolve("stage");
        final Path conf = destdir.resolve("etc/dom0j/dom0j.conf");
        Files.createDirectories(conf.getParent());
        Files.writeString(conf, "data-path = map\n");

        final Result install = run(Map.of(), "sh", repo.resolve("scripts/install.sh").toString(), "--destdir",
            destdir.toString(), "--prefix", "/opt/dom0j");

        assertThat(install.exit).as(install.out).isZero();
        assertThat(install.out).contains("kept /etc/dom0j/dom0j.conf");
        assertThat(conf).hasContent("data-path = map");
        assertThat(conf.resolveSibling("dom0j.conf.dist")).hasSameTextualContentAs(
            repo.resolve("packaging/dom0j.conf"));
        assertThat(Files.readAllLines(destdir.resolve("opt/dom0j/lib/systemd/system/dom0j.service")))
            .contains("ExecStart=/opt/dom0j/bin/dom0j serve");
        assertThat(destdir.resolve("opt/dom0j/bin/dom0j")).isExecutable();
    }

    @Test
    void installedUnitShouldPassSystemdAnalyzeVerify() throws Exception
    {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze")) ||
            Files.isExecutable(Path.of("/bin/systemd-analyze")), "systemd-analyze is not installed (systemd)");
        final Path destdir = dir.resolve("stage");
        assertThat(run(Map.of(), "sh", repo.resolve("scripts/install.sh").toString(), "--destdir",
            destdir.toString()).exit).isZero();
        final Path prefix = destdir.resolve("usr/local");
        // verify checks that ExecStart's program exists: point it at the staged launcher; and that the pages named in
        // Documentation= exist: MANPATH is the staged man directory.
        final String staged = Files.readString(prefix.resolve("lib/systemd/system/dom0j.service"))
            .replace("ExecStart=/usr/local/bin/dom0j ", "ExecStart=" + prefix.resolve("bin/dom0j") + " ");
        final Map<String, String> env = Map.of("MANPATH", prefix.resolve("share/man").toString());

        final Result verified = run(env, "systemd-analyze", "verify", write("good", staged).toString());
        assertThat(verified.exit).as(verified.out).isZero();
        assertThat(verified.out).as("systemd-analyze's complaints").isEmpty();

        // The same check sees a mistake: verify exits 0 on a line it ignores, so its output is what counts.
        final Result broken = run(env, "systemd-analyze", "verify",
            write("broken", staged.replace("Type=notify", "Type=notfy")).toString());
        assertThat(broken.out).contains("notfy");
    }

    private Path write(final String name, final String unit) throws IOException
    {
        final Path file = Files.createDirectories(dir.resolve(name)).resolve("dom0j.service");
        Files.writeString(file, unit);
        return file;
    }

    private Result run(final Map<String, String> env, final String... command) throws Exception
    {
        final ProcessBuilder builder = new ProcessBuilder(new ArrayList<>(List.of(command))).redirectErrorStream(true);
        builder.environment().putAll(env);
        final Process process = builder.start();
        process.getOutputStream().close();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command[0]).isTrue();
        return new Result(process.exitValue(), out);
    }

    private record Result(int exit, String out)
    {
    }
}
