package org.dom0j.cli;

import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.domctl.DomainControl;
import org.dom0j.domctl.DomainControlException;
import org.dom0j.domctl.DomainInfo;
import org.dom0j.platform.PlatformUnavailableException;
import org.dom0j.platform.Platforms;
import org.dom0j.platform.XenPlatform;
import org.dom0j.sim.SimHost;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreClient;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * What the domain commands ({@code list}, {@code shutdown}, {@code rename}, {@code top}, ...) share: the platform,
 * its domain control, a xenstore connection, and the domains with their names. A DOM argument is a domid or a
 * name, as in {@code xl}.
 * <p>
 * On the simulator a machine must be running ({@code dom0j sim start}): without its xenstored the host directory
 * is only files, and what it would list (a nameless domain 0 made by opening the platform) is not a machine.
 * <p>
 * Runs on the CLI's thread.
 */
final class DomainSession implements AutoCloseable
{
    /** Longest name shown or accepted here (a name is a xenstore value, itself at most 2048 bytes). */
    static final int MAX_NAME_LENGTH = 128;

    private final XenPlatform platform;
    private final DomainControl domctl;
    private final XenStore xs;

    /**
     * A domain as the toolstack sees it: the hypervisor's info and the name in xenstore (blank when missing).
     *
     * @param info the hypervisor's view.
     * @param name the name, checked, or "".
     */
    record Domain(DomainInfo info, String name)
    {
        int domid()
        {
            return info.domid();
        }
    }

    private DomainSession(final XenPlatform platform, final DomainControl domctl, final XenStore xs)
    {
        this.platform = platform;
        this.domctl = domctl;
        this.xs = xs;
    }

    /**
     * @param root the command line's root (platform option and environment).
     * @return an open session.
     * @throws PlatformUnavailableException when neither Xen nor a simulated machine runs here.
     */
    static DomainSession open(final Dom0j root)
    {
        final String name = ConsolePaths.platformName(root);
        if (SimPlatformProvider.NAME.equals(name))
        {
            requireRunningMachine(root);
        }
        final XenPlatform platform = root.platforms().open(root.options().platform(), root.environment());
        DomainControl domctl = null;
        try
        {
            domctl = platform.openDomainControl();
            return new DomainSession(platform, domctl, platform.openXenStore());
        }
        catch (final RuntimeException ex)
        {
            if (null != domctl)
            {
                domctl.close();
            }
            platform.close();
            throw ex;
        }
    }

    private static void requireRunningMachine(final Dom0j root)
    {
        final Path directory = SimPlatformProvider.hostDirectory(root.environment());
        final Path socket = directory.resolve(SimHost.XENSTORED_SOCKET);
        final String why = Platforms.AUTO.equals(root.options().platform()) ?
            "no Xen here ('dom0j platform' says why) and no simulated machine is running in " + directory :
            "no simulated machine is running in " + directory;
        if (!Files.exists(socket))
        {
            throw new PlatformUnavailableException(why + ": start one with 'dom0j sim start' (DOM0J_SIM_DIR " +
                "names another directory)");
        }
        try (XenStore probe = XenStoreClient.connect(socket))
        {
            probe.readOrNull("/local/domain/0/name");
        }
        catch (final XenException ex)
        {
            throw new PlatformUnavailableException(why + " (" + socket + " is left from a machine that stopped: " +
                ex.getMessage() + "): start one with 'dom0j sim start'");
        }
    }

    XenPlatform platform()
    {
        return platform;
    }

    DomainControl domctl()
    {
        return domctl;
    }

    XenStore xenStore()
    {
        return xs;
    }

    boolean isSimulator()
    {
        return SimPlatformProvider.NAME.equals(platform.name());
    }

    /**
     * @return every domain, by domid, with its name.
     */
    List<Domain> domains()
    {
        final List<Domain> result = new ArrayList<>();
        for (final DomainInfo info : domctl.list())
        {
            result.add(new Domain(info, name(info.domid())));
        }
        return result;
    }

