package org.dom0j.xenstore;

import java.util.List;
import java.util.function.Function;

/**
 * A connection to xenstored, as a dom0 tool or backend uses it (the operations of Xen 4.17's
 * {@code xen/include/public/io/xs_wire.h} that libxenstore offers).
 * <p>
 * <b>Errors</b>: an error reply from xenstored ("ENOENT", "EACCES", "EAGAIN", "E2BIG", "EQUOTA", ...) becomes a
 * {@link XenStoreException} carrying its errno; a broken connection is a {@link XenStoreException} with
 * {@code ECONNRESET}. Paths and values are checked before they are sent: payload at most 4096 bytes, absolute
 * paths at most 3072 bytes, relative ones 2048 (see {@link XsPaths} for the whole rule).
 * <p>
 * Operations marked <i>privileged</i> are refused with EACCES unless the connection is dom0's.
 * <p>
 * <b>Threads</b>: every method may be called from any thread, concurrently; requests are multiplexed on one
 * connection by request id. Watch callbacks run on the connection's own watch thread, one at a time, in the order
 * xenstored sent the events; a callback may issue xenstore requests (see {@link XenStoreClient} for what happens
 * when the bounded event queue fills up meanwhile).
 */
public interface XenStore extends AutoCloseable
{
    /**
     * @param path absolute or relative path.
     * @return the node's value as UTF-8.
     * @throws XenStoreException ENOENT when there is no such node.
     */
    String read(String path);

    /**
     * @param path absolute or relative path.
     * @return the node's value, or null when the node does not exist.
     */
    String readOrNull(String path);

    /**
     * Writes a value, creating the node and its missing parents.
     *
     * @param path  absolute or relative path.
     * @param value the value, written as UTF-8 without a terminating NUL.
     */
    void write(String path, String value);

    /**
     * @param path the node to create if it is missing.
     */
    void mkdir(String path);

    /**
     * Removes a node and everything below it; removing a missing node is not an error.
     *
     * @param path the node.
     */
    void rm(String path);

    /**
     * @param path absolute or relative path.
     * @return the node's value as bytes (values may hold any bytes).
     * @throws XenStoreException ENOENT when there is no such node.
     */
    byte[] readBytes(String path);

    /**
     * Writes a value, creating the node and its missing parents.
     *
     * @param path  absolute or relative path.
     * @param value the value's bytes.
     */
    void write(String path, byte[] value);

    /**
     * @param path the parent node.
     * @return the names of its children, using DIRECTORY_PART when the answer exceeds one payload.
     */
    List<String> directory(String path);

    /**
     * @param path the node.
     * @return whether it exists (and may be read by this connection).
     */
    boolean exists(String path);

    /**
     * @param path the node.
     * @return its permissions: the first entry names the owner and what everyone else may do.
     */
    List<XsPermission> getPermissions(String path);

    /**
     * @param path        the node.
     * @param permissions the owner entry first, then per-domain entries.
     */
    void setPermissions(String path, List<XsPermission> permissions);

    /**
     * Runs {@code body} in a transaction and commits it, starting again from scratch while xenstored answers
     * EAGAIN (another writer got there first), with backoff. Retrying happens here and nowhere else.
     *
     * @param body the work; it may run several times and must not have side effects outside the transaction.
     * @param <T>  what it returns.
     * @return what the committed run returned.
     */
    <T> T transaction(Function<XenStoreTransaction, T> body);

    /**
     * Sets a watch on {@code path} and everything below it. xenstored fires once at once for every new watch.
     *
     * @param path     absolute path, or "@introduceDomain" / "@releaseDomain".
     * @param token    the caller's token, returned with each event.
     * @param listener called on the watch thread.
     * @return the watch; closing it removes it.
     */
    XsWatch watch(String path, String token, XsWatchListener listener);

    /**
     * Sets a watch whose events are delivered only for paths at most {@code depth} levels below {@code path}
     * (0: the node itself; -1: no limit). xenstored knows nothing of depth: the filter runs in this client, so
     * events beyond the depth still cross the wire.
     *
     * @param path     absolute path, relative path, or "@introduceDomain" / "@releaseDomain".
     * @param token    the caller's token, returned with each event.
     * @param depth    how many levels below {@code path} to report, or -1 for all.
     * @param listener called on the watch thread.
     * @return the watch; closing it removes it.
     */
    XsWatch watch(String path, String token, int depth, XsWatchListener listener);

    /**
     * RESET_WATCHES: removes every watch and ends every transaction of this connection in xenstored. Watches set
     * through this object stop delivering events.
     */
    void resetWatches();

    /**
     * @param domid a domain id.
     * @return "/local/domain/&lt;domid&gt;" as xenstored answers GET_DOMAIN_PATH.
     */
    String getDomainPath(int domid);

    /**
     * INTRODUCE (privileged): tells xenstored that domain {@code domid} exists and where its ring is; fires
     * "@introduceDomain".
     *
     * @param domid        the new domain.
     * @param mfn          the frame (or grant) of its xenstore ring page.
     * @param eventChannel the event channel port (in dom0) bound to it.
     */
    void introduceDomain(int domid, long mfn, int eventChannel);

    /**
     * RELEASE (privileged): xenstored forgets the domain and fires "@releaseDomain".
     *
     * @param domid the domain.
     */
    void releaseDomain(int domid);

    /**
     * IS_DOMAIN_INTRODUCED (privileged).
     *
     * @param domid the domain.
     * @return whether xenstored knows it.
     */
    boolean isDomainIntroduced(int domid);

    /**
     * RESUME (privileged): clears the domain's shutdown flag after a suspend was cancelled.
     *
     * @param domid the domain.
     */
    void resumeDomain(int domid);

    /**
     * SET_TARGET (privileged): gives {@code domid} (a device model's domain) the rights of {@code targetDomid}.
     *
     * @param domid       the domain that gains rights.
     * @param targetDomid the domain whose nodes it may then treat as its own.
     */
    void setTarget(int domid, int targetDomid);

    /**
     * CONTROL (privileged): a xenstored debug/control command, as {@code xenstore-control} sends it.
     *
     * @param args the command and its arguments.
     * @return xenstored's answer text.
     */
    String control(String... args);

    /**
     * GET_FEATURE (Xen 4.19+ protocol).
     *
     * @param domid a domain, or -1 for the server's own feature bits.
     * @return the feature bits.
     */
    long getFeature(int domid);

    /**
     * SET_FEATURE (privileged, Xen 4.19+ protocol).
     *
     * @param domid    the domain.
     * @param features its feature bits (a subset of the server's).
     */
    void setFeature(int domid, long features);

    /**
     * GET_QUOTA (Xen 4.19+ protocol).
     *
     * @param domid a domain, or -1 for the global value.
     * @param name  the quota's name, e.g. "nodes", "watches", "transactions", "outstanding", "node-size",
     *              "permissions".
     * @return its value.
     */
    long getQuota(int domid, String name);

    /**
     * GET_QUOTA without a name (Xen 4.19+ protocol).
     *
     * @param domid a domain, or -1 for the global list.
     * @return the names of the quotas the server knows.
     */
    List<String> quotaNames(int domid);

    /**
     * SET_QUOTA (privileged, Xen 4.19+ protocol).
     *
     * @param domid a domain, or -1 to set the global value.
     * @param name  the quota's name.
     * @param value the new value.
     */
    void setQuota(int domid, String name, long value);

    /**
     * Closes the connection; pending requests fail with ECONNRESET, watches stop.
     */
    @Override
    void close();
}
