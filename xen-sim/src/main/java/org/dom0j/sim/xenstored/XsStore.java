package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.xenstore.XsPermission;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The node tree of {@link SimXenstored}: a map from absolute path to immutable {@link Node}, each carrying a
 * generation number that changes whenever the node (its value, permissions or child list) changes, and the count
 * of nodes each domain owns. Transactions are {@link Tx} views: copy-on-write overlays that remember the generation
 * of every node they looked at, and commit only if none of those changed meanwhile (C xenstored's rule; the caller
 * answers EAGAIN otherwise). Like C's list of accessed nodes, a transaction also remembers which of its nodes are
 * to fire watches at commit, once each however often they were changed.
 * <p>
 * Confined to the server thread.
 */
final class XsStore
{
    private static final Node TOMBSTONE = new Node(new byte[0], new XsPermission[0], List.of(), -1);

    private final Map<String, Node> nodes = new HashMap<>();
    private final Map<Integer, Integer> owned = new HashMap<>();
    private final View main = new Main();
    private long generation;

    XsStore()
    {
        final XsPermission[] dom0Only = { new XsPermission(XsPermission.Access.NONE, 0) };
        main.put("/", new Node(new byte[0], dom0Only, List.of(), 0));
        main.put("/tool", new Node(new byte[0], dom0Only, List.of(), 0));
        main.put("/tool", main.get("/tool").withChildren(List.of("xenstored")));
        main.put("/tool/xenstored", new Node(new byte[0], dom0Only, List.of(), 0));
        main.put("/", main.get("/").withChildren(List.of("tool")));
    }

    View main()
    {
        return main;
    }

    /**
     * @param nodeLimit how many distinct nodes the transaction may look at (C's "transaction-nodes" quota).
     * @return a new transaction.
     */
    Tx begin(final int nodeLimit)
    {
        return new Tx(nodeLimit);
    }

    int owned(final int domid)
    {
        return owned.getOrDefault(domid, 0);
    }

    private void count(final Node node, final int delta)
    {
        if (null != node && node != TOMBSTONE)
        {
            owned.merge(node.owner(), delta, Integer::sum);
        }
    }

    /**
     * One node: value, permission list (owner first) and child names in creation order.
     *
     * @param value      its bytes.
     * @param perms      owner entry first.
     * @param children   names of its children.
     * @param generation changes with every modification.
     */
    record Node(byte[] value, XsPermission[] perms, List<String> children, long generation)
    {
        int owner()
        {
            return perms[0].domid();
        }

        Node withValue(final byte[] v)
        {
            return new Node(v, perms, children, generation);
        }

        Node withPerms(final XsPermission[] p)
        {
            return new Node(value, p, children, generation);
        }

        Node withChildren(final List<String> c)
        {
            return new Node(value, perms, List.copyOf(c), generation);
        }

        Node withChild(final String name)
        {
            final List<String> c = new ArrayList<>(children);
            c.add(name);
            return withChildren(c);
        }

        Node withoutChild(final String name)
        {
            final List<String> c = new ArrayList<>(children);
            c.remove(name);
            return withChildren(c);
        }
    }

    /**
     * Where operations read and write: the store itself, or a transaction.
     */
    interface View
    {
        Node get(String path);

        void put(String path, Node node);

        void remove(String path);
    }

    private final class Main implements View
    {
        @Override
        public Node get(final String path)
        {
            return nodes.get(path);
        }

        @Override
        public void put(final String path, final Node node)
        {
            final Node stored = new Node(node.value, node.perms, node.children, ++generation);
            count(nodes.put(path, stored), -1);
            count(stored, 1);
        }

        @Override
        public void remove(final String path)
        {
            count(nodes.remove(path), -1);
        }
    }

    /**
     * A watch a transaction fires at commit.
     *
     * @param path  the node changed.
     * @param exact whether only watches on the node itself fire (a removed descendant), not those of ancestors.
     */
    record TxWatch(String path, boolean exact)
    {
    }

