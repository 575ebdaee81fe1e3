package org.dom0j.xenstore;

import org.dom0j.common.XenException;

/**
 * xenstored answered with an error, the connection broke, or a request was refused before sending.
 */
public class XenStoreException extends XenException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param errno   positive errno value (ENOENT for a missing node, EACCES, EAGAIN, ...).
     * @param message what was being done, e.g. "read /local/domain/3/name".
     */
    public XenStoreException(final int errno, final String message)
    {
        super(errno, message);
    }

    /**
     * @param errno   positive errno value.
     * @param message what was being done.
     * @param cause   what went wrong underneath.
     */
    public XenStoreException(final int errno, final String message, final Throwable cause)
    {
        super(errno, message, cause);
    }
}
