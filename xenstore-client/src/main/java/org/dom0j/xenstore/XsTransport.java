package org.dom0j.xenstore;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A byte stream to xenstored: the daemon's Unix socket, or the kernel's {@code /dev/xen/xenbus} device (where each
 * write must carry whole messages, and reads return what the kernel has queued). One thread writes at a time (the
 * client serialises writes); one reader thread reads; {@link #close()} from any thread unblocks both.
 */
interface XsTransport extends AutoCloseable
{
    /**
     * @param message a whole message, header and payload, written completely.
     * @throws IOException when the connection broke.
     */
    void write(ByteBuffer message) throws IOException;

    /**
     * @param dst where to put the bytes.
     * @return how many were read, or -1 at end of stream.
     * @throws IOException when the connection broke or was closed.
     */
    int read(ByteBuffer dst) throws IOException;

    /**
     * @return e.g. "unix socket /var/run/xenstored/socket".
     */
    String describe();

    @Override
    void close();

    /**
     * xenstored's Unix socket.
     */
    final class UnixSocket implements XsTransport
    {
        private final SocketChannel channel;
        private final Path path;

        UnixSocket(final Path path) throws IOException
        {
            this.path = path;
            final SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try
            {
                ch.connect(UnixDomainSocketAddress.of(path));
            }
            catch (final IOException | RuntimeException ex)
            {
                ch.close();
                throw ex;
            }
            this.channel = ch;
        }

        @Override
        public void write(final ByteBuffer message) throws IOException
        {
            while (message.hasRemaining())
            {
                channel.write(message);
            }
        }

        @Override
        public int read(final ByteBuffer dst) throws IOException
        {
            return channel.read(dst);
        }

        @Override
        public String describe()
        {
            return "unix socket " + path;
        }

        @Override
        public void close()
        {
            try
            {
                channel.close();
            }
            catch (final IOException ignore)
            {
                // closing: nothing more to do
            }
        }
    }

    /**
     * The xenbus character device ({@code /dev/xen/xenbus}): the kernel relays whole messages to xenstored.
     */
    final class XenbusDevice implements XsTransport
    {
        private final FileChannel channel;
        private final Path path;

        XenbusDevice(final Path path) throws IOException
        {
            this.path = path;
            this.channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }

        @Override
        public void write(final ByteBuffer message) throws IOException
        {
            final int expected = message.remaining();
            final int written = channel.write(message);
            if (written != expected)
            {
                throw new IOException(path + " took " + written + " of a " + expected + "-byte message");
            }
        }

        @Override
        public int read(final ByteBuffer dst) throws IOException
        {
            return channel.read(dst);
        }

        @Override
        public String describe()
        {
            return "xenbus device " + path;
        }

        @Override
        public void close()
        {
            try
            {
                channel.close();
            }
            catch (final IOException ignore)
            {
                // closing: nothing more to do
            }
        }
    }
}
