package org.dom0j.backend;

import org.agrona.concurrent.status.CountersManager;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.platform.XenPlatform;
import org.dom0j.ring.BackRing;
import org.dom0j.ring.RingJournal;
import org.dom0j.ring.RingLayout;
import org.dom0j.ring.SharedRingDescriptor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Acquires and releases what one connected queue holds, in an order that can be undone at any step: its ring
 * mappings, a {@link BackRing} over each (with a {@link RingJournal} when the device type answers out of order and
 * there is a state directory), an event channel handle with the queue's ports bound, its counters, and its
 * {@link RingAgent} (made, not started).
 * <p>
 * Two ways in. Connecting afresh joins each ring at its shared {@code rsp_prod} (as {@code BACK_RING_ATTACH}) with
 * a new journal. Adopting (a queue a previous process of the service connected, which died or stopped) takes the
 * old journal over, so the requests it took and whose answers the frontend has not seen are served again in ring
 * order, and notifies the frontend once, since the old process may have pushed answers without telling it.
 * <p>
 * <b>Threads</b>: the conductor's.
 */
final class QueueConnector
{
    private static final System.Logger LOG = System.getLogger(QueueConnector.class.getName());

    /** One queue's resources, filled in as they are acquired so that a half-done connect can be undone. */
    static final class Resources
    {
        final GrantMapping[] mappings;
        final RingJournal[] journals;
        EventChannels eventChannels;
        final int[] localPorts;
        QueueCounters counters;
        RingAgent agent;
        boolean started;
        int replayed;

        Resources(final QueueConfig config)
        {
            mappings = new GrantMapping[config.ringCount()];
            journals = new RingJournal[config.ringCount()];
            localPorts = new int[config.portCount()];
            Arrays.fill(localPorts, -1);
        }
    }

    private final XenPlatform platform;
    private final GrantTables grantTables;
    private final CountersManager countersManager;
    private final Path stateDirectory;

    /**
     * @param platform        opens event channel handles.
     * @param grantTables     maps the rings.
     * @param countersManager where queue counters go.
     * @param stateDirectory  where ring journals live (null: none kept; an adopted ring then rejoins at
     *                        {@code rsp_prod}).
     */
    QueueConnector(
        final XenPlatform platform,
        final GrantTables grantTables,
        final CountersManager countersManager,
        final Path stateDirectory)
    {
        this.platform = platform;
        this.grantTables = grantTables;
        this.countersManager = countersManager;
        this.stateDirectory = stateDirectory;
    }

    /**
     * Connects one queue. The resources are added to {@code into} before anything is acquired, so that
     * {@link #release} undoes a connect that fails part way.
     *
     * @param type       the device's type.
     * @param context    the device.
     * @param config     what the frontend offered for this queue.
     * @param adopt      whether a previous process of the service had it connected.
     * @param into       the device's queues.
     * @param violations where the agent reports a ring protocol violation.
     * @return the resources, with an agent ready to start.
     * @throws InvalidFrontendException when the ring's indices are impossible or the type refuses the queue.
     */
    Resources connect(
        final DeviceType type,
        final DeviceContext context,
        final QueueConfig config,
        final boolean adopt,
        final List<Resources> into,
        final RingAgent.ViolationListener violations) throws InvalidFrontendException
    {
        final Resources resources = new Resources(config);
        into.add(resources);
        final BackRing[] rings = new BackRing[config.ringCount()];
        for (int r = 0; r < config.ringCount(); r++)
        {
            final QueueConfig.Ring ring = config.ring(r);
            final int[] refs = ring.refs();
            resources.mappings[r] = grantTables.map(context.frontendDomid(), refs, refs.length, true);
            if (null != ring.layout())
            {
                rings[r] = attach(type, context, config, r, resources, adopt);
            }
        }
        resources.eventChannels = platform.openEventChannels();
        for (int p = 0; p < config.portCount(); p++)
        {
            resources.localPorts[p] = resources.eventChannels.bindInterdomain(
                context.frontendDomid(), config.remotePort(p));
        }
        resources.counters = new QueueCounters(countersManager, context + " " + config.name());
        final ConnectedQueue queue = new ConnectedQueue(context, config, resources.mappings, rings,
            resources.eventChannels, resources.localPorts, resources.counters);
        final QueueHandler handler = type.connect(context, queue);
        resources.agent = new RingAgent(context.type() + "-" + context.frontendDomid() + "-" +
            context.devid() + "-" + config.name(), queue, handler, violations);
        if (adopt)
        {
            // The old process may have pushed answers and died before notifying: a spurious event costs nothing.
            for (final int port : resources.localPorts)
            {
                resources.eventChannels.notify(port);
            }
        }
        return resources;
    }

