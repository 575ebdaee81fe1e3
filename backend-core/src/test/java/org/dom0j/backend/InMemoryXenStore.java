package org.dom0j.backend;

import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreException;
import org.dom0j.xenstore.XenStoreTransaction;
import org.dom0j.xenstore.XsPermission;
import org.dom0j.xenstore.XsWatch;
import org.dom0j.xenstore.XsWatchListener;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A test fixture, not a model of xenstored: a tree of nodes in a map with watches delivered synchronously on the
 * writer's thread (each fires once when set, as xenstored does). No permissions, no quotas, transactions applied
 * directly. The simulator's xenstored (issue 3) replaces it in integration tests.
 */
final class InMemoryXenStore implements XenStore
{
    private static final int ENOENT = 2;

    private final TreeMap<String, String> nodes = new TreeMap<>();
    private final List<Watch> watches = new CopyOnWriteArrayList<>();

    private final class Watch implements XsWatch
    {
        final String path;
        final String token;
        final XsWatchListener listener;

        Watch(final String path, final String token, final XsWatchListener listener)
        {
            this.path = path;
            this.token = token;
            this.listener = listener;
        }

        @Override
        public String path()
        {
            return path;
        }

        @Override
        public String token()
        {
            return token;
        }

        @Override
        public void close()
        {
            watches.remove(this);
        }
    }

    int watchCount()
    {
        return watches.size();
    }

    @Override
    public synchronized String read(final String path)
    {
        final String value = nodes.get(path);
        if (value == null)
        {
            throw new XenStoreException(ENOENT, "read " + path);
        }
        return value;
    }

    @Override
    public synchronized String readOrNull(final String path)
    {
        return nodes.get(path);
    }

    @Override
    public void write(final String path, final String value)
    {
        synchronized (this)
        {
            String parent = path;
            while (parent.lastIndexOf('/') > 0)
            {
                parent = parent.substring(0, parent.lastIndexOf('/'));
                nodes.putIfAbsent(parent, "");
            }
            nodes.put(path, value);
        }
        fire(path, false);
    }

    @Override
    public void mkdir(final String path)
    {
        synchronized (this)
        {
            if (nodes.containsKey(path))
            {
                return;
            }
        }
        write(path, "");
    }

    @Override
    public void rm(final String path)
    {
        synchronized (this)
        {
            nodes.keySet().removeIf((p) -> p.equals(path) || p.startsWith(path + "/"));
        }
        fire(path, true);
    }

    @Override
    public synchronized List<String> directory(final String path)
    {
        if (!nodes.containsKey(path))
        {
            throw new XenStoreException(ENOENT, "directory " + path);
        }
        final List<String> children = new ArrayList<>();
        for (final String p : nodes.tailMap(path + "/", false).keySet())
        {
            if (!p.startsWith(path + "/"))
            {
                break;
            }
            final String rest = p.substring(path.length() + 1);
            if (!rest.contains("/"))
            {
                children.add(rest);
            }
        }
        return children;
    }

    @Override
    public synchronized boolean exists(final String path)
    {
        return nodes.containsKey(path);
    }

    @Override
    public List<XsPermission> getPermissions(final String path)
    {
        return List.of(new XsPermission(XsPermission.Access.NONE, 0));
    }

    @Override
    public void setPermissions(final String path, final List<XsPermission> permissions)
    {
    }

    @Override
    public <T> T transaction(final Function<XenStoreTransaction, T> body)
    {
        return body.apply(new XenStoreTransaction()
        {
            @Override
            public String readOrNull(final String path)
            {
                return InMemoryXenStore.this.readOrNull(path);
            }

            @Override
            public void write(final String path, final String value)
            {
                InMemoryXenStore.this.write(path, value);
            }

            @Override
            public void mkdir(final String path)
            {
                InMemoryXenStore.this.mkdir(path);
            }

            @Override
            public void rm(final String path)
            {
                InMemoryXenStore.this.rm(path);
            }

            @Override
            public List<String> directory(final String path)
            {
                return InMemoryXenStore.this.directory(path);
            }

            @Override
            public byte[] readBytesOrNull(final String path)
            {
                final String value = InMemoryXenStore.this.readOrNull(path);
                return null == value ? null : value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            }

            @Override
            public boolean exists(final String path)
            {
                return InMemoryXenStore.this.exists(path);
            }

            @Override
            public List<XsPermission> getPermissions(final String path)
            {
                return InMemoryXenStore.this.getPermissions(path);
            }

            @Override
            public void write(final String path, final byte[] value)
            {
                InMemoryXenStore.this.write(path, value);
            }

            @Override
            public void setPermissions(final String path, final List<XsPermission> permissions)
            {
            }
        });
    }

    @Override
    public XsWatch watch(final String path, final String token, final XsWatchListener listener)
    {
        final Watch watch = new Watch(path, token, listener);
        watches.add(watch);
        listener.onWatchEvent(path, token);
        return watch;
    }

    @Override
    public XsWatch watch(final String path, final String token, final int depth, final XsWatchListener listener)
    {
        return watch(path, token, listener);
    }

    @Override
    public String getDomainPath(final int domid)
    {
        return "/local/domain/" + domid;
    }

    @Override
    public byte[] readBytes(final String path)
    {
        return read(path).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public void write(final String path, final byte[] value)
    {
        write(path, new String(value, java.nio.charset.StandardCharsets.UTF_8));
    }

    // The conductor uses none of what follows; the fixture refuses it rather than pretend.

    @Override
    public void resetWatches()
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public void introduceDomain(final int domid, final long mfn, final int eventChannel)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public void releaseDomain(final int domid)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public boolean isDomainIntroduced(final int domid)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public void resumeDomain(final int domid)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public void setTarget(final int domid, final int targetDomid)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public String control(final String... args)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public long getFeature(final int domid)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public void setFeature(final int domid, final long features)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public long getQuota(final int domid, final String name)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public List<String> quotaNames(final int domid)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public void setQuota(final int domid, final String name, final long value)
    {
        throw new UnsupportedOperationException("not part of this test fixture");
    }

    @Override
    public void close()
    {
        watches.clear();
    }

    /**
     * Removes a subtree as {@link #rm} does but holds its watch events back, as a real xenstored's are on their way
     * while the watcher goes on with what it was doing; {@link #fireRemoval} delivers them.
     *
     * @param path the subtree.
     */
    void rmHoldingWatchEvents(final String path)
    {
        synchronized (this)
        {
            nodes.keySet().removeIf((p) -> p.equals(path) || p.startsWith(path + "/"));
        }
    }

    /**
     * @param path a subtree removed with {@link #rmHoldingWatchEvents}: its watch events arrive now.
     */
    void fireRemoval(final String path)
    {
        fire(path, true);
    }

    private void fire(final String path, final boolean removal)
    {
        for (final Watch w : watches)
        {
            if (path.equals(w.path) || path.startsWith(w.path + "/"))
            {
                w.listener.onWatchEvent(path, w.token);
            }
            else if (removal && w.path.startsWith(path + "/"))
            {
                w.listener.onWatchEvent(w.path, w.token);
            }
        }
    }
}
