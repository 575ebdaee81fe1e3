package org.dom0j.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;

import static org.dom0j.nbd.NbdConstants.NBD_CMD_DISC;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_WRITE;
import static org.dom0j.nbd.NbdDescriptor.REQUEST_COOKIE_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.REQUEST_FLAGS_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.REQUEST_LENGTH;
import static org.dom0j.nbd.NbdDescriptor.REQUEST_LENGTH_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.REQUEST_MAGIC;
import static org.dom0j.nbd.NbdDescriptor.REQUEST_OFFSET_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.REQUEST_TYPE_OFFSET;

/**
 * Puts requests on the wire ({@link NbdDescriptor}'s request layout, NBD {@code doc/proto.md} "Request message"):
 * each slot has its 28-byte header in one direct buffer allocated once, and for a write a view of the caller's
 * native memory ({@link NativeBufferView}). Queued requests go out in order, headers and data together in one
 * gathering write of as many as the socket takes; a request the socket took in part keeps its place and goes on
 * from where it stopped at the next call. A request is sent when its last byte is: only then may a reply match it.
 * <p>
 * Not thread-safe: the connection's thread only.
 */
final class NbdRequestWriter
{
    private static final long DISCONNECT_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final NbdRequestTable table;
    private final UnsafeBuffer headers;
    private final ByteBuffer[] headerViews;
    private final ByteBuffer[] payloadViews;
    private final ByteBuffer[] gather;

    NbdRequestWriter(final NbdRequestTable table)
    {
        this.table = table;
        final int slots = table.capacity();
        final ByteBuffer headerMemory = ByteBuffer.allocateDirect(slots * REQUEST_LENGTH);
        headers = new UnsafeBuffer(headerMemory);
        headerViews = new ByteBuffer[slots];
        payloadViews = new ByteBuffer[slots];
        gather = new ByteBuffer[2 * slots];
        for (int slot = 0; slot < slots; slot++)
        {
            headerViews[slot] = headerMemory.slice(slot * REQUEST_LENGTH, REQUEST_LENGTH);
            payloadViews[slot] = NativeBufferView.allocate();
        }
    }

    /**
     * Writes the slot's header, points a write's data view at its memory, and queues the request.
     *
     * @param slot  a slot the table filled in.
     * @param flags the command flags ({@code NBD_CMD_FLAG_*}).
     */
    void queue(final int slot, final int flags)
    {
        final int at = slot * REQUEST_LENGTH;
        headers.putInt(at, REQUEST_MAGIC, ByteOrder.BIG_ENDIAN);
        headers.putShort(at + REQUEST_FLAGS_OFFSET, (short)flags, ByteOrder.BIG_ENDIAN);
        headers.putShort(at + REQUEST_TYPE_OFFSET, (short)table.command[slot], ByteOrder.BIG_ENDIAN);
        headers.putLong(at + REQUEST_COOKIE_OFFSET, table.wireCookie(slot), ByteOrder.BIG_ENDIAN);
        headers.putLong(at + REQUEST_OFFSET_OFFSET, table.offset[slot], ByteOrder.BIG_ENDIAN);
        headers.putInt(at + REQUEST_LENGTH_OFFSET, (int)table.length[slot], ByteOrder.BIG_ENDIAN);
        headerViews[slot].clear();
        if (table.command[slot] == NBD_CMD_WRITE)
        {
            NativeBufferView.point(payloadViews[slot], table.address[slot], (int)table.length[slot]);
        }
        table.queueSend(slot);
    }

    /**
     * @return requests that went to the socket in full.
     * @throws IOException when the socket failed.
     */
    int send(final NbdTransport transport) throws IOException
    {
        int sent = 0;
        while (table.sendCount() > 0)
        {
            int buffers = 0;
            for (int i = 0; i < table.sendCount(); i++)
            {
                final int slot = table.sendQueueAt(i);
                if (headerViews[slot].hasRemaining())
                {
                    gather[buffers++] = headerViews[slot];
                }
                if (table.command[slot] == NBD_CMD_WRITE && payloadViews[slot].hasRemaining())
                {
                    gather[buffers++] = payloadViews[slot];
                }
            }
            final long written = transport.write(gather, 0, buffers);
            while (table.sendCount() > 0 && !pending(table.sendQueueAt(0)))
            {
                table.popSent();
                sent++;
            }
            if (written == 0)
            {
                break;
            }
        }
        return sent;
    }

    /**
     * @return true when the oldest queued request went to the socket in part: nothing else may be sent before the
     * rest of it.
     */
    boolean halfSent()
    {
        return table.sendCount() > 0 && headerViews[table.sendQueueAt(0)].position() > 0;
    }

    /**
     * Sends {@code NBD_CMD_DISC}, the soft disconnect, waiting a second at most; the server may already be gone.
     */
    static void disconnect(final NbdTransport transport)
    {
        final ByteBuffer disc = ByteBuffer.allocate(REQUEST_LENGTH);
        disc.putInt(REQUEST_MAGIC).putShort((short)0).putShort((short)NBD_CMD_DISC).putLong(0).putLong(0).putInt(0);
        disc.flip();
        try
        {
            transport.writeFully(disc, System.nanoTime() + DISCONNECT_TIMEOUT_NANOS, "sending NBD_CMD_DISC");
        }
        catch (final IOException ignore)
        {
            // The server is gone or not reading; closing the socket is the hard disconnect that remains.
        }
    }

    private boolean pending(final int slot)
    {
        return headerViews[slot].hasRemaining() ||
            table.command[slot] == NBD_CMD_WRITE && payloadViews[slot].hasRemaining();
    }
}
