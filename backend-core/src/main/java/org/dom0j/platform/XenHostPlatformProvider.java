package org.dom0j.platform;

import org.dom0j.common.XenLibrary;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * Real Xen: this process runs in dom0 of a Xen host, with the kernel's Xen devices and Debian's Xen libraries.
 * Probing checks, without opening anything: {@code /dev/xen/privcmd}, {@code /dev/xen/gntdev},
 * {@code /dev/xen/evtchn}, that {@code /proc/xen/capabilities} says {@code control_d} (this is the control
 * domain), that a xenstored is reachable, and that libxengnttab, libxenevtchn and libxenctrl load.
 */
public final class XenHostPlatformProvider implements XenPlatformProvider
{
    /** The name given to {@code --platform}. */
    public static final String NAME = "xen";

    static final String[] DEVICES = { "/dev/xen/privcmd", "/dev/xen/gntdev", "/dev/xen/evtchn" };
    static final XenLibrary[] LIBRARIES = { XenLibrary.GNTTAB, XenLibrary.EVTCHN, XenLibrary.CTRL };

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public int priority()
    {
        return 100;
    }

    @Override
    public Availability probe(final PlatformEnvironment environment)
    {
        final List<String> reasons = new ArrayList<>();
        if (!environment.exists("/dev/xen/privcmd"))
        {
            reasons.add("/dev/xen/privcmd is missing: this machine is not running on Xen " +
                "(or the xen-privcmd module is not loaded)");
        }
        else
        {
            for (final String device : DEVICES)
            {
                if (!environment.exists(device))
                {
                    reasons.add(device + " is missing: load the kernel module " +
                        ("/dev/xen/gntdev".equals(device) ? "xen-gntdev" : "xen-evtchn"));
                }
            }
            final String capabilities = readCapabilities(environment);
            if (null == capabilities)
            {
                reasons.add("/proc/xen/capabilities is missing: mount xenfs on /proc/xen " +
                    "(mount -t xenfs xenfs /proc/xen)");
            }
            else if (!capabilities.contains("control_d"))
            {
                reasons.add("this domain is not dom0 (/proc/xen/capabilities does not say control_d)");
            }
            if (null == xenStorePath(environment))
            {
                reasons.add("no xenstored to talk to: neither $XENSTORED_PATH, /var/run/xenstored/socket " +
                    "nor /dev/xen/xenbus exists (start xenstored)");
            }
        }
        for (final XenLibrary library : LIBRARIES)
        {
            final String missing = environment.libraryProbe().apply(library);
            if (null != missing)
            {
                reasons.add(missing);
            }
        }
        return reasons.isEmpty() ?
            Availability.available("Xen dom0 through /dev/xen and Debian's Xen libraries, xenstore at " +
                xenStorePath(environment)) :
            Availability.unavailable(reasons);
    }

    @Override
    public XenPlatform open(final PlatformEnvironment environment)
    {
        final Availability availability = probe(environment);
        if (!availability.available())
        {
            throw new PlatformUnavailableException("platform 'xen' is not available: " + availability.summary());
        }
        return new XenHostPlatform(xenStorePath(environment));
    }

    /**
     * Where libxenstore would connect, in its order: $XENSTORED_PATH, the xenstored socket, the xenbus device.
     *
     * @param environment what to look at.
     * @return the path, or null when none exists.
     */
    static String xenStorePath(final PlatformEnvironment environment)
    {
        final String configured = environment.getenv("XENSTORED_PATH", null);
        if (null != configured && environment.exists(configured))
        {
            return configured;
        }
        for (final String candidate : new String[]{ "/var/run/xenstored/socket", "/dev/xen/xenbus" })
        {
            if (environment.exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static String readCapabilities(final PlatformEnvironment environment)
    {
        try
        {
            return Files.readString(environment.resolve("/proc/xen/capabilities"));
        }
        catch (final IOException ex)
        {
            return null;
        }
    }
}
