package org.dom0j.blkback;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.blkback.jna.NativeFile;
import org.dom0j.backend.QueueHandler;
import org.dom0j.protocol.blkif.BlkifConstants;
import org.dom0j.ring.BackRing;
import org.dom0j.ring.RingEntryHandler;

import java.io.IOException;
import java.util.logging.Logger;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;

/**
 * One ring of a virtual block device ({@code blkback-<domid>-<devid>-q<N>}), served inside the queue's
 * {@code RingAgent}, which drains its events, counts what it takes and answers, and makes the final check before
 * idling. Each pass here: the disk's size is followed ({@link DiskSizeWatcher}), then requests are taken off the
 * ring in bites of {@link RequestBatch#BATCH_LIMIT}, and the answers of each bite pushed.
 * <p>
 * The life of one request: the ring copies it out of shared memory once; {@link RequestIntake} decodes that copy,
 * ties it to its journal entry and validates it; a read or write goes to the data path chosen at connect by the
 * disk's storage ({@link CopyPath} or {@link MapPath} for a file, {@link NbdPath} for an NBD export: a
 * {@link ReadWritePath}), which serves it now, with its bite, or, when large, on its own; anything else (flush,
 * barrier, discard, an unknown operation) is served alone, through the same path, once everything taken before it
 * is done. Whatever happens, the {@link Responder} answers it (counts, the response written whole
 * through the journal entry) and pushes the answer, notifying the frontend when it asked.
 * <p>
 * A frontend that breaks the ring protocol (impossible indices) gets its queue disabled: nothing more is read and
 * {@link #violation()} says why. A bad request gets an error response and counters.
 * <p>
 * Everything is allocated at connect: no allocation per request. Not thread safe: the agent's thread only.
 */
public final class BlkbackQueue implements QueueHandler
{
    /** Most requests served in one duty cycle, so one busy queue cannot starve others on a shared thread. */
    static final int DUTY_CYCLE_LIMIT = 256;
    /** Passes with work in a row that share one reading of the clock, at most. */
    static final int CLOCK_PASSES = 8;
    /** Longest sleep of an idle queue that watches nothing (every request comes with an event). */
    static final long IDLE_WAIT_NANOS = 1_000_000_000L;

    private static final Logger LOG = Logger.getLogger(BlkbackQueue.class.getName());

    private final String roleName;
    private final BackRing ring;
    private final BlkbackCounters counters;
    private final QueueErrors errors;
    private final RequestIntake intake;
    private final Responder responder;
    private final PageCacheWindow window;
    private final ReadWritePath path;
    private final DiskSizeWatcher sizes;
    private final UnsafeBuffer requestCopy;
    private final RingEntryHandler onRequest = this::take;
    private BlkifRequest incoming;
    private long now;
    private int passesSinceClock;
    private boolean lastPassIdle = true;
    private boolean clockFromWait;

    /**
     * Connects a queue: everything it will use is allocated here, and on a disk on NBD its connection is made.
     *
     * @param queue   the connected queue: its first ring is served, its first port notified, its counters kept.
     * @param context what else the queue is made from.
     * @throws IOException when the disk cannot be reached for this queue (an NBD export's server is away, refuses,
     *                     or no longer serves the disk's export); nothing is left open then.
     */
    public BlkbackQueue(final ConnectedQueue queue, final QueueContext context) throws IOException
    {
        context.conclude();
        roleName = context.roleName();
        ring = queue.ring();
        counters = context.counters();
        final Disk disk = context.disk();
        final RequestValidator validator = context.validator();
        final int maxSegments =
            Math.max(BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST, validator.maxIndirectSegments());
        errors = new QueueErrors(roleName);
        final GrantCopier copier = new GrantCopier(context.grantTables(), context.frontendDomid(), maxSegments, errors);
        intake = new RequestIntake(context.abi(), ring, validator, copier);
        responder = new Responder(roleName, queue, counters);
        // The one place the kind of storage is asked: it picks the data path, and nothing later asks again.
        if (disk.storage() instanceof NbdStorage export)
        {
            window = new PageCacheWindow(roleName, disk, null, false);
            path = new NbdPath(new NbdLink(roleName, export, NbdPath.maxInFlight(), context.nbdTimeoutNanos(), errors),
                maxSegments, copier, responder, counters);
        }
        else
        {
            final NativeFile file = ((FileStorage)disk.storage()).file();
            final DiskIo diskIo = new DiskIo(file, errors);
            final boolean copy = context.dataPath() == DataPath.COPY;
            window = new PageCacheWindow(roleName, disk, file, copy && context.mapPageCache() && !file.isDirect());
            path = copy ?
                new CopyPath(roleName, context.ioEngine(), maxSegments, diskIo, copier, window, responder, errors,
                    counters) :
                new MapPath(context.grantTables(), context.frontendDomid(), context.persistentGrants(), maxSegments,
                    diskIo, responder, errors);
        }
        sizes = new DiskSizeWatcher(roleName, disk, validator, window, errors);
        requestCopy = new UnsafeBuffer(new byte[ring.layout().slotLength()]);
        incoming = new BlkifRequest(maxSegments);
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
        sizes.watch(listener);
        return this;
    }

