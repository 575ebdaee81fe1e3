package org.dom0j.cli;

import org.dom0j.sim.SimPlatformProvider;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A simulated guest's "kernel" ({@code dom0j sim boot}) as a process of its own, started by {@code dom0j create} on
 * the simulator and left running when create returns, as a real guest runs on after {@code xl create}: in a new
 * session ({@code setsid}), standard input from {@code /dev/null}, its output in {@code <sim dir>/guest-<domid>.log}.
 * <p>
 * One thread uses it.
 */
final class GuestProcess
{
    private GuestProcess()
    {
    }

    /**
     * @param simDirectory the machine's directory.
     * @param domid        the guest.
     * @return its log file.
     */
    static Path log(final Path simDirectory, final int domid)
    {
        return simDirectory.resolve("guest-" + domid + ".log");
    }

    /**
     * Starts the guest and waits until it says it runs (its devices connected or given up on).
     *
     * @param simDirectory the machine's directory.
     * @param domid        the created, unpaused guest.
     * @param seconds      how long to wait.
     * @return its pid.
     * @throws IOException when it cannot start, exits, or does not run in time (its log is quoted).
     */
    static long boot(final Path simDirectory, final int domid, final int seconds)
        throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid")))
        {
            command.add("/usr/bin/setsid");
        }
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-exports");
        command.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Dom0j.class.getName());
        command.add("--platform=sim");
        command.add("sim");
        command.add("boot");
        command.add("--domid");
        command.add(Integer.toString(domid));
        final Path log = log(simDirectory, domid);
        Files.deleteIfExists(log);
        final ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(log.toFile()).redirectInput(new File("/dev/null"));
        pb.environment().put(SimPlatformProvider.DIR_ENV, simDirectory.toString());
        final Process process = pb.start();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() - deadline < 0)
        {
            final String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            if (text.contains("\nrunning\n"))
            {
                return process.pid();
            }
            if (!process.isAlive())
            {
                throw new IOException("the guest of domain " + domid + " exited with " + process.exitValue() + ": " +
                    text.strip());
            }
            Thread.sleep(20);
        }
        throw new IOException("the guest of domain " + domid + " did not boot in " + seconds + " s; see " + log);
    }
}
