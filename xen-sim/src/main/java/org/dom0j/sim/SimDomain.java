package org.dom0j.sim;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.domctl.DomainInfo;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantSharing;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.gnttab.GrantTables;

import java.nio.ByteOrder;

import static org.dom0j.sim.SimDomainDescriptor.*;

/**
 * One simulated domain, from the guest's side: what a frontend (in any process) uses to play a Xen guest. It
 * allocates pages of its memory, grants them by writing its grant table exactly as Linux's grant-table.c does
 * (frame and domid first, then the flags with a release store), ends access (refused while the grantee has the
 * grant mapped), and opens event channel handles for its own ports.
 * <p>
 * Obtained from {@link SimHost#createDomain} or {@link SimHost#domain}. Valid until the domain is destroyed or the
 * host closed. It holds a use of this process's view of the domain until the host is closed, since the pages it
 * hands out may be used anywhere in the process, even after the domain is destroyed.
 * <p>
 * <b>Threads</b>: any thread; page and ref allocation take the guest's allocation lock (shared by every process
 * acting for this domain).
 */
public final class SimDomain
{
    private final SimHost host;
    private final SimDomainState state;
    /** Where the next ref search starts (a word of the ref bitmap); a hint only, guarded by the guest lock. */
    private int refCursor;

    /**
     * @param host  the host.
     * @param state the domain's view, with a use taken that this handle keeps.
     */
    SimDomain(final SimHost host, final SimDomainState state)
    {
        this.host = host;
        this.state = state;
    }

    /**
     * @return the domain id.
     */
    public int domid()
    {
        return state.domid();
    }

    /**
     * @return the host it lives on.
     */
    public SimHost host()
    {
        return host;
    }

    /**
     * @return the number of pages of memory.
     */
    public int pageCount()
    {
        return state.maxPages();
    }

    /**
     * @return the whole of the guest's memory, {@code pageCount() * 4096} bytes, frame N at offset N * 4096.
     */
    public UnsafeBuffer memory()
    {
        return state.memory();
    }

    /**
     * @param frame a page frame of this domain.
     * @return a view of that page.
     */
    public UnsafeBuffer page(final int frame)
    {
        checkFrame(frame);
        return new UnsafeBuffer(state.memory(), frame * SimHost.PAGE_SIZE, SimHost.PAGE_SIZE);
    }

    /**
     * Allocates a zeroed page.
     *
     * @return its frame number.
     * @throws GrantTableException ENOMEM when the guest's memory is used up.
     */
    public int allocatePage()
    {
        final UnsafeBuffer control = state.control();
        state.lockGuest();
        try
        {
            for (int frame = 0; frame < state.maxPages(); frame++)
            {
                final int byteOffset = PAGE_BITMAP_OFFSET + (frame >> 3);
                final int bit = 1 << (frame & 7);
                final byte b = control.getByte(byteOffset);
                if ((b & bit) == 0)
                {
                    control.putByte(byteOffset, (byte)(b | bit));
                    state.memory().setMemory(frame * SimHost.PAGE_SIZE, SimHost.PAGE_SIZE, (byte)0);
                    return frame;
                }
            }
        }
        finally
        {
            state.unlockGuest();
        }
        throw new GrantTableException(Errno.ENOMEM.number(),
            "allocate a page in sim domain " + domid() + " (all " + state.maxPages() + " are in use)");
    }

    /**
     * Allocates {@code count} zeroed pages at consecutive frames (a multi-page ring must be one buffer).
     *
     * @param count how many pages.
     * @return the first frame.
     * @throws GrantTableException ENOMEM when no run of that many free frames is left.
     */
    public int allocateContiguous(final int count)
    {
        if (count < 1)
        {
            throw new IllegalArgumentException("page count must be positive: " + count);
        }
        final UnsafeBuffer control = state.control();
        state.lockGuest();
        try
        {
            int run = 0;
            for (int frame = 0; frame < state.maxPages(); frame++)
            {
                final byte b = control.getByte(PAGE_BITMAP_OFFSET + (frame >> 3));
                run = (b & (1 << (frame & 7))) == 0 ? run + 1 : 0;
                if (run == count)
                {
                    final int first = frame - count + 1;
                    for (int f = first; f <= frame; f++)
                    {
                        final int byteOffset = PAGE_BITMAP_OFFSET + (f >> 3);
                        control.putByte(byteOffset, (byte)(control.getByte(byteOffset) | (1 << (f & 7))));
                    }
                    state.memory().setMemory(first * SimHost.PAGE_SIZE, count * SimHost.PAGE_SIZE, (byte)0);
                    return first;
                }
            }
        }
        finally
        {
            state.unlockGuest();
        }
        throw new GrantTableException(Errno.ENOMEM.number(),
            "allocate " + count + " contiguous pages in sim domain " + domid());
    }

