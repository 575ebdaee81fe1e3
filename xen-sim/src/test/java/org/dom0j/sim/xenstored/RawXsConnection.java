package org.dom0j.sim.xenstored;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.xenstore.XsHeaderFlyweight;
import org.dom0j.xenstore.XsWireDescriptor;

import java.io.IOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A test's raw xs_wire connection: sends any bytes, well-formed or not, and reads replies one at a time. Every wait
 * has a deadline: {@link #receive()} gives up after {@link #RECEIVE_TIMEOUT_MS} and {@link #send} after
 * {@link #SEND_TIMEOUT_MS}, with a {@link SocketTimeoutException} saying what it waited for, so a server that
 * stays silent fails the test at once instead of hanging it until the test timeout. One thread sends and receives;
 * {@link #close()} may come from another thread and ends a blocked send or receive with an IOException.
 */
final class RawXsConnection implements AutoCloseable
{
    /** How long {@link #receive()} waits for the next message. */
    static final long RECEIVE_TIMEOUT_MS = 10_000;
    /** How long {@link #send} waits for the server to take the bytes (it may stop reading on purpose). */
    static final long SEND_TIMEOUT_MS = 60_000;

    final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;

    RawXsConnection(final Path socket) throws IOException
    {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        channel.configureBlocking(false);
        selector = Selector.open();
        key = channel.register(selector, 0);
    }

    static byte[] message(final int type, final int reqId, final int txId, final int lengthField, final byte[] payload)
    {
        final ByteBuffer b = ByteBuffer.allocate(XsWireDescriptor.HEADER_LENGTH + payload.length);
        new XsHeaderFlyweight().wrap(new UnsafeBuffer(b), 0).type(type).reqId(reqId).txId(txId).length(lengthField);
        b.position(XsWireDescriptor.HEADER_LENGTH);
        b.put(payload);
        return b.array();
    }

    static byte[] payload(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    void send(final byte[] bytes) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SEND_TIMEOUT_MS);
        final ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining())
        {
            if (channel.write(b) == 0)
            {
                await(SelectionKey.OP_WRITE, deadline, "the server to take " + b.remaining() + " more bytes");
            }
        }
    }

    void send(final int type, final int reqId, final String payload) throws IOException
    {
        final byte[] p = payload(payload);
        send(message(type, reqId, 0, p.length, p));
    }

    void send(final int type, final int reqId, final int txId, final String payload) throws IOException
    {
        final byte[] p = payload(payload);
        send(message(type, reqId, txId, p.length, p));
    }

    /**
     * @return {type, reqId, payload-as-string} of the next message, or null at end of stream.
     * @throws SocketTimeoutException when nothing complete arrives within {@link #RECEIVE_TIMEOUT_MS}.
     */
    Object[] receive() throws IOException
    {
        try
        {
            return receiveOrThrow();
        }
        catch (final SocketException ex)
        {
            return null;
        }
    }

    private Object[] receiveOrThrow() throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RECEIVE_TIMEOUT_MS);
        final ByteBuffer h = ByteBuffer.allocate(XsWireDescriptor.HEADER_LENGTH);
        if (!fill(h, deadline))
        {
            return null;
        }
        final XsHeaderFlyweight header = new XsHeaderFlyweight().wrap(new UnsafeBuffer(h), 0);
        final ByteBuffer p = ByteBuffer.allocate((int)header.length());
        if (!fill(p, deadline))
        {
            return null;
        }
        return new Object[]{ header.type(), header.reqId(), new String(p.array(), StandardCharsets.UTF_8) };
    }

    private boolean fill(final ByteBuffer b, final long deadline) throws IOException
    {
        while (b.hasRemaining())
        {
            final int n = channel.read(b);
            if (n < 0)
            {
                return false;
            }
            if (n == 0)
            {
                await(SelectionKey.OP_READ, deadline, "a message from the server");
            }
        }
        return true;
    }

    private void await(final int op, final long deadline, final String what) throws IOException
    {
        final long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (leftMs <= 0)
        {
            throw new SocketTimeoutException("waited in vain for " + what);
        }
        try
        {
            key.interestOps(op);
            selector.select(leftMs);
            selector.selectedKeys().clear();
        }
        catch (final ClosedSelectorException | CancelledKeyException ex)
        {
            throw new AsynchronousCloseException();
        }
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
        selector.close();
    }
}
