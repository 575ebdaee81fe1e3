package org.dom0j.gnttab;

import org.dom0j.common.XenException;

/**
 * A grant table operation was refused.
 */
public class GrantTableException extends XenException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param errno   positive errno value.
     * @param message what was being done, e.g. "map grant ref 8 of domain 3".
     */
    public GrantTableException(final int errno, final String message)
    {
        super(errno, message);
    }
}
