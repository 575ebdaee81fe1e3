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
 * paths at most 3072 bytes, relative ones 2048.
 * <p>
 * <b>Threads</b>: every method may be called from any thread, concurrently; requests are multiplexed on one
 * connection by request id. Watch callbacks run on the connection's own watch thread, one at a time, in the order
 * xenstored sent the events; a callback must not block on another xenstore request's reply that it would have to
 * deliver itself.
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
     * @param domid a domain id.
     * @return "/local/domain/&lt;domid&gt;" as xenstored answers GET_DOMAIN_PATH.
     */
    String getDomainPath(int domid);

    /**
     * Closes the connection; pending requests fail with ECONNRESET, watches stop.
     */
    @Override
    void close();
}
