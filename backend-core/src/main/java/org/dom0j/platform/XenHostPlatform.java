package org.dom0j.platform;

import org.dom0j.domctl.DomainControl;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.xenstore.XenStore;

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
        throw new UnsupportedOperationException("the xenstore client arrives with issue 3");
    }

    @Override
    public GrantTables openGrantTables()
    {
        throw new UnsupportedOperationException("the libxengnttab binding arrives with issue 4");
    }

    @Override
    public EventChannels openEventChannels()
    {
        throw new UnsupportedOperationException("the libxenevtchn binding arrives with issue 4");
    }

    @Override
    public DomainControl openDomainControl()
    {
        throw new UnsupportedOperationException("the libxenctrl binding arrives with issue 4");
    }

    @Override
    public void close()
    {
    }
}
