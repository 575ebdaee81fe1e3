package org.dom0j.blkback;

import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.blkif.BlkifAbi;

/**
 * What a {@link BlkbackQueue} is made from, besides its connected queue (ring, event channel, queue counters): set
 * by name, Aeron's Context habit, so that the one place that builds a queue ({@link BlkbackDeviceType#connect}, or a
 * test) reads as a list of settings. A disk on NBD is always served by grant copy through bounce pages
 * ({@link NbdPath}): the data path, I/O engine and page-cache mapping set here are for disks in files.
 * <p>
 * Filled in on one thread and handed to the queue, which reads it once.
 */
public final class QueueContext
{
    private String roleName;
    private BlkifAbi abi = BlkifAbi.X86_64;
    private int frontendDomid = -1;
    private GrantTables grantTables;
    private Disk disk;
    private RequestValidator validator;
    private DataPath dataPath = DataPath.COPY;
    private PersistentGrants persistentGrants;
    private BlkbackCounters counters;
    private IoEngine ioEngine = IoEngine.SYNC;
    private boolean mapPageCache;
    private long nbdTimeoutNanos = NbdLink.DEFAULT_TIMEOUT_NANOS;

    /**
     * @param name the queue's name, e.g. "blkback-3-51712-q0" (its log lines start with it).
     * @return this.
     */
    public QueueContext roleName(final String name)
    {
        this.roleName = name;
        return this;
    }

    /**
     * @param abi the frontend's request layout (default x86_64).
     * @return this.
     */
    public QueueContext abi(final BlkifAbi abi)
    {
        this.abi = abi;
        return this;
    }

    /**
     * @param domid the guest.
     * @return this.
     */
    public QueueContext frontendDomid(final int domid)
    {
        this.frontendDomid = domid;
        return this;
    }

    /**
     * @param grantTables the grant handle for data pages (the queue does not close it).
     * @return this.
     */
    public QueueContext grantTables(final GrantTables grantTables)
    {
        this.grantTables = grantTables;
        return this;
    }

    /**
     * @param disk the storage (the queue does not close it).
     * @return this.
     */
    public QueueContext disk(final Disk disk)
    {
        this.disk = disk;
        return this;
    }

    /**
     * @param validator the device's checks (the queue keeps its capacity in step with the disk's size).
     * @return this.
     */
    public QueueContext validator(final RequestValidator validator)
    {
        this.validator = validator;
        return this;
    }

    /**
     * @param dataPath grant copy (the default) or mapping.
     * @return this.
     */
    public QueueContext dataPath(final DataPath dataPath)
    {
        this.dataPath = dataPath;
        return this;
    }

    /**
     * @param grants the persistent grant cache when the frontend asked for feature-persistent and the data path
     *               maps; null (the default) otherwise. The queue closes it.
     * @return this.
     */
    public QueueContext persistentGrants(final PersistentGrants grants)
    {
        this.persistentGrants = grants;
        return this;
    }

    /**
     * @param counters blkback's statistics for the queue (the queue does not close them).
     * @return this.
     */
    public QueueContext counters(final BlkbackCounters counters)
    {
        this.counters = counters;
        return this;
    }

    /**
     * @param engine how the grant-copy path reads and writes the disk (default sync); io_uring falls back to
     *               preadv/pwritev (logged) when the kernel refuses it.
     * @return this.
     */
    public QueueContext ioEngine(final IoEngine engine)
    {
        this.ioEngine = engine;
        return this;
    }

    /**
     * @param map on the grant-copy path through the page cache (not O_DIRECT), serve reads by grant copy straight
     *            from the disk's mapped page cache, and writes into it too when the disk is a writable file on
     *            tmpfs; falls back to bounce pages (logged) when the kernel cannot map or populate. Default false.
     * @return this.
     */
    public QueueContext mapPageCache(final boolean map)
    {
        this.mapPageCache = map;
        return this;
    }

    /**
     * @param nanos on a disk on NBD, how long requests in flight may go without an answer before the server is given
     *              up on (the connection broken, the requests answered with errors). Default 30 s.
     * @return this.
     */
    public QueueContext nbdTimeoutNanos(final long nanos)
    {
        this.nbdTimeoutNanos = nanos;
        return this;
    }

    /**
     * Checks that everything needed was given.
     *
     * @return this.
     * @throws IllegalStateException naming what is missing.
     */
    QueueContext conclude()
    {
        if (null == roleName || null == abi || frontendDomid < 0 || null == grantTables || null == disk ||
            null == validator || null == dataPath || null == counters || null == ioEngine)
        {
            throw new IllegalStateException("a blkback queue needs roleName, abi, frontendDomid, grantTables, " +
                "disk, validator, dataPath, counters and ioEngine: " + this);
        }
        if (null != persistentGrants && (dataPath != DataPath.MAP || !(disk.storage() instanceof FileStorage)))
        {
            throw new IllegalStateException("persistent grants need the map data path and a disk in a file: " + this);
        }
        if (nbdTimeoutNanos <= 0)
        {
            throw new IllegalStateException("the NBD timeout must be positive: " + this);
        }
        return this;
    }

    String roleName()
    {
        return roleName;
    }

    BlkifAbi abi()
    {
        return abi;
    }

    int frontendDomid()
    {
        return frontendDomid;
    }

    GrantTables grantTables()
    {
        return grantTables;
    }

    Disk disk()
    {
        return disk;
    }

    RequestValidator validator()
    {
        return validator;
    }

    DataPath dataPath()
    {
        return dataPath;
    }

    PersistentGrants persistentGrants()
    {
        return persistentGrants;
    }

    BlkbackCounters counters()
    {
        return counters;
    }

    IoEngine ioEngine()
    {
        return ioEngine;
    }

    boolean mapPageCache()
    {
        return mapPageCache;
    }

    long nbdTimeoutNanos()
    {
        return nbdTimeoutNanos;
    }

    @Override
    public String toString()
    {
        return "QueueContext{" + roleName + ", " + abi + ", domid " + frontendDomid + ", " + dataPath + ", " +
            ioEngine + (mapPageCache ? ", map page cache" : "") + (null != persistentGrants ? ", persistent" : "") +
            (null == grantTables ? ", no grant tables" : "") + (null == disk ? ", no disk" : "") +
            (null == validator ? ", no validator" : "") + (null == counters ? ", no counters" : "") + "}";
    }
}
