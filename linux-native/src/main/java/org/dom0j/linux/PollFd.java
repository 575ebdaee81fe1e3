package org.dom0j.linux;

import java.nio.ByteBuffer;

/**
 * One {@code struct pollfd} (int fd, short events, short revents: 8 bytes) in native memory of its own, and poll(2)
 * on it: waiting for one descriptor with a timeout, with no allocation per wait.
 * <p>
 * Not thread safe: one thread polls (each thread that waits on a descriptor holds its own).
 */
public final class PollFd
{
    static final int SIZE = 8;
    static final int EVENTS_OFFSET = 4;
    static final int REVENTS_OFFSET = 6;

    private final ByteBuffer pollfd = LibC.allocate(SIZE);
    private final long address = LibC.address(pollfd);
    private final short events;

    /**
     * @param fd     the descriptor to wait on.
     * @param events what to wait for: {@link Linux#POLLIN}, {@link Linux#POLLOUT}.
     */
    public PollFd(final int fd, final short events)
    {
        this.events = events;
        pollfd.putInt(0, fd);
    }

    /**
     * poll(2).
     *
     * @param timeoutMillis how long to wait: 0 not at all, -1 for ever.
     * @return 1 when the descriptor is ready (see {@link #revents()}), 0 when the time ran out, or minus the errno
     *         (-EINTR: a signal came first).
     */
    public int poll(final int timeoutMillis)
    {
        pollfd.putShort(EVENTS_OFFSET, events);
        pollfd.putShort(REVENTS_OFFSET, (short)0);
        final int ready = LibC.poll(address, 1, timeoutMillis);
        return ready >= 0 ? ready : -LibC.errno();
    }

    /**
     * @return what the last {@link #poll} found: {@link Linux#POLLIN}, {@link Linux#POLLOUT}, {@link Linux#POLLERR},
     *         {@link Linux#POLLHUP}.
     */
    public int revents()
    {
        return pollfd.getShort(REVENTS_OFFSET) & 0xFFFF;
    }
}
