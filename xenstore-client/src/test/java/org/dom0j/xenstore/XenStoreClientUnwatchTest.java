package org.dom0j.xenstore;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Closing a watch on a connection that breaks: the UNWATCH has nothing left to undo, so the close is quiet (a
 * backend tearing a device down as its domain goes must not fail on it).
 */
class XenStoreClientUnwatchTest
{
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aWatchClosedAsTheConnectionBreaksClosesQuietly(@TempDir final Path dir) throws Exception
    {
        final Path socket = dir.resolve("xenstored");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX))
        {
            server.bind(UnixDomainSocketAddress.of(socket));
            // a xenstored that acknowledges a WATCH and drops the connection at the UNWATCH, before answering it
            final Thread xenstored = new Thread(() -> serveUntilUnwatch(server), "fake-xenstored");
            xenstored.setDaemon(true);
            xenstored.start();
            try (XenStoreClient client = XenStoreClient.connect(socket))
            {
                final XsWatch watch = client.watch("/local/domain/1/device", "t", (path, token) -> { });
                watch.close();
                assertThatThrownBy(() -> client.read("/local/domain/1/device"))
                    .as("the connection is gone all the same")
                    .isInstanceOf(XenStoreException.class);
            }
            xenstored.join(TimeUnit.SECONDS.toMillis(10));
        }
    }

    private static void serveUntilUnwatch(final ServerSocketChannel server)
    {
        try (SocketChannel connection = server.accept())
        {
            final ByteBuffer header = ByteBuffer.allocate(XsWireDescriptor.HEADER_LENGTH)
                .order(ByteOrder.LITTLE_ENDIAN);
            while (true)
            {
                header.clear();
                readFully(connection, header);
                final int type = header.getInt(0);
                final int reqId = header.getInt(4);
                final ByteBuffer payload = ByteBuffer.allocate(header.getInt(12));
                readFully(connection, payload);
                if (type == XsMessageType.UNWATCH.code())
                {
                    return;
                }
                assertThat(type).isEqualTo(XsMessageType.WATCH.code());
                final ByteBuffer reply = ByteBuffer.allocate(XsWireDescriptor.HEADER_LENGTH + 3)
                    .order(ByteOrder.LITTLE_ENDIAN);
                reply.putInt(type).putInt(reqId).putInt(0).putInt(3).put((byte)'O').put((byte)'K').put((byte)0).flip();
                while (reply.hasRemaining())
                {
                    connection.write(reply);
                }
            }
        }
        catch (final java.io.IOException ex)
        {
            // the client went first
        }
    }

    private static void readFully(final SocketChannel channel, final ByteBuffer into) throws java.io.IOException
    {
        while (into.hasRemaining())
        {
            if (channel.read(into) < 0)
            {
                throw new java.io.EOFException();
            }
        }
    }
}
