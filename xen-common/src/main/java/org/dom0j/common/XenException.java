package org.dom0j.common;

/**
 * A Xen operation that failed with an errno, raised once, at the boundary where the C library, the kernel device
 * or xenstored reported it. Each primitive has its own subclass, so callers can catch what they know how to
 * handle.
 */
public class XenException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final int errno;

    /**
     * @param errno   the positive errno value, or 0 when there is none.
     * @param message what was being done, e.g. "map grant ref 8 of domain 3".
     */
    public XenException(final int errno, final String message)
    {
        super(errno == 0 ? message : message + ": " + Errno.describe(errno));
        this.errno = errno;
    }

    /**
     * @param errno   the positive errno value, or 0 when there is none.
     * @param message what was being done.
     * @param cause   what went wrong underneath.
     */
    public XenException(final int errno, final String message, final Throwable cause)
    {
        super(errno == 0 ? message : message + ": " + Errno.describe(errno), cause);
        this.errno = errno;
    }

    /**
     * @return the positive errno value, or 0 when there is none.
     */
    public int errno()
    {
        return errno;
    }

    /**
     * @return the errno as a constant, or null when dom0j does not name it.
     */
    public Errno errnoConstant()
    {
        return Errno.of(errno);
    }
}
