package org.dom0j.blkback;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.XenException;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;

import java.nio.ByteOrder;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.PAGE_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * The map data path (Linux's): a request's grants are mapped (one batched map per request) and the disk reads and
 * writes the guest's pages in place with one {@code preadv}/{@code pwritev}. With {@code feature-persistent} the
 * mappings are kept in {@link PersistentGrants} (bounded; unused ones purged), otherwise unmapped once the request
 * is done. Requests are served one by one, in ring order, each to completion before the next, so
 * {@link #serveTaken} and {@link #drain} have nothing to do.
 * <p>
 * Not thread safe: the queue's agent only. Allocates only when made (and when it maps, which is the grant device's).
 */
final class MapPath implements ReadWritePath
{
    private final GrantTables gnttab;
    private final int frontendDomid;
    private final PersistentGrants persistentGrants;
    private final DiskIo diskIo;
    private final Responder responder;
    private final QueueErrors errors;
    private final UnsafeBuffer iovecs;
    private final int[] refs;
    private final GrantMapping[] transientMappings;
    private int transientCount;

    /**
     * @param gnttab           maps the guest's grants.
     * @param frontendDomid    the guest.
     * @param persistentGrants the cache of kept mappings when the frontend asked for feature-persistent, else null.
     * @param maxSegments      the most segments one request may carry.
     * @param diskIo           the disk.
     * @param responder        answers each request.
     * @param errors           where a failed map is noted.
     */
    MapPath(
        final GrantTables gnttab,
        final int frontendDomid,
        final PersistentGrants persistentGrants,
        final int maxSegments,
        final DiskIo diskIo,
        final Responder responder,
        final QueueErrors errors)
    {
        this.gnttab = gnttab;
        this.frontendDomid = frontendDomid;
        this.persistentGrants = persistentGrants;
        this.diskIo = diskIo;
        this.responder = responder;
        this.errors = errors;
        iovecs = new UnsafeBuffer(BufferUtil.allocateDirectAligned(maxSegments * 16, 64));
        refs = new int[maxSegments];
        transientMappings = new GrantMapping[maxSegments];
    }

    @Override
    public BlkifRequest readOrWrite(final BlkifRequest r, final RequestVerdict verdict)
    {
        responder.answer(r, verdict == RequestVerdict.OK ?
            transferAlone(r, r.ioOperation() == BLKIF_OP_WRITE) : verdict);
        return r;
    }

    @Override
    public void serveTaken()
    {
    }

    @Override
    public void drain()
    {
    }

    @Override
    public RequestVerdict transferAlone(final BlkifRequest r, final boolean write)
    {
        final int n = r.segmentsLoaded();
        transientCount = 0;
        try
        {
            if (null != persistentGrants)
            {
                for (int i = 0; i < n; i++)
                {
                    final int gref = r.segmentGref(i);
                    GrantMapping mapping = persistentGrants.get(gref);
                    if (null == mapping)
                    {
                        mapping = mapPersistent(gref, write);
                    }
                    iovec(i, mapping.buffer().addressOffset() + r.segmentOffset(i), r.segmentLength(i));
                }
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    refs[i] = r.segmentGref(i);
                }
                // Reading from disk writes into the guest's pages: map writable; a write only reads them.
                final GrantMapping mapping = gnttab.map(frontendDomid, refs, n, !write);
                transientMappings[transientCount++] = mapping;
                final long base = mapping.buffer().addressOffset();
                for (int i = 0; i < n; i++)
                {
                    iovec(i, base + (long)i * PAGE_SIZE + r.segmentOffset(i), r.segmentLength(i));
                }
            }
            return diskIo.transfer(iovecs.addressOffset(), n, r.sectorNumber() * SECTOR_SIZE,
                r.totalSectors() * SECTOR_SIZE, write);
        }
        catch (final XenException ex)
        {
            errors.note(ex.getMessage());
            return RequestVerdict.BAD_GRANT;
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

    @Override
    public RequestVerdict flush()
    {
        return diskIo.flush();
    }

    @Override
    public RequestVerdict discard(final BlkifRequest r)
    {
        return diskIo.discard(r);
    }

    @Override
    public int startPass()
    {
        return 0;
    }

    @Override
    public int endPass(final boolean idle, final long now)
    {
        return null != persistentGrants ? persistentGrants.purge(now) : 0;
    }

    @Override
    public long idleWaitNanos(final long now)
    {
        // Until the purge is due by the reading the next pass takes as its own (it may be the coarse clock's, a tick
        // behind): a fixed interval from a later reading would let a purge slip by another interval.
        return null != persistentGrants && persistentGrants.size() > 0 ?
            persistentGrants.nanosUntilPurge(now) : Long.MAX_VALUE;
    }

    @Override
    public IoEngine ioEngine()
    {
        return IoEngine.SYNC;
    }

    @Override
    public void close()
    {
        if (null != persistentGrants)
        {
            persistentGrants.close();
        }
    }
}
