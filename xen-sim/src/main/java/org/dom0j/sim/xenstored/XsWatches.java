package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.xenstore.XsMessageType;
import org.dom0j.xenstore.XsPaths;
import org.dom0j.xenstore.XsPermission;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.dom0j.sim.xenstored.SimXenstored.OK;
import static org.dom0j.sim.xenstored.XsAccess.READ;
import static org.dom0j.sim.xenstored.XsAccess.permFor;
import static org.dom0j.sim.xenstored.XsArgs.strings;
import static org.dom0j.xenstore.XsWireDescriptor.PAYLOAD_MAX;

/**
 * The watches of {@link SimXenstored}: WATCH, UNWATCH and RESET_WATCHES, and the firing of watch events. A change
 * fires the watches on the node and its ancestors; a removed descendant fires only the watches on itself. Events go
 * to connections that may read the node (before or after the change), with relative paths for relative watches.
 * Also keeps the permissions of the special paths "@introduceDomain" and "@releaseDomain" (n0 by default), which
 * decide who is told of {@link #fireSpecial} events.
 * <p>
 * Confined to the server thread.
 */
final class XsWatches
{
    private final List<XsConnection> connections;
    private final XsStore store;
    private final DomainAccounting accounting;
    private final Map<String, XsPermission[]> specialPerms = new HashMap<>();

    /**
     * @param connections the server's open connections (read, never changed here).
     * @param store       the committed store, to fire a committed transaction's events.
     * @param accounting  counts each domain's watches.
     */
    XsWatches(final List<XsConnection> connections, final XsStore store, final DomainAccounting accounting)
    {
        this.connections = connections;
        this.store = store;
        this.accounting = accounting;
        for (final String special : List.of(XsPaths.INTRODUCE_DOMAIN, XsPaths.RELEASE_DOMAIN))
        {
            specialPerms.put(special, new XsPermission[]{ new XsPermission(XsPermission.Access.NONE, 0) });
        }
    }

    /**
     * @param special "@introduceDomain" or "@releaseDomain".
     * @return its permissions, or null for another path.
     */
    XsPermission[] specialPerms(final String special)
    {
        return specialPerms.get(special);
    }

    void setSpecialPerms(final String special, final XsPermission[] perms)
    {
        specialPerms.put(special, perms);
    }

    byte[] doWatch(final XsConnection conn, final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2 || payload[payload.length - 1] != 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        final String given = args.get(0);
        final String token = args.get(1);
        final String absolute = conn.canonical(given, true);
        for (final Watch w : conn.watches)
        {
            if (w.given.equals(given) && w.token.equals(token))
            {
                throw new XsError(Errno.EEXIST);
            }
        }
        accounting.addWatch(conn.domid);
        final String relativePrefix = given.startsWith("/") || given.startsWith("@") ? null :
            XsPaths.LOCAL_DOMAIN + conn.domid + "/";
        conn.watches.add(new Watch(given, absolute, token, relativePrefix));
        return OK;
    }

    /**
     * Fires the watch the connection set last, once, as every new watch fires; called after the WATCH reply is
     * queued, so the event follows it.
     *
     * @param conn the connection.
     */
    void fireNewest(final XsConnection conn)
    {
        final Watch w = conn.watches.get(conn.watches.size() - 1);
        sendEvent(conn, w, w.absolute);
    }

