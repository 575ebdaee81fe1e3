package org.dom0j.gnttab;

/**
 * Access to pages that other domains granted to this one (libxengnttab's gnttab half; the kernel's gntdev).
 * <p>
 * <b>Errors</b>: a refused operation is a {@link GrantTableException} carrying errno. A refused map is EINVAL
 * whatever Xen's reason (a ref outside the table, an entry that does not permit access, a grant meant for another
 * domain, a read-only grant mapped writable, a granting domain that does not exist), because gntdev reports every
 * bad GNTST status that way; the simulator's message says which. ENOMEM when the handle's mapping limit
 * ({@link #setMaxGrants}) is reached. A refused map leaves nothing mapped. Grant copy reports a GNTST_* status per
 * operation in the batch instead of throwing.
 * <p>
 * <b>Threads</b>: an instance may be used by several threads at once; each {@link GrantMapping} is owned by the
 * thread that uses its buffer, and must be closed exactly once (closing twice is harmless).
 */
public interface GrantTables extends AutoCloseable
{
    /**
     * Maps {@code count} grant refs of one domain into one virtually contiguous mapping, page {@code i} of the
     * mapping being {@code refs[i]} (as {@code xengnttab_map_domain_grant_refs}).
     *
     * @param domid    the granting domain.
     * @param refs     the grant refs.
     * @param count    how many of {@code refs} to map, at least 1.
     * @param writable map for writing; a read-only grant mapped writable is refused.
     * @return the mapping.
     */
    GrantMapping map(int domid, int[] refs, int count, boolean writable);

    /**
     * @param domid    the granting domain.
     * @param ref      the grant ref.
     * @param writable map for writing.
     * @return a one-page mapping.
     */
    default GrantMapping mapOne(final int domid, final int ref, final boolean writable)
    {
        return map(domid, new int[]{ ref }, 1, writable);
    }

    /**
     * Maps one grant and asks for a notification when the mapping goes away, even if this process dies (as
     * {@code xengnttab_map_grant_ref_notify}): the byte at {@code notifyOffset} is cleared and/or an event is sent
     * on the local port {@code notifyPort}. Frontends use this to learn that their backend went away.
     *
     * @param domid        the granting domain.
     * @param ref          the grant ref.
     * @param writable     map for writing; clearing the byte needs a writable mapping.
     * @param notifyOffset offset in the page of the byte to clear, or -1 for none.
     * @param notifyPort   a local event channel port to notify, or -1 for none.
     * @return a one-page mapping.
     */
    GrantMapping mapOneWithNotify(int domid, int ref, boolean writable, int notifyOffset, int notifyPort);

    /**
     * Performs the copies of a batch in one call (as {@code xengnttab_grant_copy}), each to or from a foreign
     * grant; each operation's status is set in the batch.
     *
     * @param batch the operations; its statuses are written.
     */
    void copy(GrantCopyBatch batch);

    /**
     * Limits how many grants this handle may have mapped at once.
     *
     * @param count the limit.
     */
    void setMaxGrants(int count);

    /**
     * @return how many pages this handle has mapped now (for leak checks).
     */
    int mappedPageCount();

    @Override
    void close();
}
