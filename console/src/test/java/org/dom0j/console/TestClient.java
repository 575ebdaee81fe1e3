package org.dom0j.console;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A test's end of a console socket, as {@code dom0j console} would be: reads wait on a selector with a deadline, so
 * a console that does not answer fails the test saying what did come, instead of blocking it.
 * <p>
 * One test thread uses it.
 */
final class TestClient implements AutoCloseable
{
    private final SocketChannel channel;
    private final Selector selector;
    private final ByteBuffer buffer = ByteBuffer.allocate(4096);
    private final StringBuilder received = new StringBuilder();

    private TestClient(final SocketChannel channel) throws IOException
    {
        this.channel = channel;
        channel.configureBlocking(false);
        selector = Selector.open();
        channel.register(selector, SelectionKey.OP_READ);
    }

    /**
     * @param socket a console's socket.
     * @return a client connected to it (the session may not have counted it yet).
     * @throws IOException when it cannot connect.
     */
    static TestClient connect(final Path socket) throws IOException
    {
        final SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try
        {
            channel.connect(UnixDomainSocketAddress.of(socket));
            return new TestClient(channel);
        }
        catch (final IOException | RuntimeException ex)
        {
            channel.close();
            throw ex;
        }
    }

    /**
     * Reads until what came since the last call contains {@code expected}.
     *
     * @param expected  the text (US-ASCII).
     * @param timeoutMs how long at most.
     * @return what came up to and including the first {@code expected}; the rest is kept for the next call.
     * @throws IOException    when the socket fails.
     * @throws AssertionError when it does not come in time, or the console closes first.
     */
    String readUntil(final String expected, final long timeoutMs) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        int at;
        while ((at = received.indexOf(expected)) < 0)
        {
            if (!readSome(deadline))
            {
                throw new AssertionError("the console closed before '" + expected + "' came; got '" + received + "'");
            }
            if (received.indexOf(expected) < 0 && System.nanoTime() - deadline > 0)
            {
                throw new AssertionError("timed out after " + timeoutMs + " ms waiting for '" + expected +
                    "' from the console; got '" + received + "'");
            }
        }
        final String result = received.substring(0, at + expected.length());
        received.delete(0, at + expected.length());
        return result;
    }

    /**
     * Waits for the console to close the connection (anything that comes first is discarded).
     *
     * @param timeoutMs how long at most.
     * @throws IOException    when the socket fails.
     * @throws AssertionError when it stays open.
     */
    void awaitEndOfStream(final long timeoutMs) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (readSome(deadline))
        {
            if (System.nanoTime() - deadline > 0)
            {
                throw new AssertionError("timed out after " + timeoutMs + " ms waiting for the console to close the " +
                    "connection");
            }
        }
    }

    /**
     * @param text      what to type (US-ASCII).
     * @param timeoutMs how long at most.
     * @throws IOException when the socket fails.
     */
    void write(final String text, final long timeoutMs) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        final ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (bytes.hasRemaining())
        {
            if (channel.write(bytes) == 0)
            {
                if (System.nanoTime() - deadline > 0)
                {
                    throw new AssertionError("timed out after " + timeoutMs + " ms writing to the console");
                }
                Thread.onSpinWait();
            }
        }
    }

    /**
     * Waits until something can be read or the deadline passes, and reads it.
     *
     * @return false at the end of the stream.
     */
    private boolean readSome(final long deadline) throws IOException
    {
        final long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (leftMs > 0)
        {
            selector.select(leftMs);
            selector.selectedKeys().clear();
        }
        final int n = channel.read(buffer.clear());
        if (n > 0)
        {
            received.append(new String(buffer.array(), 0, n, StandardCharsets.US_ASCII));
        }
        return n >= 0;
    }

    @Override
    public void close() throws IOException
    {
        selector.close();
        channel.close();
    }
}
