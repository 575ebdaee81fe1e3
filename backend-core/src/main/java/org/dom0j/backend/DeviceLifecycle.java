package org.dom0j.backend;

import org.dom0j.platform.PlatformFeature;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreException;
import org.dom0j.xenstore.XsWatchListener;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.dom0j.backend.XenbusState.CLOSED;
import static org.dom0j.backend.XenbusState.CLOSING;
import static org.dom0j.backend.XenbusState.CONNECTED;
import static org.dom0j.backend.XenbusState.INITIALISING;
import static org.dom0j.backend.XenbusState.INIT_WAIT;

/**
 * The xenbus lifecycle of the devices one {@link BackendConductor} manages: a device is set up when its backend
 * directory comes online, stepped as its frontend's state moves, connected and disconnected, failed with the reason
 * written where the toolstack looks, unplugged and forgotten. The conductor decides when (its watches, scans and
 * queues of events); this class decides what each device does then, as Linux's xenbus backends do (the states are
 * listed on {@link BackendConductor}).
 * <p>
 * <b>Threads</b>: the conductor's only.
 */
final class DeviceLifecycle
{
    private static final System.Logger LOG = System.getLogger(BackendConductor.class.getName());

    private final XenStore xenStore;
    private final AgentScheduler scheduler;
    private final QueueConnector connector;
    private final Set<PlatformFeature> features;
    private final String home;
    private final String frontendToken;
    private final XsWatchListener frontendListener;
    private final RingAgent.ViolationListener violations;
    private final Map<String, ConductedDevice> devices = new LinkedHashMap<>();

    /**
     * @param xenStore         the conductor's xenstore connection.
     * @param scheduler        where ring agents run.
     * @param connector        connects and disconnects queues.
     * @param features         what the platform offers.
     * @param home             this domain's xenstore home, {@code /local/domain/<domid>}.
     * @param frontendToken    the prefix of the token of each frontend state watch (the backend path follows).
     * @param frontendListener where frontend state watch events go.
     * @param violations       told of a ring agent's protocol violation (on the agent's thread).
     */
    DeviceLifecycle(
        final XenStore xenStore,
        final AgentScheduler scheduler,
        final QueueConnector connector,
        final Set<PlatformFeature> features,
        final String home,
        final String frontendToken,
        final XsWatchListener frontendListener,
        final RingAgent.ViolationListener violations)
    {
        this.xenStore = xenStore;
        this.scheduler = scheduler;
        this.connector = connector;
        this.features = features;
        this.home = home;
        this.frontendToken = frontendToken;
        this.frontendListener = frontendListener;
        this.violations = violations;
    }

    /**
     * @param backendPath a device's backend path.
     * @return the device managed there, or null.
     */
    ConductedDevice device(final String backendPath)
    {
        return devices.get(backendPath);
    }

    /**
     * @return the devices managed now (a copy: stepping one may forget it).
     */
    List<ConductedDevice> devices()
    {
        return new ArrayList<>(devices.values());
    }

    /**
     * @return the backend paths of the devices managed now (a copy).
     */
    Set<String> paths()
    {
        return Collections.unmodifiableSet(new HashSet<>(devices.keySet()));
    }

    /**
     * Ends the lifecycle of every device, as the conductor closes.
     *
     * @param detach true: each device is left as its frontend sees it, for the next process of the service to adopt;
     *               false: each is disconnected, Closed and forgotten.
     */
    void close(final boolean detach)
    {
        for (final ConductedDevice device : devices())
        {
            if (detach)
            {
                // Left to the next process as the frontend sees it: a connected frontend stays connected, its
                // requests wait in the ring; the next process adopts it (or, not connected, sets it up again).
                LOG.log(System.Logger.Level.INFO, device.context + ": detached in state " + device.state.current() +
                    ", for the next process of the service");
                device.disconnect(connector, scheduler, true);
                device.stopWatchingFrontend();
                devices.remove(device.context.backendPath());
                continue;
            }
            disconnect(device);
            setState(device, CLOSED);
            forget(device);
        }
    }

