package org.dom0j.domctl.jna;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Compiles a C program against Xen's headers with gcc and runs it; its output is "name value" lines. The test is
 * skipped (with the reason) when gcc or the header is missing.
 */
final class CProgram
{
    private CProgram()
    {
    }

    static Map<String, Long> run(final Path dir, final String header, final String source) throws Exception
    {
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/include", header)),
            "/usr/include/" + header + " is missing (install libxen-dev); layout not checked");
        Assumptions.assumeTrue(onPath("gcc"), "gcc is missing; layout not checked");
        final Path c = dir.resolve("layout.c");
        final Path exe = dir.resolve("layout");
        Files.writeString(c, source, StandardCharsets.UTF_8);
        exec(dir, "gcc", "-Wall", "-o", exe.toString(), c.toString());
        final String out = exec(dir, exe.toString());
        final Map<String, Long> values = new HashMap<>();
        for (final String line : out.split("\n"))
        {
            final String[] w = line.trim().split("\\s+");
            if (w.length == 2)
            {
                values.put(w[0], Long.parseLong(w[1]));
            }
        }
        return values;
    }

    private static boolean onPath(final String program)
    {
        for (final String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":"))
        {
            if (Files.isExecutable(Path.of(d, program)))
            {
                return true;
            }
        }
        return false;
    }

    private static String exec(final Path dir, final String... cmd) throws IOException, InterruptedException
    {
        final Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0)
        {
            throw new AssertionError(String.join(" ", cmd) + " failed:\n" + out);
        }
        return out;
    }
}
