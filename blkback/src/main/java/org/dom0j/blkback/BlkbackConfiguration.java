package org.dom0j.blkback;

import org.dom0j.protocol.blkif.BlkifConstants;

/**
 * What the block backend offers guests, with Linux's xen-blkback defaults. Each setting has a system property.
 *
 * @param dataPath            {@code dom0j.blkback.dataPath}: COPY, MAP, or null for auto (copy when the platform
 *                            has grant copy, as QEMU chooses; map with persistent grants otherwise).
 * @param maxQueues           {@code dom0j.blkback.maxQueues} (multi-queue-max-queues), default 4.
 * @param maxRingPageOrder    {@code dom0j.blkback.maxRingPageOrder} (max-ring-page-order), default 4.
 * @param maxIndirectSegments {@code dom0j.blkback.maxIndirectSegments} (feature-max-indirect-segments), default
 *                            256; 0 offers no indirect requests.
 * @param maxPersistentGrants {@code dom0j.blkback.maxPersistentGrants} per queue, default 1056.
 * @param direct              {@code dom0j.blkback.direct}: open disks with O_DIRECT, default false.
 * @param ioEngine            {@code dom0j.blkback.ioEngine}: URING, SYNC, or null for auto (io_uring where the kernel
 *                            allows it).
 * @param mapPageCache        {@code dom0j.blkback.mapPageCache}: on the grant-copy path through the page cache,
 *                            grant-copy reads straight out of the disk's mapped page cache, and writes straight into
 *                            it on tmpfs (one copy, no system call), default true; false moves them through bounce
 *                            pages with preadv/pwritev.
 * @param nbdTimeoutMillis    {@code dom0j.blkback.nbdTimeoutSeconds}: how long requests in flight to a disk's NBD
 *                            server may go unanswered before the connection is given up (the requests fail, and the
 *                            queue reconnects), default 30 s.
 */
