package org.dom0j.backend;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.platform.XenPlatform;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreException;
import org.dom0j.xenstore.XsWatch;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;


/**
 * The conductor of a backend service: owns the xenstore watches on {@code backend/<type>} for every registered
 * {@link DeviceType} and on each device's frontend {@code state}, and drives every device's lifecycle as Linux's
 * xenbus backends do:
 * <ul>
 *   <li>a backend directory appears with {@code online} = 1: read {@code frontend-id} and {@code frontend}, write
 *       the type's advertised keys and {@code hotplug-status} = connected (we are our own hotplug step, as QEMU's
 *       and FreeBSD's userspace backends are), go to InitWait;</li>
 *   <li>frontend Initialised or Connected (from any earlier state, so a frontend that skips states still
 *       connects): read and bounds-check its rings, map them, bind the event channels, start one
 *       {@link RingAgent} per queue, go to Connected;</li>
 *   <li>frontend Closing: disconnect, Closing; frontend Closed: disconnect, Closed, and forget the device when
 *       {@code online} is no longer 1; frontend Initialising after Closed: InitWait again (reconnect); frontend
 *       state gone after it was seen: disconnect, Closed (kept while {@code online} is 1, so a frontend that comes
 *       back reconnects; the toolstack removes the backend directory of a dead domain);</li>
 *   <li>backend directory removed: unplug (disconnect and forget);</li>
 *   <li>a bad frontend value or a ring protocol violation: the device fails with the reason written to
 *       {@code <home>/error/backend/<type>/<domid>/<devid>/error} (as {@code xenbus_dev_fatal}), goes to Closing,
 *       and stays failed until the frontend closes; the service goes on.</li>
 * </ul>
 * <b>Restarts</b>: a device whose backend and frontend both say Connected when the conductor first sees it was
 * connected by an earlier process of the service, killed or stopped: it is adopted without a state change (its
 * advertised keys are left as the frontend negotiated them), its rings mapped and its event channels bound again,
 * and the requests the old process took and never answered are served again in ring order from the ring journals
 * ({@link Context#stateDirectory}, {@link QueueConnector}); the frontend sees a pause. With
 * {@link Context#detachOnClose} closing the conductor leaves every device as the frontend sees it, for the next
 * process.
 * <p>
 * The conductor decides when a device moves (its watches, its queue of their events, its scans); a
 * {@link DeviceLifecycle} carries each step out. Each device is a {@link ConductedDevice}, which connects and
 * disconnects its queues (idempotently, in a safe order); {@link BackendPaths} says which names in the paths are
 * acted on.
 * <p>
 * <b>Threads</b>: an {@link Agent}; {@code onStart}, {@code doWork} and {@code onClose} run on the conductor's
 * thread (an {@code AgentRunner}, or the caller's in INVOKER mode). Watch callbacks (on the xenstore client's
 * thread) and ring agents only enqueue; the watch queue is bounded and overflow coalesces into one full rescan
 * (XSA-349).
 */
public final class BackendConductor implements Agent
{
    private static final System.Logger LOG = System.getLogger(BackendConductor.class.getName());
    private static final String BACKEND_TOKEN = "dom0j-backend:";
    private static final String FRONTEND_TOKEN = "dom0j-frontend:";
    private static final int EVENTS_PER_CYCLE = 256;
    /**
     * Longest park of an idle conductor: it is woken for its work (and by {@link #stopping()} before its runner
     * closes it), so this bounds nothing but a lost wake-up. It was 100 ms: ten wake-ups a second of an idle service,
     * each a timer, an upcall and a context switch through the hypervisor in a PV dom0 (under the real-Xen tier's TCG
     * 0.12 s of dom0's CPU per 10 s).
     */
    private static final long IDLE_PARK_NANOS = TimeUnit.SECONDS.toNanos(10);

    /**
     * What the conductor runs with.
     */
    public static final class Context
    {
        private XenPlatform platform;
        private XenStore xenStore;
        private GrantTables grantTables;
        private final List<DeviceType> deviceTypes = new ArrayList<>();
        private AgentScheduler scheduler;
        private CountersManager countersManager;
        private int watchQueueCapacity = 1024;
        private java.nio.file.Path stateDirectory;
        private boolean detachOnClose;

        /**
         * @param platform opens event channel handles (one per queue) and says which features exist.
         * @return this.
         */
        public Context platform(final XenPlatform platform)
        {
            this.platform = platform;
            return this;
        }

        /**
         * @param xenStore the conductor's xenstore connection (the conductor does not close it).
         * @return this.
         */
        public Context xenStore(final XenStore xenStore)
        {
            this.xenStore = xenStore;
            return this;
        }

        /**
         * @param grantTables maps the rings (the conductor does not close it).
         * @return this.
         */
        public Context grantTables(final GrantTables grantTables)
        {
            this.grantTables = grantTables;
            return this;
        }

