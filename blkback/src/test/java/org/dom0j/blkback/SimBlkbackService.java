package org.dom0j.blkback;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.AgentScheduler;
import org.dom0j.backend.BackendConductor;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;

/**
 * blkback as {@code dom0j serve} runs it, inside this test's process: dom0's platform on a simulated machine, the
 * backend conductor on its own thread and blkback's queues on the scheduler given, with the errors their agents
 * raise collected for the test to check. Also attaches disks the way the toolstack does.
 * <p>
 * Not thread safe: the test's thread.
 */
final class SimBlkbackService implements AutoCloseable
{
    private final SimPlatform platform;
    private final XenStore store;
    private final GrantTables grants;
    private final AgentScheduler scheduler;
    private final CountersManager counters;
    private final AgentRunner conductorRunner;
    private final List<Throwable> errors;

    private SimBlkbackService(
        final SimMachine machine,
        final BlkbackConfiguration configuration,
        final AgentScheduler scheduler,
        final List<Throwable> errors)
    {
        this(machine, configuration, scheduler, errors, BlkbackDeviceType.NAME);
    }

    private SimBlkbackService(
        final SimMachine machine,
        final BlkbackConfiguration configuration,
        final AgentScheduler scheduler,
        final List<Throwable> errors,
        final String typeName)
    {
        this.errors = errors;
        this.scheduler = scheduler;
        platform = new SimPlatform(machine.host(), 0);
        store = platform.openXenStore();
        grants = platform.openGrantTables();
        counters = new CountersManager(new UnsafeBuffer(ByteBuffer.allocateDirect(1024 * 1024)),
            new UnsafeBuffer(ByteBuffer.allocateDirect(256 * 1024)));
        final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
            .platform(platform)
            .xenStore(store)
            .grantTables(grants)
            .scheduler(scheduler)
            .countersManager(counters)
            .deviceType(new BlkbackDeviceType(platform, counters, configuration, typeName)));
        conductorRunner = new AgentRunner(new BackoffIdleStrategy(10, 20, 1000, 1_000_000), errors::add, null,
            conductor);
        AgentRunner.startOnThread(conductorRunner);
    }

    /**
     * Queues on threads of their own, spinning then backing off (what most tests want: prompt answers).
     *
     * @param machine       the simulated machine.
     * @param configuration what blkback offers.
     * @return the service, running.
     */
    static SimBlkbackService dedicated(final SimMachine machine, final BlkbackConfiguration configuration)
    {
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final ErrorHandler onError = errors::add;
        return new SimBlkbackService(machine, configuration,
            AgentScheduler.dedicated(() -> new BackoffIdleStrategy(10, 20, 1000, 100_000), onError), errors);
    }

    /**
     * {@link #dedicated(SimMachine, BlkbackConfiguration)}, serving disks under {@code backend/<typeName>}.
     *
     * @param machine       the simulated machine.
     * @param configuration what blkback offers.
     * @param typeName      the xenstore device type served.
     * @return the service, running.
     */
    static SimBlkbackService dedicated(
        final SimMachine machine, final BlkbackConfiguration configuration, final String typeName)
    {
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final ErrorHandler onError = errors::add;
        return new SimBlkbackService(machine, configuration,
            AgentScheduler.dedicated(() -> new BackoffIdleStrategy(10, 20, 1000, 100_000), onError), errors, typeName);
    }

    /**
     * Queues woken by their event channels, as serve runs them.
     *
     * @param machine       the simulated machine.
     * @param configuration what blkback offers.
     * @param idleWaitNanos how long an idle queue sleeps before it waits for its event channel.
     * @return the service, running.
     */
    static SimBlkbackService eventDriven(
        final SimMachine machine, final BlkbackConfiguration configuration, final long idleWaitNanos)
    {
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        return new SimBlkbackService(machine, configuration, AgentScheduler.eventDriven(idleWaitNanos, errors::add),
            errors);
    }

    /**
     * Creates a guest and attaches a disk to it as {@code xvda} (virtual device 51712) with the keys libxl writes.
     *
     * @param machine the simulated machine.
     * @param domid   the guest's domid.
     * @param pages   its memory.
     * @param params  the disk: a path, or an NBD URI.
     * @param mode    "w" or "r".
     * @return the guest.
     */
    static SimDomain guestWithDisk(
        final SimMachine machine, final int domid, final int pages, final String params, final String mode)
    {
        final SimDomain guest = machine.createGuest(domid, "guest" + domid, pages);
        attachDisk(machine, domid, "vbd", "xvda", params, mode);
        return guest;
    }

    /**
     * Attaches a disk with the keys libxl writes, its backend directory under a type name given.
     *
     * @param machine     the simulated machine.
     * @param domid       the guest.
     * @param backendType the backend directory's device type ("vbd": Linux's blkback's).
     * @param vdev        xvda (51712), xvdb (51728)...
     * @param params      the disk.
     * @param mode        "w" or "r".
     */
    static void attachDisk(
        final SimMachine machine, final int domid, final String backendType, final String vdev, final String params,
        final String mode)
    {
        final String devid = Integer.toString(202 * 256 + (vdev.charAt(3) - 'a') * 16);
        XenbusDevices.attach(machine.xenStore(), 0, backendType, "vbd", domid, devid,
            Map.of("params", params, "mode", mode, "type", "phy", "dev", vdev, "device-type", "disk",
                "removable", "0", "discard-enable", "1"),
            Map.of("virtual-device", devid, "device-type", "disk"));
    }

    /**
     * @return dom0's grant tables, as the conductor and the queues use them.
     */
    GrantTables grants()
    {
        return grants;
    }

    /**
     * @return dom0's xenstore connection.
     */
    XenStore store()
    {
        return store;
    }

    /**
     * @return dom0's platform.
     */
    SimPlatform platform()
    {
        return platform;
    }

    /**
     * @return the counters blkback registered.
     */
    CountersManager counters()
    {
        return counters;
    }

    /**
     * @return whether the conductor's thread is still running (an agent that threw out of its loop is not).
     */
    boolean conductorRunning()
    {
        return conductorRunner.thread().isAlive() && !conductorRunner.isClosed();
    }

    /**
     * @return what the conductor's and the queues' agents raised, in order.
     */
    List<Throwable> errors()
    {
        return errors;
    }

    /**
     * Stops the conductor and the queues, then closes dom0's connections.
     */
    @Override
    public void close()
    {
        conductorRunner.close();
        scheduler.close();
        grants.close();
        store.close();
        platform.close();
    }
}