    /**
     * Sets up a device whose backend directory came online: checks {@code frontend-id} and {@code frontend}, writes
     * the type's advertised keys and {@code hotplug-status}, goes to InitWait (or adopts a device an earlier process
     * left Connected), and watches the frontend's state.
     *
     * @param type        its device type.
     * @param domid       the frontend's domain, from the backend path.
     * @param devid       the device id, from the backend path.
     * @param backendPath the backend directory.
     * @return the device, or null when it is not ours to serve or failed at once.
     */
    ConductedDevice create(
        final DeviceType type, final int domid, final String devid, final String backendPath)
    {
        final XenbusValues values = new XenbusValues(xenStore::readOrNull);
        final String frontendPath = xenStore.readOrNull(backendPath + "/frontend");
        if (!type.servesFrontend(frontendPath))
        {
            LOG.log(System.Logger.Level.DEBUG, backendPath + ": frontend " + frontendPath + " is not ours to serve");
            return null;
        }
        final DeviceContext context;
        try
        {
            final long frontendId = values.readUnsigned(backendPath + "/frontend-id", 0,
                BackendPaths.DOMID_FIRST_RESERVED - 1);
            if (frontendId != domid)
            {
                throw new InvalidFrontendException(backendPath + "/frontend-id", Long.toString(frontendId),
                    "does not match the backend path's domain " + domid);
            }
            if (!BackendPaths.isFrontendPath(frontendId, frontendPath))
            {
                throw new InvalidFrontendException(backendPath + "/frontend", frontendPath,
                    "not a device directory of domain " + frontendId);
            }
            context = new DeviceContext(type.name(), domid, devid, backendPath, frontendPath, features, xenStore);
        }
        catch (final InvalidFrontendException ex)
        {
            final ConductedDevice broken = new ConductedDevice(type, new DeviceContext(
                type.name(), domid, devid, backendPath, "", features, xenStore), INITIALISING);
            devices.put(backendPath, broken);
            fail(broken, ex.reason());
            return null;
        }

        final boolean adopt = isAdoptable(backendPath, frontendPath);
        final ConductedDevice device = new ConductedDevice(type, context, adopt ? CONNECTED : INITIALISING);
        devices.put(backendPath, device);
        LOG.log(System.Logger.Level.INFO, context + (adopt ? ": adopting a device left Connected by an earlier " +
            "process of the service" : ": new device") + ", frontend " + frontendPath);
        try
        {
            device.advertised = true;
            for (final Map.Entry<String, String> e : type.advertise(context).entrySet())
            {
                final String key = backendPath + "/" + e.getKey();
                if (!adopt)
                {
                    xenStore.write(key, e.getValue());
                }
                else if (!e.getValue().equals(xenStore.readOrNull(key)))
                {
                    // The frontend negotiated with what is written; changing it under a connected frontend breaks it.
                    LOG.log(System.Logger.Level.WARNING, context + ": " + e.getKey() + " stays " +
                        xenStore.readOrNull(key) + " (this service would offer " + e.getValue() + "): the " +
                        "frontend connected with it; reconnect the device to change it");
                }
            }
        }
        catch (final InvalidFrontendException ex)
        {
            fail(device, ex.reason());
            return null;
        }
        catch (final XenStoreException ex)
        {
            throw ex;
        }
        catch (final RuntimeException ex)
        {
            LOG.log(System.Logger.Level.ERROR, context + ": could not set the device up", ex);
            fail(device, "could not set the device up: " + ex.getMessage());
            return null;
        }
        if (adopt)
        {
            connect(device, true);
        }
        else
        {
            xenStore.write(backendPath + "/hotplug-status", "connected");
            setState(device, INIT_WAIT);
        }
        device.frontendWatch = xenStore.watch(
            frontendPath + "/state", frontendToken + backendPath, frontendListener);
        return device;
    }

    /**
     * A device this conductor has not seen whose backend and frontend both say Connected was connected by an earlier
     * process of the service (killed, or stopped with {@link Context#detachOnClose}): it is adopted, served again
     * without a state change, so that the frontend sees only a pause.
     */
    private boolean isAdoptable(final String backendPath, final String frontendPath)
    {
        return CONNECTED == XenbusState.parse(xenStore.readOrNull(backendPath + "/state")) &&
            CONNECTED == XenbusState.parse(xenStore.readOrNull(frontendPath + "/state"));
    }

