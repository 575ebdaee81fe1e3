package org.dom0j.linux;

import org.dom0j.common.Errno;

import java.nio.ByteBuffer;

/**
 * An eventfd(2) counter, non-blocking and close-on-exec: a descriptor another thread can make readable, to wake a
 * thread that waits in {@link Epoll} or {@link PollFd} among other descriptors.
 * <p>
 * <b>Threads</b>: {@link #signal} from any thread (they all write the same 8 bytes, which never change);
 * {@link #drain} from one thread, the waiter; {@link #close} after both have stopped. No allocation after
 * {@link #open}.
 */
public final class EventFd implements AutoCloseable
{
    private static final int EFD_NONBLOCK = 0x800;
    private static final int EFD_CLOEXEC = 0x80000;
    private static final int COUNTER_BYTES = 8;

    private final int fd;
    private final ByteBuffer one = LibC.allocate(COUNTER_BYTES);
    private final long oneAddress = LibC.address(one);
    private final ByteBuffer counter = LibC.allocate(COUNTER_BYTES);
    private final long counterAddress = LibC.address(counter);
    private boolean closed;

    private EventFd(final int fd)
    {
        this.fd = fd;
        one.putLong(0, 1);
    }

    /**
     * eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC).
     *
     * @return the counter, at zero.
     * @throws LinuxException when it cannot be created.
     */
    public static EventFd open()
    {
        final int fd = LibC.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0)
        {
            throw new LinuxException(LibC.errno(), "eventfd");
        }
        return new EventFd(fd);
    }

    /**
     * @return the descriptor: readable while the counter is not zero.
     */
    public int fd()
    {
        return fd;
    }

    /**
     * Adds one to the counter, making the descriptor readable.
     *
     * @return 0, or minus the errno. A counter at its maximum (EAGAIN) is readable already, so that is 0 too.
     */
    public int signal()
    {
        final long n = Linux.write(fd, oneAddress, COUNTER_BYTES);
        return n >= 0 || n == -Errno.EAGAIN.number() ? 0 : (int)n;
    }

    /**
     * Reads the counter and resets it to zero.
     *
     * @return how many signals there were since the last drain (0 when none), or minus the errno.
     */
    public long drain()
    {
        final long n = Linux.read(fd, counterAddress, COUNTER_BYTES);
        if (n == COUNTER_BYTES)
        {
            return counter.getLong(0);
        }
        return n == -Errno.EAGAIN.number() ? 0 : n;
    }

    /**
     * Closes the descriptor; a second call does nothing.
     */
    @Override
    public synchronized void close()
    {
        if (!closed)
        {
            closed = true;
            Linux.close(fd);
        }
    }
}
