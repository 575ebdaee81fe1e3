package org.dom0j.ring;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds {@code ringpeer.c} with gcc against Xen's own {@code /usr/include/xen/io/ring.h} and drives it: one command
 * line in, one answer line out, in lock step with the Java side.
 * <p>
 * Test code; one thread per instance.
 */
final class CRingPeer implements AutoCloseable
{
    static final Path RING_H = Path.of("/usr/include/xen/io/ring.h");

    private final Process process;
    private final BufferedWriter in;
    private final BufferedReader out;

    private CRingPeer(final Process process)
    {
        this.process = process;
        this.in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.US_ASCII));
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII));
    }

    /**
     * @return why the C peer cannot be built here, or null when gcc and the header are present.
     */
    static String missingPrerequisite()
    {
        if (!Files.isReadable(RING_H))
        {
            return RING_H + " is missing (install libxen-dev)";
        }
        try
        {
            final Process gcc = new ProcessBuilder("gcc", "--version").redirectErrorStream(true).start();
            gcc.getInputStream().readAllBytes();
            if (!gcc.waitFor(30, TimeUnit.SECONDS) || gcc.exitValue() != 0)
            {
                return "gcc --version failed";
            }
        }
        catch (final IOException ex)
        {
            return "gcc is not installed: " + ex.getMessage();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        return null;
    }

    /**
     * Compiles the peer; fails the test (not skips) when gcc is present but the build fails.
     *
     * @param dir where to put the source and the binary.
     * @return the binary.
     */
    static Path compile(final Path dir) throws IOException, InterruptedException
    {
        final Path source = dir.resolve("ringpeer.c");
        try (InputStream resource = CRingPeer.class.getResourceAsStream("ringpeer.c"))
        {
            if (resource == null)
            {
                throw new IllegalStateException("ringpeer.c is not on the test classpath");
            }
            Files.write(source, resource.readAllBytes());
        }
        final Path binary = dir.resolve("ringpeer");
        final Process gcc = new ProcessBuilder(
            "gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary.toString(), source.toString())
            .redirectErrorStream(true)
            .start();
        final String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0)
        {
            throw new IllegalStateException("gcc failed to build ringpeer.c:\n" + output);
        }
        return binary;
    }

    /**
     * @param binary the compiled peer.
     * @param args   its arguments.
     * @return every line it printed.
     */
    static List<String> runToEnd(final Path binary, final String... args) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0)
        {
            process.destroyForcibly();
            throw new IllegalStateException("ringpeer " + args[0] + " failed: " + output);
        }
        return output.lines().toList();
    }

    /**
     * @param binary the compiled peer.
     * @param ring   the shared ring file.
     * @param kind   "blk" or "small".
     * @param pages  pages of the ring.
     * @return the running peer.
     */
    static CRingPeer start(final Path binary, final Path ring, final String kind, final int pages) throws IOException
    {
        final Process process = new ProcessBuilder(
            binary.toString(), "run", ring.toString(), kind, Integer.toString(pages))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
        return new CRingPeer(process);
    }

    String execute(final String command)
    {
        try
        {
            in.write(command);
            in.write('\n');
            in.flush();
            final String answer = out.readLine();
            if (answer == null)
            {
                throw new IllegalStateException("ringpeer exited during \"" + command + "\"");
            }
            return answer;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    @Override
    public void close()
    {
        try
        {
            in.write("quit\n");
            in.flush();
        }
        catch (final IOException ignore)
        {
            // it may have died already; destroy below either way
        }
        try
        {
            if (!process.waitFor(10, TimeUnit.SECONDS))
            {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        catch (final InterruptedException ex)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
