package org.dom0j.platform;

import org.dom0j.domctl.DomainControl;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantSharing;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.toolstack.DomainBuilder;
import org.dom0j.xenstore.XenStore;

import java.util.Set;

/**
 * Everything a backend needs from the hypervisor, whether that is real Xen or the simulator: backends get a
 * {@code XenPlatform} and never know which. Chosen once at start-up by {@link Platforms#select}.
 * <p>
 * Each {@code open*} call returns a new handle that the caller owns and closes (a backend opens one xenstore
 * connection, and grant/event handles per agent as it needs them).
 * <p>
 * <b>Threads</b>: any thread may open handles; each handle documents its own rules.
 */
public interface XenPlatform extends AutoCloseable
{
    /**
     * @return "xen" or "sim".
     */
    String name();

    /**
     * @return one line for operators, e.g. "Xen 4.17 (dom0, /dev/xen)".
     */
    String description();

    /**
     * @return the optional features this platform supports; only these may be advertised to guests.
     */
    Set<PlatformFeature> features();

    /**
     * @return the domain this process runs in (0 for dom0).
     */
    int localDomid();

    /**
     * @return a new connection to xenstored.
     */
    XenStore openXenStore();

    /**
     * @return a new grant table handle.
     */
    GrantTables openGrantTables();

    /**
     * @return a new handle for granting this domain's own pages to others (gntshr); see
     * {@link PlatformFeature#GRANT_SHARE}.
     */
    GrantSharing openGrantSharing();

    /**
     * @return a new event channel handle.
     */
    EventChannels openEventChannels();

    /**
     * @return a new domain control handle.
     */
    DomainControl openDomainControl();

    /**
     * @param verbosity how much the toolstack should say (0: warnings and errors).
     * @return a new handle for creating domains from xl configs.
     * @throws UnsupportedOperationException when this platform cannot create domains.
     */
    default DomainBuilder openDomainBuilder(final int verbosity)
    {
        throw new UnsupportedOperationException("platform '" + name() + "' cannot create domains");
    }

    /**
     * Releases what the platform itself holds; handles already opened stay the caller's to close.
     */
    @Override
    void close();
}
