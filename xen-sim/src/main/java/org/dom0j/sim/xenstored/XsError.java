package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;

/**
 * An error reply of {@link SimXenstored}: thrown wherever a request is refused (by the server, its
 * {@link DomainAccounting} or its {@link XsStore}), caught where the request is answered; the errno's name goes on
 * the wire. No stack trace: it is an answer, not a bug. Server thread only.
 */
final class XsError extends RuntimeException
{
    private static final long serialVersionUID = 1L;
    private final transient Errno errno;

    XsError(final Errno errno)
    {
        super(errno.name(), null, false, false);
        this.errno = errno;
    }

    /**
     * @return what to answer.
     */
    Errno errno()
    {
        return errno;
    }
}
