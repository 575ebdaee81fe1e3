package org.dom0j.linux;

import java.nio.ByteBuffer;

/**
 * An epoll instance (close-on-exec) and the array its waits fill: one thread waits on many descriptors, each
 * registered with the events it waits for and a 64-bit value of the caller's that comes back with them (a queue
 * number, a slot).
 * <pre>
 *   struct epoll_event (x86_64: packed, 12 bytes)
 *   0       4               12
 *   +-------+---------------+
 *   |events |     data      |
 *   +-------+---------------+
 * </pre>
 * <b>Threads</b>: {@link #await}, {@link #events(int)} and {@link #data(int)} from one thread, the waiter; no
 * allocation per wait. {@link #add}, {@link #modify} and {@link #delete} from any thread (they share a small
 * scratch struct and take this object's lock); {@link #close} after the waiter has stopped.
 */
public final class Epoll implements AutoCloseable
{
    /** Readable. */
    public static final int EPOLLIN = 0x001;
    /** Urgent data. */
    public static final int EPOLLPRI = 0x002;
    /** Writable. */
    public static final int EPOLLOUT = 0x004;
    /** An error (always reported). */
    public static final int EPOLLERR = 0x008;
    /** Hang-up (always reported). */
    public static final int EPOLLHUP = 0x010;
    /** The peer shut down writing. */
    public static final int EPOLLRDHUP = 0x2000;
    /** Report once, then disable until {@link #modify}. */
    public static final int EPOLLONESHOT = 1 << 30;
    /** Edge-triggered. */
    public static final int EPOLLET = 1 << 31;

    static final int EVENT_SIZE = 12;
    static final int DATA_OFFSET = 4;

    private static final int EPOLL_CLOEXEC = 0x80000;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int EPOLL_CTL_DEL = 2;
    private static final int EPOLL_CTL_MOD = 3;

    private final int epfd;
    private final int maxEvents;
    private final ByteBuffer events;
    private final long eventsAddress;
    private final ByteBuffer control = LibC.allocate(EVENT_SIZE);
    private final long controlAddress = LibC.address(control);
    private boolean closed;

    private Epoll(final int epfd, final int maxEvents)
    {
        this.epfd = epfd;
        this.maxEvents = maxEvents;
        this.events = LibC.allocate(maxEvents * EVENT_SIZE);
        this.eventsAddress = LibC.address(events);
    }

    /**
     * epoll_create1(EPOLL_CLOEXEC).
     *
     * @param maxEvents the most events one {@link #await} reports, at least 1.
     * @return the instance.
     * @throws LinuxException when it cannot be created (EMFILE, ENOMEM).
     */
    public static Epoll open(final int maxEvents)
    {
        if (maxEvents < 1 || maxEvents > Integer.MAX_VALUE / EVENT_SIZE)
        {
            throw new IllegalArgumentException("maxEvents " + maxEvents);
        }
        final int fd = LibC.epoll_create1(EPOLL_CLOEXEC);
        if (fd < 0)
        {
            throw new LinuxException(LibC.errno(), "epoll_create1");
        }
        return new Epoll(fd, maxEvents);
    }

    /**
     * @return the epoll descriptor itself (it can be waited on too: readable when an event is ready).
     */
    public int fd()
    {
        return epfd;
    }

    /**
     * @return the most events one wait reports.
     */
    public int maxEvents()
    {
        return maxEvents;
    }

    /**
     * Starts watching a descriptor.
     *
     * @param fd     the descriptor.
     * @param events {@link #EPOLLIN} and the like.
     * @param data   comes back with its events.
     * @throws LinuxException when epoll_ctl fails (EEXIST: already added).
     */
    public void add(final int fd, final int events, final long data)
    {
        control(EPOLL_CTL_ADD, fd, events, data, "add");
    }

    /**
     * Changes what a descriptor is watched for, and its value.
     *
     * @param fd     the descriptor.
     * @param events {@link #EPOLLIN} and the like.
     * @param data   comes back with its events.
     * @throws LinuxException when epoll_ctl fails (ENOENT: not added).
     */
    public void modify(final int fd, final int events, final long data)
    {
        control(EPOLL_CTL_MOD, fd, events, data, "modify");
    }

    /**
     * Stops watching a descriptor (closing it does too, once no other descriptor refers to its file).
     *
     * @param fd the descriptor.
     * @throws LinuxException when epoll_ctl fails (ENOENT: not added).
     */
    public void delete(final int fd)
    {
        control(EPOLL_CTL_DEL, fd, 0, 0, "delete");
    }

    private synchronized void control(
        final int op, final int fd, final int eventMask, final long data, final String what)
    {
        control.putInt(0, eventMask);
        control.putLong(DATA_OFFSET, data);
        if (LibC.epoll_ctl(epfd, op, fd, controlAddress) != 0)
        {
            throw new LinuxException(LibC.errno(), "epoll_ctl " + what + " fd " + fd);
        }
    }

    /**
     * epoll_wait(2) into this instance's events array. (Not named {@code wait}: that would overload
     * {@link Object#wait(long)}, and a {@code long} timeout would silently call it.)
     *
     * @param timeoutMillis how long to wait: 0 not at all, -1 for ever.
     * @return how many events are ready (read them with {@link #events(int)} and {@link #data(int)}), 0 when the
     *         time ran out, or minus the errno (-EINTR: a signal came first).
     */
    public int await(final int timeoutMillis)
    {
        final int ready = LibC.epoll_wait(epfd, eventsAddress, maxEvents, timeoutMillis);
        return ready >= 0 ? ready : -LibC.errno();
    }

    /**
     * @param index an event of the last {@link #await}, below what it returned.
     * @return what is ready: {@link #EPOLLIN}, {@link #EPOLLOUT}, {@link #EPOLLERR}, {@link #EPOLLHUP}...
     */
    public int events(final int index)
    {
        return events.getInt(index * EVENT_SIZE);
    }

    /**
     * @param index an event of the last {@link #await}, below what it returned.
     * @return the value its descriptor was added with.
     */
    public long data(final int index)
    {
        return events.getLong(index * EVENT_SIZE + DATA_OFFSET);
    }

    /**
     * Closes the epoll descriptor (not the descriptors it watches); a second call does nothing.
     */
    @Override
    public synchronized void close()
    {
        if (!closed)
        {
            closed = true;
            Linux.close(epfd);
        }
    }
}
