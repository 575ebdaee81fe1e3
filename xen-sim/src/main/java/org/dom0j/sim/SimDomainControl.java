package org.dom0j.sim;

import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.domctl.DomainControl;
import org.dom0j.domctl.DomainControlException;
import org.dom0j.domctl.DomainInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

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
            final SimDomainState state = host.acquire(domid);
            if (null != state)
            {
                try
                {
                    result.add(info(state));
                }
                finally
                {
                    state.release();
                }
            }
        }
        return result;
    }

    @Override
    public DomainInfo info(final int domid)
    {
        return withState(domid, "get info of domain ", SimDomainControl::info);
    }

    @Override
    public void pause(final int domid)
    {
        withState(domid, "pause domain ", state ->
        {
            state.setStateFlags(STATE_PAUSED, 0);
            return null;
        });
    }

    @Override
    public void unpause(final int domid)
    {
        withState(domid, "unpause domain ", state ->
        {
            state.setStateFlags(0, STATE_PAUSED);
            return null;
        });
    }

    @Override
    public void destroy(final int domid)
    {
        if (domid == localDomid)
        {
            throw new DomainControlException(Errno.EINVAL.number(), "destroy domain " + domid + ": it is this domain");
        }
        if (!host.exists(domid))
        {
            throw new DomainControlException(Errno.ESRCH.number(), "destroy domain " + domid);
        }
        try
        {
            host.destroyDomain(domid);
        }
        catch (final XenException ex)
        {
            throw new DomainControlException(ex.errno(), "destroy domain " + domid);
        }
    }

    private <T> T withState(final int domid, final String what, final Function<SimDomainState, T> operation)
    {
        final SimDomainState state = host.acquire(domid);
        if (null == state)
        {
            throw new DomainControlException(Errno.ESRCH.number(), what + domid);
        }
        try
        {
            return operation.apply(state);
        }
        finally
        {
            state.release();
        }
    }

    @Override
    public void close()
    {
    }
}
