package org.dom0j.sim;

import org.dom0j.platform.Availability;
import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.PlatformUnavailableException;
import org.dom0j.platform.XenPlatform;
import org.dom0j.platform.XenPlatformProvider;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The simulated hypervisor: pure Java, runs on any Linux machine. A sim host is a directory (default
 * {@code /dev/shm/dom0j-sim}, or {@code $DOM0J_SIM_DIR}) that holds its xenstored socket, guest memory and
 * grant tables, so that several processes share one simulated machine.
 */
public final class SimPlatformProvider implements XenPlatformProvider
{
    /** The name given to {@code --platform}. */
    public static final String NAME = "sim";
    /** Environment variable naming the sim host directory. */
    public static final String DIR_ENV = "DOM0J_SIM_DIR";
    /** The default sim host directory. */
    public static final String DEFAULT_DIR = "/dev/shm/dom0j-sim";

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public int priority()
    {
        return 10;
    }

    @Override
    public Availability probe(final PlatformEnvironment environment)
    {
        final Path dir = hostDirectory(environment);
        final Path parent = dir.toAbsolutePath().getParent();
        if (null != parent && !Files.isDirectory(parent) && !Files.isDirectory(dir))
        {
            return Availability.unavailable(List.of(
                "the simulator's directory cannot be made: " + parent + " does not exist (set " + DIR_ENV + ")"));
        }
        return Availability.available("simulated hypervisor (pure Java), host directory " + dir);
    }

    @Override
    public XenPlatform open(final PlatformEnvironment environment)
    {
        final Availability availability = probe(environment);
        if (!availability.available())
        {
            throw new PlatformUnavailableException("platform 'sim' is not available: " + availability.summary());
        }
        return SimPlatform.open(hostDirectory(environment));
    }

    /**
     * @param environment where to look.
     * @return the sim host directory.
     */
    public static Path hostDirectory(final PlatformEnvironment environment)
    {
        return Path.of(environment.getenv(DIR_ENV, DEFAULT_DIR));
    }
}
