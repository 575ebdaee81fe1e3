package org.dom0j.sim;

import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.domctl.DomainControl;
import org.dom0j.domctl.DomainControlException;
import org.dom0j.domctl.DomainInfo;

import java.util.ArrayList;
import java.util.List;

import static org.dom0j.sim.SimDomainDescriptor.*;

/**
 * The simulator's libxenctrl: lists the sim host's domains and changes their flags. Pausing sets the flag the
 * guest and the toolstack see; it does not stop a guest process. CPU time is not modelled (0).
 * <p>
 * Threads: any.
 */
final class SimDomainControl implements DomainControl
{
    private final SimHost host;
    private final int localDomid;

    SimDomainControl(final SimHost host, final int localDomid)
    {
        this.host = host;
        this.localDomid = localDomid;
    }

    static DomainInfo info(final SimDomainState state)
    {
        final int flags = state.stateFlags();
        final boolean paused = (flags & STATE_PAUSED) != 0;
        final boolean shutdown = (flags & STATE_SHUTDOWN) != 0;
        final boolean dying = (flags & STATE_DYING) != 0;
        final long kib = (long)state.maxPages() * (SimHost.PAGE_SIZE / 1024);
        return new DomainInfo(state.domid(), false, !paused && !shutdown && !dying, paused, shutdown, dying,
            shutdown ? state.control().getIntVolatile(SHUTDOWN_REASON_OFFSET) : -1, kib, kib,
            state.control().getInt(VCPUS_OFFSET), 0);
    }

    @Override
    public List<DomainInfo> list()
    {
        final List<DomainInfo> result = new ArrayList<>();
        for (final int domid : host.domainIds())
        {
            final SimDomainState state = host.stateOrNull(domid);
            if (null != state)
            {
                result.add(info(state));
            }
        }
        return result;
    }

    @Override
    public DomainInfo info(final int domid)
    {
        return info(state(domid, "get info of domain "));
    }

    @Override
    public void pause(final int domid)
    {
        state(domid, "pause domain ").setStateFlags(STATE_PAUSED, 0);
    }

    @Override
    public void unpause(final int domid)
    {
        state(domid, "unpause domain ").setStateFlags(0, STATE_PAUSED);
    }

    @Override
    public void destroy(final int domid)
    {
        if (domid == localDomid)
        {
            throw new DomainControlException(Errno.EINVAL.number(), "destroy domain " + domid + ": it is this domain");
        }
        state(domid, "destroy domain ");
        try
        {
            host.destroyDomain(domid);
        }
        catch (final XenException ex)
        {
            throw new DomainControlException(ex.errno(), "destroy domain " + domid);
        }
    }

    private SimDomainState state(final int domid, final String what)
    {
        final SimDomainState state = host.stateOrNull(domid);
        if (null == state)
        {
            throw new DomainControlException(Errno.ESRCH.number(), what + domid);
        }
        return state;
    }

    @Override
    public void close()
    {
    }
}
