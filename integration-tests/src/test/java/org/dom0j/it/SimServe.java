package org.dom0j.it;

import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.test.Await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j serve --platform sim} in a process of its own, on this JVM's class path, for tests that kill it and
 * start it again: its output goes to a log file that the waits read.
 */
final class SimServe
{
    private final Process process;
    private final Path log;

    private SimServe(final Process process, final Path log)
    {
        this.process = process;
        this.log = log;
    }

    /**
     * Starts serve and waits (40 s at most) until it says it is serving.
     *
     * @param simDirectory the simulated machine's directory.
     * @param log          where its output goes.
     * @param extraArgs    options after {@code serve -v}.
     * @return the running serve.
     * @throws IOException          when it cannot be started.
     * @throws InterruptedException when interrupted.
     */
    static SimServe start(final Path simDirectory, final Path log, final String... extraArgs)
        throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"), "org.dom0j.cli.Dom0j", "--platform=sim", "serve", "-v"));
        command.addAll(List.of(extraArgs));
        final ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put(SimPlatformProvider.DIR_ENV, simDirectory.toString());
        final SimServe serve = new SimServe(pb.start(), log);
        // 40 s: within JUnit's default timeout (60 s, which bounds a set-up method too), so a slow start says so.
        serve.awaitLog("dom0j serve: serving", 40_000);
        return serve;
    }

    /**
     * Waits until serve's log holds {@code text}; fails at once, with the log, when serve ends.
     *
     * @param text      what to wait for.
     * @param timeoutMs how long.
     * @throws InterruptedException when interrupted.
     */
    void awaitLog(final String text, final long timeoutMs) throws InterruptedException
    {
        Await.until("\"" + text + "\" in serve's log, or serve ended", timeoutMs,
            () -> log().contains(text) || !process.isAlive());
        assertThat(log()).as("serve's log (it ended: %s)", !process.isAlive()).contains(text);
    }

    /**
     * @return what serve printed so far.
     */
    String log()
    {
        try
        {
            return Files.readString(log, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * @return the process.
     */
    Process process()
    {
        return process;
    }

    /**
     * SIGKILL, and waits for it to be gone.
     *
     * @throws InterruptedException when interrupted.
     */
    void kill() throws InterruptedException
    {
        process.destroyForcibly();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("serve gone 30 s after SIGKILL").isTrue();
    }
}
