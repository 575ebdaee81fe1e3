package org.dom0j.backend;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.ring.BackRing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How a ring agent takes its queue's events: each of its ports once a wake-up, and no read past them.
 */
@Timeout(30)
class RingAgentEventsTest
{
    /** Ports queued as the kernel's evtchn device queues them; counts the reads and records the unmasks. */
    private final FakeHypervisor.Handle ports =
        (FakeHypervisor.Handle)new FakeHypervisor(new InMemoryXenStore()).openEventChannels();
    private final CountersManager countersManager = new CountersManager(
        new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024)), new UnsafeBuffer(ByteBuffer.allocateDirect(8 * 1024)));

    /** An agent over a queue bound to {@code localPorts} on {@link #ports}, whose handler always has work. */
    private RingAgent agent(final int... localPorts)
    {
        final int[] remote = new int[localPorts.length];
        for (int i = 0; i < remote.length; i++)
        {
            remote[i] = 20 + i;
        }
        final QueueConfig config = new QueueConfig(0, "q0",
            List.of(new QueueConfig.Ring(null, new int[]{ 8 })), remote);
        final ConnectedQueue queue = new ConnectedQueue(null, config, new GrantMapping[1], new BackRing[1], ports,
            localPorts, new QueueCounters(countersManager, "test q0"));
        return new RingAgent("test-q0", queue, q -> 1, (agent, reason) -> { }).takeEventsOnlyAfterWaiting();
    }

    @Test
    void shouldTakeTheQueuesOnePortOnceAWakeUpWithoutReadingTheDeviceAgain()
    {
        // In a PV dom0 each read of the device is a system call through the hypervisor. A delivered port stays
        // masked until it is unmasked, so after the queue's one port there is nothing to find.
        final RingAgent agent = agent(7);
        ports.pendingPorts.add(7);
        agent.idleWaitNanos(1_000_000, 0);
        agent.doWork();

        assertThat(ports.reads.get()).as("one read of the device").isEqualTo(1);
        assertThat(ports.unmasked).containsExactly(7);
        assertThat(agent.queue().counters().eventsReceived().get()).isEqualTo(1);
    }

    @Test
    void shouldTakeEachOfTwoPortsAndLeaveWhatCameAfterThemForTheNextWakeUp()
    {
        // netback's split event channels: a queue with a port for each ring. Whatever is queued past them (a port
        // unmasked and fired again, or another handle's) stays queued: the next wait returns at once for it.
        final RingAgent agent = agent(7, 9);
        ports.pendingPorts.add(9);
        ports.pendingPorts.add(7);
        ports.pendingPorts.add(9);
        agent.idleWaitNanos(1_000_000, 0);
        agent.doWork();

        assertThat(ports.reads.get()).isEqualTo(2);
        assertThat(ports.unmasked).containsExactly(9, 7);
        assertThat(ports.awaitEvent(0)).as("the third stays queued").isTrue();
        agent.idleWaitNanos(1_000_000, 0);
        agent.doWork();
        assertThat(ports.unmasked).containsExactly(9, 7, 9);
        assertThat(agent.queue().counters().eventsReceived().get()).isEqualTo(3);
    }

    @Test
    void shouldReadTheDeviceOnlyOnThePassAfterAWait()
    {
        final RingAgent agent = agent(7);
        agent.doWork();
        final int first = ports.reads.get();
        ports.pendingPorts.add(7);
        agent.doWork();
        agent.doWork();

        assertThat(ports.reads.get()).as("passes that did not follow a wait read nothing").isEqualTo(first);
        agent.idleWaitNanos(1_000_000, 0);
        agent.doWork();
        assertThat(ports.reads.get()).isEqualTo(first + 1);
        assertThat(ports.unmasked).containsExactly(7);
    }
}