    void step(final ConductedDevice device)
    {
        if (device.context.frontendPath().isEmpty())
        {
            return;
        }
        final XenbusState frontend = XenbusState.parse(xenStore.readOrNull(device.context.frontendPath() + "/state"));
        final XenbusState backend = device.state.current();
        switch (frontend)
        {
            case INITIALISING:
                device.frontendSeen = true;
                if (backend == CLOSED)
                {
                    device.failed = false;
                    setState(device, INIT_WAIT);
                }
                break;

            case INITIALISED:
            case CONNECTED:
                device.frontendSeen = true;
                if (backend != CONNECTED && backend != CLOSING && !device.failed)
                {
                    connect(device, false);
                }
                break;

            case CLOSING:
                device.frontendSeen = true;
                disconnect(device);
                if (backend != CLOSED)
                {
                    setState(device, CLOSING);
                }
                break;

            case CLOSED:
                device.frontendSeen = true;
                disconnect(device);
                setState(device, CLOSED);
                if (!"1".equals(xenStore.readOrNull(device.context.backendPath() + "/online")))
                {
                    LOG.log(System.Logger.Level.INFO, device.context + ": closed and offline, removed");
                    forget(device);
                }
                break;

            case UNKNOWN:
                if (device.frontendSeen && backend != CLOSED)
                {
                    LOG.log(System.Logger.Level.INFO, device.context + ": frontend vanished");
                    disconnect(device);
                    setState(device, CLOSED);
                    if (!"1".equals(xenStore.readOrNull(device.context.backendPath() + "/online")))
                    {
                        forget(device);
                    }
                }
                break;

            default:
                break;
        }
    }

    private void connect(final ConductedDevice device, final boolean adopt)
    {
        final long started = System.nanoTime();
        try
        {
            final int replayed = device.connect(connector, scheduler, adopt, violations);
            setState(device, CONNECTED);
            LOG.log(System.Logger.Level.INFO, device.context + (adopt ? ": adopted, " : ": connected, ") +
                device.queueCount() + " queue(s)" +
                (adopt ? ", " + replayed + " request(s) taken before served again" : "") + ", in " +
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) + " ms");
        }
        catch (final InvalidFrontendException ex)
        {
            disconnect(device);
            fail(device, ex.reason());
        }
        catch (final RuntimeException ex)
        {
            disconnect(device);
            fail(device, "connect failed: " + ex.getMessage());
        }
    }

    private void disconnect(final ConductedDevice device)
    {
        device.disconnect(connector, scheduler, false);
    }

    private void fail(final ConductedDevice device, final String reason)
    {
        LOG.log(System.Logger.Level.WARNING, device.context + ": failed: " + reason);
        device.failed = true;
        final String nodename = device.context.backendPath().substring(home.length() + 1);
        try
        {
            xenStore.write(home + "/error/" + nodename + "/error", reason);
        }
        catch (final XenStoreException ex)
        {
            LOG.log(System.Logger.Level.WARNING, device.context + ": could not write error node", ex);
        }
        setState(device, CLOSING);
    }

    /**
     * Fails the device whose queue's ring agent found the frontend breaking the ring protocol.
     *
     * @param agent  the ring agent.
     * @param reason what the frontend did.
     */
    void failRing(final RingAgent agent, final String reason)
    {
        for (final ConductedDevice device : devices.values())
        {
            if (device.runs(agent))
            {
                disconnect(device);
                fail(device, "queue " + agent.queue().config().name() + " ring protocol violation: " + reason);
                return;
            }
        }
    }

    void unplug(final ConductedDevice device, final String why)
    {
        LOG.log(System.Logger.Level.INFO, device.context + ": unplugged (" + why + ")");
        disconnect(device);
        forget(device);
    }

    private void forget(final ConductedDevice device)
    {
        devices.remove(device.context.backendPath());
        device.forget();
    }

    private void setState(final ConductedDevice device, final XenbusState target)
    {
        final String backendPath = device.context.backendPath();
        try
        {
            // Only into a directory that is still there (Linux's xenbus_switch_state likewise reads the node in the
            // transaction that writes it): a device failed or closed after the toolstack removed its directory must
            // not make it again, with a state nobody will ever remove.
            device.state.transitionTo(target, (s) -> xenStore.transaction(tx ->
            {
                if (tx.exists(backendPath))
                {
                    tx.write(backendPath + "/state", s.wireValue());
                }
                return null;
            }));
        }
        catch (final XenStoreException ex)
        {
            LOG.log(System.Logger.Level.WARNING, device.context + ": could not write state " + target, ex);
        }
    }
}
