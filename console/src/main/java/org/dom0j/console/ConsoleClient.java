package org.dom0j.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The user's end of a console: connects to a console's socket (see {@link ConsoleSession}) and copies bytes both
 * ways until the user types the escape character (Ctrl-], 0x1d, as {@code xl console}), the input ends, or the
 * console goes away. Terminal modes are the caller's business ({@code dom0j console} puts the tty in raw mode).
 * <p>
 * {@link #run} blocks the calling thread; it uses two daemon threads of its own. One client, one run.
 */
public final class ConsoleClient implements AutoCloseable
{
    /** Ctrl-]: leaves the console. */
    public static final int ESCAPE = 0x1d;

    /** Why {@link #run} returned. */
    public enum End
    {
        /** The user typed Ctrl-]. */
        ESCAPE,
        /** The input stream ended. */
        INPUT_CLOSED,
        /** The service closed the console (the guest or the service went away). */
        CONSOLE_CLOSED
    }

    private final SocketChannel channel;

    private ConsoleClient(final SocketChannel channel)
    {
        this.channel = channel;
    }

    /**
     * @param socket the console's socket.
     * @return a connected client.
     * @throws IOException when nobody listens there.
     */
    public static ConsoleClient connect(final Path socket) throws IOException
    {
        final SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try
        {
            channel.connect(UnixDomainSocketAddress.of(socket));
            return new ConsoleClient(channel);
        }
        catch (final IOException ex)
        {
            channel.close();
            throw ex;
        }
    }

    /**
     * Copies the console's output to {@code out} and {@code in} to the console until one side ends.
     *
     * @param in  what the user types.
     * @param out where the guest's output goes (flushed after each chunk).
     * @return why it ended.
     * @throws InterruptedException when interrupted.
     */
    public End run(final InputStream in, final OutputStream out) throws InterruptedException
    {
        final CompletableFuture<End> end = new CompletableFuture<>();
        final Thread output = new Thread(() ->
        {
            final ByteBuffer buffer = ByteBuffer.allocate(4096);
            try
            {
                while (channel.read(buffer.clear()) >= 0)
                {
                    out.write(buffer.array(), 0, buffer.position());
                    out.flush();
                }
            }
            catch (final IOException ex)
            {
                // Closed under us, or the console went away.
            }
            end.complete(End.CONSOLE_CLOSED);
        }, "dom0j-console-output");
        final Thread input = new Thread(() ->
        {
            final byte[] buffer = new byte[1024];
            try
            {
                int n;
                while ((n = in.read(buffer)) >= 0)
                {
                    int length = n;
                    boolean escape = false;
                    for (int i = 0; i < n; i++)
                    {
                        if (buffer[i] == ESCAPE)
                        {
                            length = i;
                            escape = true;
                            break;
                        }
                    }
                    final ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, length);
                    while (chunk.hasRemaining())
                    {
                        channel.write(chunk);
                    }
                    if (escape)
                    {
                        end.complete(End.ESCAPE);
                        return;
                    }
                }
                end.complete(End.INPUT_CLOSED);
            }
            catch (final IOException ex)
            {
                end.complete(End.CONSOLE_CLOSED);
            }
        }, "dom0j-console-input");
        output.setDaemon(true);
        input.setDaemon(true);
        output.start();
        input.start();
        try
        {
            return end.get();
        }
        catch (final ExecutionException ex)
        {
            throw new IllegalStateException(ex.getCause());
        }
        finally
        {
            close();
        }
    }

    @Override
    public void close()
    {
        try
        {
            channel.close();
        }
        catch (final IOException ex)
        {
            // Closing anyway.
        }
    }
}
