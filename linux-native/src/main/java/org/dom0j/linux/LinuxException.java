package org.dom0j.linux;

import org.dom0j.common.XenException;

/**
 * A Linux system call that set something up (open, ioctl, mmap, TUNSETIFF, epoll_ctl, ...) and failed: the errno
 * and what was being done, raised once, where the call returned. Calls made on the data path that fail as a
 * matter of course (a non-blocking read with nothing to read) do not raise it: they return minus the errno.
 * <p>
 * Immutable; any thread.
 */
public final class LinuxException extends XenException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param errno   the positive errno value.
     * @param message what was being done, e.g. "open /dev/net/tun".
     */
    public LinuxException(final int errno, final String message)
    {
        super(errno, message);
    }
}
