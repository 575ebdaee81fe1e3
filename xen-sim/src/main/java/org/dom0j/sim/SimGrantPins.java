package org.dom0j.sim;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.gnttab.GrantCopyBatch;

import static org.dom0j.sim.SimDomainDescriptor.*;

/**
 * The hypervisor's side of one simulated domain's grant table, as Xen's grant-table code keeps it: pinning a grant
 * for another domain's mapping or copy (checking the entry as Xen does and setting its in-use bits), the pin counts
 * of its active entries, and each process's ledger of the pins it holds, so that the pins of a process that died
 * are given back (as gntdev's release of a killed backend's file unmaps its grants).
 * <p>
 * Part of a {@link SimDomainState}: the same mapped files. Threads: any; the caller holds the domain lock where a
 * method says so.
 */
final class SimGrantPins
{
    /** Pin results: why a grant could not be used. */
    static final int PIN_OK = 0;
    static final int PIN_BAD_REF = 1;
    static final int PIN_NOT_GRANTED = 2;
    static final int PIN_WRONG_DOMID = 3;
    static final int PIN_READONLY = 4;
    static final int PIN_BAD_PAGE = 5;
    static final int PIN_DYING = 6;
    static final int PIN_OVERFLOW = 7;

    private final SimDomainState domain;
    private final UnsafeBuffer control;
    private final UnsafeBuffer grants;
    private final SimPinLedgers ledgers;
    private final int maxPages;

    SimGrantPins(final SimDomainState domain, final UnsafeBuffer control, final UnsafeBuffer grants,
        final SimPinLedgers ledgers, final int maxPages)
    {
        this.domain = domain;
        this.control = control;
        this.grants = grants;
        this.ledgers = ledgers;
        this.maxPages = maxPages;
    }

    /**
     * Pins a grant for a mapping or copy by {@code granteeDomid}, with Xen's checks and status bits (caller holds
     * the lock).
     *
     * @return PIN_OK with the frame in {@code frames[index]}, or why not.
     */
    int pin(final int ref, final int granteeDomid, final boolean writable, final int[] frames, final int index)
    {
        if (domain.isDying())
        {
            return PIN_DYING;
        }
        if (ref < 0 || ref >= NR_GRANT_ENTRIES)
        {
            return PIN_BAD_REF;
        }
        final int currentPins = control.getIntVolatile(activeOffset(ref) + ACTIVE_PINS);
        if ((currentPins & 0xFFFF) == 0xFFFF || (currentPins >>> 16) == 0xFFFF)
        {
            // Xen refuses rather than let a 16-bit pin count wrap ("Risk of counter overflow").
            return PIN_OVERFLOW;
        }
        final int entry = grantEntryOffset(ref);
        while (true)
        {
            // flags (low 16 bits) and domid (high 16 bits) are checked and updated as one word, as Xen does.
            final int word = grants.getIntVolatile(entry);
            final int flags = word & 0xFFFF;
            if ((flags & GTF_TYPE_MASK) != GTF_PERMIT_ACCESS)
            {
                return PIN_NOT_GRANTED;
            }
            if ((word >>> 16) != granteeDomid)
            {
                return PIN_WRONG_DOMID;
            }
            if (writable && (flags & GTF_READONLY) != 0)
            {
                return PIN_READONLY;
            }
            final int newFlags = flags | GTF_READING | (writable ? GTF_WRITING : 0);
            if (grants.compareAndSetInt(entry, word, (word & 0xFFFF0000) | newFlags))
            {
                break;
            }
        }
        final int active = activeOffset(ref);
        final int pins = control.getIntVolatile(active + ACTIVE_PINS);
        final int frame;
        if (pins == 0)
        {
            frame = grants.getIntVolatile(entry + GRANT_FRAME_OFFSET);
            if (frame < 0 || frame >= maxPages)
            {
                clearInUseBits(entry, pins);
                return PIN_BAD_PAGE;
            }
            control.putInt(active + ACTIVE_FRAME, frame);
        }
        else
        {
            frame = control.getInt(active + ACTIVE_FRAME);
        }
        control.putIntVolatile(active + ACTIVE_PINS, pins + (writable ? WRITE_PIN : READ_PIN));
        ledgers.add(ref, writable ? WRITE_PIN : READ_PIN);
        frames[index] = frame;
        return PIN_OK;
    }

