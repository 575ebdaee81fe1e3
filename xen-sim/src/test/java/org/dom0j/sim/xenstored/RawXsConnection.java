package org.dom0j.sim.xenstored;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.xenstore.XsHeaderFlyweight;
import org.dom0j.xenstore.XsWireDescriptor;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A test's raw xs_wire connection: sends any bytes, well-formed or not, and reads replies one at a time. Blocking;
 * the owning test's timeout bounds it. One thread.
 */
final class RawXsConnection implements AutoCloseable
{
    final SocketChannel channel;

    RawXsConnection(final Path socket) throws IOException
    {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
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
        final ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining())
        {
            channel.write(b);
        }
    }

    void send(final int type, final int reqId, final String payload) throws IOException
    {
        final byte[] p = payload(payload);
        send(message(type, reqId, 0, p.length, p));
    }

    /**
     * @return {type, reqId, payload-as-string} of the next message, or null at end of stream.
     */
    Object[] receive() throws IOException
    {
        try
        {
            return receiveOrThrow();
        }
        catch (final java.net.SocketException ex)
        {
            return null;
        }
    }

    private Object[] receiveOrThrow() throws IOException
    {
        final ByteBuffer h = ByteBuffer.allocate(XsWireDescriptor.HEADER_LENGTH);
        if (!fill(h))
        {
            return null;
        }
        final XsHeaderFlyweight header = new XsHeaderFlyweight().wrap(new UnsafeBuffer(h), 0);
        final ByteBuffer p = ByteBuffer.allocate((int)header.length());
        if (!fill(p))
        {
            return null;
        }
        return new Object[]{ header.type(), header.reqId(), new String(p.array(), StandardCharsets.UTF_8) };
    }

    private boolean fill(final ByteBuffer b) throws IOException
    {
        while (b.hasRemaining())
        {
            if (channel.read(b) < 0)
            {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
    }
}