    private BackRing attach(
        final DeviceType type,
        final DeviceContext context,
        final QueueConfig config,
        final int r,
        final Resources resources,
        final boolean adopt) throws InvalidFrontendException
    {
        final RingLayout layout = config.ring(r).layout();
        final GrantMapping mapping = resources.mappings[r];
        final BackRing ring = new BackRing(layout, mapping.buffer());
        final int rspProd = mapping.buffer().getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET);
        final int reqProd = mapping.buffer().getIntVolatile(SharedRingDescriptor.REQ_PROD_OFFSET);
        if (Integer.compareUnsigned(reqProd - rspProd, layout.size()) > 0)
        {
            throw new InvalidFrontendException(context.frontendPath(), null, "queue " + config.name() +
                " ring indices impossible: req_prod " + Integer.toUnsignedString(reqProd) + " rsp_prod " +
                Integer.toUnsignedString(rspProd));
        }
        final Path file = journalFile(context, config, r);
        final long identity = identity(context, config, r);
        if (null == file || !type.journalsRequests())
        {
            // BACK_RING_ATTACH at the shared rsp_prod, as Linux's blkback does, so a ring already in use is rejoined.
            return ring.attach(rspProd);
        }
        if (adopt)
        {
            resources.replayed = ring.adopt(RingJournal.openExisting(file, layout, identity));
            if (resources.replayed >= 0)
            {
                resources.journals[r] = ring.journal();
                return ring;
            }
            LOG.log(System.Logger.Level.WARNING, context + " " + config.name() + ": no usable ring journal in " +
                file + "; rejoining the ring at rsp_prod " + Integer.toUnsignedString(rspProd) +
                " (a request taken but not answered by the old process may not be answered)");
        }
        else
        {
            ring.attach(rspProd);
        }
        resources.journals[r] = RingJournal.create(file, layout, identity, ring.reqCons());
        ring.journal(resources.journals[r]);
        return ring;
    }

    /**
     * Releases what {@link #connect} acquired (its agent must have stopped); never throws.
     *
     * @param context      the device.
     * @param resources    the queue's resources.
     * @param keepJournals true when another process is to take the rings over (the service stops, the guest stays
     *                     connected); false when the rings are gone for good.
     */
    void release(final DeviceContext context, final Resources resources, final boolean keepJournals)
    {
        for (final int port : resources.localPorts)
        {
            if (port >= 0)
            {
                try
                {
                    resources.eventChannels.unbind(port);
                }
                catch (final RuntimeException ex)
                {
                    LOG.log(System.Logger.Level.WARNING, context + ": unbind " + port, ex);
                }
            }
        }
        closeQuietly(resources.eventChannels);
        for (final RingJournal journal : resources.journals)
        {
            if (null != journal)
            {
                try
                {
                    if (keepJournals)
                    {
                        journal.close();
                    }
                    else
                    {
                        journal.delete();
                    }
                }
                catch (final RuntimeException ex)
                {
                    LOG.log(System.Logger.Level.WARNING, context + ": ring journal " + journal.file(), ex);
                }
            }
        }
        for (final GrantMapping mapping : resources.mappings)
        {
            closeQuietly(mapping);
        }
        if (null != resources.counters)
        {
            // The counters go with the queue (their slots in the counters file are freed): the log keeps their totals.
            LOG.log(System.Logger.Level.INFO, "{0} (released; totals of this connection)",
                resources.counters.summary());
        }
        closeQuietly(resources.counters);
    }

    /**
     * @return the journal file of one ring, or null without a state directory.
     */
    private Path journalFile(final DeviceContext context, final QueueConfig config, final int ring)
    {
        if (null == stateDirectory)
        {
            return null;
        }
        // The device id is checked by the conductor ([A-Za-z0-9_-]); the queue's name is the type's own.
        final String name = context.type() + "-" + context.frontendDomid() + "-" + context.devid() + "-" +
            config.name().replaceAll("[^A-Za-z0-9_-]", "_") + "-r" + ring + ".journal";
        return stateDirectory.resolve("rings").resolve(name);
    }

    /**
     * What names a ring: the frontend, its device, the queue, the grant references and the event channels. A journal
     * left by an earlier connection of the same device with other rings is not taken for this one.
     */
    private static long identity(final DeviceContext context, final QueueConfig config, final int ring)
    {
        long h = 0xcbf29ce484222325L;
        h = mix(h, context.frontendDomid());
        h = mix(h, context.frontendPath().hashCode());
        h = mix(h, config.index());
        h = mix(h, ring);
        for (final int ref : config.ring(ring).refs())
        {
            h = mix(h, ref);
        }
        for (int p = 0; p < config.portCount(); p++)
        {
            h = mix(h, config.remotePort(p));
        }
        return h;
    }

    private static long mix(final long h, final int value)
    {
        return (h ^ (value & 0xFFFFFFFFL)) * 0x100000001b3L;
    }

    private static void closeQuietly(final AutoCloseable closeable)
    {
        if (closeable != null)
        {
            try
            {
                closeable.close();
            }
            catch (final Exception ex)
            {
                LOG.log(System.Logger.Level.WARNING, "close " + closeable, ex);
            }
        }
    }
}
