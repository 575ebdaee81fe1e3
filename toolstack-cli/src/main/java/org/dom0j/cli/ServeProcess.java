package org.dom0j.cli;

import org.dom0j.sim.SimPlatformProvider;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code dom0j --platform sim serve} in its own JVM, as {@code demo} and {@code bench} run it: the backend is a
 * separate process from the guest, as on a real host. Its output goes to a log file.
 * <p>
 * One thread uses it.
 */
final class ServeProcess implements AutoCloseable
{
    private final Process process;
    private final Path log;

    private ServeProcess(final Process process, final Path log)
    {
        this.process = process;
        this.log = log;
    }

    /** Extra JVM options for serve's JVM (e.g. a profiler's), split on spaces. */
    static final String JAVA_OPTS_ENV = "DOM0J_SERVE_JAVA_OPTS";

    /**
     * Starts serve on the simulator in {@code simDirectory} and waits until it serves; {@value #JAVA_OPTS_ENV} adds
     * JVM options.
     *
     * @param simDirectory the running machine's directory.
     * @param log          where its output goes.
     * @param extraArgs    more arguments for {@code serve}.
     * @return the running process.
     * @throws IOException when it cannot start or does not become ready in 30 s.
     */
    static ServeProcess start(final Path simDirectory, final Path log, final String... extraArgs)
        throws IOException, InterruptedException
    {
        return start(simDirectory, log, java.util.Map.of(), extraArgs);
    }

    /**
     * As {@link #start(Path, Path, String...)}, with more environment variables (e.g. systemd's NOTIFY_SOCKET).
     *
     * @param simDirectory the running machine's directory.
     * @param log          where its output goes.
     * @param environment  variables added to serve's environment.
     * @param extraArgs    more arguments for {@code serve}.
     * @return the running process.
     * @throws IOException when it cannot start or does not become ready in 30 s.
     */
    static ServeProcess start(final Path simDirectory, final Path log, final java.util.Map<String, String> environment,
        final String... extraArgs) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-exports");
        command.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        command.add("--enable-native-access=ALL-UNNAMED");
        final String javaOpts = System.getenv(JAVA_OPTS_ENV);
        if (null != javaOpts && !javaOpts.isBlank())
        {
            command.addAll(List.of(javaOpts.strip().split("\\s+")));
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Dom0j.class.getName());
        command.add("--platform=sim");
        command.add("serve");
        command.addAll(List.of(extraArgs));
        final ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put(SimPlatformProvider.DIR_ENV, simDirectory.toString());
        pb.environment().putAll(environment);
        final ServeProcess serve = new ServeProcess(pb.start(), log);
        serve.awaitLine("dom0j serve: serving", 30);
        return serve;
    }

    /**
     * @return its pid.
     */
    long pid()
    {
        return process.pid();
    }

    /**
     * @return its log file.
     */
    Path log()
    {
        return log;
    }

    /**
     * @return CPU time (user + system) the process has used, from /proc; -1 when unknown.
     */
    long cpuNanos()
    {
        try
        {
            final String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
            final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // Fields 14 and 15 of stat(5) (utime, stime) in clock ticks of 1/100 s on Linux.
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000_000L;
        }
        catch (final IOException | RuntimeException ex)
        {
            return -1;
        }
    }

    private void awaitLine(final String prefix, final int seconds) throws IOException, InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline)
        {
            if (Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).contains(prefix))
            {
                return;
            }
            if (!process.isAlive())
            {
                throw new IOException("'dom0j serve' exited with " + process.exitValue() + ": " +
                    Files.readString(log, StandardCharsets.UTF_8).strip());
            }
            Thread.sleep(20);
        }
        process.destroyForcibly();
        throw new IOException("'dom0j serve' did not start in " + seconds + " s; see " + log);
    }

    /**
     * Stops it as an operator would (SIGTERM) and checks it closed every device.
     *
     * @return whether it stopped cleanly in 30 s.
     */
    boolean stop() throws IOException, InterruptedException
    {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            return false;
        }
        return Files.readString(log, StandardCharsets.UTF_8).contains("dom0j serve: stopped cleanly") &&
            (process.exitValue() == 0 || process.exitValue() == 143);
    }

    @Override
    public void close()
    {
        // The simulated guests it built again (on_reboot) are its children: they go with it.
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        if (process.isAlive())
        {
            process.destroyForcibly();
        }
    }
}
