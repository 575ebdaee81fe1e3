package org.dom0j.blkback;

import org.dom0j.protocol.blkif.BlkifConstants;
import org.dom0j.protocol.blkif.BlkifAbi;

import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.QueueHandler;
import org.dom0j.blkback.jna.IoUring;
import org.dom0j.blkback.jna.MappedFile;
import org.dom0j.blkback.jna.NativeMemory;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.ring.BackRing;
import org.dom0j.ring.RingEntryHandler;

import java.io.IOException;
import java.nio.ByteOrder;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_DISCARD_SECURE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;
import static org.dom0j.protocol.blkif.BlkifConstants.PAGE_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * One ring of a virtual block device, served by one Agrona agent ({@code blkback-<domid>-<devid>-q<N>}): takes
 * requests off the ring, copying each once; validates the copy; moves the data with grant copy (into bounce pages)
 * or with mappings (persistent or not); reads or writes the disk with one preadv/pwritev per request; writes each
 * response slot whole; publishes responses in batches and notifies the frontend only when it asked.
 * <p>
 * On the grant-copy path the reads and writes taken in one pass (up to {@link #BATCH_LIMIT}) are served as a batch:
 * one grant copy brings in the data of all its writes, the disk is read and written in ring order, one grant copy
 * takes out the data of all its reads, then the batch is answered. Through the page cache, reads are not read into
 * bounce pages at all: the grant copy takes them straight from the disk's mapped page cache ({@link MappedFile}),
 * after the batch's writes; on tmpfs writes are copied straight into it too, in the first grant copy. A write that
 * overlaps an earlier request of its batch (either one mapped) is taken only after that batch is served, so ring
 * order still holds. A batch is served early when its bounce pages or
 * its copy batch are full, and before any other operation (flush, barrier, discard), so that operation still finds
 * every request before it completed. Requests in flight together have no order between them in blkif (Linux's
 * blkback runs them in parallel): a frontend that reads into a page another request of the same batch writes from
 * gets either content. A bad grant fails only the request that named it.
 * <p>
 * On the map path requests are served one by one, in ring order, each to completion before the next. Either way a
 * barrier needs no extra draining and a flush covers every write answered before it. Parallelism comes from more
 * queues (multi-queue), one agent each, as Linux's blkback runs one thread per ring.
 * <p>
 * A frontend that breaks the ring protocol (impossible indices) gets its queue disabled: nothing more is read and
 * {@link #violation()} says why. A bad request gets an error response and a counter.
 * <p>
 * Everything is allocated here, at connect: no allocation per request. Not thread safe: the agent's thread only.
 */
public final class BlkbackQueue implements Agent, QueueHandler, RingEntryHandler
{
    /**
     * Most requests taken in one pass (and served as one batch on the grant-copy path) before responses are pushed:
     * half a one-page ring, so that with a full ring the frontend refills one half while the other is served.
     */
    static final int BATCH_LIMIT = 16;
    /**
     * Bounce pages of the grant-copy path, at least: a full batch of direct requests (11 segments each), or one
     * request of the most indirect segments, whichever is more.
     */
    static final int MIN_BOUNCE_PAGES = BATCH_LIMIT * BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST;
    /**
     * With io_uring, large requests in flight at once, each in bounce pages of its own (a 1 MiB request at queue
     * depth 4 is Linux's usual sequential pattern).
     */
    static final int LARGE_REQUESTS_IN_FLIGHT = 4;
    /**
     * With io_uring, a read or write of at least this many bytes is large: it is started as soon as it is taken
     * off the ring (a write right after its grant copy in), handed to the kernel's workers, and answered when it
     * completes (a read right after its grant copy out), while the queue goes on taking and serving requests; so
     * its disk copy and other requests' grant copies run on different CPUs. Smaller ones are batched, where a
     * hand-over would cost more than the copy.
     */
    static final int PIPELINE_BYTES = 128 * 1024;
    /** The user data of a large request's completion: this bit and its slot. */
    private static final long LARGE_TAG = 1L << 32;
    /**
     * Bytes populated through the page-cache mapping after which it is mapped afresh: unmapping frees the page
     * tables the mapping grew (8 bytes per 4 KiB page populated), so that they stay under 8 MiB per queue however
     * much of a large disk the guest touches.
     */
    static final long REMAP_BYTES = 4L << 30;
    /**
     * The largest disk whose page cache a queue maps (each queue maps the whole disk, and 47 bits of address space
     * are shared by every queue of the process); a larger one goes through bounce pages.
     */
    static final long MAX_MAPPED_BYTES = 1L << 40;
    /** The bounce offset of a request served through the page-cache mapping, which needs no bounce pages. */
    private static final int MAPPED = -1;
    /** Most requests served in one duty cycle, so one busy queue cannot starve others on a shared thread. */
    static final int DUTY_CYCLE_LIMIT = 256;
    /** How often the queue that watches the disk's size reads it. */
    static final long SIZE_CHECK_INTERVAL_NANOS = 1_000_000_000L;
    /** Longest sleep of an idle queue that watches nothing (every request comes with an event). */
    static final long IDLE_WAIT_NANOS = 1_000_000_000L;

    private static final Logger LOG = Logger.getLogger(BlkbackQueue.class.getName());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final String roleName;
    private final BlkifAbi abi;
    private final BackRing ring;
    private final AtomicBuffer ringBuffer;
    private final int frontendDomid;
    private final GrantTables gnttab;
    private final EventChannels evtchn;
    private final int port;
    private final Disk disk;
    private final boolean mapsPageCache;
    private boolean mapWrites;
    private MappedFile pageCache;
    private long remapBytes = REMAP_BYTES;
    private int pageCacheMaps;
    private PageCacheChoice pageCacheChoice = PageCacheChoice.measured();
    private int mappedPending;
    private final RequestValidator validator;
    private final DataPath dataPath;
    private final PersistentGrants persistentGrants;
    private final BlkbackCounters counters;

    private final UnsafeBuffer requestCopy;
    private final GrantCopyBatch batch;
    private final GrantCopyBatch indirectBatch;
    private final NativeMemory bounceMemory;
    private final UnsafeBuffer bounce;
    private final int bounceCapacity;
    private IoUring uring;
    private final UnsafeBuffer batchIovecs;
    private final IoUring.CompletionHandler diskCompletion = this::onDiskCompletion;
    private int awaiting;
    private final BlkifRequest[] large;
    private final RequestVerdict[] largeVerdict;
    private final NativeMemory largeBounce;
    private final int largeSlotBytes;
    private final int[] largeFree;
    private int largeFreeCount;
    private int largeInFlight;
    private boolean closing;
    private final BlkifRequest[] pending;
    private final RequestVerdict[] pendingVerdict;
    private final int[] pendingBounce;
    private final int[] pendingCopyFirst;
    private BlkifRequest incoming;
    private int pendingCount;
    private int bounceUsed;
    private int pendingSegments;
    private final UnsafeBuffer indirectPages;
    private final UnsafeBuffer iovecs;
    private final int[] refs;
    private final GrantMapping[] transientMappings;
    private int transientCount;
    private ResizeListener resizeListener;
    private long nextSizeCheck;
    private String violation;
    private String lastError;

    /**
     * @param roleName         the agent's name, e.g. "blkback-3-51712-q0".
     * @param abi              the frontend's request layout.
     * @param ring             the back ring over the mapped ring pages.
     * @param frontendDomid    the guest.
     * @param gnttab           grant handle for data pages.
     * @param evtchn           the handle {@code port} is bound on; this queue drains its events.
     * @param port             the local port bound to the frontend's event channel.
     * @param disk             the storage.
     * @param validator        the device's checks.
     * @param dataPath         grant copy or mapping.
     * @param persistentGrants the persistent grant cache when the frontend asked for feature-persistent and the
     *                         data path maps; null otherwise.
     * @param counters         where to count.
     * @param ioEngine         how to read and write the disk; io_uring falls back to preadv/pwritev (logged) when
     *                         the kernel refuses it.
     * @param mapPageCache     on the grant-copy path through the page cache (not O_DIRECT), serve reads by grant
     *                         copy straight from the disk's mapped page cache, and writes into it too when the disk
     *                         is a writable file on tmpfs; falls back to preadv/pwritev (logged) when the kernel
     *                         cannot map or populate.
     */
    public BlkbackQueue(
        final String roleName,
        final BlkifAbi abi,
        final BackRing ring,
        final int frontendDomid,
        final GrantTables gnttab,
        final EventChannels evtchn,
        final int port,
        final Disk disk,
        final RequestValidator validator,
        final DataPath dataPath,
        final PersistentGrants persistentGrants,
        final BlkbackCounters counters,
        final IoEngine ioEngine,
        final boolean mapPageCache)
    {
        this.roleName = roleName;
        this.abi = abi;
        this.ring = ring;
        this.ringBuffer = ring.buffer();
        this.frontendDomid = frontendDomid;
        this.gnttab = gnttab;
        this.evtchn = evtchn;
        this.port = port;
        this.disk = disk;
        this.validator = validator;
        this.dataPath = dataPath;
        this.persistentGrants = persistentGrants;
        this.counters = counters;

        final int maxSegments =
            Math.max(BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST, validator.maxIndirectSegments());
        if (ioEngine == IoEngine.URING)
        {
            try
            {
                // Room for a whole batch and every large request in flight beside it.
                uring = IoUring.open(BATCH_LIMIT + LARGE_REQUESTS_IN_FLIGHT);
            }
            catch (final IOException ex)
            {
                LOG.warning(() -> roleName + ": " + ex.getMessage() + "; this queue reads and writes with preadv");
            }
        }
        final int bouncePages = Math.max(maxSegments, MIN_BOUNCE_PAGES);
        final int largeSlots = null != uring && dataPath == DataPath.COPY &&
            maxSegments * PAGE_SIZE >= PIPELINE_BYTES ? LARGE_REQUESTS_IN_FLIGHT : 0;
        largeSlotBytes = maxSegments * PAGE_SIZE;
        large = new BlkifRequest[largeSlots];
        largeVerdict = new RequestVerdict[largeSlots];
        largeFree = new int[largeSlots];
        for (int i = 0; i < largeSlots; i++)
        {
            large[i] = new BlkifRequest(maxSegments);
            largeFree[largeFreeCount++] = i;
        }
        largeBounce = largeSlots > 0 ? NativeMemory.allocate(largeSlots * largeSlotBytes) : null;
        requestCopy = new UnsafeBuffer(new byte[ring.layout().slotLength()]);
        incoming = new BlkifRequest(maxSegments);
        batch = new GrantCopyBatch(dataPath == DataPath.COPY ? bouncePages : maxSegments);
        indirectBatch = new GrantCopyBatch(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
        bounceCapacity = dataPath == DataPath.COPY ? bouncePages * PAGE_SIZE : 0;
        bounceMemory = dataPath == DataPath.COPY ? NativeMemory.allocate(bounceCapacity) : null;
        bounce = null != bounceMemory ? bounceMemory.buffer() : null;
        batchIovecs = new UnsafeBuffer(BufferUtil.allocateDirectAligned((BATCH_LIMIT + largeSlots) * 16, 64));
        indirectPages = new UnsafeBuffer(
            BufferUtil.allocateDirectAligned(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * PAGE_SIZE, PAGE_SIZE));
        iovecs = new UnsafeBuffer(BufferUtil.allocateDirectAligned(maxSegments * 16, 64));
        refs = new int[maxSegments];
        transientMappings = new GrantMapping[maxSegments];
        pending = new BlkifRequest[BATCH_LIMIT];
        for (int i = 0; i < BATCH_LIMIT; i++)
        {
            pending[i] = new BlkifRequest(maxSegments);
        }
        pendingVerdict = new RequestVerdict[BATCH_LIMIT];
        pendingBounce = new int[BATCH_LIMIT];
        pendingCopyFirst = new int[BATCH_LIMIT];
        this.mapsPageCache = mapPageCache && dataPath == DataPath.COPY && !disk.file().isDirect();
        if (this.mapsPageCache)
        {
            try
            {
                mapWrites = !disk.isReadOnly() && disk.file().isOnTmpfs();
            }
            catch (final IOException ex)
            {
                LOG.warning(() -> roleName + ": " + ex.getMessage() + "; writes go through pwritev");
            }
            mapPageCache();
        }
    }

    /**
     * Maps the disk's page cache afresh at the disk's current size, dropping the old mapping and the page tables it
     * grew. Without a mapping (a kernel that cannot, an empty disk, one over {@link #MAX_MAPPED_BYTES}) reads go
     * through preadv.
     */
    private void mapPageCache()
    {
        if (null != pageCache)
        {
            pageCache.close();
            pageCache = null;
        }
        final long size = disk.sizeBytes();
        if (size <= 0 || size > MAX_MAPPED_BYTES)
        {
            return;
        }
        try
        {
            pageCache = MappedFile.map(disk.file(), size, mapWrites);
            pageCacheMaps++;
        }
        catch (final IOException ex)
        {
            LOG.warning(() -> roleName + ": " + ex.getMessage() + "; this queue now goes through bounce pages");
        }
    }

    /**
     * For tests: how soon the page-cache mapping is renewed.
     *
     * @param bytes bytes populated through it after which it is mapped afresh.
     * @return this.
     */
    BlkbackQueue remapPageCacheEvery(final long bytes)
    {
        remapBytes = bytes;
        return this;
    }

    /**
     * For tests: how the queue chooses between the page-cache mapping and bounce pages.
     *
     * @param choice e.g. {@link PageCacheChoice#alwaysMapped()}.
     * @return this.
     */
    BlkbackQueue pageCacheChoice(final PageCacheChoice choice)
    {
        pageCacheChoice = choice;
        return this;
    }

    /**
     * @return how the queue chooses between the page-cache mapping and bounce pages.
     */
    PageCacheChoice pageCacheChoice()
    {
        return pageCacheChoice;
    }

    /**
     * @return whether reads are served from the disk's mapped page cache now.
     */
    public boolean readsFromPageCache()
    {
        return null != pageCache;
    }

    /**
     * @return whether writes are copied straight into the disk's mapped page cache now (a writable disk on tmpfs).
     */
    public boolean writesToPageCache()
    {
        return null != pageCache && pageCache.isWritable();
    }

    /**
     * @return how many times the page cache was mapped (for tests: renewals and resizes map it again).
     */
    int pageCacheMaps()
    {
        return pageCacheMaps;
    }

    /**
     * Told on the queue's thread when this queue found that the disk changed size (online resize).
     */
    @FunctionalInterface
    public interface ResizeListener
    {
        /**
         * @param sectors the new size in 512-byte sectors.
         */
        void onResize(long sectors);
    }

    /**
     * Makes this queue the one that watches the disk's size, once a second, as Linux's blkback does in its ring
     * thread; other queues of the device pick the new size up from the shared {@link Disk}.
     *
     * @param listener told when the size changed.
     * @return this.
     */
    public BlkbackQueue watchDiskSize(final ResizeListener listener)
    {
        this.resizeListener = listener;
        return this;
    }

    @Override
    public String roleName()
    {
        return roleName;
    }

    /**
     * @return why the frontend's ring was disabled, or null while it is served.
     */
    public String violation()
    {
        return violation;
    }

    /**
     * @return the last error met serving a request (for logs and tests), or null.
     */
    public String lastError()
    {
        return lastError;
    }

    /**
     * @return the counters.
     */
    public BlkbackCounters counters()
    {
        return counters;
    }

    /**
     * @return how this queue reads and writes its disk.
     */
    public IoEngine ioEngine()
    {
        return null != uring ? IoEngine.URING : IoEngine.SYNC;
    }

    /**
     * @return the local event channel port.
     */
    public int port()
    {
        return port;
    }

    /**
     * Standalone use (tests, tools): drains this queue's events, serves the ring, and checks once more before
     * idling.
     *
     * @return work done.
     */
    @Override
    public int doWork()
    {
        final int events = drainEvents();
        final int served = serveRing(null);
        if (served == 0 && null == violation && ring.finalCheckForRequests())
        {
            return events + 1 + serveRing(null);
        }
        return events + served;
    }

    /**
     * Inside the backend framework: the {@code RingAgent} drains events and makes the final check.
     *
     * @param queue the connected queue this handler was made for.
     * @return requests served.
     */
    @Override
    public int doWork(final ConnectedQueue queue)
    {
        return serveRing(queue);
    }

    /**
     * An idle queue sleeps on its event channel until its next timed duty, so that a quiet disk costs a wake-up a
     * second rather than one a millisecond (a hundred idle disks took a CPU of dom0j serve): every request comes
     * with the frontend's event, and the only duties that time brings are the disk size check (once a second) and,
     * on the map path, the purge of persistent grants (every 100 ms while any are held). While large requests are in
     * flight on io_uring, whose completions no event announces, the scheduler's own short wait applies.
     */
    @Override
    public long idleWaitNanos(final ConnectedQueue queue, final long nowNanos)
    {
        if (largeInFlight > 0)
        {
            return -1;
        }
        long wait = null == resizeListener ? IDLE_WAIT_NANOS : Math.max(0, nextSizeCheck - nowNanos);
        if (null != persistentGrants && persistentGrants.size() > 0)
        {
            wait = Math.min(wait, PersistentGrants.PURGE_INTERVAL_NANOS);
        }
        return wait;
    }

    @Override
    public void onClose(final ConnectedQueue queue)
    {
        onClose();
    }

    private int serveRing(final ConnectedQueue queue)
    {
        if (null != violation)
        {
            return 0;
        }
        int served = checkDiskSize() + reapLarge();
        while (served < DUTY_CYCLE_LIMIT)
        {
            final int taken = ring.consumeRequests(this, requestCopy, 0, BATCH_LIMIT);
            servePending();
            if (taken == BackRing.PROTOCOL_VIOLATION)
            {
                disable(ring.violation());
                break;
            }
            if (taken == 0)
            {
                break;
            }
            served += taken;
            if (null != queue)
            {
                queue.pushResponsesAndNotify();
            }
            else if (ring.pushResponsesAndCheckNotify())
            {
                evtchn.notify(port);
            }
        }
        if (null != persistentGrants)
        {
            served += persistentGrants.purge(System.nanoTime());
        }
        if (served == 0 && largeInFlight > 0 && null == violation)
        {
            // Nothing on the ring, large requests still in flight: wait for one rather than sleep on the event
            // channel, which no completion wakes.
            served += awaitLarge(largeInFlight - 1);
        }
        return served;
    }

    /**
     * Answers the large requests that completed.
     *
     * @return how many.
     */
    private int reapLarge()
    {
        if (largeInFlight == 0 || uring.ready() == 0)
        {
            return 0;
        }
        final int before = largeInFlight;
        uring.reap(diskCompletion);
        return before - largeInFlight;
    }

    /**
     * Waits until at most {@code most} large requests are in flight, answering those that complete.
     *
     * @return how many were answered.
     */
    private int awaitLarge(final int most)
    {
        final int before = largeInFlight;
        try
        {
            while (largeInFlight > most)
            {
                if (uring.ready() == 0)
                {
                    uring.submit(1);
                }
                uring.reap(diskCompletion);
            }
        }
        catch (final IOException ex)
        {
            abandonRing(ex);
        }
        return before - largeInFlight;
    }

    private int checkDiskSize()
    {
        int work = 0;
        if (null != resizeListener)
        {
            final long now = System.nanoTime();
            if (now - nextSizeCheck >= 0)
            {
                nextSizeCheck = now + SIZE_CHECK_INTERVAL_NANOS;
                try
                {
                    if (disk.refreshSize())
                    {
                        resizeListener.onResize(disk.sectors512());
                        work++;
                    }
                }
                catch (final IOException ex)
                {
                    ioError(ex.getMessage());
                }
            }
        }
        final long sectors = disk.sectors512();
        if (sectors != validator.capacity())
        {
            validator.capacity(sectors);
            LOG.info(() -> roleName + ": disk is now " + sectors + " sectors");
            if (mapsPageCache)
            {
                mapPageCache();
            }
            work++;
        }
        else if (null != pageCache && pageCache.populatedBytes() >= remapBytes)
        {
            mapPageCache();
        }
        return work;
    }

    private int drainEvents()
    {
        int events = 0;
        int fired;
        while ((fired = evtchn.pending()) >= 0)
        {
            evtchn.unmask(fired);
            events++;
        }
        return events;
    }

    private void disable(final String reason)
    {
        violation = reason;
        ring.disable(reason);
        LOG.warning(() -> roleName + ": frontend broke the ring protocol, queue disabled: " + reason);
    }

    @Override
    public void onEntry(final MutableDirectBuffer copy, final int offset, final int index)
    {
        final BlkifRequest r = incoming;
        r.decode(copy, offset, abi);
        r.journalEntry(ring.lastJournalEntry());
        final int op = r.ioOperation();
        if (dataPath == DataPath.COPY && (op == BLKIF_OP_READ || op == BLKIF_OP_WRITE))
        {
            addToBatch(r);
            return;
        }
        // Anything else is served alone, after every request taken before it.
        servePending();
        if (largeInFlight > 0)
        {
            awaitLarge(0);
        }
        final RequestVerdict verdict = serve(r);
        complete(r, verdict);
    }

    /**
     * Validates a read or write, gives it room in the bounce pages (serving the batch first when it is full) and
     * adds it to the batch.
     */
    private void addToBatch(final BlkifRequest r)
    {
        if (pendingCount == BATCH_LIMIT)
        {
            servePending();
        }
        RequestVerdict verdict = validator.checkHeader(r);
        if (verdict == RequestVerdict.OK && r.isIndirect())
        {
            verdict = loadIndirectSegments(r);
        }
        if (verdict == RequestVerdict.OK)
        {
            verdict = validator.checkSegments(r);
        }
        final boolean mapped = verdict == RequestVerdict.OK && null != pageCache && isMapped(r);
        if (verdict == RequestVerdict.OK && large.length > 0 && null != uring)
        {
            if (!mapped && r.totalSectors() * SECTOR_SIZE >= PIPELINE_BYTES && startLarge(r))
            {
                return;
            }
            if (overlapsLarge(r.sectorNumber(), r.totalSectors(), r.ioOperation() == BLKIF_OP_WRITE))
            {
                awaitLarge(0);
            }
        }
        int at = 0;
        if (verdict == RequestVerdict.OK)
        {
            final long bytes = r.totalSectors() * SECTOR_SIZE;
            final int segments = r.segmentsLoaded();
            if (r.ioOperation() == BLKIF_OP_WRITE && (mapped || mappedPending > 0) && overlapsPending(r, true))
            {
                // Reads from the page cache copy after the batch's writes, and writes into it before the others'
                // disk I/O: a request before this write in ring order that it overlaps is served first, so it
                // still sees (or lands under) what was there before.
                servePending();
            }
            if (mapped)
            {
                if (pendingSegments + segments > batch.capacity())
                {
                    servePending();
                }
                at = MAPPED;
                mappedPending++;
            }
            else
            {
                // Each request starts on a page, so O_DIRECT finds its buffer aligned.
                at = align(bounceUsed);
                if (at + bytes > bounceCapacity || pendingSegments + segments > batch.capacity())
                {
                    servePending();
                    at = 0;
                }
                bounceUsed = at + (int)bytes;
            }
            pendingSegments += segments;
        }
        final int k = pendingCount++;
        incoming = pending[k];
        pending[k] = r;
        pendingVerdict[k] = verdict;
        pendingBounce[k] = at;
    }

    /**
     * Whether a read (or, mapped writable, a write) can be served from the page-cache mapping: inside it, and its
     * pages present (read in or allocated now when they were not). A page that cannot be leaves the request to
     * preadv or pwritev, which reports the error. A large read of pages not populated yet, off tmpfs, is not
     * mapped: populating would read them from the disk on this thread, where io_uring's workers read them while the
     * queue goes on (its completion populates them for the next time).
     */
    private boolean isMapped(final BlkifRequest r)
    {
        if (!pageCacheChoice.useMapping())
        {
            return false;
        }
        final long position = r.sectorNumber() * SECTOR_SIZE;
        final long bytes = r.totalSectors() * SECTOR_SIZE;
        if ((r.ioOperation() != BLKIF_OP_READ && !pageCache.isWritable()) || bytes <= 0 ||
            position + bytes > pageCache.length())
        {
            return false;
        }
        if (bytes >= PIPELINE_BYTES && large.length > 0 && null != uring && !pageCache.isWritable() &&
            !pageCache.isPopulated(position, bytes))
        {
            return false;
        }
        return pageCache.populate(position, bytes) == 0;
    }

    private static int align(final int bytes)
    {
        return (bytes + PAGE_SIZE - 1) & -PAGE_SIZE;
    }

    /**
     * Serves the batch: one grant copy in for its writes, the disk (all at once with io_uring, else in ring order),
     * one grant copy out for its reads, then a response each.
     */
    private void servePending()
    {
        final int n = pendingCount;
        if (n == 0)
        {
            return;
        }
        final long started = System.nanoTime();
        final int pages = pendingSegments;
        final long base = bounce.addressOffset();
        if (!copyBatch(BLKIF_OP_WRITE, base))
        {
            serveAgainAlone();
        }
        else
        {
            if (null != uring && disk.file().isDirect())
            {
                diskByUring(n, base);
            }
            else
            {
                // Through the page cache a small request is a memory copy that costs less than a hand-over to a
                // kernel worker (io_uring hands buffered I/O to workers on file systems that cannot try it without
                // blocking, tmpfs among them), so it is read or written here.
                for (int k = 0; k < n; k++)
                {
                    if (pendingVerdict[k] == RequestVerdict.OK && pendingBounce[k] != MAPPED)
                    {
                        pendingVerdict[k] = diskTransfer(pending[k], base + pendingBounce[k],
                            pending[k].ioOperation() == BLKIF_OP_WRITE);
                    }
                }
            }
            if (!copyBatch(BLKIF_OP_READ, base))
            {
                copyReadsAgainAlone(base);
            }
        }
        for (int k = 0; k < n; k++)
        {
            answer(pending[k], pendingVerdict[k]);
        }
        pendingCount = 0;
        bounceUsed = 0;
        pendingSegments = 0;
        mappedPending = 0;
        if (null != pageCache)
        {
            final long now = System.nanoTime();
            final boolean wasMapped = pageCacheChoice.useMapping();
            pageCacheChoice.record(pages, now - started, now);
            if (wasMapped != pageCacheChoice.useMapping() && LOG.isLoggable(Level.FINE))
            {
                LOG.fine(roleName + ": now through " + (pageCacheChoice.useMapping() ? "the page-cache mapping" :
                    "bounce pages") + String.format(" (busy ns per page: mapping %.0f, bounce pages %.0f)",
                    pageCacheChoice.mappedNanosPerPage(), pageCacheChoice.bounceNanosPerPage()));
            }
        }
    }

    /**
     * The batch's disk I/O with io_uring on an {@code O_DIRECT} disk: its requests are submitted together, one
     * system call, all of them in flight on the device; one that overlaps an earlier one waits for it.
     */
    private void diskByUring(final int n, final long base)
    {
        final int fd = disk.file().fd();
        awaiting = 0;
        try
        {
            for (int k = 0; k < n; k++)
            {
                if (pendingVerdict[k] != RequestVerdict.OK)
                {
                    continue;
                }
                final BlkifRequest r = pending[k];
                final boolean write = r.ioOperation() == BLKIF_OP_WRITE;
                final int flags = overlapsEarlier(k, write) ? IoUring.IOSQE_IO_DRAIN : 0;
                prepare(fd, r, base + pendingBounce[k], k, k, flags);
                awaiting++;
            }
            uring.submit(0);
            while (awaiting > 0)
            {
                if (uring.ready() == 0)
                {
                    uring.submit(1);
                }
                uring.reap(diskCompletion);
            }
        }
        catch (final IOException ex)
        {
            abandonRing(ex);
        }
    }

    private void prepare(
        final int fd, final BlkifRequest r, final long address, final int iovecIndex, final long userData,
        final int flags)
    {
        final long iov = batchIovecs.addressOffset() + iovecIndex * 16L;
        batchIovecs.putLong(iovecIndex * 16, address, ByteOrder.nativeOrder());
        batchIovecs.putLong(iovecIndex * 16 + 8, r.totalSectors() * SECTOR_SIZE, ByteOrder.nativeOrder());
        final long position = r.sectorNumber() * SECTOR_SIZE;
        if (r.ioOperation() == BLKIF_OP_WRITE)
        {
            uring.prepareWritev(fd, iov, 1, position, userData, flags);
        }
        else
        {
            uring.prepareReadv(fd, iov, 1, position, userData, flags);
        }
    }

    /**
     * io_uring_enter itself failed (an I/O error comes as a completion, not this): the ring is given up, every
     * request still waiting on it fails, and the queue goes on with preadv/pwritev.
     */
    private void abandonRing(final IOException ex)
    {
        LOG.warning(() -> roleName + ": " + ex.getMessage() + "; this queue now reads and writes with preadv");
        uring.close();
        uring = null;
        if (awaiting > 0)
        {
            for (int k = 0; k < pendingCount; k++)
            {
                if (pendingVerdict[k] == RequestVerdict.OK)
                {
                    pendingVerdict[k] = ioError(ex.getMessage());
                }
            }
            awaiting = 0;
        }
        for (int slot = 0; slot < large.length && largeInFlight > 0; slot++)
        {
            if (!isFree(slot))
            {
                largeVerdict[slot] = ioError(ex.getMessage());
                finishLarge(slot);
            }
        }
    }

    /**
     * Starts a large request (see {@link #PIPELINE_BYTES}) in bounce pages of its own, after whatever taken before
     * it that it overlaps: its grant copy in for a write, then its I/O, handed to a kernel worker.
     *
     * @return false when the ring was given up meanwhile: the caller serves it in the batch.
     */
    private boolean startLarge(final BlkifRequest r)
    {
        final boolean write = r.ioOperation() == BLKIF_OP_WRITE;
        if (overlapsPending(r, write))
        {
            servePending();
        }
        if (overlapsLarge(r.sectorNumber(), r.totalSectors(), write))
        {
            awaitLarge(0);
        }
        if (largeFreeCount == 0)
        {
            awaitLarge(large.length - 1);
        }
        if (null == uring)
        {
            return false;
        }
        final int slot = largeFree[--largeFreeCount];
        incoming = large[slot];
        large[slot] = r;
        largeVerdict[slot] = RequestVerdict.OK;
        largeInFlight++;
        final long address = largeAddress(slot);
        if (write && !copy(r, address, false))
        {
            largeVerdict[slot] = RequestVerdict.BAD_GRANT;
            finishLarge(slot);
            return true;
        }
        prepare(disk.file().fd(), r, address, BATCH_LIMIT + slot, LARGE_TAG | slot, IoUring.IOSQE_ASYNC);
        try
        {
            uring.submit(0);
        }
        catch (final IOException ex)
        {
            abandonRing(ex);
        }
        return true;
    }

    private long largeAddress(final int slot)
    {
        return largeBounce.buffer().addressOffset() + (long)slot * largeSlotBytes;
    }

    private boolean isFree(final int slot)
    {
        for (int i = 0; i < largeFreeCount; i++)
        {
            if (largeFree[i] == slot)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Answers a large request, frees its slot and pushes the answer at once, so that the frontend can reuse its
     * ring slot while the queue serves others.
     */
    private void finishLarge(final int slot)
    {
        if (null == violation && !closing)
        {
            answer(large[slot], largeVerdict[slot]);
            if (ring.pushResponsesAndCheckNotify())
            {
                evtchn.notify(port);
            }
        }
        largeFree[largeFreeCount++] = slot;
        largeInFlight--;
    }

    private boolean overlapsPending(final BlkifRequest r, final boolean write)
    {
        final long start = r.sectorNumber();
        final long end = start + r.totalSectors();
        for (int j = 0; j < pendingCount; j++)
        {
            if (overlaps(pending[j], pendingVerdict[j], start, end, write))
            {
                return true;
            }
        }
        return false;
    }

    private boolean overlapsLarge(final long start, final long sectors, final boolean write)
    {
        if (largeInFlight == 0)
        {
            return false;
        }
        for (int slot = 0; slot < large.length; slot++)
        {
            if (!isFree(slot) && overlaps(large[slot], largeVerdict[slot], start, start + sectors, write))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether request {@code k} touches sectors an earlier request of the batch writes, or writes sectors an earlier
     * one reads. blkif orders nothing between requests in flight together, but the batch keeps ring order for them
     * anyway (as the preadv path does): such a request waits for every one before it.
     */
    private boolean overlapsEarlier(final int k, final boolean write)
    {
        final long start = pending[k].sectorNumber();
        final long end = start + pending[k].totalSectors();
        for (int j = 0; j < k; j++)
        {
            if (overlaps(pending[j], pendingVerdict[j], start, end, write))
            {
                return true;
            }
        }
        return false;
    }

    private static boolean overlaps(
        final BlkifRequest other, final RequestVerdict verdict, final long start, final long end, final boolean write)
    {
        return verdict == RequestVerdict.OK && (write || other.ioOperation() == BLKIF_OP_WRITE) &&
            other.sectorNumber() < end && start < other.sectorNumber() + other.totalSectors();
    }

    private void onDiskCompletion(final long userData, final int result)
    {
        final boolean isLarge = (userData & LARGE_TAG) != 0;
        final int k = (int)(userData & 0xFFFF);
        final BlkifRequest r = isLarge ? large[k] : pending[k];
        final boolean write = r.ioOperation() == BLKIF_OP_WRITE;
        final long position = r.sectorNumber() * SECTOR_SIZE;
        RequestVerdict verdict = RequestVerdict.OK;
        if (result < 0)
        {
            verdict = ioError((write ? "pwritev" : "preadv") + " on " + disk.file().path() + " at " + position +
                " failed: " + Errno.describe(-result));
        }
        else if (result != r.totalSectors() * SECTOR_SIZE)
        {
            verdict = ioError((write ? "short write at " : "short read at ") + position);
        }
        if (!isLarge)
        {
            awaiting--;
            pendingVerdict[k] = verdict;
            return;
        }
        if (verdict == RequestVerdict.OK && !write)
        {
            if (null != pageCache && position + result <= pageCache.length())
            {
                // Its pages are cached now: populated, the next read of them is copied straight from the cache.
                pageCache.populate(position, result);
            }
            if (!copy(r, largeAddress(k), true))
            {
                verdict = RequestVerdict.BAD_GRANT;
            }
        }
        largeVerdict[k] = verdict;
        finishLarge(k);
    }

    private void answer(final BlkifRequest r, final RequestVerdict verdict)
    {
        if (verdict == RequestVerdict.OK)
        {
            count(r, r.ioOperation() == BLKIF_OP_WRITE, r.totalSectors());
        }
        complete(r, verdict);
    }

    /**
     * One request's grant copy on its own.
     *
     * @return whether every segment was copied.
     */
    private boolean copy(final BlkifRequest r, final long address, final boolean toForeign)
    {
        batch.clear();
        addCopies(r, address, toForeign);
        try
        {
            gnttab.copy(batch);
        }
        catch (final XenException ex)
        {
            lastError = ex.getMessage();
            return false;
        }
        return batch.allOkay();
    }

    private void addCopies(final BlkifRequest r, final long address, final boolean toForeign)
    {
        long at = address;
        for (int i = 0, n = r.segmentsLoaded(); i < n; i++)
        {
            final int length = r.segmentLength(i);
            if (toForeign)
            {
                batch.addToForeign(frontendDomid, r.segmentGref(i), r.segmentOffset(i), at, length);
            }
            else
            {
                batch.addFromForeign(frontendDomid, r.segmentGref(i), r.segmentOffset(i), at, length);
            }
            at += length;
        }
    }

    /**
     * The batch's grant copy in failed as a whole (a bad grant fails only its own operation): on Xen that is our
     * side, e.g. a page of the mapped page cache that could not be written after all. Nothing of the batch has
     * reached the disk but what that call wrote into the mapping, so every request still good is served again one
     * at a time, in ring order, through bounce pages, and an error lands on the request it belongs to.
     */
    private void serveAgainAlone()
    {
        for (int k = 0; k < pendingCount; k++)
        {
            if (pendingVerdict[k] == RequestVerdict.OK)
            {
                pendingVerdict[k] = transferByCopy(pending[k], pending[k].ioOperation() == BLKIF_OP_WRITE);
            }
        }
    }

    /**
     * The batch's grant copy out failed as a whole: each read still good is copied out again on its own. One read
     * into bounce pages is copied from there (its data is what the disk held at its turn in ring order); one served
     * from the page cache (no write of the batch overlaps it) is read again into bounce pages, after the others,
     * whose bounce pages that reuses.
     */
    private void copyReadsAgainAlone(final long base)
    {
        for (int k = 0; k < pendingCount; k++)
        {
            if (pendingVerdict[k] == RequestVerdict.OK && pending[k].ioOperation() == BLKIF_OP_READ &&
                pendingBounce[k] != MAPPED)
            {
                pendingVerdict[k] = copy(pending[k], base + pendingBounce[k], true) ?
                    RequestVerdict.OK : RequestVerdict.BAD_GRANT;
            }
        }
        for (int k = 0; k < pendingCount; k++)
        {
            if (pendingVerdict[k] == RequestVerdict.OK && pending[k].ioOperation() == BLKIF_OP_READ &&
                pendingBounce[k] == MAPPED)
            {
                pendingVerdict[k] = transferByCopy(pending[k], false);
            }
        }
    }

    /**
     * One grant-copy call for the data of every request of the batch doing {@code op} that is still good (in for
     * writes, out for reads); a request with a copy that did not succeed fails.
     *
     * @return false when the call failed as a whole: nothing was marked (see {@link #serveAgainAlone} and
     *         {@link #copyReadsAgainAlone}).
     */
    private boolean copyBatch(final int op, final long base)
    {
        batch.clear();
        for (int k = 0; k < pendingCount; k++)
        {
            if (pendingVerdict[k] == RequestVerdict.OK && pending[k].ioOperation() == op)
            {
                pendingCopyFirst[k] = batch.count();
                addCopies(pending[k], pendingBounce[k] == MAPPED ?
                    pageCache.address() + pending[k].sectorNumber() * SECTOR_SIZE : base + pendingBounce[k],
                    op == BLKIF_OP_READ);
            }
        }
        if (batch.count() == 0)
        {
            return true;
        }
        try
        {
            gnttab.copy(batch);
        }
        catch (final XenException ex)
        {
            lastError = ex.getMessage();
            return false;
        }
        for (int k = 0; k < pendingCount; k++)
        {
            if (pendingVerdict[k] == RequestVerdict.OK && pending[k].ioOperation() == op)
            {
                final int first = pendingCopyFirst[k];
                for (int i = first, end = first + pending[k].segmentsLoaded(); i < end; i++)
                {
                    if (batch.status(i) != GrantCopyBatch.GNTST_OKAY)
                    {
                        pendingVerdict[k] = RequestVerdict.BAD_GRANT;
                        break;
                    }
                }
            }
        }
        return true;
    }

    /**
     * Reads or writes a request's sectors from or into one contiguous buffer (its bounce pages).
     */
    private RequestVerdict diskTransfer(final BlkifRequest r, final long address, final boolean write)
    {
        final long position = r.sectorNumber() * SECTOR_SIZE;
        final long bytes = r.totalSectors() * SECTOR_SIZE;
        iovecs.putLong(0, address, ByteOrder.nativeOrder());
        iovecs.putLong(8, bytes, ByteOrder.nativeOrder());
        try
        {
            if (write)
            {
                return disk.file().pwritev(iovecs.addressOffset(), 1, position) == bytes ?
                    RequestVerdict.OK : ioError("short write at " + position);
            }
            return disk.file().preadv(iovecs.addressOffset(), 1, position) == bytes ?
                RequestVerdict.OK : ioError("short read at " + position);
        }
        catch (final IOException ex)
        {
            return ioError(ex.getMessage());
        }
    }

    private void complete(final BlkifRequest r, final RequestVerdict verdict)
    {
        if (verdict != RequestVerdict.OK)
        {
            counters.errors.increment();
            if (LOG.isLoggable(Level.FINE))
            {
                LOG.fine(roleName + ": request " + r.id() + " op " + r.operation() + ": " + verdict.reason());
            }
        }
        // Linux answers with the operation performed: an indirect request's indirect_op, which blkfront checks.
        respond(r.journalEntry(), r.id(), r.ioOperation(), verdict.status());
    }

    private void respond(final int journalEntry, final long id, final int operation, final short status)
    {
        // The ring zeroes the whole response before it is handed over: no stale bytes reach the guest (XSA-216).
        final int at = ring.claimResponse(journalEntry);
        ringBuffer.putLong(at, id, LE);
        ringBuffer.putByte(at + 8, (byte)operation);
        ringBuffer.putShort(at + 10, status, LE);
        ring.commitResponse();
    }

    private RequestVerdict serve(final BlkifRequest request)
    {
        RequestVerdict verdict = validator.checkHeader(request);
        if (verdict != RequestVerdict.OK)
        {
            return verdict;
        }
        if (request.isIndirect())
        {
            verdict = loadIndirectSegments(request);
            if (verdict != RequestVerdict.OK)
            {
                return verdict;
            }
        }
        switch (request.ioOperation())
        {
            case BLKIF_OP_READ, BLKIF_OP_WRITE ->
            {
                verdict = validator.checkSegments(request);
                if (verdict != RequestVerdict.OK)
                {
                    return verdict;
                }
                return transfer(request, request.ioOperation() == BLKIF_OP_WRITE);
            }
            case BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE ->
            {
                verdict = validator.checkSegments(request);
                if (verdict != RequestVerdict.OK)
                {
                    return verdict;
                }
                counters.fReq.increment();
                // Every earlier request of this ring has completed (served in order): make them durable, then the
                // request's own data; a barrier's data is made durable too.
                verdict = flush();
                if (verdict == RequestVerdict.OK && request.segmentsLoaded() > 0)
                {
                    verdict = transfer(request, true);
                    if (verdict == RequestVerdict.OK && request.ioOperation() == BLKIF_OP_WRITE_BARRIER)
                    {
                        verdict = flush();
                    }
                }
                return verdict;
            }
            case BLKIF_OP_DISCARD ->
            {
                counters.dsReq.increment();
                return discard(request);
            }
            default ->
            {
                return RequestVerdict.UNSUPPORTED_OPERATION;
            }
        }
    }

    private RequestVerdict loadIndirectSegments(final BlkifRequest request)
    {
        final int pages = request.indirectPageCount();
        indirectBatch.clear();
        for (int p = 0; p < pages; p++)
        {
            final long to = indirectPages.addressOffset() + (long)p * PAGE_SIZE;
            indirectBatch.addFromForeign(frontendDomid, request.indirectGref(p), 0, to, PAGE_SIZE);
        }
        try
        {
            gnttab.copy(indirectBatch);
        }
        catch (final XenException ex)
        {
            lastError = ex.getMessage();
            return RequestVerdict.BAD_GRANT;
        }
        if (!indirectBatch.allOkay())
        {
            return RequestVerdict.BAD_GRANT;
        }
        // The pages are our private copy now: the guest can no longer change what is validated.
        for (int p = 0; p < pages; p++)
        {
            request.loadIndirectSegments(indirectPages, p * PAGE_SIZE, p);
        }
        return RequestVerdict.OK;
    }

    private RequestVerdict transfer(final BlkifRequest request, final boolean write)
    {
        final int n = request.segmentsLoaded();
        final long position = request.sectorNumber() * SECTOR_SIZE;
        final long sectors = request.totalSectors();
        final long bytes = sectors * SECTOR_SIZE;
        final RequestVerdict verdict = dataPath == DataPath.COPY ?
            transferByCopy(request, write) : transferByMap(request, n, position, bytes, write);
        if (verdict == RequestVerdict.OK)
        {
            count(request, write, sectors);
        }
        return verdict;
    }

    private void count(final BlkifRequest request, final boolean write, final long sectors)
    {
        if (write)
        {
            counters.wrReq.increment();
            counters.wrSect.getAndAdd(sectors);
        }
        else
        {
            counters.rdReq.increment();
            counters.rdSect.getAndAdd(sectors);
        }
    }

    /**
     * One request alone on the grant-copy path (a flush or barrier that carries data): the same grant copy and
     * disk transfer as a batch of one.
     */
    private RequestVerdict transferByCopy(final BlkifRequest request, final boolean write)
    {
        final long base = bounce.addressOffset();
        if (write)
        {
            return copy(request, base, false) ? diskTransfer(request, base, true) : RequestVerdict.BAD_GRANT;
        }
        final RequestVerdict verdict = diskTransfer(request, base, false);
        if (verdict != RequestVerdict.OK)
        {
            return verdict;
        }
        return copy(request, base, true) ? RequestVerdict.OK : RequestVerdict.BAD_GRANT;
    }

    private RequestVerdict transferByMap(
        final BlkifRequest request, final int n, final long position, final long bytes, final boolean write)
    {
        transientCount = 0;
        try
        {
            if (null != persistentGrants)
            {
                for (int i = 0; i < n; i++)
                {
                    final int gref = request.segmentGref(i);
                    GrantMapping mapping = persistentGrants.get(gref);
                    if (null == mapping)
                    {
                        mapping = mapPersistent(gref, write);
                    }
                    iovec(i, mapping.buffer().addressOffset() + request.segmentOffset(i), request.segmentLength(i));
                }
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    refs[i] = request.segmentGref(i);
                }
                // Reading from disk writes into the guest's pages: map writable; a write only reads them.
                final GrantMapping mapping = gnttab.map(frontendDomid, refs, n, !write);
                transientMappings[transientCount++] = mapping;
                final long base = mapping.buffer().addressOffset();
                for (int i = 0; i < n; i++)
                {
                    iovec(i, base + (long)i * PAGE_SIZE + request.segmentOffset(i), request.segmentLength(i));
                }
            }
            final long done = write ?
                disk.file().pwritev(iovecs.addressOffset(), n, position) :
                disk.file().preadv(iovecs.addressOffset(), n, position);
            return done == bytes ? RequestVerdict.OK : ioError("short transfer at " + position);
        }
        catch (final XenException ex)
        {
            lastError = ex.getMessage();
            return RequestVerdict.BAD_GRANT;
        }
        catch (final IOException ex)
        {
            return ioError(ex.getMessage());
        }
        finally
        {
            for (int i = 0; i < transientCount; i++)
            {
                transientMappings[i].close();
                transientMappings[i] = null;
            }
            transientCount = 0;
        }
    }

    /**
     * Maps a grant to keep, writable as Linux's blkback maps persistent grants (blkfront grants them read-write
     * when it negotiated feature-persistent). A frontend that granted a write's page read-only gets a one-request
     * read-only mapping instead; a read needs a writable one.
     */
    private GrantMapping mapPersistent(final int gref, final boolean write)
    {
        GrantMapping mapping;
        try
        {
            mapping = gnttab.mapOne(frontendDomid, gref, true);
        }
        catch (final XenException ex)
        {
            if (!write)
            {
                throw ex;
            }
            mapping = gnttab.mapOne(frontendDomid, gref, false);
            transientMappings[transientCount++] = mapping;
            return mapping;
        }
        if (!persistentGrants.put(gref, mapping))
        {
            transientMappings[transientCount++] = mapping;
        }
        return mapping;
    }

    private void iovec(final int i, final long address, final long length)
    {
        iovecs.putLong(i * 16, address, ByteOrder.nativeOrder());
        iovecs.putLong(i * 16 + 8, length, ByteOrder.nativeOrder());
    }

    private RequestVerdict flush()
    {
        try
        {
            disk.file().fdatasync();
            return RequestVerdict.OK;
        }
        catch (final IOException ex)
        {
            return ioError(ex.getMessage());
        }
    }

    private RequestVerdict discard(final BlkifRequest request)
    {
        try
        {
            if (null != pageCache)
            {
                // The hole's pages leave the mapping: a copy must not touch them before they are populated again.
                pageCache.forget(request.sectorNumber() * SECTOR_SIZE, request.discardNrSectors() * SECTOR_SIZE);
            }
            disk.file().discard(request.sectorNumber() * SECTOR_SIZE, request.discardNrSectors() * SECTOR_SIZE,
                (request.discardFlag() & BLKIF_DISCARD_SECURE) != 0);
            return RequestVerdict.OK;
        }
        catch (final IOException ex)
        {
            return ioError(ex.getMessage());
        }
    }

    private RequestVerdict ioError(final String message)
    {
        if (!message.equals(lastError))
        {
            LOG.warning(() -> roleName + ": " + message);
        }
        lastError = message;
        return RequestVerdict.IO_ERROR;
    }

    @Override
    public void onClose()
    {
        if (null != pageCache)
        {
            pageCache.close();
            pageCache = null;
        }
        if (null != persistentGrants)
        {
            persistentGrants.close();
        }
        if (null != uring)
        {
            // What is still in flight writes into the bounce pages: let it finish before they go (unanswered: the
            // ring may already be gone).
            closing = true;
            if (largeInFlight > 0)
            {
                awaitLarge(0);
            }
            if (null != uring)
            {
                uring.close();
                uring = null;
            }
        }
        if (null != bounceMemory)
        {
            bounceMemory.close();
        }
        if (null != largeBounce)
        {
            largeBounce.close();
        }
    }
}