    byte[] doUnwatch(final XsConnection conn, final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2)
        {
            throw new XsError(Errno.EINVAL);
        }
        conn.canonical(args.get(0), true);
        for (int i = 0; i < conn.watches.size(); i++)
        {
            final Watch w = conn.watches.get(i);
            if (w.given.equals(args.get(0)) && w.token.equals(args.get(1)))
            {
                conn.watches.remove(i);
                accounting.watchesRemoved(conn.domid, 1);
                return OK;
            }
        }
        throw new XsError(Errno.ENOENT);
    }

    byte[] doResetWatches(final XsConnection conn)
    {
        accounting.watchesRemoved(conn.domid, conn.watches.size());
        accounting.transactionsEnded(conn.domid, conn.transactions.size());
        conn.watches.clear();
        conn.transactions.clear();
        return OK;
    }

    /**
     * A node changed: fires its watches now, or at commit when the change is a transaction's.
     *
     * @param tx       the transaction that changed it, or null.
     * @param path     the node.
     * @param perms    its permissions now (or, removed, as they were).
     * @param oldPerms its permissions before, when they changed, else null.
     * @param exact    whether only watches on the node itself fire (a removed descendant), not those of ancestors.
     */
    void fire(final XsStore.Tx tx, final String path, final XsPermission[] perms, final XsPermission[] oldPerms,
        final boolean exact)
    {
        if (null != tx)
        {
            tx.queueWatch(path, exact);
            return;
        }
        fireNow(path, perms, oldPerms, exact);
    }

    private void fireNow(final String path, final XsPermission[] perms, final XsPermission[] oldPerms,
        final boolean exact)
    {
        for (final XsConnection c : new ArrayList<>(connections))
        {
            if (c.watches.isEmpty())
            {
                continue;
            }
            final boolean visible = (permFor(c, perms) & READ) != 0 ||
                (null != oldPerms && (permFor(c, oldPerms) & READ) != 0);
            if (!visible)
            {
                continue;
            }
            for (final Watch w : new ArrayList<>(c.watches))
            {
                final boolean match = exact ? w.absolute.equals(path) : XsPaths.isAtOrBelow(path, w.absolute);
                if (match)
                {
                    sendEvent(c, w, path);
                }
            }
        }
    }

    /**
     * Fires, after commit, the one event of a node the transaction changed (however often): as C's
     * {@code finalize_transaction}, visible to a watcher who may read the node as it was when the transaction
     * first looked at it or as it is now; a node the transaction created and removed fires nothing.
     */
    void fireCommitted(final XsStore.Tx tx, final XsStore.TxWatch w)
    {
        final XsStore.Node now = store.main().get(w.path());
        final XsStore.Node before = tx.before(w.path());
        if (null != now)
        {
            fireNow(w.path(), now.perms(), null == before ? null : before.perms(), w.exact());
        }
        else if (null != before)
        {
            fireNow(w.path(), before.perms(), null, w.exact());
        }
    }

    /**
     * Fires the watches on "@introduceDomain" or "@releaseDomain" of every connection its permissions let read it.
     *
     * @param special the special path.
     */
    void fireSpecial(final String special)
    {
        final XsPermission[] perms = specialPerms.get(special);
        for (final XsConnection c : new ArrayList<>(connections))
        {
            if ((permFor(c, perms) & READ) == 0)
            {
                continue;
            }
            for (final Watch w : new ArrayList<>(c.watches))
            {
                if (w.absolute.equals(special))
                {
                    sendEvent(c, w, special);
                }
            }
        }
    }

    private void sendEvent(final XsConnection conn, final Watch w, final String path)
    {
        String reported = path;
        if (null != w.relativePrefix && path.startsWith(w.relativePrefix))
        {
            reported = path.substring(w.relativePrefix.length());
        }
        final byte[] p = reported.getBytes(StandardCharsets.UTF_8);
        final byte[] t = w.token.getBytes(StandardCharsets.UTF_8);
        if (p.length + t.length + 2 > PAYLOAD_MAX)
        {
            return;
        }
        final byte[] payload = new byte[p.length + t.length + 2];
        System.arraycopy(p, 0, payload, 0, p.length);
        System.arraycopy(t, 0, payload, p.length + 1, t.length);
        conn.enqueue(XsMessageType.WATCH_EVENT.code(), 0, 0, payload, false);
    }

    /**
     * A watch a connection set.
     *
     * @param given          the path as the client gave it.
     * @param absolute       that path made absolute.
     * @param token          the client's token, sent back with each event.
     * @param relativePrefix for a relative watch, what to strip from event paths ({@code /local/domain/N/}), else
     *                       null.
     */
    record Watch(String given, String absolute, String token, String relativePrefix)
    {
    }
}
