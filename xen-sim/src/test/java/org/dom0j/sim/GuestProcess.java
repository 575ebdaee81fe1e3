package org.dom0j.sim;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test side of {@link SimGuestProcess}: starts it in a second JVM with this test's classpath and talks to it.
 */
final class GuestProcess implements AutoCloseable
{
    private final Process process;
    private final BufferedReader out;
    private final PrintWriter in;

    GuestProcess(final Path simDir, final int domid) throws IOException
    {
        final List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-exports");
        cmd.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(SimGuestProcess.class.getName());
        cmd.add(simDir.toString());
        cmd.add(Integer.toString(domid));
        process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        final String ready = out.readLine();
        if (!"ok ready".equals(ready))
        {
            close();
            throw new IOException("guest process did not start: " + ready);
        }
    }

    /**
     * @param command a line for the guest.
     * @return its reply.
     */
    String call(final String command) throws IOException
    {
        send(command);
        return reply();
    }

    void send(final String command)
    {
        in.println(command);
    }

    String reply() throws IOException
    {
        final String line = out.readLine();
        if (null == line)
        {
            throw new IOException("guest process ended");
        }
        return line;
    }

    /**
     * @param command a line for the guest that must succeed.
     * @return the value after "ok ".
     */
    String ok(final String command) throws IOException
    {
        final String reply = call(command);
        if (!reply.startsWith("ok"))
        {
            throw new AssertionError(command + " -> " + reply);
        }
        return reply.length() > 3 ? reply.substring(3) : "";
    }

    /**
     * Kills the guest without letting it clean up, as a crash would.
     */
    void kill() throws InterruptedException
    {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close()
    {
        try
        {
            in.println("exit");
            if (!process.waitFor(5, TimeUnit.SECONDS))
            {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        catch (final InterruptedException ex)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
