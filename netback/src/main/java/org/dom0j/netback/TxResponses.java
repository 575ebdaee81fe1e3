package org.dom0j.netback;

import org.dom0j.protocol.netif.NetifTxResponseFlyweight;
import org.dom0j.ring.BackRing;

import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_ERROR;
import static org.dom0j.protocol.netif.NetifConstants.NETIF_RSP_NULL;

/**
 * The TX responses of one pass, planned as the packets are taken (one per slot: the slot's id and status, or
 * NETIF_RSP_NULL for an extra info slot, right after its packet's first response) and written on the ring at the end
 * of the pass; a packet held until receivers have copied it by reference is skipped here and written later, through
 * {@link #write}, by its {@link TxCompletions}. Every response slot is written whole (no stale bytes, XSA-216).
 * <p>
 * Agent thread only.
 */
final class TxResponses implements TxCompletions.ResponseWriter
{
    private final BackRing ring;
    private final NetifTxResponseFlyweight txRsp = new NetifTxResponseFlyweight();
    private final int[] ids;
    private final short[] statuses;
    private final int[] entries;
    private final boolean[] skipped;
    private int count;
    private boolean responded;

    /**
     * @param ring the TX ring: a pass plans at most one response per slot.
     */
    TxResponses(final BackRing ring)
    {
        this.ring = ring;
        ids = new int[ring.size()];
        statuses = new short[ring.size()];
        entries = new int[ring.size()];
        skipped = new boolean[ring.size()];
    }

    /**
     * @return responses planned this pass.
     */
    int count()
    {
        return count;
    }

    int[] ids()
    {
        return ids;
    }

    short[] statuses()
    {
        return statuses;
    }

    int[] entries()
    {
        return entries;
    }

    /**
     * Plans a response.
     *
     * @param id     the request's id, or -1 for an extra info slot's NULL response.
     * @param status NETIF_RSP_*.
     */
    void add(final int id, final short status)
    {
        ids[count] = id;
        statuses[count] = status;
        // Each slot is planned right after it is taken: the ring's last journal record is this slot's.
        entries[count] = ring.lastJournalEntry();
        count++;
    }

    /**
     * @param index a planned response.
     * @param status its status from now on.
     */
    void status(final int index, final short status)
    {
        statuses[index] = status;
    }

    /**
     * Answers a packet's planned slots with NETIF_RSP_ERROR (its NULL responses stay NULL).
     *
     * @param from its first response.
     * @param to   one past its last.
     */
    void fail(final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            if (statuses[i] != NETIF_RSP_NULL)
            {
                statuses[i] = NETIF_RSP_ERROR;
            }
        }
    }

    /**
     * Leaves a packet's planned responses out of {@link #writePlanned} (it is held, and written later).
     *
     * @param from its first response.
     * @param to   one past its last.
     */
    void skip(final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            skipped[i] = true;
        }
    }

    /**
     * Starts a pass.
     */
    void begin()
    {
        count = 0;
        responded = false;
    }

    /**
     * Forgets the pass's plan (the queue stopped on a fatal error: nothing more is answered).
     */
    void discard()
    {
        for (int i = 0; i < count; i++)
        {
            skipped[i] = false;
        }
        count = 0;
    }

    /**
     * Writes the pass's planned responses that are not held.
     */
    void writePlanned()
    {
        for (int i = 0; i < count; i++)
        {
            if (skipped[i])
            {
                skipped[i] = false;
                continue;
            }
            write(ids[i], statuses[i], entries[i]);
        }
        count = 0;
    }

    @Override
    public void write(final int[] responseIds, final short[] responseStatuses, final int[] journalEntries, final int n)
    {
        for (int i = 0; i < n; i++)
        {
            write(responseIds[i], responseStatuses[i], journalEntries[i]);
        }
    }

    private void write(final int id, final short status, final int entry)
    {
        final int offset = ring.claimResponse(entry);
        txRsp.wrap(ring.buffer(), offset).status(status);
        if (id >= 0)
        {
            txRsp.id(id);
        }
        ring.commitResponse();
        responded = true;
    }

    /**
     * @return whether this pass wrote responses (to push).
     */
    boolean responded()
    {
        return responded;
    }
}