    /**
     * One pass: follow the disk's size, answer large requests that completed, take bites off the ring (serving and
     * answering each bite, then pushing its answers) until the ring is empty or the duty cycle is used up.
     *
     * @param queue the connected queue this handler was made for.
     * @return work done: requests taken, and requests answered outside a bite.
     */
    @Override
    public int doWork(final ConnectedQueue queue)
    {
        if (ring.isDisabled())
        {
            return 0;
        }
        // The size check and the path's end-of-pass duties keep coarse timers. In a PV dom0 with no vDSO clock each
        // reading is a system call through the hypervisor, so the pass after a wait uses the reading the idle
        // strategy took as it went to wait (idleWaitNanos), the idle pass that ends a spell of work the reading of
        // the pass before it, and the clock is read only on a pass after an idle one that did not wait (polling)
        // and every CLOCK_PASSES passes while busy: no reading of its own in a wake-up, where it made two.
        if (clockFromWait)
        {
            clockFromWait = false;
            passesSinceClock = 0;
        }
        else if (lastPassIdle || ++passesSinceClock >= CLOCK_PASSES)
        {
            now = System.nanoTime();
            passesSinceClock = 0;
        }
        int served = sizes.check(now) + path.startPass();
        while (served < DUTY_CYCLE_LIMIT)
        {
            final int taken = ring.consumeRequests(onRequest, requestCopy, 0, RequestBatch.BATCH_LIMIT);
            path.serveTaken();
            if (taken == BackRing.PROTOCOL_VIOLATION)
            {
                LOG.warning(() -> roleName + ": frontend broke the ring protocol, queue disabled: " +
                    ring.violation());
                break;
            }
            if (taken == 0)
            {
                break;
            }
            served += taken;
            responder.push();
        }
        lastPassIdle = served == 0;
        return served + path.endPass(lastPassIdle && !ring.isDisabled(), now);
    }

    /**
     * The one way in: takes the request the ring just copied out, and sends it its way.
     */
    private void take(final MutableDirectBuffer copy, final int offset, final int index)
    {
        final BlkifRequest r = incoming;
        final RequestVerdict verdict = intake.take(copy, offset, r);
        final int op = r.ioOperation();
        if (op == BLKIF_OP_READ || op == BLKIF_OP_WRITE)
        {
            incoming = path.readOrWrite(r, verdict);
            return;
        }
        // Anything else is served alone, after every request taken before it.
        path.drain();
        responder.answer(r, verdict == RequestVerdict.OK ? serveAlone(r) : verdict);
    }

    /**
     * A flush, barrier or discard that passed validation, with nothing else in flight.
     */
    private RequestVerdict serveAlone(final BlkifRequest r)
    {
        switch (r.ioOperation())
        {
            case BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE ->
            {
                // Every earlier request of this ring has completed (drained): make them durable, then the request's
                // own data; a barrier's data is made durable too.
                RequestVerdict verdict = path.flush();
                if (verdict == RequestVerdict.OK && r.segmentsLoaded() > 0)
                {
                    verdict = path.transferAlone(r, true);
                    if (verdict == RequestVerdict.OK && r.ioOperation() == BLKIF_OP_WRITE_BARRIER)
                    {
                        verdict = path.flush();
                    }
                }
                return verdict;
            }
            case BLKIF_OP_DISCARD ->
            {
                return path.discard(r);
            }
            default ->
            {
                // Validation refuses every other operation before it gets here.
                return RequestVerdict.UNSUPPORTED_OPERATION;
            }
        }
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
        // Asked right before a wait: the pass after it takes this reading as its own (stale by the wait, which is
        // bounded by what is returned here, so no timed duty is missed: one due during it is seen when it ends).
        now = nowNanos;
        clockFromWait = true;
        final long pathWait = path.idleWaitNanos(nowNanos);
        if (pathWait < 0)
        {
            return -1;
        }
        return Math.min(IDLE_WAIT_NANOS, Math.min(pathWait, sizes.nanosUntilCheck(nowNanos)));
    }

    /**
     * Stops answering, lets what is in flight finish (it writes into our memory), then frees everything the queue
     * holds: bounce pages, io_uring, the page-cache mapping, persistent grants.
     */
    @Override
    public void onClose(final ConnectedQueue queue)
    {
        responder.close();
        path.close();
        window.close();
    }

    /**
     * @return the agent's name, e.g. "blkback-3-51712-q0".
     */
    public String roleName()
    {
        return roleName;
    }

    /**
     * @return why the frontend's ring was disabled, or null while it is served.
     */
    public String violation()
    {
        return ring.violation();
    }

    /**
     * @return the last error met serving a request (for logs and tests), or null.
     */
    public String lastError()
    {
        return errors.last();
    }

    /**
     * @return blkback's statistics for this queue.
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
        return path.ioEngine();
    }

    /**
     * @return whether reads are served from the disk's mapped page cache now.
     */
    public boolean readsFromPageCache()
    {
        return window.readsFromPageCache();
    }

    /**
     * @return whether writes are copied straight into the disk's mapped page cache now (a writable disk on tmpfs).
     */
    public boolean writesToPageCache()
    {
        return window.writesToPageCache();
    }

    /**
     * For tests: how soon the page-cache mapping is renewed.
     *
     * @param bytes bytes populated through it after which it is mapped afresh.
     * @return this.
     */
    BlkbackQueue remapPageCacheEvery(final long bytes)
    {
        window.remapEvery(bytes);
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
        window.choice(choice);
        return this;
    }

    /**
     * @return how many times the page cache was mapped (for tests: renewals and resizes map it again).
     */
    int pageCacheMaps()
    {
        return window.maps();
    }
}
