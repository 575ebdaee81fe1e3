package org.dom0j.xenstore;

import org.dom0j.common.Errno;

/**
 * Translates between errno values and the names xenstored sends in an ERROR reply ({@code xsd_errors} in
 * {@code xs_wire.h}: EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO, ENOTEMPTY, ENOSYS, EROFS, EBUSY,
 * EAGAIN, EISCONN, E2BIG, EPERM; oxenstored adds EQUOTA). Stateless; any thread.
 */
public final class XsErrors
{
    private static final Errno[] WIRE = {
        Errno.EINVAL, Errno.EACCES, Errno.EEXIST, Errno.EISDIR, Errno.ENOENT, Errno.ENOMEM, Errno.ENOSPC, Errno.EIO,
        Errno.ENOTEMPTY, Errno.ENOSYS, Errno.EROFS, Errno.EBUSY, Errno.EAGAIN, Errno.EISCONN, Errno.E2BIG,
        Errno.EPERM };

    private XsErrors()
    {
    }

    /**
     * @param name the payload of an ERROR reply without its NUL, e.g. "ENOENT".
     * @return its errno; EIO for a name nobody knows (the message keeps the name).
     */
    public static int errnoOf(final String name)
    {
        final Errno e = Errno.ofName(name);
        return null == e ? Errno.EIO.number() : e.number();
    }

    /**
     * @param errno a positive errno value.
     * @return the wire name; "EINVAL" for one xs_wire cannot carry, as C xenstored's {@code send_error} does.
     */
    public static String nameOf(final int errno)
    {
        for (final Errno e : WIRE)
        {
            if (e.number() == errno)
            {
                return e.name();
            }
        }
        return Errno.EINVAL.name();
    }
}