    /**
     * @param frame the first frame.
     * @param count how many pages.
     * @return a view of consecutive pages.
     */
    public UnsafeBuffer pages(final int frame, final int count)
    {
        checkFrame(frame);
        checkFrame(frame + count - 1);
        return new UnsafeBuffer(state.memory(), frame * SimHost.PAGE_SIZE, count * SimHost.PAGE_SIZE);
    }

    /**
     * Returns a page to the guest's free pool.
     *
     * @param frame a frame from {@link #allocatePage()}.
     */
    public void freePage(final int frame)
    {
        checkFrame(frame);
        final UnsafeBuffer control = state.control();
        state.lockGuest();
        try
        {
            final int byteOffset = PAGE_BITMAP_OFFSET + (frame >> 3);
            control.putByte(byteOffset, (byte)(control.getByte(byteOffset) & ~(1 << (frame & 7))));
        }
        finally
        {
            state.unlockGuest();
        }
    }

    /**
     * Grants another domain access to one of this domain's frames (gnttab_grant_foreign_access): takes a free
     * ref (never 0-7, which Xen reserves), writes frame and domid, then publishes the flags.
     *
     * @param granteeDomid the domain allowed to map or copy it.
     * @param frame        a frame of this domain.
     * @param readonly     whether the grantee may only read.
     * @return the grant ref.
     * @throws GrantTableException ENOSPC when the grant table is full.
     */
    public int grantAccess(final int granteeDomid, final int frame, final boolean readonly)
    {
        checkFrame(frame);
        if (granteeDomid < 0 || granteeDomid > 0xFFFF)
        {
            throw new IllegalArgumentException("grantee domid out of range: " + granteeDomid);
        }
        final int ref = allocateRef();
        final UnsafeBuffer grants = state.grants();
        final int entry = grantEntryOffset(ref);
        grants.putInt(entry + GRANT_FRAME_OFFSET, frame);
        // Release store: the frame must be visible before the entry becomes valid (Linux's wmb()).
        grants.putIntRelease(entry, (granteeDomid << 16) | GTF_PERMIT_ACCESS | (readonly ? GTF_READONLY : 0));
        return ref;
    }

    /**
     * Ends a grant (gnttab_end_foreign_access_ref): clears the flags unless the grantee has it mapped or is
     * copying, then frees the ref.
     *
     * @param ref a ref from {@link #grantAccess}.
     * @throws GrantTableException EBUSY while the grant is in use (GTF_reading or GTF_writing is set), EINVAL
     *                             for a ref that is not granted.
     */
    public void endAccess(final int ref)
    {
        if (ref < NR_RESERVED_ENTRIES || ref >= NR_GRANT_ENTRIES)
        {
            throw new GrantTableException(Errno.EINVAL.number(), "end access to grant ref " + ref + " of sim domain " +
                domid() + " (refs are " + NR_RESERVED_ENTRIES + " to " + (NR_GRANT_ENTRIES - 1) + ")");
        }
        final UnsafeBuffer grants = state.grants();
        final int entry = grantEntryOffset(ref);
        boolean recounted = false;
        while (true)
        {
            final int word = grants.getIntVolatile(entry);
            final int flags = word & 0xFFFF;
            if ((flags & GTF_TYPE_MASK) == GTF_INVALID)
            {
                throw new GrantTableException(Errno.EINVAL.number(),
                    "end access to grant ref " + ref + " of sim domain " + domid() + ": it is not granted");
            }
            if ((flags & (GTF_READING | GTF_WRITING)) != 0 && !recounted)
            {
                // Still in use: give back what dead processes held, and recount this grant's pins from the live

                recounted = true;
                reclaimAndRecount(ref);
                continue;
            }
            if ((flags & (GTF_READING | GTF_WRITING)) != 0)
            {
                throw new GrantTableException(Errno.EBUSY.number(), "end access to grant ref " + ref +
                    " of sim domain " + domid() + ": domain " + (word >>> 16) + " still has it mapped");
            }
            if (grants.compareAndSetInt(entry, word, word & 0xFFFF0000))
            {
                break;
            }
        }
        freeRef(ref);
    }

    private void reclaimAndRecount(final int ref)
    {
        state.lock();
        try
        {
            state.grantPins().reclaimDeadPins();
            state.grantPins().recountPins(ref);
        }
        finally
        {
            state.unlock();
        }
    }

    /**
     * @param ref a grant ref.
     * @return its current GTF_* flags word, as the guest would read it.
     */
    public int grantFlags(final int ref)
    {
        return state.grants().getShortVolatile(grantEntryOffset(ref)) & 0xFFFF;
    }

