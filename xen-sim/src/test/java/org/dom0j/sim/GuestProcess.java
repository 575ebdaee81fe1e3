package org.dom0j.sim;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Test side of {@link SimGuestProcess}: starts it in a second JVM with this test's classpath and talks to it.
 * Every reply is awaited with a deadline, so a guest that hangs fails the test saying which command it did not
 * answer. Used from the test's thread; a daemon thread reads the guest's lines.
 */
final class GuestProcess implements AutoCloseable
{
    /**
     * How long a reply may take at most. Generous: a command that waits for an event is answered when the event
     * comes, and only a failing test waits this out.
     */
    static final long REPLY_MS = 30_000;

    private static final String ENDED = "\0ended";

    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final PrintWriter in;
    private String lastCommand = "(start)";

    GuestProcess(final Path simDir, final int domid) throws IOException, InterruptedException
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
        final BufferedReader out =
            new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        final Thread reader = new Thread(() -> readLines(out), "guest-" + domid + "-stdout");
        reader.setDaemon(true);
        reader.start();
        in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        final String ready;
        try
        {
            ready = reply();
        }
        catch (final IOException | InterruptedException | AssertionError ex)
        {
            close();
            throw ex;
        }
        if (!"ok ready".equals(ready))
        {
            close();
            throw new IOException("guest process did not start: " + ready);
        }
    }

    private void readLines(final BufferedReader out)
    {
        try
        {
            String line;
            while (null != (line = out.readLine()))
            {
                lines.add(line);
            }
        }
        catch (final IOException ignore)
        {
            // the process went away: the same as the end of its output
        }
        lines.add(ENDED);
    }

    /**
     * @param command a line for the guest.
     * @return its reply.
     */
    String call(final String command) throws IOException, InterruptedException
    {
        send(command);
        return reply();
    }

    void send(final String command)
    {
        lastCommand = command;
        in.println(command);
    }

    /**
     * @return the guest's next line, awaited at most {@link #REPLY_MS}.
     * @throws IOException    when the guest process ended.
     * @throws AssertionError when it did not answer in time.
     */
    String reply() throws IOException, InterruptedException
    {
        final String line = lines.poll(REPLY_MS, TimeUnit.MILLISECONDS);
        if (null == line)
        {
            throw new AssertionError("guest process: no reply to \"" + lastCommand + "\" within " + REPLY_MS + " ms");
        }
        if (ENDED.equals(line))
        {
            lines.add(ENDED);
            throw new IOException("guest process ended, without a reply to \"" + lastCommand + "\"");
        }
        return line;
    }

    /**
     * @param command a line for the guest that must succeed.
     * @return the value after "ok ".
     */
    String ok(final String command) throws IOException, InterruptedException
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
        if (!process.destroyForcibly().waitFor(REPLY_MS, TimeUnit.MILLISECONDS))
        {
            throw new AssertionError("guest process not dead within " + REPLY_MS + " ms of SIGKILL");
        }
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
