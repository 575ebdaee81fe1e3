package org.dom0j.platform;

import org.dom0j.domctl.DomainControl;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.domctl.jna.XenDomainControl;
import org.dom0j.domctl.jna.XenLibxl;
import org.dom0j.evtchn.jna.XenEventChannels;
import org.dom0j.gnttab.GrantSharing;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.gnttab.jna.XenGrantTables;
import org.dom0j.toolstack.DomainBuilder;
import org.dom0j.toolstack.LibxlDomainBuilder;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreClient;

import java.nio.file.Path;

import java.util.EnumSet;
import java.util.Set;

/**
 * Real Xen, through the kernel's Xen devices and Debian's Xen 4.17 libraries. Made by
 * {@link XenHostPlatformProvider} after probing succeeded.
 */
final class XenHostPlatform implements XenPlatform
{
    private final String xenStorePath;

    XenHostPlatform(final String xenStorePath)
    {
        this.xenStorePath = xenStorePath;
    }

    @Override
    public String name()
    {
        return XenHostPlatformProvider.NAME;
    }

    @Override
    public String description()
    {
        return "Xen dom0 (xenstore at " + xenStorePath + ")";
    }

    @Override
    public Set<PlatformFeature> features()
    {
        return EnumSet.allOf(PlatformFeature.class);
    }

    @Override
    public int localDomid()
    {
        return 0;
    }

    @Override
    public XenStore openXenStore()
    {
        // The socket of a local xenstored, or the xenbus device when xenstored runs elsewhere (a stub domain).
        return xenStorePath.startsWith("/dev/") || xenStorePath.startsWith("/proc/") ?
            XenStoreClient.openDevice(Path.of(xenStorePath)) : XenStoreClient.connect(Path.of(xenStorePath));
    }

    @Override
    public GrantTables openGrantTables()
    {
        return XenGrantTables.open();
    }

    @Override
    public GrantSharing openGrantSharing()
    {
        return XenGrantTables.openSharing();
    }

    @Override
    public EventChannels openEventChannels()
    {
        return XenEventChannels.open();
    }

    @Override
    public DomainControl openDomainControl()
    {
        return XenDomainControl.open();
    }

    @Override
    public DomainBuilder openDomainBuilder(final int verbosity)
    {
        return new LibxlDomainBuilder(XenLibxl.open(verbosity));
    }

    @Override
    public void close()
    {
    }
}
