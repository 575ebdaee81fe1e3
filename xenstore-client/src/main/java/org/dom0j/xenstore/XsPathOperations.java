package org.dom0j.xenstore;

import org.dom0j.common.Errno;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.dom0j.xenstore.XsPayloads.pathAndValue;
import static org.dom0j.xenstore.XsPayloads.splitStrings;
import static org.dom0j.xenstore.XsPayloads.strings;

/**
 * The operations on nodes, sent with one tx_id: 0 for the client's own (outside any transaction), or a transaction's.
 * Paths are checked before anything is sent. A READ of a missing node is null where the caller allows it; RM of a
 * missing node succeeds; a DIRECTORY too large for one reply (E2BIG) is read again with DIRECTORY_PART, and started
 * over when the node's generation changes between parts.
 * <p>
 * Threads: any (the connection multiplexes).
 */
final class XsPathOperations implements XenStoreTransaction
{
    /** DIRECTORY_PART replies read before giving up on a directory that never ends. */
    private static final int MAX_DIRECTORY_PARTS = 10_000;

    private final XsClientConnection connection;
    private final int txId;

    /**
     * @param connection the connection.
     * @param txId       the transaction, 0 for none.
     */
    XsPathOperations(final XsClientConnection connection, final int txId)
    {
        this.connection = connection;
        this.txId = txId;
    }

    /**
     * @param path         a path as given.
     * @param allowSpecial whether "@..." names are allowed.
     * @param what         the operation, for the error.
     * @throws XenStoreException EINVAL, saying why, for a path xenstored would refuse.
     */
    static void checkPath(final String path, final boolean allowSpecial, final String what)
    {
        final String why = XsPaths.whyInvalid(path, allowSpecial);
        if (null != why)
        {
            throw new XenStoreException(Errno.EINVAL.number(), what + " \"" + path + "\": " + why);
        }
    }

    /**
     * @param path a node.
     * @return its value.
     * @throws XenStoreException ENOENT when there is none.
     */
    byte[] readBytes(final String path)
    {
        checkPath(path, false, "read");
        return connection.request(XsMessageType.READ, txId, strings(path), "read " + path).payload();
    }

    @Override
    public String readOrNull(final String path)
    {
        final byte[] value = readBytesOrNull(path);
        return null == value ? null : new String(value, StandardCharsets.UTF_8);
    }

    @Override
    public byte[] readBytesOrNull(final String path)
    {
        try
        {
            return readBytes(path);
        }
        catch (final XenStoreException ex)
        {
            if (ex.errno() == Errno.ENOENT.number())
            {
                return null;
            }
            throw ex;
        }
    }

    @Override
    public boolean exists(final String path)
    {
        try
        {
            readBytes(path);
            return true;
        }
        catch (final XenStoreException ex)
        {
            if (ex.errno() == Errno.ENOENT.number() || ex.errno() == Errno.EACCES.number())
            {
                return false;
            }
            throw ex;
        }
    }

    @Override
    public void write(final String path, final String value)
    {
        write(path, value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void write(final String path, final byte[] value)
    {
        checkPath(path, false, "write");
        connection.request(XsMessageType.WRITE, txId, pathAndValue(path, value), "write " + path);
    }

    @Override
    public void mkdir(final String path)
    {
        checkPath(path, false, "mkdir");
        connection.request(XsMessageType.MKDIR, txId, strings(path), "mkdir " + path);
    }

    @Override
    public void rm(final String path)
    {
        checkPath(path, false, "rm");
        try
        {
            connection.request(XsMessageType.RM, txId, strings(path), "rm " + path);
        }
        catch (final XenStoreException ex)
        {
            if (ex.errno() != Errno.ENOENT.number())
            {
                throw ex;
            }
        }
    }

    @Override
    public List<String> directory(final String path)
    {
        checkPath(path, false, "directory");
        try
        {
            return splitStrings(connection.request(XsMessageType.DIRECTORY, txId, strings(path),
                "directory " + path).payload());
        }
        catch (final XenStoreException ex)
        {
            if (ex.errno() != Errno.E2BIG.number())
            {
                throw ex;
            }
        }
        return directoryInParts(path);
    }

    @Override
    public List<XsPermission> getPermissions(final String path)
    {
        checkPath(path, true, "get permissions");
        final List<XsPermission> perms = new ArrayList<>();
        for (final String s : splitStrings(connection.request(XsMessageType.GET_PERMS, txId, strings(path),
            "get permissions " + path).payload()))
        {
            try
            {
                perms.add(XsPermission.parse(s));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new XenStoreException(Errno.EIO.number(), "get permissions " + path + ": " + ex.getMessage());
            }
        }
        return perms;
    }

    @Override
    public void setPermissions(final String path, final List<XsPermission> permissions)
    {
        checkPath(path, true, "set permissions");
        if (permissions.isEmpty())
        {
            throw new XenStoreException(Errno.EINVAL.number(), "set permissions " + path + ": no owner entry");
        }
        final String[] args = new String[permissions.size() + 1];
        args[0] = path;
        for (int i = 0; i < permissions.size(); i++)
        {
            args[i + 1] = permissions.get(i).toString();
        }
        connection.request(XsMessageType.SET_PERMS, txId, strings(args), "set permissions " + path);
    }

    private List<String> directoryInParts(final String path)
    {
        final List<String> children = new ArrayList<>();
        String generation = null;
        int offset = 0;
        for (int round = 0; ; round++)
        {
            if (round > MAX_DIRECTORY_PARTS)
            {
                throw new XenStoreException(Errno.EIO.number(), "directory " + path + ": DIRECTORY_PART never ended");
            }
            final byte[] payload = connection.request(XsMessageType.DIRECTORY_PART, txId,
                strings(path, Integer.toString(offset)), "directory part " + path).payload();
            final List<String> parts = splitStrings(payload);
            if (parts.isEmpty())
            {
                throw new XenStoreException(Errno.EIO.number(), "directory " + path + ": empty DIRECTORY_PART reply");
            }
            final String gen = parts.get(0);
            if (null != generation && !generation.equals(gen))
            {
                children.clear();
                offset = 0;
                generation = null;
                continue;
            }
            generation = gen;
            final boolean complete = payload.length >= 2 && payload[payload.length - 1] == 0 &&
                payload[payload.length - 2] == 0;
            for (int i = 1; i < parts.size(); i++)
            {
                final String child = parts.get(i);
                if (child.isEmpty())
                {
                    continue;
                }
                children.add(child);
                offset += child.getBytes(StandardCharsets.UTF_8).length + 1;
            }
            if (complete)
            {
                return children;
            }
        }
    }
}
