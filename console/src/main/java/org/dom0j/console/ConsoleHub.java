package org.dom0j.console;

import org.agrona.concurrent.status.CountersManager;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;

/**
 * Where a backend service keeps its consoles' {@link ConsoleSession}s, and the naming of their files:
 * <ul>
 *   <li>log: {@code <logDirectory>/guest-<name>.log} for a domain's primary console (xenconsoled's name), and
 *       {@code guest-<name>-<devid>.log} for secondary console {@code devid}; {@code name} is the domain's
 *       {@code /local/domain/<domid>/name}, reduced to {@code [A-Za-z0-9._-]}, or {@code domid} without one;</li>
 *   <li>socket: {@code <runDirectory>/<domid>.sock} for the primary console, {@code <domid>-<devid>.sock} for a
 *       secondary one; {@code dom0j console <domid> [--devid N]} connects to it;</li>
 *   <li>counters: {@code console <domid> <name>} for the primary console, {@code console <domid>/<devid> <name>}
 *       for a secondary one ({@link ConsoleCounters}).</li>
 * </ul>
 * Every session gets the hub's {@link ConsoleConfiguration}: its log's cap and its pump's rate limit.
 * <p>
 * <b>Threads</b>: any; opening and closing are synchronized (the conductor opens secondary consoles, the
 * {@link PrimaryConsoles} agent primary ones).
 */
public final class ConsoleHub implements AutoCloseable
{
    private final Path logDirectory;
    private final Path runDirectory;
    private final ConsoleConfiguration configuration;
    private final CountersManager countersManager;
    private final Map<String, ConsoleSession> sessions = new HashMap<>();

    /**
     * A hub with the settings from system properties, whose consoles keep their counters to themselves.
     *
     * @param logDirectory where the per-domain logs go (created when needed).
     * @param runDirectory where the sockets go (created when needed).
     */
    public ConsoleHub(final Path logDirectory, final Path runDirectory)
    {
        this(logDirectory, runDirectory, ConsoleConfiguration.fromSystemProperties(), null);
    }

    /**
     * @param logDirectory    where the per-domain logs go (created when needed).
     * @param runDirectory    where the sockets go (created when needed).
     * @param configuration   every console's log cap and rate limit.
     * @param countersManager where the consoles' counters go (for {@code dom0j top}), or null to keep them in each
     *                        session; consoles are opened on two threads, so one shared with the conductor must be
     *                        a {@link org.agrona.concurrent.status.ConcurrentCountersManager} (a CountersFile's is).
     */
    public ConsoleHub(
        final Path logDirectory,
        final Path runDirectory,
        final ConsoleConfiguration configuration,
        final CountersManager countersManager)
    {
        this.logDirectory = logDirectory;
        this.runDirectory = runDirectory;
        this.configuration = configuration;
        this.countersManager = countersManager;
    }

    /**
     * @return every console's log cap and rate limit.
     */
    public ConsoleConfiguration configuration()
    {
        return configuration;
    }

    /**
     * @return where the sockets are.
     */
    public Path runDirectory()
    {
        return runDirectory;
    }

    /**
     * @return where the logs are.
     */
    public Path logDirectory()
    {
        return logDirectory;
    }

    /**
     * @param runDirectory the service's run directory.
     * @param domid        the guest.
     * @param devid        null for the primary console, else the secondary console's device id.
     * @return the console's socket.
     */
    public static Path socketPath(final Path runDirectory, final int domid, final String devid)
    {
        return runDirectory.resolve(key(domid, devid) + ".sock");
    }

    /**
     * @param logDirectory the service's log directory.
     * @param name         the domain's name, or null.
     * @param domid        the guest.
     * @param devid        null for the primary console, else the secondary console's device id.
     * @return the console's log file.
     */
    public static Path logPath(final Path logDirectory, final String name, final int domid, final String devid)
    {
        final String safe = null == name ? "" : name.replaceAll("[^A-Za-z0-9._-]", "_");
        final String base = safe.isEmpty() || safe.startsWith(".") ? Integer.toString(domid) : safe;
        return logDirectory.resolve("guest-" + base + (null == devid ? "" : "-" + devid) + ".log");
    }

    private static String key(final int domid, final String devid)
    {
        return null == devid ? Integer.toString(domid) : domid + "-" + devid;
    }

    /**
     * @param domid the guest.
     * @param devid null for the primary console, else the secondary console's device id.
     * @return the prefix of the console's counter labels, e.g. "console 7" or "console 7/1".
     */
    public static String countersPrefix(final int domid, final String devid)
    {
        return "console " + (null == devid ? Integer.toString(domid) : domid + "/" + devid);
    }

    /**
     * Opens a console's session, or returns the one already open.
     *
     * @param domid the guest.
     * @param devid null for the primary console, else the device id.
     * @param name  the domain's name, or null.
     * @return the session.
     * @throws IOException when the log or socket cannot be made.
     */
    public synchronized ConsoleSession open(final int domid, final String devid, final String name)
        throws IOException
    {
        final String key = key(domid, devid);
        ConsoleSession session = sessions.get(key);
        if (null == session)
        {
            final String prefix = countersPrefix(domid, devid);
            final ConsoleCounters counters = null == countersManager ? ConsoleCounters.detached(prefix) :
                new ConsoleCounters(countersManager, prefix);
            session = new ConsoleSession(key, logPath(logDirectory, name, domid, devid),
                socketPath(runDirectory, domid, devid), configuration, counters);
            sessions.put(key, session);
        }
        return session;
    }

    /**
     * @param domid the guest.
     * @param devid null for the primary console, else the device id.
     * @return the open session, or null.
     */
    public synchronized ConsoleSession session(final int domid, final String devid)
    {
        return sessions.get(key(domid, devid));
    }

    /**
     * Closes a console's session if open.
     *
     * @param domid the guest.
     * @param devid null for the primary console, else the device id.
     */
    public synchronized void close(final int domid, final String devid)
    {
        final ConsoleSession session = sessions.remove(key(domid, devid));
        if (null != session)
        {
            session.close();
        }
    }

    /**
     * @return sessions open now.
     */
    public synchronized int openCount()
    {
        return sessions.size();
    }

    /**
     * Closes every session.
     */
    @Override
    public synchronized void close()
    {
        for (final ConsoleSession session : new ArrayList<>(sessions.values()))
        {
            session.close();
        }
        sessions.clear();
    }
}