    /**
     * A transaction: writes go to an overlay; every path read or written is remembered with the generation it had
     * (or -1 when absent) the first time the transaction looked, and later reads return that same version (C
     * xenstored copies a node into the transaction on first access), so a transaction never sees another writer's
     * change: it gets EAGAIN at commit instead. Looking at more distinct nodes than its limit gives ENOSPC and
     * fails the transaction (C's {@code access_node}).
     */
    final class Tx implements View
    {
        private final Map<String, Node> overlay = new LinkedHashMap<>();
        /** In the order first looked at: C's list of accessed nodes, the order its commit fires watches in. */
        private final Map<String, Long> seen = new LinkedHashMap<>();
        private final Map<String, Node> read = new HashMap<>();
        private final Map<Integer, Integer> ownedDelta = new HashMap<>();
        private final Map<String, Boolean> watches = new HashMap<>();
        private final int nodeLimit;
        private boolean createdNode;
        private boolean failed;

        private Tx(final int nodeLimit)
        {
            this.nodeLimit = nodeLimit;
        }

        @Override
        public Node get(final String path)
        {
            final Node o = overlay.get(path);
            if (null != o)
            {
                return o == TOMBSTONE ? null : o;
            }
            final Node first = read.get(path);
            if (null != first)
            {
                return first == TOMBSTONE ? null : first;
            }
            if (seen.size() >= nodeLimit)
            {
                failed = true;
                throw new XsError(Errno.ENOSPC);
            }
            final Node n = nodes.get(path);
            seen.put(path, null == n ? -1L : n.generation);
            read.put(path, null == n ? TOMBSTONE : n);
            return n;
        }

        @Override
        public void put(final String path, final Node node)
        {
            final Node old = get(path);
            delta(old, -1);
            delta(node, 1);
            overlay.put(path, node);
        }

        @Override
        public void remove(final String path)
        {
            delta(get(path), -1);
            overlay.put(path, TOMBSTONE);
        }

        /**
         * @param path a node.
         * @return the node as it was when this transaction first looked at it, or null if it did not exist then
         *         (or was never looked at).
         */
        Node before(final String path)
        {
            final Node n = read.get(path);
            return n == TOMBSTONE ? null : n;
        }

        /**
         * Notes that a change of {@code path} is to fire watches at commit. Once per node: a later change of the
         * same node adds nothing, except that a non-exact event replaces an exact one (C's {@code queue_watches}).
         *
         * @param path  the node changed.
         * @param exact see {@link TxWatch#exact()}.
         */
        void queueWatch(final String path, final boolean exact)
        {
            watches.merge(path, exact, (was, now) -> was && now);
        }

        /**
         * @return the watches to fire at commit, in the order the transaction first looked at their nodes.
         */
        List<TxWatch> queuedWatches()
        {
            final List<TxWatch> out = new ArrayList<>(watches.size());
            for (final String path : seen.keySet())
            {
                final Boolean exact = watches.get(path);
                if (null != exact)
                {
                    out.add(new TxWatch(path, exact));
                }
            }
            return out;
        }

        /** Notes that a request in this transaction created a node (C's {@code ta_node_created}). */
        void nodeCreated()
        {
            createdNode = true;
        }

        boolean createdNode()
        {
            return createdNode;
        }

        /**
         * @return whether the transaction went over its node limit; it may not commit (C's {@code trans->fail}).
         */
        boolean failed()
        {
            return failed;
        }

        /**
         * @return by how much this transaction changes how many nodes each domain owns (a domain whose nodes it
         *         created and removed again is there with 0).
         */
        Map<Integer, Integer> ownedDelta()
        {
            return Collections.unmodifiableMap(ownedDelta);
        }

        private void delta(final Node node, final int d)
        {
            if (null != node && node != TOMBSTONE)
            {
                ownedDelta.merge(node.owner(), d, Integer::sum);
            }
        }

        /**
         * @return false (and nothing applied) when a node this transaction looked at changed since.
         */
        boolean commit()
        {
            for (final Map.Entry<String, Long> e : seen.entrySet())
            {
                final Node now = nodes.get(e.getKey());
                if ((null == now ? -1L : now.generation) != e.getValue())
                {
                    return false;
                }
            }
            for (final Map.Entry<String, Node> e : overlay.entrySet())
            {
                if (e.getValue() == TOMBSTONE)
                {
                    main.remove(e.getKey());
                }
                else
                {
                    main.put(e.getKey(), e.getValue());
                }
            }
            return true;
        }
    }
}
