package org.dom0j.evtchn;

import org.dom0j.common.XenException;

/**
 * An event channel operation was refused.
 */
public class EventChannelException extends XenException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param errno   positive errno value.
     * @param message what was being done, e.g. "notify port 7".
     */
    public EventChannelException(final int errno, final String message)
    {
        super(errno, message);
    }
}
