package org.dom0j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * SIGHUP, the reload signal ({@code systemctl reload dom0j} sends it through {@code ExecReload=/bin/kill -HUP}):
 * runs an action on the JVM's signal thread instead of the JVM's default, which is to exit. Java has no public API
 * for signals; {@code sun.misc.Signal} in the {@code jdk.unsupported} module is the supported way in (Agrona's
 * {@code ShutdownSignalBarrier} handles SIGINT and SIGTERM the same way), named in full because the style's
 * checks forbid importing {@code sun.*}.
 * <p>
 * <b>Threads</b>: install and close on one thread; the action runs on the signal thread, one signal at a time.
 */
final class HangUpSignal implements AutoCloseable
{
    private static final sun.misc.Signal HUP = new sun.misc.Signal("HUP");

    private final sun.misc.SignalHandler previous;

    private HangUpSignal(final sun.misc.SignalHandler previous)
    {
        this.previous = previous;
    }

    /**
     * @param action what SIGHUP does until {@link #close}.
     * @return the installed handler; closing it puts the previous one back.
     */
    static HangUpSignal handle(final Runnable action)
    {
        return new HangUpSignal(sun.misc.Signal.handle(HUP, signal -> action.run()));
    }

    /**
     * Whether this process ignores SIGHUP, as one started under {@code nohup} (or by a parent that ignored it) does:
     * the JVM then installs no handler (a signal ignored at startup stays ignored, so that {@code nohup java} keeps
     * its meaning) and a reload signal does nothing. Read from {@code SigIgn} in {@code /proc/self/status}.
     *
     * @return true when SIGHUP is ignored here; false when it is not, or this is not Linux.
     */
    static boolean ignoredByThisProcess()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
            {
                if (line.startsWith("SigIgn:"))
                {
                    // bit n-1 for signal n; SIGHUP is 1
                    return (Long.parseUnsignedLong(line.substring("SigIgn:".length()).trim(), 16) & 1L) != 0;
                }
            }
        }
        catch (final IOException | NumberFormatException ex)
        {
            return false;
        }
        return false;
    }

    @Override
    public void close()
    {
        sun.misc.Signal.handle(HUP, previous);
    }
}
