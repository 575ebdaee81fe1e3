package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.xenstore.XsPaths;
import org.dom0j.xenstore.XsPermission;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.dom0j.sim.xenstored.SimXenstored.OK;
import static org.dom0j.sim.xenstored.XsAccess.OWNER;
import static org.dom0j.sim.xenstored.XsAccess.READ;
import static org.dom0j.sim.xenstored.XsAccess.WRITE;
import static org.dom0j.sim.xenstored.XsAccess.permFor;
import static org.dom0j.sim.xenstored.XsAccess.requirePerm;
import static org.dom0j.sim.xenstored.XsArgs.joinStrings;
import static org.dom0j.sim.xenstored.XsArgs.strings;
import static org.dom0j.xenstore.XsWireDescriptor.PAYLOAD_MAX;

/**
 * The node operations of {@link SimXenstored}: READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART and
 * GET/SET_PERMS, on the store or inside a transaction, with C xenstored's permission checks (EACCES or ENOENT
 * chosen from the nearest existing ancestor), node quotas and watch events. A node created by an unprivileged
 * domain is owned by it, with its parent's permissions otherwise.
 * <p>
 * Confined to the server thread.
 */
final class XsNodes
{
    private final XsStore store;
    private final DomainAccounting accounting;
    private final XsWatches watches;

    XsNodes(final XsStore store, final DomainAccounting accounting, final XsWatches watches)
    {
        this.store = store;
        this.accounting = accounting;
        this.watches = watches;
    }

    /**
     * Who asks, and where: the store or a transaction.
     *
     * @param conn the connection.
     * @param view the store, or the transaction.
     * @param tx   the transaction, or null.
     */
    record Ctx(XsConnection conn, XsStore.View view, XsStore.Tx tx)
    {
    }

    byte[] doRead(final Ctx ctx, final String path)
    {
        return getNode(ctx, ctx.conn.canonical(path, false), READ).value().clone();
    }

    byte[] doWrite(final Ctx ctx, final byte[] payload)
    {
        int nul = 0;
        while (nul < payload.length && payload[nul] != 0)
        {
            nul++;
        }
        if (nul == payload.length)
        {
            throw new XsError(Errno.EINVAL);
        }
        final String path = ctx.conn.canonical(new String(payload, 0, nul, StandardCharsets.UTF_8), false);
        final byte[] value = java.util.Arrays.copyOfRange(payload, nul + 1, payload.length);
        accounting.checkNodeSize(ctx.conn.domid, value.length);
        final XsStore.Node existing = ctx.view.get(path);
        final XsStore.Node written;
        if (null != existing)
        {
            requirePerm(ctx.conn, existing, WRITE);
            written = existing.withValue(value);
            ctx.view.put(path, written);
        }
        else
        {
            final Errno e = errnoFromParents(ctx, path, WRITE, Errno.ENOENT);
            if (e != Errno.ENOENT)
            {
                throw new XsError(e);
            }
            written = create(ctx, path, value);
        }
        watches.fire(ctx.tx, path, written.perms(), null, false);
        return OK;
    }

    byte[] doMkdir(final Ctx ctx, final String given)
    {
        final String path = ctx.conn.canonical(given, false);
        final XsStore.Node existing = ctx.view.get(path);
        if (null != existing)
        {
            requirePerm(ctx.conn, existing, WRITE);
            return OK;
        }
        final Errno e = errnoFromParents(ctx, path, WRITE, Errno.ENOENT);
        if (e != Errno.ENOENT)
        {
            throw new XsError(e);
        }
        final XsStore.Node made = create(ctx, path, new byte[0]);
        watches.fire(ctx.tx, path, made.perms(), null, false);
        return OK;
    }

    byte[] doRm(final Ctx ctx, final String given)
    {
        final String path = ctx.conn.canonical(given, false);
        final XsStore.Node node = ctx.view.get(path);
        if (null == node)
        {
            final Errno e = errnoFromParents(ctx, path, WRITE, Errno.ENOENT);
            if (e == Errno.ENOENT && !path.equals("/") && null != ctx.view.get(XsPaths.parent(path)))
            {
                return OK;
            }
            throw new XsError(e);
        }
        requirePerm(ctx.conn, node, WRITE);
        if (path.equals("/"))
        {
            throw new XsError(Errno.EINVAL);
        }
        removeTree(ctx, path, node, path);
        final String parentPath = XsPaths.parent(path);
        final XsStore.Node parent = ctx.view.get(parentPath);
        ctx.view.put(parentPath, parent.withoutChild(path.substring(path.lastIndexOf('/') + 1)));
        return OK;
    }

    private void removeTree(final Ctx ctx, final String path, final XsStore.Node node, final String root)
    {
        for (final String child : node.children())
        {
            final String childPath = XsPaths.child(path, child);
            final XsStore.Node c = ctx.view.get(childPath);
            if (null != c)
            {
                removeTree(ctx, childPath, c, root);
            }
        }
        ctx.view.remove(path);
        watches.fire(ctx.tx, path, node.perms(), null, !path.equals(root));
    }

    byte[] doDirectory(final Ctx ctx, final String path)
    {
        final XsStore.Node node = getNode(ctx, ctx.conn.canonical(path, false), READ);
        return joinStrings(node.children(), false);
    }

