package org.dom0j.test;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Compiles C programs against Xen's public headers with gcc, for tests that check our layouts and protocols
 * against Xen's own definitions. A test is skipped, saying why, only when gcc or the header is missing (CI installs
 * both: scripts/install-deps.sh).
 * <p>
 * Any thread; each call works in the directory it is given.
 */
public final class CProgram
{
    private CProgram()
    {
    }

    /**
     * Compiles {@code source} and runs it; its output is "name value" lines (or "name=value").
     *
     * @param dir    a scratch directory.
     * @param header a header under /usr/include the program needs, e.g. "xen/io/blkif.h".
     * @param source the program.
     * @param args   arguments for the program.
     * @return the values it printed.
     * @throws Exception when compiling or running fails.
     */
    public static Map<String, Long> run(final Path dir, final String header, final String source, final String... args)
        throws Exception
    {
        final Path exe = compile(dir, header, "layout", source);
        final List<String> cmd = new ArrayList<>();
        cmd.add(exe.toString());
        cmd.addAll(List.of(args));
        final String out = exec(dir, cmd);
        final Map<String, Long> values = new HashMap<>();
        for (final String line : out.split("\n"))
        {
            final String[] w = line.trim().split("[\\s=]+");
            if (w.length == 2)
            {
                values.put(w[0], Long.parseLong(w[1]));
            }
        }
        return values;
    }

    /**
     * Compiles a program.
     *
     * @param dir    a scratch directory.
     * @param header a header under /usr/include the program needs.
     * @param name   the executable's name.
     * @param source the program.
     * @param flags  extra gcc flags (e.g. "-m32").
     * @return the executable.
     * @throws Exception when gcc fails.
     */
    public static Path compile(
        final Path dir, final String header, final String name, final String source, final String... flags)
        throws Exception
    {
        assumeToolchain(header);
        final Path c = dir.resolve(name + ".c");
        final Path exe = dir.resolve(name);
        Files.writeString(c, source, StandardCharsets.UTF_8);
        final List<String> cmd = new ArrayList<>(List.of("gcc", "-std=gnu99", "-Wall"));
        cmd.addAll(List.of(flags));
        cmd.addAll(List.of("-o", exe.toString(), c.toString()));
        exec(dir, cmd);
        return exe;
    }

    /**
     * Compiles a translation unit without linking or running it, for checks made at compile time
     * ({@code _Static_assert} on {@code sizeof} and {@code offsetof}): they need no execution of the program, so
     * they hold for foreign ABIs ({@code -m32}) on a kernel that cannot run them.
     *
     * @param dir    a scratch directory.
     * @param header a header under /usr/include the program needs.
     * @param name   the source's base name.
     * @param source the translation unit.
     * @param flags  extra gcc flags (e.g. "-m32").
     * @throws Exception when gcc fails (a failed assertion names itself in the message).
     */
    public static void compileOnly(
        final Path dir, final String header, final String name, final String source, final String... flags)
        throws Exception
    {
        assumeToolchain(header);
        final Path c = dir.resolve(name + ".c");
        Files.writeString(c, source, StandardCharsets.UTF_8);
        final List<String> cmd = new ArrayList<>(List.of("gcc", "-std=gnu11", "-Wall", "-fsyntax-only"));
        cmd.addAll(List.of(flags));
        cmd.add(c.toString());
        exec(dir, cmd);
    }

    /**
     * @param dir a scratch directory.
     * @return whether gcc can compile for the x86_32 ABI here ({@code -m32}: gcc-multilib's headers are there).
     */
    public static boolean canCompile32(final Path dir)
    {
        try
        {
            final Path c = dir.resolve("probe32.c");
            Files.writeString(c, "#include <stdint.h>\nint x;\n", StandardCharsets.UTF_8);
            exec(dir, List.of("gcc", "-m32", "-fsyntax-only", c.toString()));
            return true;
        }
        catch (final AssertionError | IOException | InterruptedException ex)
        {
            return false;
        }
    }

    /**
     * Skips the calling test unless gcc and the header are there.
     *
     * @param header a header under /usr/include.
     */
    public static void assumeToolchain(final String header)
    {
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/include", header)),
            "/usr/include/" + header + " is missing (install libxen-dev); not checked against Xen's headers");
        Assumptions.assumeTrue(onPath("gcc"), "gcc is missing; not checked against Xen's headers");
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

    private static String exec(final Path dir, final List<String> cmd) throws IOException, InterruptedException
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
