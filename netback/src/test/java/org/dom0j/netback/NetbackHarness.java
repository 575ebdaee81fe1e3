package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.AgentScheduler;
import org.dom0j.backend.BackendConductor;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.dom0j.xenstore.XenStore;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

/**
 * netback inside the real backend framework on a simulated machine, run on the test's thread: the conductor and
 * every queue's agent are invoked by {@link #pump} (Agrona's INVOKER mode), so a test decides exactly when the
 * backend runs, and guests written slot by slot ({@link TestNetfront}) see only what a pass produced.
 */
final class NetbackHarness implements AutoCloseable
{
    final SimMachine machine;
    final SimPlatform platform;
    final XenStore store;
    final CountingGrantTables gnttab;
    final AgentScheduler.Invoker invoker;
    final BackendConductor conductor;
    final NetbackDeviceType vif;
    final CountersManager counters = new CountersManager(new UnsafeBuffer(ByteBuffer.allocateDirect(512 * 1024)),
        new UnsafeBuffer(ByteBuffer.allocateDirect(128 * 1024)));
    final List<Throwable> errors = new CopyOnWriteArrayList<>();
    final List<TestNetfront> guests = new ArrayList<>();

    NetbackHarness(final Path dir, final NetbackConfiguration configuration)
    {
        machine = SimMachine.start(dir.resolve("sim"));
        platform = new SimPlatform(machine.host(), 0);
        store = platform.openXenStore();
        gnttab = new CountingGrantTables(platform.openGrantTables());
        invoker = AgentScheduler.invoker(errors::add);
        vif = NetbackDeviceType.withSwitch(configuration, gnttab, counters);
        conductor = new BackendConductor(new BackendConductor.Context()
            .platform(platform)
            .xenStore(store)
            .grantTables(gnttab)
            .scheduler(invoker)
            .countersManager(counters)
            .deviceType(vif));
        conductor.onStart();
    }

    /**
     * A guest with a vif, connected (the backend has reached Connected).
     */
    TestNetfront guest(final int domid, final long mac, final java.util.Map<String, String> keys)
    {
        return guest(domid, mac, keys, true);
    }

    /**
     * A guest with a vif, connected, with split event channels or one per queue.
     */
    TestNetfront guest(final int domid, final long mac, final java.util.Map<String, String> keys, final boolean split)
    {
        return guest(domid, mac, keys, split, java.util.Map.of());
    }

    /**
     * A guest with a vif, connected, whose backend directory has more keys (e.g. rate).
     */
    TestNetfront guest(final int domid, final long mac, final java.util.Map<String, String> keys, final boolean split,
        final java.util.Map<String, String> backendKeys)
    {
        final TestNetfront guest = new TestNetfront(machine, domid, mac, split, keys, backendKeys);
        guests.add(guest);
        pumpUntil(() -> "2".equals(guest.backendState()));
        guest.connect();
        pumpUntil(() -> "4".equals(guest.backendState()));
        return guest;
    }

    /**
     * Runs the conductor and every agent until nothing more happens, and lets every guest collect its responses.
     */
    void pump()
    {
        int idle = 0;
        for (int i = 0; i < 10_000 && idle < 3; i++)
        {
            final int work = conductor.doWork() + invoker.invokeAll();
            for (final TestNetfront guest : guests)
            {
                guest.collect();
            }
            idle = work == 0 ? idle + 1 : 0;
        }
    }

    /**
     * Pumps until a condition holds (watch events from xenstored arrive on another thread), at most 10 s.
     */
    void pumpUntil(final BooleanSupplier condition)
    {
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("condition not reached in 10 s");
            }
            pump();
            Thread.onSpinWait();
        }
    }

    @Override
    public void close()
    {
        conductor.onClose();
        invoker.close();
        for (final TestNetfront guest : guests)
        {
            guest.close();
        }
        gnttab.close();
        store.close();
        platform.close();
        machine.close();
    }
}
