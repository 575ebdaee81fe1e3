package org.dom0j.backend;

import org.dom0j.xenstore.XsWatch;

import java.util.ArrayList;
import java.util.List;

/**
 * One device a {@link BackendConductor} serves: its type and context, the state the conductor last wrote for it, and
 * its queues' resources. It connects (reads what the frontend offers, maps each queue's rings, binds its ports,
 * starts one {@link RingAgent} per queue) and disconnects, in a safe order: stop the agents (their rings are no longer
 * touched), let the type disconnect, unbind the ports, unmap the rings, free the counters.
 * <p>
 * Threads: the conductor's.
 */
final class ConductedDevice
{
    private static final System.Logger LOG = System.getLogger(ConductedDevice.class.getName());

    final DeviceType type;
    final DeviceContext context;
    final BackendStateMachine state;
    /** The watch on the frontend's state, once the device is set up. */
    XsWatch frontendWatch;
    /** Whether the frontend's state has been seen (a state that vanishes after this means the frontend went). */
    boolean frontendSeen;
    /** Failed (the reason is in xenstore's error node) until the frontend closes. */
    boolean failed;
    /** Whether the type's keys were written, so that the type removes them when the device goes. */
    boolean advertised;
    private final List<QueueConnector.Resources> queues = new ArrayList<>();
    private boolean connectAttempted;

    /**
     * @param type    its type.
     * @param context its context.
     * @param initial the state it starts from (Connected when adopted).
     */
    ConductedDevice(final DeviceType type, final DeviceContext context, final XenbusState initial)
    {
        this.type = type;
        this.context = context;
        this.state = new BackendStateMachine(initial);
    }

    /**
     * Connects every queue the frontend offers and starts its agent. On an exception the caller disconnects, which
     * releases what was connected.
     *
     * @param connector  maps rings and binds ports.
     * @param scheduler  where the agents run.
     * @param adopt      whether an earlier process of the service left the device connected.
     * @param violations told of a ring protocol violation, on the agent's thread.
     * @return the requests the earlier process took and never answered, now served again (0 when not adopted).
     * @throws InvalidFrontendException when the frontend offers something the type refuses.
     */
    int connect(final QueueConnector connector, final AgentScheduler scheduler, final boolean adopt,
        final RingAgent.ViolationListener violations) throws InvalidFrontendException
    {
        connectAttempted = true;
        final List<QueueConfig> configs = type.readFrontend(context);
        if (configs.isEmpty())
        {
            throw new InvalidFrontendException(context.frontendPath(), null, "no rings offered");
        }
        int replayed = 0;
        for (final QueueConfig config : configs)
        {
            replayed += Math.max(0, connector.connect(type, context, config, adopt, queues, violations).replayed);
        }
        for (final QueueConnector.Resources resources : queues)
        {
            scheduler.start(resources.agent);
            resources.started = true;
        }
        return replayed;
    }

    /**
     * @return the queues connected.
     */
    int queueCount()
    {
        return queues.size();
    }

    /**
     * @param agent a ring agent.
     * @return whether it is one of this device's.
     */
    boolean runs(final RingAgent agent)
    {
        for (final QueueConnector.Resources resources : queues)
        {
            if (resources.agent == agent)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Idempotent: stops the agents, lets the type disconnect, unbinds, unmaps, frees counters and deletes the ring
     * journals (unless kept); never throws.
     *
     * @param connector    what connected the queues.
     * @param scheduler    where the agents run.
     * @param keepJournals true when the service stops and leaves the device for its next process to adopt.
     */
    void disconnect(final QueueConnector connector, final AgentScheduler scheduler, final boolean keepJournals)
    {
        for (final QueueConnector.Resources resources : queues)
        {
            stopAgent(scheduler, resources);
        }
        if (connectAttempted)
        {
            connectAttempted = false;
            try
            {
                type.disconnect(context);
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.ERROR, context + ": type disconnect", ex);
            }
        }
        for (int i = queues.size() - 1; i >= 0; i--)
        {
            connector.release(context, queues.get(i), keepJournals);
        }
        queues.clear();
    }

    /**
     * Closes the frontend watch, if any; never throws (a watch on a connection that broke has nothing to undo).
     */
    void stopWatchingFrontend()
    {
        if (null != frontendWatch)
        {
            try
            {
                frontendWatch.close();
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.WARNING, context + ": close the frontend watch", ex);
            }
            frontendWatch = null;
        }
    }

    /**
     * The device goes: its frontend watch is closed and the type removes what it advertised; never throws.
     */
    void forget()
    {
        stopWatchingFrontend();
        if (advertised)
        {
            advertised = false;
            try
            {
                type.remove(context);
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.ERROR, context + ": type remove", ex);
            }
        }
    }

    private void stopAgent(final AgentScheduler scheduler, final QueueConnector.Resources resources)
    {
        if (resources.started)
        {
            try
            {
                scheduler.stop(resources.agent);
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.ERROR, context + ": stopping agent", ex);
            }
            resources.started = false;
        }
        else if (resources.agent != null)
        {
            // Made but never started (a later queue of the device failed to connect): no scheduler closes it,
            // so its handler's resources (blkback's io_uring and bounce pages) would wait for the GC.
            try
            {
                resources.agent.onClose();
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.ERROR, context + ": closing an agent never started", ex);
            }
        }
        resources.agent = null;
    }
}