    byte[] doDirectoryPart(final Ctx ctx, final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() != 2)
        {
            throw new XsError(Errno.EINVAL);
        }
        final XsStore.Node node = getNode(ctx, ctx.conn.canonical(args.get(0), false), READ);
        final int offset;
        try
        {
            offset = Integer.parseInt(args.get(1));
        }
        catch (final NumberFormatException ex)
        {
            throw new XsError(Errno.EINVAL);
        }
        final byte[] all = joinStrings(node.children(), false);
        final byte[] gen = (node.generation() + "\0").getBytes(StandardCharsets.US_ASCII);
        if (offset < 0 || offset >= all.length)
        {
            final byte[] out = java.util.Arrays.copyOf(gen, gen.length + 1);
            return out;
        }
        final int max = PAYLOAD_MAX - gen.length - 1;
        int len = 0;
        int at = offset;
        while (at < all.length)
        {
            int end = at;
            while (all[end] != 0)
            {
                end++;
            }
            final int childLen = end - at + 1;
            if (len + childLen > max)
            {
                break;
            }
            len += childLen;
            at = end + 1;
        }
        final boolean complete = offset + len == all.length;
        final byte[] out = new byte[gen.length + len + (complete ? 1 : 0)];
        System.arraycopy(gen, 0, out, 0, gen.length);
        System.arraycopy(all, offset, out, gen.length, len);
        return out;
    }

    byte[] doGetPerms(final Ctx ctx, final String given)
    {
        final String path = ctx.conn.canonical(given, true);
        final XsPermission[] perms;
        if (path.startsWith("@"))
        {
            perms = watches.specialPerms(path);
            if (null == perms)
            {
                throw new XsError(Errno.ENOENT);
            }
            if ((permFor(ctx.conn, perms) & READ) == 0)
            {
                throw new XsError(Errno.EACCES);
            }
        }
        else
        {
            perms = getNode(ctx, path, READ).perms();
        }
        final List<String> out = new ArrayList<>();
        for (final XsPermission p : perms)
        {
            out.add(p.toString());
        }
        return joinStrings(out, false);
    }

    byte[] doSetPerms(final Ctx ctx, final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2 || payload[payload.length - 1] != 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        final int count = args.size() - 1;
        accounting.checkPermissions(ctx.conn.domid, count);
        final XsPermission[] perms = new XsPermission[count];
        for (int i = 0; i < count; i++)
        {
            try
            {
                perms[i] = XsPermission.parse(args.get(i + 1));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new XsError(Errno.EINVAL);
            }
        }
        final String path = ctx.conn.canonical(args.get(0), true);
        if (path.startsWith("@"))
        {
            final XsPermission[] old = watches.specialPerms(path);
            if (null == old)
            {
                throw new XsError(Errno.ENOENT);
            }
            if (!ctx.conn.privileged())
            {
                throw new XsError(Errno.EACCES);
            }
            watches.setSpecialPerms(path, perms);
            return OK;
        }
        final XsStore.Node node = getNode(ctx, path, WRITE | OWNER);
        if (!ctx.conn.privileged() && perms[0].domid() != node.owner())
        {
            throw new XsError(Errno.EPERM);
        }
        ctx.view.put(path, node.withPerms(perms));
        watches.fire(ctx.tx, path, perms, node.perms(), false);
        return OK;
    }

    private XsStore.Node create(final Ctx ctx, final String path, final byte[] value)
    {
        if (null != ctx.tx)
        {
            ctx.tx.nodeCreated();
        }
        final List<String> missing = new ArrayList<>();
        String p = path;
        XsStore.Node parent;
        while (true)
        {
            missing.add(p);
            p = XsPaths.parent(p);
            parent = ctx.view.get(p);
            if (null != parent)
            {
                break;
            }
        }
        String parentPath = p;
        XsStore.Node made = null;
        for (int i = missing.size() - 1; i >= 0; i--)
        {
            // the committed count, as C's create_node: a transaction's own new nodes are checked at its commit
            accounting.checkNodeCreation(ctx.conn.domid, store.owned(ctx.conn.domid));
            final String name = missing.get(i);
            final XsPermission[] perms = parent.perms().clone();
            if (!ctx.conn.privileged())
            {
                perms[0] = new XsPermission(perms[0].access(), ctx.conn.domid);
            }
            ctx.view.put(parentPath, parent.withChild(name.substring(name.lastIndexOf('/') + 1)));
            made = new XsStore.Node(i == 0 ? value : new byte[0], perms, List.of(), 0);
            ctx.view.put(name, made);
            parent = made;
            parentPath = name;
        }
        return made;
    }

    private XsStore.Node getNode(final Ctx ctx, final String path, final int perm)
    {
        final XsStore.Node node = ctx.view.get(path);
        if (null == node)
        {
            throw new XsError(errnoFromParents(ctx, path, perm, Errno.ENOENT));
        }
        requirePerm(ctx.conn, node, perm);
        return node;
    }

    /** C's errno_from_parents: ENOENT only if the nearest existing ancestor grants {@code perm}. */
    private Errno errnoFromParents(final Ctx ctx, final String path, final int perm, final Errno errno)
    {
        String p = path;
        XsStore.Node ancestor = null;
        while (null == ancestor && !p.equals("/"))
        {
            p = XsPaths.parent(p);
            ancestor = ctx.view.get(p);
        }
        if (null == ancestor)
        {
            return Errno.EACCES;
        }
        return (permFor(ctx.conn, ancestor.perms()) & perm) != 0 ? errno : Errno.EACCES;
    }
}
