package org.dom0j.linux;

import java.nio.ByteBuffer;

/**
 * An array of {@code struct pollfd} (int fd, short events, short revents: 8 bytes each) in native memory of its own,
 * and poll(2) on it: waiting for one or several descriptors with a timeout, with no allocation per wait.
 * <p>
 * Not thread safe: one thread polls (each thread that waits on descriptors holds its own).
 */
public final class PollFd
{
    static final int SIZE = 8;
    static final int EVENTS_OFFSET = 4;
    static final int REVENTS_OFFSET = 6;

    private final ByteBuffer pollfd;
    private final long address;
    private final short events;
    private final int count;

    /**
     * @param fd     the descriptor to wait on.
     * @param events what to wait for: {@link Linux#POLLIN}, {@link Linux#POLLOUT}.
     */
    public PollFd(final int fd, final short events)
    {
        this(new int[]{ fd }, events);
    }

    /**
     * @param fds    the descriptors to wait on, any of which ends the wait.
     * @param events what to wait for on each: {@link Linux#POLLIN}, {@link Linux#POLLOUT}.
     */
    public PollFd(final int[] fds, final short events)
    {
        if (fds.length == 0)
        {
            throw new IllegalArgumentException("no descriptor to poll");
        }
        this.events = events;
        this.count = fds.length;
        this.pollfd = LibC.allocate(SIZE * fds.length);
        this.address = LibC.address(pollfd);
        for (int i = 0; i < fds.length; i++)
        {
            pollfd.putInt(i * SIZE, fds[i]);
        }
    }

    /**
     * poll(2).
     *
     * @param timeoutMillis how long to wait: 0 not at all, -1 for ever.
     * @return how many descriptors are ready (see {@link #revents()}), 0 when the time ran out, or minus the errno
     *         (-EINTR: a signal came first).
     */
    public int poll(final int timeoutMillis)
    {
        for (int i = 0; i < count; i++)
        {
            pollfd.putShort(i * SIZE + EVENTS_OFFSET, events);
            pollfd.putShort(i * SIZE + REVENTS_OFFSET, (short)0);
        }
        final int ready = LibC.poll(address, count, timeoutMillis);
        return ready >= 0 ? ready : -LibC.errno();
    }

    /**
     * @return what the last {@link #poll} found on the first descriptor: {@link Linux#POLLIN}, {@link Linux#POLLOUT},
     *         {@link Linux#POLLERR}, {@link Linux#POLLHUP}.
     */
    public int revents()
    {
        return revents(0);
    }

    /**
     * @param i the descriptor's place in the array given.
     * @return what the last {@link #poll} found on it.
     */
    public int revents(final int i)
    {
        return pollfd.getShort(i * SIZE + REVENTS_OFFSET) & 0xFFFF;
    }
}
