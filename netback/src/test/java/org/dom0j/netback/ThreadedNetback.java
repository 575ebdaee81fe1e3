package org.dom0j.netback;

import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.AgentScheduler;
import org.dom0j.backend.BackendConductor;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.dom0j.xenstore.XenStore;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * netback on a simulated machine threaded as {@code dom0j serve} runs it: the conductor on its own thread, one
 * thread per queue idling on its event channels.
 */
final class ThreadedNetback implements AutoCloseable
{
    final SimMachine machine;
    final NetbackDeviceType vif;
    final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private final SimPlatform platform;
    private final XenStore store;
    private final GrantTables gnttab;
    private final AgentScheduler scheduler;
    private final AgentRunner conductorRunner;

    /**
     * @param dir     where the machine lives.
     * @param factory makes the device type from the grant tables and the counters.
     */
    ThreadedNetback(final Path dir, final BiFunction<GrantTables, CountersManager, NetbackDeviceType> factory)
    {
        machine = SimMachine.start(dir.resolve("sim"));
        platform = new SimPlatform(machine.host(), 0);
        store = platform.openXenStore();
        gnttab = platform.openGrantTables();
        final ErrorHandler onError = errors::add;
        scheduler = AgentScheduler.eventDriven(TimeUnit.MILLISECONDS.toNanos(1), onError);
        final CountersManager counters = new CountersManager(
            new UnsafeBuffer(ByteBuffer.allocateDirect(256 * 1024)),
            new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024)));
        vif = factory.apply(gnttab, counters);
        final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
            .platform(platform)
            .xenStore(store)
            .grantTables(gnttab)
            .scheduler(scheduler)
            .countersManager(counters)
            .deviceType(vif));
        conductorRunner = new AgentRunner(new BackoffIdleStrategy(10, 20, 1000, 1_000_000), onError, null, conductor);
        AgentRunner.startOnThread(conductorRunner);
    }

    @Override
    public void close()
    {
        conductorRunner.close();
        scheduler.close();
        vif.close();
        gnttab.close();
        store.close();
        platform.close();
        machine.close();
    }
}
