package org.dom0j.linux;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An AF_UNIX datagram socket (Java's channels have no Unix datagrams): what {@code sd_notify} sends on to systemd's
 * {@code $NOTIFY_SOCKET}, and what a test binds to read those messages. A name starting with {@code @} is in the
 * abstract namespace (its first byte is NUL, nothing is created in the file system), as systemd writes it.
 * <p>
 * <b>Threads</b>: one at a time (callers synchronise); {@link #close} once. Setup calls throw {@link LinuxException};
 * sending and receiving return minus the errno.
 */
public final class UnixDatagramSocket implements AutoCloseable
{
    static final int AF_UNIX = 1;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_NOSIGNAL = 0x4000;
    /** sizeof(struct sockaddr_un): a 2-byte family, then sun_path. */
    static final int SOCKADDR_UN_SIZE = 110;
    static final int SUN_PATH_OFFSET = 2;

    private final int fd;
    private boolean closed;

    private UnixDatagramSocket(final int fd)
    {
        this.fd = fd;
    }

    /**
     * socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0).
     *
     * @return an unbound socket.
     * @throws LinuxException when it cannot be created.
     */
    public static UnixDatagramSocket open()
    {
        final int fd = LibC.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new LinuxException(LibC.errno(), "socket(AF_UNIX, SOCK_DGRAM)");
        }
        return new UnixDatagramSocket(fd);
    }

    /**
     * @param name a path, or {@code @name} in the abstract namespace.
     * @return a socket bound to it, to receive on.
     * @throws LinuxException when it cannot be bound (the name is taken, the directory is not writable).
     * @throws IllegalArgumentException when the name does not fit in sun_path.
     */
    public static UnixDatagramSocket bind(final String name)
    {
        final UnixDatagramSocket socket = open();
        final ByteBuffer address = LibC.allocate(SOCKADDR_UN_SIZE);
        final int length = address(name, address);
        if (LibC.bind(socket.fd, LibC.address(address), length) != 0)
        {
            final int errno = LibC.errno();
            socket.close();
            throw new LinuxException(errno, "bind " + name);
        }
        return socket;
    }

    /**
     * sendto(2), without blocking and without SIGPIPE.
     *
     * @param name    the receiver: a path, or {@code @name} in the abstract namespace.
     * @param message the datagram.
     * @return bytes sent, or minus the errno (-ENOENT or -ECONNREFUSED: no one is bound to the name).
     * @throws IllegalArgumentException when the name does not fit in sun_path.
     */
    public long send(final String name, final byte[] message)
    {
        final ByteBuffer address = LibC.allocate(SOCKADDR_UN_SIZE);
        final int length = address(name, address);
        final ByteBuffer data = LibC.allocate(Math.max(1, message.length));
        data.put(0, message);
        final long n = LibC.sendto(fd, LibC.address(data), message.length, MSG_DONTWAIT | MSG_NOSIGNAL,
            LibC.address(address), length);
        return n >= 0 ? n : -LibC.errno();
    }

    /**
     * Waits for a datagram.
     *
     * @param timeoutMillis how long to wait at most.
     * @param maxBytes      the longest datagram expected (a longer one is cut).
     * @return the datagram as UTF-8 text, or null when none came in time.
     * @throws LinuxException when the socket cannot be read.
     */
    public String receive(final int timeoutMillis, final int maxBytes)
    {
        final ByteBuffer pollfd = LibC.allocate(PollFd.SIZE);
        pollfd.putInt(0, fd).putShort(Integer.BYTES, Linux.POLLIN);
        final int ready = LibC.poll(LibC.address(pollfd), 1, timeoutMillis);
        if (ready < 0)
        {
            throw new LinuxException(LibC.errno(), "poll on a Unix datagram socket");
        }
        if (ready == 0)
        {
            return null;
        }
        final ByteBuffer data = LibC.allocate(maxBytes);
        final long n = LibC.recv(fd, LibC.address(data), maxBytes, MSG_DONTWAIT);
        if (n < 0)
        {
            throw new LinuxException(LibC.errno(), "recv on a Unix datagram socket");
        }
        final byte[] bytes = new byte[(int)n];
        data.get(0, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * @return the descriptor.
     */
    public int fd()
    {
        return fd;
    }

    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            LibC.close(fd);
        }
    }

    /**
     * Writes a sockaddr_un.
     *
     * @param name    a path, or {@code @name}.
     * @param address room for a sockaddr_un.
     * @return the address's length: up to the path's NUL, or, abstract, exactly the name's bytes (no NUL).
     */
    static int address(final String name, final ByteBuffer address)
    {
        final boolean abstractName = name.startsWith("@");
        final byte[] path = (abstractName ? name.substring(1) : name).getBytes(StandardCharsets.UTF_8);
        final int length = SUN_PATH_OFFSET + 1 + path.length;
        if (name.isEmpty() || length > SOCKADDR_UN_SIZE)
        {
            throw new IllegalArgumentException("not a Unix socket name (1 to 107 bytes): " + name);
        }
        for (int i = 0; i < SOCKADDR_UN_SIZE; i++)
        {
            address.put(i, (byte)0);
        }
        address.putShort(0, (short)AF_UNIX);
        // Abstract: sun_path[0] is NUL and the name follows; else the path, then its NUL.
        address.put(SUN_PATH_OFFSET + (abstractName ? 1 : 0), path);
        return length;
    }
}