        /**
         * @param type a device type to serve; one per name.
         * @return this.
         */
        public Context deviceType(final DeviceType type)
        {
            deviceTypes.add(type);
            return this;
        }

        /**
         * @param scheduler where ring agents run.
         * @return this.
         */
        public Context scheduler(final AgentScheduler scheduler)
        {
            this.scheduler = scheduler;
            return this;
        }

        /**
         * @param countersManager where queue counters go (e.g. a {@link CountersFile}'s); an in-memory one when
         *                        not set.
         * @return this.
         */
        public Context countersManager(final CountersManager countersManager)
        {
            this.countersManager = countersManager;
            return this;
        }

        /**
         * @param directory where ring journals live ({@code <dir>/rings}), so that a later process of the service
         *                  can take connected devices over; null (the default) keeps none.
         * @return this.
         */
        public Context stateDirectory(final java.nio.file.Path directory)
        {
            this.stateDirectory = directory;
            return this;
        }

        /**
         * @param detach true: closing the conductor leaves every device as its frontend sees it (Connected stays
         *               Connected, ring journals stay) for the next process of the service to adopt, as a restart
         *               or an upgrade wants; false (the default): closing closes every device.
         * @return this.
         */
        public Context detachOnClose(final boolean detach)
        {
            this.detachOnClose = detach;
            return this;
        }

        /**
         * Property {@code dom0j.conductor.watchQueueCapacity}, default 1024 (a power of two): watch events held
         * before coalescing into a rescan.
         *
         * @param capacity the bound.
         * @return this.
         */
        public Context watchQueueCapacity(final int capacity)
        {
            this.watchQueueCapacity = capacity;
            return this;
        }
    }

    private record Violation(RingAgent agent, String reason)
    {
    }

    private final XenStore xenStore;
    private final DeviceLifecycle lifecycle;
    private volatile boolean detachOnClose;
    private final Map<String, DeviceType> types = new LinkedHashMap<>();
    private final String backendRoot;
    private final ManyToOneConcurrentArrayQueue<String> events;
    private final ManyToOneConcurrentArrayQueue<Violation> violations = new ManyToOneConcurrentArrayQueue<>(256);
    private final AtomicBoolean rescan = new AtomicBoolean(true);
    private final WakeableIdleStrategy idleStrategy = new WakeableIdleStrategy(10, 20, IDLE_PARK_NANOS);
    private final List<XsWatch> typeWatches = new ArrayList<>();

    /**
     * @param context what to run with; platform, xenStore, grantTables, scheduler and one device type are required.
     */
    public BackendConductor(final Context context)
    {
        if (context.platform == null || context.xenStore == null || context.grantTables == null ||
            context.scheduler == null || context.deviceTypes.isEmpty())
        {
            throw new IllegalArgumentException("platform, xenStore, grantTables, scheduler and a device type needed");
        }
        final XenPlatform platform = context.platform;
        this.xenStore = context.xenStore;
        final QueueConnector connector = new QueueConnector(platform, context.grantTables,
            context.countersManager != null ? context.countersManager : new CountersManager(
                new UnsafeBuffer(ByteBuffer.allocateDirect(1024 * CountersReader.METADATA_LENGTH)),
                new UnsafeBuffer(ByteBuffer.allocateDirect(1024 * CountersReader.COUNTER_LENGTH))),
            context.stateDirectory);
        this.detachOnClose = context.detachOnClose;
        for (final DeviceType type : context.deviceTypes)
        {
            if (types.put(type.name(), type) != null)
            {
                throw new IllegalArgumentException("two device types named " + type.name());
            }
        }
        final String home = "/local/domain/" + platform.localDomid();
        this.backendRoot = home + "/backend/";
        this.lifecycle = new DeviceLifecycle(xenStore, context.scheduler, connector,
            Collections.unmodifiableSet(platform.features()), home, FRONTEND_TOKEN, this::onWatchEvent,
            this::onRingViolation);
        this.events = new ManyToOneConcurrentArrayQueue<>(context.watchQueueCapacity);
    }

    @Override
    public String roleName()
    {
        return "dom0j-conductor";
    }

    /**
     * @return the idle strategy to run this agent with: it sleeps until a watch event or a ring violation wakes it,
     *         rather than waking every millisecond to look. Call {@link #stopping()} before closing its runner.
     */
    public IdleStrategy idleStrategy()
    {
        return idleStrategy;
    }

    /**
     * Its runner is about to close it (any thread): woken, and from now on it sleeps no longer than a millisecond,
     * so that the runner's close does not wait for a long sleep to end.
     */
    public void stopping()
    {
        idleStrategy.stopping();
    }

