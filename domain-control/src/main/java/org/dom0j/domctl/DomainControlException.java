package org.dom0j.domctl;

import org.dom0j.common.XenException;

/**
 * A domain control operation was refused.
 */
public class DomainControlException extends XenException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param errno   positive errno value.
     * @param message what was being done, e.g. "pause domain 3".
     */
    public DomainControlException(final int errno, final String message)
    {
        super(errno, message);
    }
}
