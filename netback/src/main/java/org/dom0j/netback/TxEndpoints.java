package org.dom0j.netback;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Where a receiving queue finds the sender of a frame it copied by reference, to tell it the copy is done: every
 * switched vif queue's {@link TxCompletions}, by an id that frames carry. Ids carry a generation, so a completion for
 * a queue that went away never reaches a new one in its place.
 * <p>
 * <b>Threads</b>: {@link #register} and {@link #unregister} from the conductor; {@link #complete} from any agent.
 */
final class TxEndpoints
{
    private static final int SLOT_BITS = 14;
    private static final int SLOT_MASK = (1 << SLOT_BITS) - 1;

    private final AtomicReferenceArray<TxCompletions> endpoints = new AtomicReferenceArray<>(1 << SLOT_BITS);
    private final int[] ids = new int[1 << SLOT_BITS];

    /**
     * @param completions a sending queue's.
     * @return its id.
     */
    synchronized int register(final TxCompletions completions)
    {
        for (int slot = 0; slot <= SLOT_MASK; slot++)
        {
            if (endpoints.get(slot) == null)
            {
                final int id = (((ids[slot] >>> SLOT_BITS) + 1) & 0x1FFFF) << SLOT_BITS | slot;
                ids[slot] = id;
                endpoints.set(slot, completions);
                return id;
            }
        }
        throw new IllegalStateException("more than " + (SLOT_MASK + 1) + " switched vif queues");
    }

    /**
     * @param id a registration; completions for it are ignored from now on.
     */
    synchronized void unregister(final int id)
    {
        final int slot = id & SLOT_MASK;
        if (ids[slot] == id)
        {
            endpoints.set(slot, null);
        }
    }

    /**
     * @param id    the sender's id, as the frame carried it.
     * @param token the packet's token.
     */
    void complete(final int id, final int token)
    {
        final int slot = id & SLOT_MASK;
        final TxCompletions completions = endpoints.get(slot);
        if (completions != null && ids[slot] == id)
        {
            completions.complete(token);
        }
    }
}