public record BlkbackConfiguration(
    DataPath dataPath,
    int maxQueues,
    int maxRingPageOrder,
    int maxIndirectSegments,
    int maxPersistentGrants,
    boolean direct,
    IoEngine ioEngine,
    boolean mapPageCache,
    long nbdTimeoutMillis)
{
    /** The default NBD timeout: 30 s. */
    public static final long DEFAULT_NBD_TIMEOUT_MILLIS = 30_000;

    /**
     * @throws IllegalArgumentException when a value is out of its range.
     */
    public BlkbackConfiguration
    {
        if (maxQueues < 1 || maxQueues > 64)
        {
            throw new IllegalArgumentException("maxQueues must be 1..64: " + maxQueues);
        }
        if (maxRingPageOrder < 0 || maxRingPageOrder > 4)
        {
            throw new IllegalArgumentException("maxRingPageOrder must be 0..4: " + maxRingPageOrder);
        }
        if (maxIndirectSegments != 0 && (maxIndirectSegments <= BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST ||
            maxIndirectSegments > BlkifConstants.MAX_INDIRECT_SEGMENTS_LIMIT))
        {
            throw new IllegalArgumentException("maxIndirectSegments must be 0 or 12.." +
                BlkifConstants.MAX_INDIRECT_SEGMENTS_LIMIT + ": " + maxIndirectSegments);
        }
        if (maxPersistentGrants < 0)
        {
            throw new IllegalArgumentException("maxPersistentGrants must not be negative: " + maxPersistentGrants);
        }
        if (nbdTimeoutMillis < 100 || nbdTimeoutMillis > 86_400_000L)
        {
            throw new IllegalArgumentException("the NBD timeout must be 0.1 s to 1 day: " + nbdTimeoutMillis + " ms");
        }
    }

    /**
     * @return the defaults, overridden by system properties.
     */
    public static BlkbackConfiguration fromSystemProperties()
    {
        final String path = System.getProperty("dom0j.blkback.dataPath", "auto");
        final String engine = System.getProperty("dom0j.blkback.ioEngine", "auto");
        return new BlkbackConfiguration(
            "auto".equalsIgnoreCase(path) ? null : DataPath.valueOf(path.toUpperCase(java.util.Locale.ROOT)),
            Integer.getInteger("dom0j.blkback.maxQueues", 4),
            Integer.getInteger("dom0j.blkback.maxRingPageOrder", 4),
            Integer.getInteger("dom0j.blkback.maxIndirectSegments", BlkifConstants.DEFAULT_MAX_INDIRECT_SEGMENTS),
            Integer.getInteger("dom0j.blkback.maxPersistentGrants", PersistentGrants.DEFAULT_MAX),
            Boolean.getBoolean("dom0j.blkback.direct"),
            parseIoEngine(engine),
            Boolean.parseBoolean(System.getProperty("dom0j.blkback.mapPageCache", "true")),
            Math.round(1000 * Double.parseDouble(System.getProperty("dom0j.blkback.nbdTimeoutSeconds",
                Double.toString(DEFAULT_NBD_TIMEOUT_MILLIS / 1000.0)))));
    }

    /**
     * @param name "auto", "io_uring" (or "uring") or "sync", in any case.
     * @return the engine, null for auto.
     * @throws IllegalArgumentException for anything else.
     */
    public static IoEngine parseIoEngine(final String name)
    {
        return switch (name.toLowerCase(java.util.Locale.ROOT))
        {
            case "auto" -> null;
            case "io_uring", "uring" -> IoEngine.URING;
            case "sync" -> IoEngine.SYNC;
            default -> throw new IllegalArgumentException("io engine must be auto, io_uring or sync: " + name);
        };
    }

    /**
     * @param path the data path to use.
     * @return a copy with it.
     */
    public BlkbackConfiguration withDataPath(final DataPath path)
    {
        return new BlkbackConfiguration(path, maxQueues, maxRingPageOrder, maxIndirectSegments, maxPersistentGrants,
            direct, ioEngine, mapPageCache, nbdTimeoutMillis);
    }

    /**
     * @param queues the most queues to offer.
     * @return a copy with it.
     */
    public BlkbackConfiguration withMaxQueues(final int queues)
    {
        return new BlkbackConfiguration(dataPath, queues, maxRingPageOrder, maxIndirectSegments, maxPersistentGrants,
            direct, ioEngine, mapPageCache, nbdTimeoutMillis);
    }

    /**
     * @param map whether queues may serve through the disk's mapped page cache.
     * @return a copy with it.
     */
    public BlkbackConfiguration withMapPageCache(final boolean map)
    {
        return new BlkbackConfiguration(dataPath, maxQueues, maxRingPageOrder, maxIndirectSegments,
            maxPersistentGrants, direct, ioEngine, map, nbdTimeoutMillis);
    }

    /**
     * @param openDirect open disks with O_DIRECT.
     * @return a copy with it.
     */
    public BlkbackConfiguration withDirect(final boolean openDirect)
    {
        return new BlkbackConfiguration(dataPath, maxQueues, maxRingPageOrder, maxIndirectSegments,
            maxPersistentGrants, openDirect, ioEngine, mapPageCache, nbdTimeoutMillis);
    }

    /**
     * @param millis how long requests in flight to an NBD server may go unanswered.
     * @return a copy with it.
     */
    public BlkbackConfiguration withNbdTimeoutMillis(final long millis)
    {
        return new BlkbackConfiguration(dataPath, maxQueues, maxRingPageOrder, maxIndirectSegments,
            maxPersistentGrants, direct, ioEngine, mapPageCache, millis);
    }

    /**
     * @param engine the I/O engine to use, null for auto.
     * @return a copy with it.
     */
    public BlkbackConfiguration withIoEngine(final IoEngine engine)
    {
        return new BlkbackConfiguration(dataPath, maxQueues, maxRingPageOrder, maxIndirectSegments,
            maxPersistentGrants, direct, engine, mapPageCache, nbdTimeoutMillis);
    }
}
