package org.dom0j.netback;

import io.aeron.Aeron;
import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
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
import org.dom0j.protocol.netif.NetifDescriptor;
import org.dom0j.ring.RingLayout;
import org.dom0j.xenstore.XsWatch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The network backend's control plane ({@code backend/vif}), as Linux's {@code xen-netback/xenbus.c}: advertises
 * what Linux's netback advertises, reads and bounds-checks what the frontend chose (rx-copy, per-queue TX and RX
 * rings, one or two event channels per queue, offloads, multicast control, XDP headroom, the control ring), and
 * connects each queue to a {@link VifQueue} and the control ring to a {@link CtrlRingHandler}. Each vif lives for the
 * backend device's whole life ({@link Vif}); its queues come and go with the frontend's connections, and so does its
 * hashing configuration: it goes back to none when the frontend disconnects (Linux keeps it across a reconnect; a
 * frontend that comes back without a control ring could neither see nor change it, and its table may name queues
 * the new connection does not have).
 * <p>
 * <b>Threads</b>: the conductor's, except the watches' listeners (xenstore's watch thread), which only set volatile
 * state the agents read.
 */
public final class NetbackDeviceType implements DeviceType, AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(NetbackDeviceType.class.getName());
    private static final AtomicInteger DRIVERS = new AtomicInteger();
    private static final RingLayout TX_LAYOUT =
        RingLayout.of(NetifDescriptor.TX_REQUEST_LENGTH, NetifDescriptor.TX_RESPONSE_LENGTH, 1);
    private static final RingLayout RX_LAYOUT =
        RingLayout.of(NetifDescriptor.RX_REQUEST_LENGTH, NetifDescriptor.RX_RESPONSE_LENGTH, 1);
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
    private final List<Uplink> uplinks = new CopyOnWriteArrayList<>();
    private MediaDriver mediaDriver;
    private CaptureWatcher captures;
    private Aeron aeron;
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
            state.tap = TapDevice.open(vif.name(), configuration.maxQueues(), true);
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

    private static int parseDevid(final DeviceContext device) throws InvalidFrontendException
    {
        return (int)XenbusValues.parseUnsigned(device.backendPath(), device.devid(), 0, 0xFFFF);
    }

    @Override
    public List<QueueConfig> readFrontend(final DeviceContext device) throws InvalidFrontendException
    {
        final Device state = devices.get(device.backendPath());
        final XenbusValues values = device.values();
        final String fe = device.frontendPath();
        if (!flag(values, fe + "/request-rx-copy"))
        {
            throw new InvalidFrontendException(fe + "/request-rx-copy", values.readOrNull(fe + "/request-rx-copy"),
                "the frontend must use rx-copy (rx-flip is not supported, as in Linux's netback)");
        }
        final int queues = (int)values.readUnsigned(fe + "/multi-queue-num-queues", 1, configuration.maxQueues(), 1);
        final int headroom = (int)Math.min(VifFeatures.MAX_XDP_HEADROOM,
            values.readUnsigned(fe + "/xdp-headroom", 0, 0xFFFF, 0));
        state.features = new VifFeatures(
            flag(values, fe + "/feature-rx-notify"),
            flag(values, fe + "/feature-sg"),
            flag(values, fe + "/feature-gso-tcpv4"),
            flag(values, fe + "/feature-gso-tcpv6"),
            !flag(values, fe + "/feature-no-csum-offload"),
            flag(values, fe + "/feature-ipv6-csum-offload"),
            flag(values, fe + "/request-multicast-control"),
            headroom);
        state.queues = queues;
        final List<QueueConfig> configs = new ArrayList<>(queues);
        for (int q = 0; q < queues; q++)
        {
            final String dir = queues == 1 ? fe : fe + "/queue-" + q;
            final int txRef = values.readGrantRef(dir + "/tx-ring-ref");
            final int rxRef = values.readGrantRef(dir + "/rx-ring-ref");
            final int[] ports;
            if (values.readOrNull(dir + "/event-channel-tx") != null &&
                values.readOrNull(dir + "/event-channel-rx") != null)
            {
                ports = new int[]{ values.readEventChannel(dir + "/event-channel-tx"),
                    values.readEventChannel(dir + "/event-channel-rx") };
                if (ports[0] == ports[1])
                {
                    throw new InvalidFrontendException(dir + "/event-channel-rx", Integer.toString(ports[1]),
                        "the same port as event-channel-tx");
                }
            }
            else
            {
                ports = new int[]{ values.readEventChannel(dir + "/event-channel") };
            }
            configs.add(new QueueConfig(q, "q" + q, List.of(
                new QueueConfig.Ring(TX_LAYOUT, new int[]{ txRef }),
                new QueueConfig.Ring(RX_LAYOUT, new int[]{ rxRef })), ports));
        }
        final QueueConfig ctrl = readCtrlRing(values, fe, queues, configs);
        if (ctrl != null)
        {
            configs.add(ctrl);
        }
        return configs;
    }

    /**
     * The control ring, when this backend offers one and the frontend wrote {@code ctrl-ring-ref} (Linux's
     * {@code connect_ctrl_ring}: no ref, no ring; a ref without {@code event-channel-ctrl} fails the device).
     *
     * @return the control queue (index = the number of data queues), or null.
     */
    private QueueConfig readCtrlRing(final XenbusValues values, final String fe, final int queues,
        final List<QueueConfig> dataQueues) throws InvalidFrontendException
    {
        if (!configuration.ctrlRing() || values.readOrNull(fe + "/ctrl-ring-ref") == null)
        {
            return null;
        }
        final int ref = values.readGrantRef(fe + "/ctrl-ring-ref");
        final int port = values.readEventChannel(fe + "/event-channel-ctrl");
        for (final QueueConfig data : dataQueues)
        {
            for (int p = 0; p < data.portCount(); p++)
            {
                if (data.remotePort(p) == port)
                {
                    throw new InvalidFrontendException(fe + "/event-channel-ctrl", Integer.toString(port),
                        "the same port as queue " + data.name() + "'s");
                }
            }
        }
        return new QueueConfig(queues, CtrlRingHandler.QUEUE_NAME,
            List.of(new QueueConfig.Ring(CtrlRingHandler.LAYOUT, new int[]{ ref })), new int[]{ port });
    }

    /**
     * A frontend flag read as Linux's {@code xenbus_read_unsigned} reads it: missing is 0, any other number counts
     * as set, anything not a number is refused.
     */
    private static boolean flag(final XenbusValues values, final String path) throws InvalidFrontendException
    {
        return values.readUnsigned(path, 0, 0xFFFF_FFFFL, 0) != 0;
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
                state.vif.multicast().enable(flag(device.values(), path));
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
            state.tap.close();
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
        requireSwitch();
        final TapUplink uplink = new TapUplink(name, countersManager);
        uplinks.add(uplink);
        uplink.start(fabric);
        LOG.log(System.Logger.Level.INFO, "uplink " + uplink.interfaceName() + " into dom0's stack");
        return uplink.interfaceName();
    }

    /**
     * Joins the switch with other hosts' switches over Aeron (switch mode), with a media driver embedded in the
     * service unless the settings name an external one's directory.
     *
     * @param settings the channels.
     */
    public void addAeronUplink(final AeronSettings settings)
    {
        requireSwitch();
        if (null == aeron)
        {
            String directory = settings.aeronDirectory();
            if (null == directory)
            {
                directory = CommonContext.getAeronDirectoryName() + "-dom0j-" + ProcessHandle.current().pid() + "-" +
                    DRIVERS.incrementAndGet();
                mediaDriver = MediaDriver.launchEmbedded(new MediaDriver.Context()
                    .aeronDirectoryName(directory)
                    .threadingMode(ThreadingMode.SHARED)
                    .dirDeleteOnStart(true)
                    .dirDeleteOnShutdown(true));
                directory = mediaDriver.aeronDirectoryName();
            }
            aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(directory));
        }
        final AeronUplink uplink = new AeronUplink(aeron, settings.subscribe(), settings.publish(),
            settings.streamId(), countersManager);
        uplinks.add(uplink);
        uplink.start(fabric);
        LOG.log(System.Logger.Level.INFO, "uplink over Aeron: subscribed to " + settings.subscribe() +
            ", publishing to " + settings.publish() + (null == mediaDriver ? " (external media driver)" :
            " (media driver embedded in " + mediaDriver.aeronDirectoryName() + ")"));
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

    private void requireSwitch()
    {
        if (null == fabric)
        {
            throw new IllegalStateException("uplinks belong to switch mode (--net-mode switch)");
        }
    }

    /**
     * Closes the uplinks, the Aeron client and media driver, and the TAP poller; the conductor has closed every
     * device before.
     */
    @Override
    public void close()
    {
        for (final Uplink uplink : uplinks)
        {
            uplink.close();
        }
        uplinks.clear();
        CloseHelper.closeAll(captures, aeron, mediaDriver);
        captures = null;
        aeron = null;
        mediaDriver = null;
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