    @Override
    public void onStart()
    {
        for (final String type : types.keySet())
        {
            typeWatches.add(xenStore.watch(backendRoot + type, BACKEND_TOKEN + type, this::onWatchEvent));
        }
    }

    @Override
    public int doWork()
    {
        int work = 0;
        if (rescan.getAndSet(false))
        {
            scanAll();
            work++;
        }
        String path;
        while (work < EVENTS_PER_CYCLE && (path = events.poll()) != null)
        {
            onPath(path);
            work++;
        }
        Violation violation;
        while ((violation = violations.poll()) != null)
        {
            lifecycle.failRing(violation.agent(), violation.reason());
            work++;
        }
        return work;
    }

    /**
     * Changes what closing does to the devices ({@link Context#detachOnClose}); read when the conductor closes, so
     * any thread may call this before.
     *
     * @param detach whether closing leaves the devices for the next process of the service.
     */
    public void detachOnClose(final boolean detach)
    {
        detachOnClose = detach;
    }

    /**
     * @return whether closing leaves the devices for the next process of the service.
     */
    public boolean detachesOnClose()
    {
        return detachOnClose;
    }

    @Override
    public void onClose()
    {
        for (final XsWatch watch : typeWatches)
        {
            closeQuietly(watch);
        }
        typeWatches.clear();
        lifecycle.close(detachOnClose);
    }

    /**
     * @return the backend paths of the devices the conductor manages now (for tests and {@code dom0j top}); call
     *         on the conductor's thread.
     */
    public Set<String> devicePaths()
    {
        return lifecycle.paths();
    }

    /**
     * @param backendPath a device's backend path.
     * @return the state the conductor last wrote for it, or null when it does not manage it; conductor's thread.
     */
    public XenbusState deviceState(final String backendPath)
    {
        final ConductedDevice device = lifecycle.device(backendPath);
        return device == null ? null : device.state.current();
    }

    private void onWatchEvent(final String path, final String token)
    {
        final String target = token.startsWith(FRONTEND_TOKEN) ? token.substring(FRONTEND_TOKEN.length()) : path;
        if (!events.offer(target))
        {
            rescan.set(true);
        }
        idleStrategy.wake();
    }

    private void onRingViolation(final RingAgent agent, final String reason)
    {
        if (!violations.offer(new Violation(agent, reason)))
        {
            LOG.log(System.Logger.Level.ERROR, "violation queue full; dropped: " + reason);
        }
        idleStrategy.wake();
    }

    private void scanAll()
    {
        for (final String type : types.keySet())
        {
            scanType(type);
        }
    }

    private void scanType(final String type)
    {
        final Set<String> seen = new HashSet<>();
        for (final String domid : list(backendRoot + type))
        {
            for (final String devid : list(backendRoot + type + "/" + domid))
            {
                seen.add(backendRoot + type + "/" + domid + "/" + devid);
                reconcile(type, domid, devid);
            }
        }
        for (final ConductedDevice device : lifecycle.devices())
        {
            if (device.type.name().equals(type) && !seen.contains(device.context.backendPath()))
            {
                lifecycle.unplug(device, "backend node removed");
            }
        }
    }

    private List<String> list(final String path)
    {
        try
        {
            return xenStore.directory(path);
        }
        catch (final XenStoreException ex)
        {
            return Collections.emptyList();
        }
    }

    private void onPath(final String path)
    {
        if (!path.startsWith(backendRoot) || path.length() > BackendPaths.MAX_PATH_LENGTH)
        {
            return;
        }
        final String[] parts = path.substring(backendRoot.length()).split("/", 4);
        if (!types.containsKey(parts[0]))
        {
            return;
        }
        if (parts.length < 3)
        {
            scanType(parts[0]);
            return;
        }
        reconcile(parts[0], parts[1], parts[2]);
    }

    private void reconcile(final String type, final String domid, final String devid)
    {
        if (!BackendPaths.isDomid(domid) || !BackendPaths.isDevid(devid))
        {
            return;
        }
        final String backendPath = backendRoot + type + "/" + domid + "/" + devid;
        ConductedDevice device = lifecycle.device(backendPath);
        try
        {
            if (!xenStore.exists(backendPath))
            {
                if (device != null)
                {
                    lifecycle.unplug(device, "backend node removed");
                }
                return;
            }
            if (device == null)
            {
                if (!"1".equals(xenStore.readOrNull(backendPath + "/online")))
                {
                    return;
                }
                device = lifecycle.create(types.get(type), Integer.parseInt(domid), devid, backendPath);
                if (device == null)
                {
                    return;
                }
            }
            lifecycle.step(device);
        }
        catch (final XenStoreException ex)
        {
            LOG.log(System.Logger.Level.WARNING, backendPath + ": xenstore error, will retry on next event", ex);
        }
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
