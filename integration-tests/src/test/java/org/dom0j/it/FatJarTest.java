package org.dom0j.it;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shaded {@code dom0j.jar} as an operator runs it: plain {@code java -jar}, no JVM flags, in its own process.
 */
@Timeout(60)
class FatJarTest
{
    private static Path jar;

    @BeforeAll
    static void findJar()
    {
        jar = Path.of(System.getProperty("user.dir")).resolve("../toolstack-cli/target/dom0j.jar").normalize();
        assertThat(jar).as("the CLI jar is built before integration-tests in the reactor").exists();
    }

    @Test
    void manifestShouldCarryTheJvmFlagsSoJavaJarNeedsNone() throws IOException
    {
        try (JarFile file = new JarFile(jar.toFile()))
        {
            final Manifest manifest = file.getManifest();
            assertThat(manifest.getMainAttributes().getValue("Main-Class")).isEqualTo("org.dom0j.cli.Dom0j");
            assertThat(manifest.getMainAttributes().getValue("Add-Exports")).isEqualTo("java.base/jdk.internal.misc");
            assertThat(manifest.getMainAttributes().getValue("Enable-Native-Access")).isEqualTo("ALL-UNNAMED");
        }
    }

    @Test
    void jarShouldRunPlatformAndFindBothProvidersThroughServiceLoader() throws Exception
    {
        final Result result = run("platform");

        assertThat(result.exit).isZero();
        assertThat(result.out).containsPattern("(?m)^xen ").containsPattern("(?m)^sim +yes");
    }

    @Test
    void jarShouldExitThreeWhenXenIsAskedForOffXen() throws Exception
    {
        final boolean onXen = Files.exists(Path.of("/dev/xen/privcmd"));
        final Result result = run("--platform", "xen", "platform");

        if (onXen)
        {
            assertThat(result.exit).isZero();
        }
        else
        {
            assertThat(result.exit).isEqualTo(3);
            assertThat(result.err.strip()).startsWith("dom0j: platform 'xen' is not available: ").doesNotContain("\n");
        }
    }

    @Test
    void jarShouldShowItsVersion() throws Exception
    {
        final Result result = run("--version");

        assertThat(result.exit).isZero();
        assertThat(result.out).startsWith("dom0j 0.");
    }

    private record Result(int exit, String out, String err)
    {
    }

    private static Result run(final String... args) throws Exception
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-jar");
        command.add(jar.toString());
        command.addAll(List.of(args));
        final ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("DOM0J_PLATFORM");
        final Path out = Files.createTempFile("dom0j-out", ".txt");
        final Path err = Files.createTempFile("dom0j-err", ".txt");
        try
        {
            final Process process = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(45, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                throw new AssertionError("dom0j " + String.join(" ", args) + " did not finish in 45 s");
            }
            return new Result(process.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        }
        finally
        {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
