package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.Platforms;
import org.dom0j.sim.SimPlatformProvider;

import java.nio.file.Path;

/**
 * Where {@code dom0j serve} keeps console sockets and logs, so that {@code dom0j console} finds them: on the
 * simulator inside its host directory ({@code <dir>/console/} and {@code <dir>/console-logs/}); on Xen
 * {@code /run/dom0j/console/} and {@code /var/log/dom0j/console/} (not xenconsoled's /var/log/xen/console, which
 * xenconsoled owns).
 * <p>
 * Any thread.
 */
final class ConsolePaths
{
    static final Path XEN_RUN_DIRECTORY = Path.of("/run/dom0j/console");
    static final Path XEN_LOG_DIRECTORY = Path.of("/var/log/dom0j/console");

    private ConsolePaths()
    {
    }

    /**
     * @param platform    the name of the platform in use ("xen" or "sim").
     * @param environment the environment (for the simulator's directory).
     * @return the default run directory.
     */
    static Path runDirectory(final String platform, final PlatformEnvironment environment)
    {
        return SimPlatformProvider.NAME.equals(platform) ?
            SimPlatformProvider.hostDirectory(environment).resolve("console") : XEN_RUN_DIRECTORY;
    }

    /**
     * @param platform    the name of the platform in use.
     * @param environment the environment.
     * @return the default log directory.
     */
    static Path logDirectory(final String platform, final PlatformEnvironment environment)
    {
        return SimPlatformProvider.NAME.equals(platform) ?
            SimPlatformProvider.hostDirectory(environment).resolve("console-logs") : XEN_LOG_DIRECTORY;
    }

    /**
     * @param root the command line's root.
     * @return the platform "auto" would pick now (or the one asked for), without opening it.
     */
    static String platformName(final Dom0j root)
    {
        final String requested = root.options().platform();
        if (!Platforms.AUTO.equals(requested))
        {
            return requested;
        }
        final Platforms.Selection selection = root.platforms().select(requested, root.environment());
        return null == selection.chosen() ? SimPlatformProvider.NAME : selection.chosen().provider().name();
    }
}
