package org.dom0j.sim;

/**
 * Layout of a simulated domain's files in the sim host directory, {@code domains/<domid>/}:
 * <pre>
 *   memory       the guest's pseudo-physical memory, page frame N at byte N * 4096
 *   grant-table  the guest's grant table: NR_GRANT_ENTRIES grant_entry_v1 (8 bytes each)
 *     0  u16 flags  (GTF_*; the guest writes type/readonly, the hypervisor sets GTF_reading/GTF_writing)
 *     2  u16 domid  (the grantee)
 *     4  u32 frame  (a frame of this guest's memory)
 *   control      what Xen keeps to itself for the domain, little-endian ints:
 *     0     magic 'D0JS', version, domid, maxPages
 *     16    hypervisor lock (pid of the holder, 0 when free)
 *     20    state flags (paused, shutdown, dying), shutdown reason, vcpus
 *     32    creation time (epoch ms, long)
 *     40    guest allocation lock (pid), handle sequence
 *     4096  active grant entries, one per ref: pins (readers low 16 bits, writers high 16), pinned frame
 *     ...   event channel ports: state, remote domid, remote port, owner handle, pending, masked, 2 spare
 *     ...   event channel handles (doorbells): owner pid, wake sequence (a futex word), sleeping waiters, spare
 *     ...   guest-private bitmaps: grant refs in use, page frames allocated
 * </pre>
 * The control and grant-table files are shared by every process that touches the domain: all updates are atomic
 * operations on the mapped files, and multi-step hypervisor operations hold the domain's lock.
 */
final class SimDomainDescriptor
{
    static final int MAGIC = 0x534A3044; // "D0JS"
    /** 2: room for {@link #MAX_HANDLES} handles (1024; it was 64). */
    static final int VERSION = 2;

    /**
     * Grant table size: 64 grant frames of 512 v1 entries, Xen's default limit (max_grant_frames 64), which a
     * Linux guest grows its table up to. Room for blkfront's persistent grants with 1 MiB requests (32 slots of
     * 256 segments) as on Xen; it was 4 frames, and the map path ran out of refs.
     */
    static final int NR_GRANT_ENTRIES = 32768;
    /** Refs 0-7 are reserved for the toolstack (GNTTAB_NR_RESERVED_ENTRIES). */
    static final int NR_RESERVED_ENTRIES = 8;
    static final int GRANT_ENTRY_LENGTH = 8;
    static final int GRANT_FLAGS_OFFSET = 0;
    static final int GRANT_DOMID_OFFSET = 2;
    static final int GRANT_FRAME_OFFSET = 4;
    static final int GRANT_TABLE_LENGTH = NR_GRANT_ENTRIES * GRANT_ENTRY_LENGTH;

    static final int GTF_INVALID = 0;
    static final int GTF_PERMIT_ACCESS = 1;
    static final int GTF_TYPE_MASK = 3;
    static final int GTF_READONLY = 1 << 2;
    static final int GTF_READING = 1 << 3;
    static final int GTF_WRITING = 1 << 4;

    /** Ports per domain (port 0 is never handed out, as in Xen). */
    static final int NR_PORTS = 1024;
    static final int ECS_FREE = 0;
    static final int ECS_UNBOUND = 1;
    static final int ECS_INTERDOMAIN = 2;

    /**
     * Event channel handles that may be open on one domain at once. Linux's /dev/xen/evtchn has no such limit (each
     * open is a file); a backend service opens one per ring queue, so a dom0 serving a hundred guests with a disk,
     * a network interface and a console holds 300. One per port: every handle a backend uses binds a port.
     */
    static final int MAX_HANDLES = NR_PORTS;

    /** Largest simulated memory: 1 GiB, so that one mapping of it fits a Java buffer. */
    static final int MAX_PAGES = 262_144;

    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 4;
    static final int DOMID_OFFSET = 8;
    static final int MAX_PAGES_OFFSET = 12;
    static final int LOCK_OFFSET = 16;
    static final int STATE_OFFSET = 20;
    static final int SHUTDOWN_REASON_OFFSET = 24;
    static final int VCPUS_OFFSET = 28;
    static final int CREATED_OFFSET = 32;
    static final int GUEST_LOCK_OFFSET = 40;

    static final int STATE_PAUSED = 1;
    static final int STATE_SHUTDOWN = 2;
    static final int STATE_DYING = 4;

    static final int ACTIVE_OFFSET = 4096;
    static final int ACTIVE_ENTRY_LENGTH = 8;
    static final int ACTIVE_PINS = 0;
    static final int ACTIVE_FRAME = 4;
    static final int READ_PIN = 1;
    static final int WRITE_PIN = 1 << 16;

    static final int PORTS_OFFSET = ACTIVE_OFFSET + NR_GRANT_ENTRIES * ACTIVE_ENTRY_LENGTH;
    static final int PORT_ENTRY_LENGTH = 32;
    static final int PORT_STATE = 0;
    static final int PORT_REMOTE_DOMID = 4;
    static final int PORT_REMOTE_PORT = 8;
    static final int PORT_OWNER = 12;
    static final int PORT_PENDING = 16;
    static final int PORT_MASKED = 20;
    /**
     * The port's binding sequence: odd while {@code setPort} rewrites state and remote end, so that a send reads the
     * three without taking the domain's lock.
     */
    static final int PORT_SEQ = 24;

    static final int HANDLES_OFFSET = PORTS_OFFSET + NR_PORTS * PORT_ENTRY_LENGTH;
    static final int HANDLE_ENTRY_LENGTH = 16;
    static final int HANDLE_PID = 0;
    static final int HANDLE_SEQ = 4;
    static final int HANDLE_WAITERS = 8;

    static final int REF_BITMAP_OFFSET = HANDLES_OFFSET + MAX_HANDLES * HANDLE_ENTRY_LENGTH;
    static final int PAGE_BITMAP_OFFSET = REF_BITMAP_OFFSET + NR_GRANT_ENTRIES / 8;
    static final int CONTROL_LENGTH = PAGE_BITMAP_OFFSET + MAX_PAGES / 8;

    private SimDomainDescriptor()
    {
    }

    static int grantEntryOffset(final int ref)
    {
        return ref * GRANT_ENTRY_LENGTH;
    }

    static int activeOffset(final int ref)
    {
        return ACTIVE_OFFSET + ref * ACTIVE_ENTRY_LENGTH;
    }

    static int portOffset(final int port)
    {
        return PORTS_OFFSET + port * PORT_ENTRY_LENGTH;
    }

    /**
     * @param handle a handle id, from 1.
     * @return the offset of its slot.
     */
    static int handleOffset(final int handle)
    {
        return HANDLES_OFFSET + (handle - 1) * HANDLE_ENTRY_LENGTH;
    }
}