    /**
     * @return how many refs this domain has granted now.
     */
    public int grantedRefCount()
    {
        int n = 0;
        for (int ref = NR_RESERVED_ENTRIES; ref < NR_GRANT_ENTRIES; ref++)
        {
            if ((grantFlags(ref) & GTF_TYPE_MASK) != GTF_INVALID)
            {
                n++;
            }
        }
        return n;
    }

    /**
     * @return how many of this domain's event channel ports are in use now (unbound or interdomain), for leak checks.
     */
    public int boundPortCount()
    {
        int n = 0;
        for (int port = 1; port < NR_PORTS; port++)
        {
            if (state.portState(port) != ECS_FREE)
            {
                n++;
            }
        }
        return n;
    }

    /**
     * Opens an event channel handle for this domain's ports: bind unbound ports for a backend, bind to a
     * backend's port, notify, wait.
     *
     * @return a new handle, the caller's to close.
     */
    public EventChannels openEventChannels()
    {
        return new SimEventChannels(host, this);
    }

    /**
     * @return a handle to map and copy grants of other domains as this domain.
     */
    public GrantTables openGrantTables()
    {
        return new SimGrantTables(host, domid());
    }

    /**
     * @return a handle to share pages of this domain (allocate, grant, map them as one range).
     */
    public GrantSharing openGrantSharing()
    {
        return new SimGrantSharing(this);
    }

    /**
     * The guest shuts down (SCHEDOP_shutdown): the toolstack sees the flag and the reason.
     *
     * @param reason SHUTDOWN_* code: poweroff 0, reboot 1, suspend 2, crash 3, watchdog 4, soft_reset 5.
     */
    public void shutdown(final int reason)
    {
        state.control().putIntVolatile(SHUTDOWN_REASON_OFFSET, reason);
        state.setStateFlags(STATE_SHUTDOWN, 0);
    }

    /**
     * Sets the vCPUs the hypervisor reports for it (the toolstack's max_vcpus); the simulator runs none.
     *
     * @param vcpus 1 or more.
     */
    public void setVcpus(final int vcpus)
    {
        if (vcpus < 1)
        {
            throw new IllegalArgumentException("a domain has at least one vCPU: " + vcpus);
        }
        state.control().putIntVolatile(VCPUS_OFFSET, vcpus);
    }

    /**
     * @return whether the toolstack has paused it.
     */
    public boolean isPaused()
    {
        return (state.stateFlags() & STATE_PAUSED) != 0;
    }

    /**
     * @return what the hypervisor reports for it.
     */
    public DomainInfo info()
    {
        return SimDomainControl.info(state);
    }

    SimDomainState state()
    {
        return state;
    }

    /**
     * Next fit over the ref bitmap, 64 refs per word (the bitmap is little-endian bytes, so bit {@code ref & 63} of
     * the word at {@code (ref >> 6) * 8}), starting where the last allocation of this process ended; like Linux's
     * free list of grant references it costs about the same whatever the number of refs in use.
     */
    private int allocateRef()
    {
        final UnsafeBuffer control = state.control();
        final int words = NR_GRANT_ENTRIES / 64;
        state.lockGuest();
        try
        {
            final int start = refCursor;
            for (int i = 0; i < words; i++)
            {
                final int w = (start + i) % words;
                final int byteOffset = REF_BITMAP_OFFSET + w * 8;
                long used = control.getLong(byteOffset, ByteOrder.LITTLE_ENDIAN);
                if (w == 0)
                {
                    used |= (1L << NR_RESERVED_ENTRIES) - 1;
                }
                if (used != -1L)
                {
                    final int bit = Long.numberOfTrailingZeros(~used);
                    final int ref = w * 64 + bit;
                    final int refByte = REF_BITMAP_OFFSET + (ref >> 3);
                    control.putByte(refByte, (byte)(control.getByte(refByte) | (1 << (ref & 7))));
                    refCursor = w;
                    return ref;
                }
            }
        }
        finally
        {
            state.unlockGuest();
        }
        throw new GrantTableException(Errno.ENOSPC.number(), "grant table of sim domain " + domid() + " is full");
    }

    private void freeRef(final int ref)
    {
        final UnsafeBuffer control = state.control();
        state.lockGuest();
        try
        {
            final int byteOffset = REF_BITMAP_OFFSET + (ref >> 3);
            control.putByte(byteOffset, (byte)(control.getByte(byteOffset) & ~(1 << (ref & 7))));
        }
        finally
        {
            state.unlockGuest();
        }
    }

    private void checkFrame(final int frame)
    {
        if (frame < 0 || frame >= state.maxPages())
        {
            throw new IllegalArgumentException(
                "frame " + frame + " is outside sim domain " + domid() + " (" + state.maxPages() + " pages)");
        }
    }
}
