package org.dom0j.netback;

import org.agrona.CloseHelper;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.DeviceContext;
import org.dom0j.backend.DeviceType;
import org.dom0j.backend.InvalidFrontendException;
import org.dom0j.backend.QueueConfig;
import org.dom0j.backend.QueueHandler;
import org.dom0j.backend.XenbusValues;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.linux.TapDevice;
import org.dom0j.xenstore.XsWatch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The network backend's control plane ({@code backend/vif}), as Linux's {@code xen-netback/xenbus.c}: advertises
 * what Linux's netback advertises, reads and bounds-checks what the frontend chose ({@link VifFrontendReader}), and
 * connects each queue to a {@link VifQueue} and the control ring to a {@link CtrlRingHandler}. Each vif lives for the
 * backend device's whole life ({@link Vif}); its queues come and go with the frontend's connections, and so does its
 * hashing configuration: it goes back to none when the frontend disconnects (Linux keeps it across a reconnect; a
 * frontend that comes back without a control ring could neither see nor change it, and its table may name queues
 * the new connection does not have).
 * <p>
 * In switch mode the vifs share one {@link L2Switch} with its {@link SwitchUplinks}.
 * <p>
 * <b>Threads</b>: the conductor's, except the watches' listeners (xenstore's watch thread), which only set volatile
 * state the agents read.
 */
public final class NetbackDeviceType implements DeviceType, AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(NetbackDeviceType.class.getName());
    /** The address Linux's netback (and libxl's vif-bridge) gives the dom0 side of a vif. */
    private static final byte[] VIF_MAC = { (byte)0xFE, (byte)0xFF, (byte)0xFF, (byte)0xFF, (byte)0xFF, (byte)0xFF };

    /** What the backend keeps per device. */
    private static final class Device
    {
        final Vif vif;
        VifFeatures features;
        int queues;
        TapDevice tap;
        final List<Integer> pollerSlots = new CopyOnWriteArrayList<>();
        final List<NetbackCounters> counters = new CopyOnWriteArrayList<>();
        final List<CreditLimiter> credits = new CopyOnWriteArrayList<>();
        final List<XsWatch> watches = new ArrayList<>();

        Device(final Vif vif)
        {
            this.vif = vif;
        }
    }

    private final NetbackConfiguration configuration;
    private final GrantTables gnttab;
    private final CountersManager countersManager;
    private final L2Switch fabric;
    private final TapPoller poller;
    private final SwitchUplinks uplinks;
    private CaptureWatcher captures;
    private final TxEndpoints endpoints = new TxEndpoints();
    private final Map<String, Device> devices = new ConcurrentHashMap<>();

    /**
     * @param configuration   what to offer and how to move frames.
     * @param gnttab          grant copies (a handle of this service's).
     * @param countersManager where queue counters go.
     * @param fabric          the switch, in switch mode (null in TAP mode).
     */
    NetbackDeviceType(
        final NetbackConfiguration configuration,
        final GrantTables gnttab,
        final CountersManager countersManager,
        final L2Switch fabric)
    {
        this.configuration = configuration;
        this.gnttab = gnttab;
        this.countersManager = countersManager;
        this.fabric = fabric;
        if (configuration.mode() == NetbackConfiguration.Mode.SWITCH && null == fabric)
        {
            throw new IllegalArgumentException("switch mode needs a switch");
        }
        this.poller = configuration.mode() == NetbackConfiguration.Mode.TAP ? new TapPoller() : null;
        this.uplinks = new SwitchUplinks(fabric, countersManager);
    }

    /**
     * @param configuration   what to offer (drop-in mode).
     * @param gnttab          grant copies.
     * @param countersManager where queue counters go.
     * @return a device type that gives each vif a TAP interface {@code vif<domid>.<handle>} in dom0, as Linux's
     *         netback gives each a netdev; close it when the service stops.
     */
    public static NetbackDeviceType withTaps(
        final NetbackConfiguration configuration, final GrantTables gnttab, final CountersManager countersManager)
    {
        return new NetbackDeviceType(configuration.withMode(NetbackConfiguration.Mode.TAP), gnttab, countersManager,
            null);
    }

    /**
     * @param configuration   what to offer and how to move frames (switch mode).
     * @param gnttab          grant copies.
     * @param countersManager where queue counters go.
     * @return a device type whose vifs share one new switch inside the service.
     */
    public static NetbackDeviceType withSwitch(
        final NetbackConfiguration configuration, final GrantTables gnttab, final CountersManager countersManager)
    {
        return new NetbackDeviceType(configuration.withMode(NetbackConfiguration.Mode.SWITCH), gnttab, countersManager,
            new L2Switch(4096, 8192, null, null));
    }

    @Override
    public String name()
    {
        return "vif";
    }

    @Override
    public boolean journalsRequests()
    {
        // Every TX, RX and control slot is answered by its journal record (TxResponses, RxPath, CtrlRingHandler).
        return true;
    }

    @Override
    public Map<String, String> advertise(final DeviceContext device) throws InvalidFrontendException
    {
        final String macValue = device.readBackend("mac");
        final long mac = Vif.parseMac(macValue);
        if (mac < 0 || PacketHeaders.isMulticast(mac))
        {
            throw new InvalidFrontendException(device.backendPath() + "/mac", macValue,
                "not a unicast MAC address (aa:bb:cc:dd:ee:ff)");
        }
        final String handlePath = device.backendPath() + "/handle";
        final int handle = device.readBackend("handle") == null ? parseDevid(device) :
            (int)device.values().readUnsigned(handlePath, 0, 0xFFFF);
        final Vif vif = new Vif(device.frontendDomid(), handle, mac);
        final Device state = new Device(vif);
        devices.put(device.backendPath(), state);
        if (fabric != null)
        {
            vif.switchPort(fabric.attach(vif));
        }
        else
        {
            // The interface exists before InitWait, so that the toolstack's hotplug script (vif-bridge, run when the
            // backend reaches InitWait) finds it, as it finds Linux's netdev. Down, with Linux's vif address.
            // Persistent: a service that is killed or restarted leaves the interface (and its bridge port, which
            // vif-bridge set up once) for the next process, which attaches to it again here.
            state.tap = TapDevice.open(vif.name(), configuration.maxQueues(), true);
            state.tap.persist(true);
            state.tap.setMacAddress(VIF_MAC);
            vif.tap(state.tap);
        }
        LOG.log(System.Logger.Level.INFO, device + ": " + vif.name() + ", mac " + Vif.formatMac(mac) + ", " +
            configuration.mode().name().toLowerCase(java.util.Locale.ROOT) + " mode");
        final Map<String, String> keys = new LinkedHashMap<>();
        keys.put("feature-sg", "1");
        keys.put("feature-gso-tcpv4", "1");
        keys.put("feature-gso-tcpv6", "1");
        keys.put("feature-ipv6-csum-offload", "1");
        keys.put("feature-rx-copy", "1");
        keys.put("feature-rx-flip", "0");
        keys.put("feature-multicast-control", "1");
        keys.put("feature-dynamic-multicast-control", "1");
        keys.put("feature-xdp-headroom", "1");
        keys.put("feature-split-event-channels", configuration.splitEventChannels() ? "1" : "0");
        keys.put("multi-queue-max-queues", Integer.toString(configuration.maxQueues()));
        keys.put("feature-ctrl-ring", configuration.ctrlRing() ? "1" : "0");
        return keys;
    }

    @Override
    public List<QueueConfig> readFrontend(final DeviceContext device) throws InvalidFrontendException
    {
        final Device state = devices.get(device.backendPath());
        final VifFrontendReader frontend = new VifFrontendReader(device.values(), device.frontendPath(), configuration);
        final List<QueueConfig> queues = frontend.read();
        state.features = frontend.features();
        state.queues = frontend.dataQueues();
        return queues;
    }

    private static int parseDevid(final DeviceContext device) throws InvalidFrontendException
    {
        return (int)XenbusValues.parseUnsigned(device.backendPath(), device.devid(), 0, 0xFFFF);
    }

    @Override
    public QueueHandler connect(final DeviceContext device, final ConnectedQueue queue)
        throws InvalidFrontendException
    {
        final Device state = devices.get(device.backendPath());
        final Vif vif = state.vif;
        if (CtrlRingHandler.QUEUE_NAME.equals(queue.config().name()))
        {
            return new CtrlRingHandler(queue, vif, gnttab, state.queues);
        }
        if (state.credits.isEmpty())
        {
            // The first queue of a connection: the rate and the multicast setting, watched while connected.
            vif.multicast().enable(state.features.multicastControl());
            watchRate(device, state);
            watchMulticastControl(device, state);
        }
        final NetbackCounters counters = new NetbackCounters(countersManager, device + " " + queue.config().name());
        state.counters.add(counters);
        final CreditLimiter credit = new CreditLimiter();
        final long[] rate = CreditLimiter.parseRate(device.readBackend("rate"));
        credit.set(rate[0], rate[1]);
        state.credits.add(credit);
        final VifQueue handler;
        if (state.tap != null)
        {
            if (queue.index() == 0)
            {
                state.tap.setOffload(offloads(state.features));
            }
            final TapQueue tapQueue = new TapQueue(state.tap, vif, queue.index(), state.queues, counters);
            handler = new VifQueue(vif, queue, gnttab, state.features, counters, credit, tapQueue, tapQueue, null,
                configuration);
            state.pollerSlots.add(poller.register(handler));
        }
        else
        {
            handler = new VifQueue(vif, queue, gnttab, state.features, counters, credit,
                new SwitchIngress(fabric, vif, configuration.allowSpoofing()), null, endpoints, configuration);
        }
        vif.connected(handler);
        return handler;
    }

    /**
     * What the TAP may hand out for this guest: a partial checksum only if the guest takes one, GSO frames only for
     * the types it takes (Linux's netback sets the netdev's features from the frontend's the same way).
     */
    private static int offloads(final VifFeatures features)
    {
        if (!features.csumIpv4())
        {
            return 0;
        }
        return TapDevice.TUN_F_CSUM | (features.acceptsGso(1) ? TapDevice.TUN_F_TSO4 : 0) |
            (features.acceptsGso(2) ? TapDevice.TUN_F_TSO6 : 0);
    }

    private void watchRate(final DeviceContext device, final Device state)
    {
        state.watches.add(device.watch(device.backendPath() + "/rate", (path, token) ->
        {
            final long[] rate = CreditLimiter.parseRate(device.readBackend("rate"));
            for (final CreditLimiter credit : state.credits)
            {
                credit.set(rate[0], rate[1]);
            }
        }));
    }

    private void watchMulticastControl(final DeviceContext device, final Device state)
    {
        final String path = device.frontendPath() + "/request-multicast-control";
        state.watches.add(device.watch(path, (p, token) ->
        {
            try
            {
                state.vif.multicast().enable(VifFrontendReader.flag(device.values(), path));
            }
            catch (final InvalidFrontendException ex)
            {
                state.vif.multicast().enable(false);
            }
        }));
    }

    @Override
    public void disconnect(final DeviceContext device)
    {
        final Device state = devices.get(device.backendPath());
        if (state == null)
        {
            return;
        }
        state.vif.disconnected();
        state.vif.hashConfig(HashConfig.NONE);
        for (final int slot : state.pollerSlots)
        {
            poller.unregister(slot);
        }
        state.pollerSlots.clear();
        for (final XsWatch watch : state.watches)
        {
            try
            {
                watch.close();
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.WARNING, device + ": closing a watch", ex);
            }
        }
        state.watches.clear();
        for (final NetbackCounters counters : state.counters)
        {
            counters.close();
        }
        state.counters.clear();
        state.credits.clear();
    }

    @Override
    public void remove(final DeviceContext device)
    {
        final Device state = devices.remove(device.backendPath());
        if (state == null)
        {
            return;
        }
        if (fabric != null && state.vif.switchPort() >= 0)
        {
            fabric.detach(state.vif.switchPort());
        }
        if (state.tap != null)
        {
            try
            {
                state.tap.persist(false);
            }
            finally
            {
                state.tap.close();
            }
        }
    }

    /**
     * Adds an uplink into dom0's network stack (switch mode): a TAP interface, up, that dom0 can address or bridge.
     *
     * @param name the interface's name, e.g. "dom0j0".
     * @return the interface's name as the kernel gave it.
     */
    public String addTapUplink(final String name)
    {
        return uplinks.addTap(name);
    }

    /**
     * Joins the switch with other hosts' switches over Aeron (switch mode), with a media driver embedded in the
     * service unless the settings name an external one's directory.
     *
     * @param settings the channels.
     */
    public void addAeronUplink(final AeronSettings settings)
    {
        uplinks.addAeron(settings);
    }

    /**
     * Serves {@code dom0j capture}: from now on a capture ring that appears in {@code directory} under a vif's name
     * receives that vif's frames.
     *
     * @param directory serve's capture directory.
     */
    public void captureDirectory(final java.nio.file.Path directory)
    {
        if (null == captures)
        {
            captures = new CaptureWatcher(directory, this::vifNamed);
        }
    }

    /**
     * @param backendPath a device's backend path.
     * @return its vif, or null (tests).
     */
    Vif vifForTests(final String backendPath)
    {
        final Device device = devices.get(backendPath);
        return device == null ? null : device.vif;
    }

    private Vif vifNamed(final String name)
    {
        for (final Device device : devices.values())
        {
            if (device.vif.name().equals(name))
            {
                return device.vif;
            }
        }
        return null;
    }

    /**
     * Closes the uplinks, the Aeron client and media driver, and the TAP poller; the conductor has closed every
     * device before.
     */
    @Override
    public void close()
    {
        CloseHelper.closeAll(uplinks, captures);
        captures = null;
        if (poller != null)
        {
            poller.close();
        }
    }

    /**
     * @param backendPath a device's backend path.
     * @return its vif's hashing configuration now (for tests), or null when there is no such device.
     */
    HashConfig hashConfig(final String backendPath)
    {
        final Device state = devices.get(backendPath);
        return state == null ? null : state.vif.hashConfig();
    }

    /**
     * @param backendPath a device's backend path.
     * @return its vif's queues' counters now (for tests and {@code dom0j top}), empty when not connected.
     */
    public List<NetbackCounters> counters(final String backendPath)
    {
        final Device state = devices.get(backendPath);
        return state == null ? List.of() : List.copyOf(state.counters);
    }
}
