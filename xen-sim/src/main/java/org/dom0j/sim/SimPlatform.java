package org.dom0j.sim;

import org.dom0j.domctl.DomainControl;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantSharing;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.platform.PlatformFeature;
import org.dom0j.toolstack.DomainBuilder;
import org.dom0j.platform.XenPlatform;
import org.dom0j.platform.PlatformUnavailableException;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreClient;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/**
 * The simulated hypervisor as a {@link XenPlatform}: what a backend running as a simulated domain (dom0 unless
 * told otherwise) sees of the sim host. Opening it creates that domain when it does not exist yet.
 * <p>
 * Threads: any thread may open handles.
 */
public final class SimPlatform implements XenPlatform
{
    private final SimHost host;
    private final int localDomid;
    private final SimDomain local;

    /**
     * @param host       the sim host; closed with this platform.
     * @param localDomid the domain this process acts as.
     */
    public SimPlatform(final SimHost host, final int localDomid)
    {
        this.host = host;
        this.localDomid = localDomid;
        this.local = host.domainOrCreate(localDomid, SimHost.DOM0_PAGES);
    }

    /**
     * @param directory the sim host directory.
     * @return the platform as dom0 of that host.
     */
    public static SimPlatform open(final Path directory)
    {
        return new SimPlatform(SimHost.open(directory), 0);
    }

    /**
     * @return the sim host, for creating and attaching guests.
     */
    public SimHost host()
    {
        return host;
    }

    /**
     * @return this process's own domain, guest side.
     */
    public SimDomain localDomain()
    {
        return local;
    }

    /**
     * The simulator's toolstack; the machine must be running ({@code dom0j sim start}).
     *
     * @param verbosity unused.
     * @return a builder on a new connection to the machine.
     */
    @Override
    public DomainBuilder openDomainBuilder(final int verbosity)
    {
        return new SimDomainBuilder(SimMachine.join(host.directory()));
    }

    @Override
    public String name()
    {
        return SimPlatformProvider.NAME;
    }

    @Override
    public String description()
    {
        return "simulated hypervisor at " + host.directory() + " (domain " + localDomid + ")";
    }

    @Override
    public Set<PlatformFeature> features()
    {
        return EnumSet.allOf(PlatformFeature.class);
    }

    @Override
    public int localDomid()
    {
        return localDomid;
    }

    /**
     * The simulated xenstored (issue 3) will listen on {@link SimHost#xenstoredSocket()}.
     */
    @Override
    public XenStore openXenStore()
    {
        if (!java.nio.file.Files.exists(host.xenstoredSocket()))
        {
            throw new PlatformUnavailableException("the simulator's xenstored is not running: no socket at " +
                host.xenstoredSocket() + " (start the simulator with 'dom0j sim start')");
        }
        return localDomid == 0 ?
            XenStoreClient.connect(host.xenstoredSocket()) :
            XenStoreClient.connect(host.directory().resolve("domain-" + localDomid + ".sock"));
    }

    @Override
    public GrantTables openGrantTables()
    {
        return new SimGrantTables(host, localDomid);
    }

    @Override
    public GrantSharing openGrantSharing()
    {
        return new SimGrantSharing(local);
    }

    @Override
    public EventChannels openEventChannels()
    {
        return new SimEventChannels(host, local);
    }

    @Override
    public DomainControl openDomainControl()
    {
        return new SimDomainControl(host, localDomid);
    }

    @Override
    public void close()
    {
        host.close();
    }
}
