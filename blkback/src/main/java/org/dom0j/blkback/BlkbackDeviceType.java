package org.dom0j.blkback;

import org.agrona.concurrent.status.CountersManager;
import org.dom0j.blkback.jna.IoUring;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.DeviceContext;
import org.dom0j.backend.DeviceType;
import org.dom0j.backend.InvalidFrontendException;
import org.dom0j.backend.QueueConfig;
import org.dom0j.backend.QueueHandler;
import org.dom0j.backend.XenbusValues;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.platform.PlatformFeature;
import org.dom0j.platform.XenPlatform;
import org.dom0j.protocol.blkif.BlkifAbi;
import org.dom0j.protocol.blkif.BlkifConstants;
import org.dom0j.ring.RingLayout;
import org.dom0j.toolstack.XenbusDevices;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * The block device type ({@code vbd}) for the backend framework: advertises what Linux's blkback advertises,
 * reads and bounds-checks what blkfront offers (one or several queues, one or several ring pages, the ABI,
 * persistent grants), opens the disk named by the toolstack's {@code params}, and runs one {@link BlkbackQueue}
 * per ring.
 * <p>
 * Toolstack keys read from the backend directory: {@code params} (a file, a block device, or an NBD export:
 * {@code nbd://host[:port]/export} or {@code nbd+unix:///export?socket=/path}), {@code mode} ("r" or "w"),
 * {@code device-type} ("disk" or "cdrom"), {@code removable}, {@code discard-enable}.
 * <p>
 * A disk on NBD is probed when the device appears, because what it offers follows from the export: flush only when
 * the export has NBD_CMD_FLUSH, discard only with NBD_CMD_TRIM (never secure), several queues only with
 * CAN_MULTI_CONN (each queue has its own connection, and only then does a flush on one cover the others' writes),
 * indirect requests no larger than the export's maximum payload. It is always served by grant copy through bounce
 * pages ({@link NbdPath}), whatever data path and page-cache mapping are configured for files.
 * <p>
 * Called on the conductor's thread (see {@link DeviceType}); the queues run on their agents' threads.
 */
public final class BlkbackDeviceType implements DeviceType
{
    /** The xenstore device type, Linux's blkback's and libxl's. */
    public static final String NAME = "vbd";

    private final String name;

    private static final Logger LOG = Logger.getLogger(BlkbackDeviceType.class.getName());

    private final XenPlatform platform;
    private final CountersManager counters;
    private volatile BlkbackConfiguration configuration;
    private final DataPath dataPath;
    private final IoEngine ioEngine;
    private final Map<String, DeviceState> devices = new ConcurrentHashMap<>();
    private final Map<String, Offer> offers = new ConcurrentHashMap<>();
    private final AtomicBoolean nbdPathLogged = new AtomicBoolean();

    /**
     * What was advertised to one device's frontend (at {@link #advertise}, for the device's whole life): its queues
     * are held to it.
     *
     * @param maxQueues           {@code multi-queue-max-queues}.
     * @param maxIndirectSegments {@code feature-max-indirect-segments}, 0 for none.
     * @param flush               {@code feature-flush-cache}.
     * @param discard             {@code feature-discard}.
     * @param dataPath            how its queues move data (a disk on NBD: grant copy).
     */
    private record Offer(int maxQueues, int maxIndirectSegments, boolean flush, boolean discard, DataPath dataPath)
    {
    }

    /** What one device holds while connected. */
    private static final class DeviceState
    {
        final Disk disk;
        /** The settings when the device was set up: a reconfiguration applies to devices set up after it. */
        final BlkbackConfiguration configuration;
        final List<GrantTables> grantTables = new ArrayList<>();
        final List<BlkbackQueue> queues = new ArrayList<>();
        BlkifAbi abi;
        boolean persistent;

        DeviceState(final Disk disk, final BlkbackConfiguration configuration)
        {
            this.disk = disk;
            this.configuration = configuration;
        }
    }

    /**
     * @param platform      where grant handles come from.
     * @param counters      where each queue's statistics live.
     * @param configuration what to offer.
     */
    public BlkbackDeviceType(
        final XenPlatform platform, final CountersManager counters, final BlkbackConfiguration configuration)
    {
        this(platform, counters, configuration, NAME);
    }

    /**
     * Serves the disks under {@code backend/<name>} rather than {@code backend/vbd}: beside Linux's xen-blkback,
     * which takes every device under {@code backend/vbd}, as QEMU's {@code qdisk} and tapdisk's {@code vbd3} live
     * beside it. A guest's blkfront follows its device's {@code backend} key, whatever the type's name.
     *
     * @param platform      where grant handles come from.
     * @param counters      where each queue's statistics live.
     * @param configuration what to offer.
     * @param name          the xenstore device type: see {@link XenbusDevices#isTypeName}.
     */
    public BlkbackDeviceType(
        final XenPlatform platform,
        final CountersManager counters,
        final BlkbackConfiguration configuration,
        final String name)
    {
        if (!XenbusDevices.isTypeName(name))
        {
            throw new IllegalArgumentException("not a device type name: '" + name + "' (" +
                XenbusDevices.TYPE_NAME_RULE + ")");
        }
        this.name = name;
        this.platform = platform;
        this.counters = counters;
        this.configuration = configuration;
        if (null != configuration.dataPath())
        {
            dataPath = configuration.dataPath();
        }
        else
        {
            dataPath = platform.features().contains(PlatformFeature.GRANT_COPY) ? DataPath.COPY : DataPath.MAP;
        }
        if (null != configuration.ioEngine())
        {
            ioEngine = configuration.ioEngine();
        }
        else
        {
            ioEngine = IoUring.isAvailable() ? IoEngine.URING : IoEngine.SYNC;
            if (ioEngine == IoEngine.SYNC)
            {
                LOG.info("io_uring is not available here (kernel, sysctl kernel.io_uring_disabled or seccomp): " +
                    "blkback reads and writes with preadv/pwritev, one request at a time per queue");
            }
        }
    }

    /**
     * @return how queues read and write their disks.
     */
    public IoEngine ioEngine()
    {
        return ioEngine;
    }

    @Override
    public String name()
    {
        return name;
    }

    /**
     * @return the settings devices are set up with now.
     */
    public BlkbackConfiguration configuration()
    {
        return configuration;
    }

    /**
     * Changes the settings of devices set up from now on ({@code dom0j serve}'s reload), as Linux's blkback reads
     * its module parameters when a device connects: what is offered ({@code max-queues}), how the disk is opened
     * ({@code direct}), and how its queues reach it ({@code mapPageCache}, {@code nbdTimeoutMillis}). Devices
     * already set up keep theirs. The data path and the I/O engine were chosen (and probed) when this type was
     * made, and stay; so do the ring size and the segment limits.
     *
     * @param next the new settings.
     * @throws IllegalArgumentException when {@code next} changes what stays.
     */
    public void reconfigure(final BlkbackConfiguration next)
    {
        final BlkbackConfiguration now = configuration;
        if (next.maxRingPageOrder() != now.maxRingPageOrder() ||
            next.maxIndirectSegments() != now.maxIndirectSegments() ||
            next.maxPersistentGrants() != now.maxPersistentGrants() ||
            !java.util.Objects.equals(next.dataPath(), now.dataPath()) ||
            !java.util.Objects.equals(next.ioEngine(), now.ioEngine()))
        {
            throw new IllegalArgumentException("the data path, I/O engine, ring size and segment limits are set " +
                "when blkback starts");
        }
        configuration = next;
    }

    /**
     * @return the data path queues use.
     */
    public DataPath dataPath()
    {
        return dataPath;
    }

    @Override
    public boolean journalsRequests()
    {
        return true;
    }

    @Override
    public Map<String, String> advertise(final DeviceContext device) throws InvalidFrontendException
    {
        final String params = device.readBackend("params");
        if (null == params || params.isEmpty())
        {
            throw new InvalidFrontendException(device.backendPath() + "/params", params,
                "the toolstack named no disk (params must be a file, a block device or an NBD URI)");
        }
        final Offer offer = Disk.namesNbdExport(params) ? nbdOffer(device, open(device).disk) :
            new Offer(configuration.maxQueues(), configuration.maxIndirectSegments(), true, discard(device),
                dataPath);
        offers.put(device.backendPath(), offer);
        final Map<String, String> keys = new LinkedHashMap<>();
        keys.put("feature-flush-cache", offer.flush() ? "1" : "0");
        keys.put("feature-barrier", "1");
        keys.put("feature-discard", offer.discard() ? "1" : "0");
        if (offer.discard())
        {
            keys.put("discard-granularity", "4096");
            keys.put("discard-alignment", "0");
        }
        // Persistent grants only pay when pages are mapped; with grant copy nothing stays mapped (QEMU likewise).
        keys.put("feature-persistent", offer.dataPath() == DataPath.MAP ? "1" : "0");
        if (offer.maxIndirectSegments() > 0)
        {
            keys.put("feature-max-indirect-segments", Integer.toString(offer.maxIndirectSegments()));
        }
        keys.put("multi-queue-max-queues", Integer.toString(offer.maxQueues()));
        keys.put("max-ring-page-order", Integer.toString(configuration.maxRingPageOrder()));
        return keys;
    }

    /**
     * What a disk on NBD can be offered: what the export does, within what is configured.
     */
    private Offer nbdOffer(final DeviceContext device, final Disk disk) throws InvalidFrontendException
    {
        if (!platform.features().contains(PlatformFeature.GRANT_COPY))
        {
            throw new InvalidFrontendException(device.backendPath() + "/params", device.readBackend("params"),
                "a disk on NBD is served by grant copy, which this platform does not offer");
        }
        if ((dataPath == DataPath.MAP || configuration.mapPageCache()) && nbdPathLogged.compareAndSet(false, true))
        {
            LOG.info("disks on NBD are served by grant copy through bounce pages: " + (dataPath == DataPath.MAP ?
                "the map data path" : "the mapped page cache") + " applies to disks in files only");
        }
        final int queues = disk.allowsManyQueues() ? configuration.maxQueues() : 1;
        int indirect = configuration.maxIndirectSegments();
        final long fits = disk.maxTransferBytes() / BlkifConstants.PAGE_SIZE;
        if (indirect > fits)
        {
            // One blkif request is one NBD command: none may be larger than the export takes.
            indirect = fits > BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST ? (int)fits : 0;
        }
        final Offer offer = new Offer(queues, indirect, disk.canFlush(), discard(device) && disk.canDiscard(),
            DataPath.COPY);
        LOG.info(() -> device + ": disk on NBD " + disk.describe() + ": " + offer.maxQueues() + " queue(s)" +
            (queues < configuration.maxQueues() ? " (the export does not offer CAN_MULTI_CONN)" : "") +
            ", indirect segments " + offer.maxIndirectSegments() + (offer.flush() ? ", flush" : ", no flush") +
            (offer.discard() ? ", discard" : ", no discard"));
        return offer;
    }

    /** discard-enable = 0 from the toolstack turns discard off (libxl's "no-discard"). */
    private static boolean discard(final DeviceContext device)
    {
        return !"0".equals(device.readBackend("discard-enable"));
    }

    @Override
    public List<QueueConfig> readFrontend(final DeviceContext device) throws InvalidFrontendException
    {
        final XenbusValues values = device.values();
        final String fe = device.frontendPath();
        final String protocolPath = fe + "/protocol";
        final String protocol = values.readOrNull(protocolPath);
        final BlkifAbi abi = BlkifAbi.ofProtocol(protocol);
        if (null == abi)
        {
            throw new InvalidFrontendException(protocolPath, protocol, "unknown protocol (x86_32-abi, x86_64-abi)");
        }
        final Offer offer = offer(device);
        final String queuesPath = fe + "/multi-queue-num-queues";
        final int queues = (int)values.readUnsigned(queuesPath, 1, offer.maxQueues(), 1);
        final int order = (int)values.readUnsigned(fe + "/ring-page-order", 0, configuration.maxRingPageOrder(), 0);
        final List<QueueConfig> configs = new ArrayList<>(queues);
        for (int q = 0; q < queues; q++)
        {
            final String dir = null == values.readOrNull(queuesPath) ? fe : fe + "/queue-" + q;
            final int[] refs;
            if (order == 0 && null != values.readOrNull(dir + "/ring-ref"))
            {
                refs = new int[]{ values.readGrantRef(dir + "/ring-ref") };
            }
            else
            {
                refs = new int[1 << order];
                for (int i = 0; i < refs.length; i++)
                {
                    refs[i] = values.readGrantRef(dir + "/ring-ref" + i);
                }
            }
            final int port = values.readEventChannel(dir + "/event-channel");
            configs.add(new QueueConfig(q, RingLayout.ofPageOrder(abi.requestSize(), abi.responseSize(), order),
                refs, port));
        }
        final boolean persistent = offer.dataPath() == DataPath.MAP && values.readFeature(fe + "/feature-persistent");
        final DeviceState state = open(device);
        final String changed = stillServes(offer, queues, state.disk);
        if (null != changed)
        {
            throw new InvalidFrontendException(device.backendPath() + "/params", device.readBackend("params"),
                changed);
        }
        state.abi = abi;
        state.persistent = persistent;
        return configs;
    }

    /**
     * What was advertised to the device, or what would be for a disk in a file (a device this type advertised
     * always has it).
     */
    private Offer offer(final DeviceContext device)
    {
        final Offer offer = offers.get(device.backendPath());
        return null != offer ? offer : new Offer(configuration.maxQueues(), configuration.maxIndirectSegments(), true,
            discard(device), dataPath);
    }

    /**
     * A disk on NBD is probed again at each connection of its frontend: the export may have changed since it was
     * advertised.
     *
     * @return why the disk can no longer be served as advertised, or null.
     */
    private static String stillServes(final Offer offer, final int queues, final Disk disk)
    {
        if (queues > 1 && !disk.allowsManyQueues())
        {
            return "the frontend asked for " + queues + " queues, and the NBD export no longer offers " +
                "CAN_MULTI_CONN: " + disk.describe();
        }
        if ((long)offer.maxIndirectSegments() * BlkifConstants.PAGE_SIZE > disk.maxTransferBytes())
        {
            return "the NBD export no longer takes requests of " + offer.maxIndirectSegments() + " segments: " +
                disk.describe();
        }
        return null;
    }

    private DeviceState open(final DeviceContext device) throws InvalidFrontendException
    {
        final DeviceState existing = devices.get(device.backendPath());
        if (null != existing)
        {
            return existing;
        }
        final String params = device.readBackend("params");
        final String mode = device.readBackend("mode");
        final boolean cdrom = "cdrom".equals(device.readBackend("device-type"));
        final boolean removable = "1".equals(device.readBackend("removable"));
        final boolean readOnly = null != mode && !mode.startsWith("w");
        try
        {
            final BlkbackConfiguration settings = configuration;
            final Disk disk = Disk.open(params, readOnly, settings.direct(), cdrom, removable);
            final DeviceState state = new DeviceState(disk, settings);
            devices.put(device.backendPath(), state);
            return state;
        }
        catch (final IOException ex)
        {
            throw new InvalidFrontendException(device.backendPath() + "/params", params,
                "cannot open the disk: " + ex.getMessage());
        }
        catch (final IllegalArgumentException ex)
        {
            throw new InvalidFrontendException(device.backendPath() + "/params", params, ex.getMessage());
        }
    }

    @Override
    public QueueHandler connect(final DeviceContext device, final ConnectedQueue queue)
        throws InvalidFrontendException
    {
        final DeviceState state = open(device);
        final Disk disk = state.disk;
        final Offer offer = offer(device);
        if (queue.index() == 0)
        {
            device.writeBackend("sectors", Long.toString(disk.sectors512()));
            device.writeBackend("sector-size", "512");
            device.writeBackend("physical-sector-size", Integer.toString(disk.physicalSectorSize()));
            device.writeBackend("info", Integer.toString(disk.info()));
            if (offer.discard())
            {
                // Known once the disk is open; blkfront reads it when the backend is Connected, as in Linux.
                device.writeBackend("discard-secure", disk.canSecureDiscard() ? "1" : "0");
            }
        }
        final String name = "blkback-" + device.frontendDomid() + "-" + device.devid() + "-q" + queue.index();
        final GrantTables gnttab = platform.openGrantTables();
        state.grantTables.add(gnttab);
        final RequestValidator validator = new RequestValidator(disk.sectors512(), disk.isReadOnly(),
            offer.maxIndirectSegments(), offer.flush(), true, offer.discard(),
            offer.discard() && disk.canSecureDiscard());
        final BlkbackCounters queueCounters = new BlkbackCounters(counters, name);
        final BlkbackQueue handler;
        try
        {
            handler = new BlkbackQueue(queue, new QueueContext()
                .roleName(name)
                .abi(state.abi)
                .frontendDomid(device.frontendDomid())
                .grantTables(gnttab)
                .disk(disk)
                .validator(validator)
                .dataPath(offer.dataPath())
                .persistentGrants(state.persistent ? new PersistentGrants(state.configuration.maxPersistentGrants()) :
                    null)
                .counters(queueCounters)
                .ioEngine(ioEngine)
                .mapPageCache(state.configuration.mapPageCache())
                .nbdTimeoutNanos(TimeUnit.MILLISECONDS.toNanos(state.configuration.nbdTimeoutMillis())));
        }
        catch (final IOException ex)
        {
            queueCounters.close();
            throw new InvalidFrontendException(device.backendPath() + "/params", device.readBackend("params"),
                "queue " + queue.index() + " cannot reach the disk: " + ex.getMessage());
        }
        if (queue.index() == 0)
        {
            // Online resize as Linux's blkback does it: new sectors, then Connected written again, which makes
            // blkfront read the capacity again.
            handler.watchDiskSize(sectors ->
            {
                device.writeBackend("sectors", Long.toString(sectors));
                device.writeBackend("state", org.dom0j.backend.XenbusState.CONNECTED.wireValue());
                LOG.info(() -> name + ": disk resized to " + sectors + " sectors; frontend told");
            });
        }
        state.queues.add(handler);
        LOG.info(() -> name + ": connected, " + queue.config().layout() + ", " + state.abi.protocol() + ", " +
            offer.dataPath() + (state.persistent ? " with persistent grants" : "") + ", " + handler.ioEngine() +
            " I/O" + (handler.writesToPageCache() ? ", reads and writes through the mapped page cache" :
                handler.readsFromPageCache() ? ", reads from the mapped page cache" : "") + ", disk " +
            disk.describe() + ", " + disk.sizeBytes() + " bytes");
        return handler;
    }

    @Override
    public void disconnect(final DeviceContext device)
    {
        final DeviceState state = devices.remove(device.backendPath());
        if (null == state)
        {
            return;
        }
        for (final BlkbackQueue q : state.queues)
        {
            q.counters().close();
        }
        for (final GrantTables g : state.grantTables)
        {
            g.close();
        }
        state.disk.close();
    }

    /**
     * Forgets what was advertised, and a disk on NBD probed for it whose frontend never connected.
     */
    @Override
    public void remove(final DeviceContext device)
    {
        offers.remove(device.backendPath());
        disconnect(device);
    }
}