    /**
     * @param domid a domain.
     * @return the hypervisor's view of it, or null when it does not exist.
     */
    DomainInfo info(final int domid)
    {
        for (final DomainInfo info : domctl.list())
        {
            if (info.domid() == domid)
            {
                return info;
            }
        }
        return null;
    }

    /**
     * @param domid a domain.
     * @return its name from xenstore, or "" when missing or not printable.
     */
    String name(final int domid)
    {
        final String name = xs.readOrNull("/local/domain/" + domid + "/name");
        return null == name || null != whyInvalidName(name) ? "" : name;
    }

    /**
     * @param dom a domid or a name.
     * @return the domain.
     * @throws DomainControlException ESRCH, naming the known domains, when there is none such.
     */
    Domain resolve(final String dom)
    {
        final List<Domain> domains = domains();
        if (isDomid(dom))
        {
            final int domid = Integer.parseInt(dom);
            for (final Domain d : domains)
            {
                if (d.domid() == domid)
                {
                    return d;
                }
            }
        }
        else
        {
            Domain found = null;
            for (final Domain d : domains)
            {
                if (d.name().equals(dom))
                {
                    if (null != found)
                    {
                        throw new DomainControlException(Errno.EINVAL.number(), "two domains are named '" + dom +
                            "' (" + found.domid() + " and " + d.domid() + "): give the domid");
                    }
                    found = d;
                }
            }
            if (null != found)
            {
                return found;
            }
        }
        final TreeSet<String> known = new TreeSet<>();
        for (final Domain d : domains)
        {
            known.add(d.name().isEmpty() ? Integer.toString(d.domid()) : d.name() + " (" + d.domid() + ")");
        }
        throw new DomainControlException(Errno.ESRCH.number(), "no domain '" + printable(dom) + "'; known: " +
            String.join(", ", known));
    }

    /**
     * @param dom a command-line argument.
     * @return whether it is a domid (digits only, within Xen's domid range).
     */
    static boolean isDomid(final String dom)
    {
        if (dom.isEmpty() || dom.length() > 5)
        {
            return false;
        }
        for (int i = 0; i < dom.length(); i++)
        {
            if (dom.charAt(i) < '0' || dom.charAt(i) > '9')
            {
                return false;
            }
        }
        return Integer.parseInt(dom) < 0x7FF0;
    }

    /**
     * @param name a proposed or stored domain name.
     * @return why it cannot be a domain name here, or null: empty, too long, all digits (a DOM argument would read
     *     it as a domid), or with characters that are not printable ASCII or that xenstore paths and shells treat
     *     specially ('/', whitespace and control characters).
     */
    static String whyInvalidName(final String name)
    {
        if (name.isEmpty())
        {
            return "a name cannot be empty";
        }
        if (name.length() > MAX_NAME_LENGTH)
        {
            return "a name has at most " + MAX_NAME_LENGTH + " characters";
        }
        boolean digitsOnly = true;
        for (int i = 0; i < name.length(); i++)
        {
            final char c = name.charAt(i);
            if (c <= ' ' || c > '~' || c == '/')
            {
                return "a name may hold printable ASCII only, without spaces or '/'";
            }
            digitsOnly &= c >= '0' && c <= '9';
        }
        return digitsOnly ? "a name cannot be all digits (it would read as a domid)" : null;
    }

    private static String printable(final String s)
    {
        final StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < MAX_NAME_LENGTH; i++)
        {
            final char c = s.charAt(i);
            b.append(c >= ' ' && c <= '~' ? c : '?');
        }
        return b.toString();
    }

    @Override
    public void close()
    {
        try
        {
            xs.close();
        }
        finally
        {
            try
            {
                domctl.close();
            }
            finally
            {
                platform.close();
            }
        }
    }
}
