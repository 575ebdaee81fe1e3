package org.dom0j.blkback;

import org.agrona.CloseHelper;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;

/**
 * The statistics Linux's blkback exposes in sysfs (oo_req, rd_req, wr_req, f_req, ds_req, rd_sect, wr_sect), plus
 * errors, as Agrona counters in a {@link CountersManager} so that {@code dom0j top} can read them from another
 * process. Allocated when a queue connects, freed when it disconnects.
 * <p>
 * Written by the queue's agent only; readable from anywhere.
 */
public final class BlkbackCounters implements AutoCloseable
{
    /** Counter type id for blkback counters. */
    public static final int TYPE_ID = 0x626C6B00;

    /**
     * {@code oo_req}, as Linux's blkback counts it (the times a ring had to wait because the backend ran out of
     * pending-request slots): the times a request had to wait for room to be served in. Two places: a large request
     * finding every slot of the {@link LargePipeline} taken (it waits for one to complete), and a read or write
     * finding its batch's bounce pages or grant-copy batch full (the batch is served before the rest of its bite is
     * taken). Not counted: a request that waits for an earlier one it overlaps (ring order, not want of room).
     */
    final AtomicCounter ooReq;
    final AtomicCounter rdReq;
    final AtomicCounter wrReq;
    final AtomicCounter fReq;
    final AtomicCounter dsReq;
    final AtomicCounter rdSect;
    final AtomicCounter wrSect;
    final AtomicCounter errors;

    /**
     * @param counters where to allocate them.
     * @param name     the queue's name, e.g. "blkback-3-51712-q0", the prefix of every label.
     */
    public BlkbackCounters(final CountersManager counters, final String name)
    {
        ooReq = counters.newCounter(name + " oo_req", TYPE_ID);
        rdReq = counters.newCounter(name + " rd_req", TYPE_ID);
        wrReq = counters.newCounter(name + " wr_req", TYPE_ID);
        fReq = counters.newCounter(name + " f_req", TYPE_ID);
        dsReq = counters.newCounter(name + " ds_req", TYPE_ID);
        rdSect = counters.newCounter(name + " rd_sect", TYPE_ID);
        wrSect = counters.newCounter(name + " wr_sect", TYPE_ID);
        errors = counters.newCounter(name + " errors", TYPE_ID);
    }

    /**
     * @return read requests served.
     */
    public long readRequests()
    {
        return rdReq.get();
    }

    /**
     * @return write requests served.
     */
    public long writeRequests()
    {
        return wrReq.get();
    }

    /**
     * @return flush and barrier requests served.
     */
    public long flushRequests()
    {
        return fReq.get();
    }

    /**
     * @return discard requests served.
     */
    public long discardRequests()
    {
        return dsReq.get();
    }

    /**
     * @return sectors read.
     */
    public long readSectors()
    {
        return rdSect.get();
    }

    /**
     * @return sectors written.
     */
    public long writeSectors()
    {
        return wrSect.get();
    }

    /**
     * @return requests answered with an error status.
     */
    public long errors()
    {
        return errors.get();
    }

    /**
     * @return {@code oo_req}: times a request waited for room to be served in (see the field).
     */
    public long outOfResources()
    {
        return ooReq.get();
    }

    @Override
    public void close()
    {
        CloseHelper.closeAll(ooReq, rdReq, wrReq, fReq, dsReq, rdSect, wrSect, errors);
    }
}
