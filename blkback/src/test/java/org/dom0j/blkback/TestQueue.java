package org.dom0j.blkback;

import java.io.IOException;
import java.util.function.UnaryOperator;

import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.QueueConfig;
import org.dom0j.backend.QueueCounters;
import org.dom0j.backend.RingAgent;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.ring.BackRing;
import org.dom0j.sim.SimDomain;

/**
 * One blkback queue connected to a {@link TestBlkfront}'s ring as the conductor would connect it (the ring mapped,
 * the event channel bound, counters, the queue and its agent), without a conductor or a thread: the test calls
 * {@link #serve()} where serve's thread would run the agent.
 * <p>
 * Not thread safe: the test's thread.
 */
final class TestQueue implements AutoCloseable
{
    final TestBlkfront front;
    final GrantMapping ringMapping;
    final EventChannels evtchn;
    final QueueCounters queueCounters;
    final BlkbackCounters counters;
    final ConnectedQueue connected;
    final BlkbackQueue queue;
    final RingAgent agent;

    /**
     * @param dom0            the backend's domain.
     * @param countersManager where the queue's counters go.
     * @param domid           the frontend's domid.
     * @param front           the frontend, its ring granted.
     * @param gnttab          dom0's grant tables.
     * @param disk            the disk.
     * @param validator       what requests are valid on it.
     * @param settings        the rest of the queue's context (ABI, data path, engine, ...) over the common part.
     * @throws IOException when the ring cannot be mapped or the port bound.
     */
    TestQueue(
        final SimDomain dom0,
        final CountersManager countersManager,
        final int domid,
        final TestBlkfront front,
        final GrantTables gnttab,
        final Disk disk,
        final RequestValidator validator,
        final UnaryOperator<QueueContext> settings) throws IOException
    {
        this.front = front;
        ringMapping = gnttab.mapOne(domid, front.ringRef, true);
        final BackRing ring = new BackRing(front.layout, ringMapping.buffer());
        evtchn = dom0.openEventChannels();
        final int port = evtchn.bindInterdomain(domid, front.port);
        final String name = "blkback-" + domid + "-51712-q0";
        queueCounters = new QueueCounters(countersManager, "vbd " + domid + "/51712 q0");
        connected = ConnectedQueue.ofRing(new QueueConfig(0, front.layout, new int[]{ front.ringRef }, front.port),
            ringMapping, ring, evtchn, port, queueCounters);
        counters = new BlkbackCounters(countersManager, name);
        queue = new BlkbackQueue(connected, settings.apply(new QueueContext()
            .roleName(name)
            .frontendDomid(domid)
            .grantTables(gnttab)
            .disk(disk)
            .validator(validator)
            .counters(counters)));
        agent = new RingAgent(name, connected, queue, (failed, reason) -> { });
    }

    /**
     * Serves until nothing is left to do, collecting the answers: a few passes first, then passes while the agent
     * has work (large requests may still be in flight with io_uring: each pass then waits for one).
     */
    void serve()
    {
        for (int i = 0; i < 4; i++)
        {
            agent.doWork();
        }
        for (int i = 0; i < 10_000 && agent.doWork() > 0; i++)
        {
            front.collect();
        }
        front.collect();
    }

    /**
     * Closes the counters, the frontend, the queue, the ring's mapping and the event channel; not the disk or the
     * grant tables, which the test opened.
     */
    @Override
    public void close() throws Exception
    {
        queueCounters.close();
        counters.close();
        front.close();
        agent.onClose();
        ringMapping.close();
        evtchn.close();
    }
}
