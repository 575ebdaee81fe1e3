package org.dom0j.backend;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A conductor on the in-memory xenstore and the fake hypervisor, its ring agents run on the test's thread: what
 * the conductor's unit tests share. The tests that need real grants, event channels and xenstored run on the
 * simulator instead (the console and blkback modules).
 */
final class FakeBackend
{
    final InMemoryXenStore xs = new InMemoryXenStore();
    final FakeHypervisor hypervisor = new FakeHypervisor(xs);
    final List<Throwable> errors = new CopyOnWriteArrayList<>();
    final AgentScheduler.Invoker invoker = AgentScheduler.invoker(errors::add);

    /**
     * @param type               the device type served.
     * @param watchQueueCapacity the conductor's bound on queued watch events.
     * @return a conductor, not started.
     */
    BackendConductor conductor(final DeviceType type, final int watchQueueCapacity)
    {
        return new BackendConductor(new BackendConductor.Context()
            .platform(hypervisor)
            .xenStore(xs)
            .grantTables(hypervisor.openGrantTables())
            .scheduler(invoker)
            .deviceType(type)
            .watchQueueCapacity(watchQueueCapacity));
    }

    /**
     * Runs the conductor and the agents until neither has work.
     *
     * @param conductor the conductor.
     */
    void pump(final BackendConductor conductor)
    {
        for (int i = 0; i < 500; i++)
        {
            if (conductor.doWork() + invoker.invokeAll() == 0)
            {
                return;
            }
        }
        throw new AssertionError("conductor did not settle");
    }

    /**
     * Closes the conductor and checks nothing went wrong or leaked.
     *
     * @param conductor the conductor.
     */
    void stop(final BackendConductor conductor)
    {
        conductor.onClose();
        assertThat(errors).isEmpty();
        assertThat(hypervisor.mappedPages()).as("mappings leaked").isZero();
        assertThat(hypervisor.boundPorts()).as("ports leaked").isZero();
    }
}
