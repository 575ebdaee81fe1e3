package org.dom0j.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One socket to an NBD server, TCP or Unix, always in non-blocking mode, with a selector of its own for the waits.
 * The handshake reads and writes whole messages against a deadline ({@link #readFully}, {@link #writeFully}); the
 * transmission phase reads and writes what the socket takes ({@link #read}, {@link #write(ByteBuffer[], int, int)})
 * and waits with {@link #await}. A blocking socket would deadlock once both directions' buffers are full: the client
 * blocked writing a large request while the server is blocked writing replies nobody reads.
 * <p>
 * Not thread-safe: the connection's thread only.
 */
final class NbdTransport implements AutoCloseable
{
    private static final Consumer<SelectionKey> IGNORE_KEY = key -> { };

    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final String peer;

    private NbdTransport(
        final SocketChannel channel, final Selector selector, final SelectionKey key, final String peer)
    {
        this.channel = channel;
        this.selector = selector;
        this.key = key;
        this.peer = peer;
    }

    /**
     * @param uri           the server.
     * @param deadlineNanos {@link System#nanoTime()} by which the connection must be made.
     * @return the connected socket.
     * @throws IOException when the server cannot be reached in time.
     */
    static NbdTransport connect(final NbdUri uri, final long deadlineNanos) throws IOException
    {
        final SocketAddress address = uri.socketAddress();
        if (address instanceof InetSocketAddress && ((InetSocketAddress)address).isUnresolved())
        {
            throw new NbdException(uri + ": cannot resolve host '" + uri.host() + "'");
        }
        final SocketChannel channel = uri.isUnix() ? SocketChannel.open(StandardProtocolFamily.UNIX) :
            SocketChannel.open();
        Selector selector = null;
        try
        {
            channel.configureBlocking(false);
            if (!uri.isUnix())
            {
                // Requests and replies are small messages that must not wait for an ACK (proto.md asks for this).
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
            selector = Selector.open();
            final SelectionKey key = channel.register(selector, 0);
            final NbdTransport transport = new NbdTransport(channel, selector, key, uri.toString());
            if (!channel.connect(address))
            {
                while (!channel.finishConnect())
                {
                    transport.awaitOrTimeOut(SelectionKey.OP_CONNECT, deadlineNanos, "connecting");
                }
            }
            return transport;
        }
        catch (final IOException | RuntimeException ex)
        {
            if (selector != null)
            {
                selector.close();
            }
            channel.close();
            if (ex instanceof NbdException)
            {
                throw ex;
            }
            throw new NbdException(uri + ": cannot connect: " + ex, 0, ex);
        }
    }

    /**
     * @param dst where the bytes go, up to its limit.
     * @return bytes read, 0 when none are waiting, -1 at the end of the stream.
     * @throws IOException when the connection failed (reset, for instance).
     */
    int read(final ByteBuffer dst) throws IOException
    {
        return channel.read(dst);
    }

    /**
     * @param src bytes to send, from position to limit.
     * @return bytes the socket took, possibly 0.
     * @throws IOException when the connection failed.
     */
    int write(final ByteBuffer src) throws IOException
    {
        return channel.write(src);
    }

    /**
     * A gathering write: what the socket takes of several buffers, in order, in one system call.
     *
     * @param srcs   the buffers.
     * @param offset the first to send.
     * @param length how many.
     * @return bytes the socket took, possibly 0.
     * @throws IOException when the connection failed.
     */
    long write(final ByteBuffer[] srcs, final int offset, final int length) throws IOException
    {
        return channel.write(srcs, offset, length);
    }

    /**
     * Waits until the socket is ready for one of {@code ops} or the time is up.
     *
     * @param ops          {@link SelectionKey#OP_READ} and/or {@link SelectionKey#OP_WRITE}.
     * @param timeoutNanos how long to wait at most; 0 or less for not at all.
     * @return true when the socket became ready.
     * @throws IOException when the selector failed.
     */
    boolean await(final int ops, final long timeoutNanos) throws IOException
    {
        key.interestOps(ops);
        if (timeoutNanos <= 0)
        {
            return selector.selectNow(IGNORE_KEY) > 0;
        }
        final long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
        return selector.select(IGNORE_KEY, millis) > 0;
    }

    /**
     * Reads until {@code dst} is full.
     *
     * @param dst           where the bytes go.
     * @param deadlineNanos {@link System#nanoTime()} by which they must have come.
     * @param what          what is being read, for the message of a failure.
     * @throws IOException when the server hangs up ({@link EOFException}) or is too slow.
     */
    void readFully(final ByteBuffer dst, final long deadlineNanos, final String what) throws IOException
    {
        while (dst.hasRemaining())
        {
            final int read = channel.read(dst);
            if (read < 0)
            {
                throw new EOFException(peer + ": the server closed the connection while " + what);
            }
            if (read == 0)
            {
                awaitOrTimeOut(SelectionKey.OP_READ, deadlineNanos, what);
            }
        }
    }

    /**
     * Writes all of {@code src}.
     *
     * @param src           bytes to send.
     * @param deadlineNanos {@link System#nanoTime()} by which the socket must have taken them.
     * @param what          what is being written, for the message of a failure.
     * @throws IOException when the connection fails or the server does not read in time.
     */
    void writeFully(final ByteBuffer src, final long deadlineNanos, final String what) throws IOException
    {
        while (src.hasRemaining())
        {
            if (channel.write(src) == 0)
            {
                awaitOrTimeOut(SelectionKey.OP_WRITE, deadlineNanos, what);
            }
        }
    }

    /**
     * @return the server, as the URI named it.
     */
    String peer()
    {
        return peer;
    }

    @Override
    public void close()
    {
        try
        {
            selector.close();
        }
        catch (final IOException ignore)
        {
            // Closing is all that is left to do; the channel's close below is what matters.
        }
        try
        {
            channel.close();
        }
        catch (final IOException ignore)
        {
            // Nothing more can be done with a socket that fails to close.
        }
    }

    private void awaitOrTimeOut(final int ops, final long deadlineNanos, final String what) throws IOException
    {
        final long left = deadlineNanos - System.nanoTime();
        if (left <= 0)
        {
            throw new NbdException(peer + ": timed out " + what);
        }
        await(ops, left);
    }
}
