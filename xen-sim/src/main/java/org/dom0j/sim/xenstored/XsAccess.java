package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.xenstore.XsPermission;

/**
 * What a connection may do with a node of {@link SimXenstored}, from the node's permissions as C xenstored reads
 * them: domain 0, the owner (the first entry's domid) and a domain that is SET_TARGET controller of the owner may do
 * everything; anyone else gets the access of the first later entry naming its domain (or its target), else the
 * first entry's access, the one for everybody. Stateless; server thread only, as the connections it asks are.
 */
final class XsAccess
{
    static final int READ = 1;
    static final int WRITE = 2;
    static final int OWNER = 4;

    private XsAccess()
    {
    }

    /**
     * @param conn  who asks.
     * @param perms a node's permissions.
     * @return the bits of {@link #READ}, {@link #WRITE} and {@link #OWNER} it has.
     */
    static int permFor(final XsConnection conn, final XsPermission[] perms)
    {
        final Integer target = conn.target();
        if (conn.privileged() || perms[0].domid() == conn.domid || (null != target && perms[0].domid() == target))
        {
            return READ | WRITE | OWNER;
        }
        for (int i = 1; i < perms.length; i++)
        {
            if (perms[i].domid() == conn.domid || (null != target && perms[i].domid() == target))
            {
                return bits(perms[i].access());
            }
        }
        return bits(perms[0].access());
    }

    /**
     * @param conn who asks.
     * @param node the node.
     * @param perm the bits needed.
     * @throws XsError EACCES when it has not all of them.
     */
    static void requirePerm(final XsConnection conn, final XsStore.Node node, final int perm)
    {
        if ((permFor(conn, node.perms()) & perm) != perm)
        {
            throw new XsError(Errno.EACCES);
        }
    }

    private static int bits(final XsPermission.Access access)
    {
        return switch (access)
        {
            case NONE -> 0;
            case READ -> READ;
            case WRITE -> WRITE;
            case BOTH -> READ | WRITE;
        };
    }
}