    /**
     * Makes a grant's pin count, and its in-use bits, what the ledgers of the live processes say: a process killed
     * inside {@link #pin} or {@link #unpin} (between setting the in-use bits, the count and its ledger) leaves a count
     * or bits that no ledger explains, and the guest could never end its access (Xen's hypercalls are not
     * interrupted that way). Caller holds the lock, so no live process is inside pin or unpin.
     *
     * @param ref a grant ref.
     * @return its pins now.
     */
    int recountPins(final int ref)
    {
        final int pins = ledgers.liveSum(ref);
        control.putIntVolatile(activeOffset(ref) + ACTIVE_PINS, pins);
        clearInUseBits(grantEntryOffset(ref), pins);
        return pins;
    }

    /**
     * For tests: what a process killed inside {@link #pin}, after the count but before its ledger, leaves behind (the
     * pin no longer in this process's ledger).
     *
     * @param ref      a grant ref this process pinned.
     * @param writable how it was pinned.
     */
    void forgetLedgerEntryForTest(final int ref, final boolean writable)
    {
        ledgers.add(ref, -(writable ? WRITE_PIN : READ_PIN));
    }

    /**
     * Gives back the pins of processes that died holding them (a killed backend's mappings and the copy it was in the
     * middle of), as Linux's gntdev unmaps when the process's file is released. Caller holds the lock.
     *
     * @return how many pins were given back.
     */
    int reclaimDeadPins()
    {
        return ledgers.drainDead(dead ->
        {
            int released = 0;
            for (int ref = 0; ref < NR_GRANT_ENTRIES && (ref + 1) * Integer.BYTES <= dead.capacity(); ref++)
            {
                final int held = dead.getIntVolatile(ref * Integer.BYTES);
                if (held != 0)
                {
                    final int active = activeOffset(ref);
                    final int pins = control.getIntVolatile(active + ACTIVE_PINS) - held;
                    control.putIntVolatile(active + ACTIVE_PINS, pins);
                    clearInUseBits(grantEntryOffset(ref), pins);
                    released += (held & 0xFFFF) + (held >>> 16);
                }
            }
            return released;
        });
    }

    /**
     * Releases a pin taken by {@link #pin} (caller holds the lock).
     */
    void unpin(final int ref, final boolean writable)
    {
        final int active = activeOffset(ref);
        final int pins = control.getIntVolatile(active + ACTIVE_PINS) - (writable ? WRITE_PIN : READ_PIN);
        control.putIntVolatile(active + ACTIVE_PINS, pins);
        ledgers.add(ref, -(writable ? WRITE_PIN : READ_PIN));
        clearInUseBits(grantEntryOffset(ref), pins);
    }

    private void clearInUseBits(final int entry, final int pins)
    {
        int clear = 0;
        if ((pins >>> 16) == 0)
        {
            clear |= GTF_WRITING;
        }
        if (pins == 0)
        {
            clear |= GTF_READING;
        }
        if (clear != 0)
        {
            while (true)
            {
                final int word = grants.getIntVolatile(entry);
                if (grants.compareAndSetInt(entry, word, word & ~clear))
                {
                    return;
                }
            }
        }
    }

    int pins(final int ref)
    {
        return control.getIntVolatile(activeOffset(ref) + ACTIVE_PINS);
    }

    static short grantStatus(final int pinResult)
    {
        return switch (pinResult)
        {
            case PIN_OK -> GrantCopyBatch.GNTST_OKAY;
            case PIN_BAD_REF -> GrantCopyBatch.GNTST_BAD_GNTREF;
            case PIN_BAD_PAGE -> GrantCopyBatch.GNTST_BAD_PAGE;
            case PIN_DYING -> GrantCopyBatch.GNTST_BAD_DOMAIN;
            default -> GrantCopyBatch.GNTST_GENERAL_ERROR;
        };
    }

    static String pinReason(final int pinResult)
    {
        return switch (pinResult)
        {
            case PIN_BAD_REF -> "the ref is outside the grant table (GNTST_bad_gntref)";
            case PIN_NOT_GRANTED -> "the entry does not permit access (GNTST_general_error)";
            case PIN_WRONG_DOMID -> "the entry grants another domain (GNTST_general_error)";
            case PIN_READONLY -> "a read-only grant cannot be used for writing (GNTST_general_error)";
            case PIN_BAD_PAGE -> "the granted frame is outside the guest's memory (GNTST_bad_page)";
            case PIN_DYING -> "the granting domain is being destroyed (GNTST_bad_domain)";
            case PIN_OVERFLOW -> "the grant is mapped 65535 times already (GNTST_general_error)";
            default -> "granted";
        };
    }
}
