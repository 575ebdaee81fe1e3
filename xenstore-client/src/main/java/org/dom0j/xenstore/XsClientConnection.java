package org.dom0j.xenstore;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;

import static org.dom0j.xenstore.XsWireDescriptor.HEADER_LENGTH;
import static org.dom0j.xenstore.XsWireDescriptor.MESSAGE_MAX;
import static org.dom0j.xenstore.XsWireDescriptor.PAYLOAD_MAX;

/**
 * One xs_wire connection: requests from any thread, multiplexed by req_id, each caller blocked until its own reply;
 * a reader thread ({@code xenstore-reader-N}) that reads every message, completes the request it answers and hands
 * watch events to the {@link XsWatchDispatcher}.
 * <p>
 * A connection that fails (xenstored closed it, a write or read broke, xenstored broke the protocol, the watch queue
 * overflowed, or {@link #fail} was called to close it) fails every pending and later request with the failure's
 * errno. It is not reopened.
 * <p>
 * Threads: any.
 */
final class XsClientConnection
{
    /**
     * A reply.
     *
     * @param type    its message type.
     * @param payload its payload.
     */
    record Reply(int type, byte[] payload)
    {
    }

    private static final Logger LOG = Logger.getLogger(XsClientConnection.class.getName());

    private final XsTransport transport;
    private final XsWatchDispatcher watches;
    private final ConcurrentHashMap<Integer, CompletableFuture<Reply>> pending = new ConcurrentHashMap<>();
    private final AtomicInteger nextReqId = new AtomicInteger(1);
    private final ReentrantLock sendLock = new ReentrantLock();
    private final ByteBuffer sendBuffer = ByteBuffer.allocateDirect(MESSAGE_MAX);
    private final UnsafeBuffer sendView = new UnsafeBuffer(sendBuffer);
    private final XsHeaderFlyweight sendHeader = new XsHeaderFlyweight();
    private final Thread reader;
    private volatile boolean closed;
    private volatile XenStoreException failure;

    /**
     * @param transport  the open socket or device.
     * @param watches    where watch events go.
     * @param readerName the reader thread's name.
     */
    XsClientConnection(final XsTransport transport, final XsWatchDispatcher watches, final String readerName)
    {
        this.transport = transport;
        this.watches = watches;
        this.reader = new Thread(this::readLoop, readerName);
        reader.setDaemon(true);
    }

    void start()
    {
        reader.start();
    }

    /**
     * @return e.g. "unix socket /var/run/xenstored/socket".
     */
    String describe()
    {
        return transport.describe();
    }

    /**
     * @return whether the connection has failed or been closed.
     */
    boolean isClosed()
    {
        return closed || null != failure;
    }

    /**
     * Sends a request and waits for its reply.
     *
     * @param type    the message type.
     * @param txId    its transaction, 0 for none.
     * @param payload its payload.
     * @param what    what it does, for errors.
     * @return the reply, of the request's type.
     * @throws XenStoreException xenstored's error, E2BIG for a payload too large, EINTR, or the connection's failure
     *                           (EPROTO for a reply of another type, which also closes the connection).
     */
    Reply request(final XsMessageType type, final int txId, final byte[] payload, final String what)
    {
        if (payload.length > PAYLOAD_MAX)
        {
            throw new XenStoreException(Errno.E2BIG.number(),
                what + ": request payload is " + payload.length + " bytes, more than " + PAYLOAD_MAX);
        }
        final XenStoreException failed = failure;
        if (null != failed)
        {
            throw new XenStoreException(failed.errno(), what + ": " + failed.getMessage(), failed);
        }
        final CompletableFuture<Reply> future = new CompletableFuture<>();
        int reqId;
        do
        {
            reqId = nextReqId.getAndIncrement();
        }
        while (null != pending.putIfAbsent(reqId, future));
        if (closed)
        {
            pending.remove(reqId);
            final XenStoreException f = failure;
            throw new XenStoreException(
                null == f ? Errno.ECONNRESET.number() : f.errno(), what + ": connection closed");
        }
        send(type, reqId, txId, payload, what);
        final Reply reply = await(future, what);
        if (reply.type == XsMessageType.ERROR.code())
        {
            final String name = XsPayloads.firstString(reply.payload);
            final int errno = XsErrors.errnoOf(name);
            throw new XenStoreException(errno, null == Errno.ofName(name) ? what + " (xenstored said " + name + ")" :
                what);
        }
        if (reply.type != type.code())
        {
            final XenStoreException ex = new XenStoreException(Errno.EPROTO.number(),
                what + ": xenstored answered type " + reply.type + " to " + type);
            fail(ex);
            throw ex;
        }
        return reply;
    }

    /**
     * Closes the connection: every pending and later request fails with {@code ex}; the watch thread delivers the
     * events already queued and leaves. Only the first failure counts.
     *
     * @param ex the failure.
     */
    void fail(final XenStoreException ex)
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            failure = ex;
            closed = true;
        }
        // The watches first: a watch closed from now on sends no UNWATCH on the connection about to go.
        watches.close();
        transport.close();
        for (final Integer id : pending.keySet())
        {
            final CompletableFuture<Reply> f = pending.remove(id);
            if (null != f)
            {
                f.completeExceptionally(ex);
            }
        }
    }

    private Reply await(final CompletableFuture<Reply> future, final String what)
    {
        // a listener's request: the reader must not wait for room in a full event queue meanwhile (deadlock)
        final boolean onWatchThread = watches.isWatchThread();
        if (onWatchThread)
        {
            watches.awaitingReply(true);
        }
        try
        {
            return future.get();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new XenStoreException(Errno.EINTR.number(), what + ": interrupted while waiting for xenstored", ex);
        }
        catch (final ExecutionException ex)
        {
            final XenStoreException cause = (XenStoreException)ex.getCause();
            throw new XenStoreException(cause.errno(), what + ": " + cause.getMessage(), cause);
        }
        finally
        {
            if (onWatchThread)
            {
                watches.awaitingReply(false);
            }
        }
    }

    private void send(
        final XsMessageType type, final int reqId, final int txId, final byte[] payload, final String what)
    {
        sendLock.lock();
        try
        {
            sendHeader.wrap(sendView, 0).type(type.code()).reqId(reqId).txId(txId).length(payload.length);
            sendView.putBytes(HEADER_LENGTH, payload);
            sendBuffer.clear().limit(HEADER_LENGTH + payload.length);
            transport.write(sendBuffer);
        }
        catch (final IOException ex)
        {
            pending.remove(reqId);
            final XenStoreException failed = new XenStoreException(Errno.ECONNRESET.number(),
                "xenstore connection broke (" + transport.describe() + ")", ex);
            fail(failed);
            throw new XenStoreException(Errno.ECONNRESET.number(), what + ": " + failed.getMessage(), ex);
        }
        finally
        {
            sendLock.unlock();
        }
    }

    private void readLoop()
    {
        final ByteBuffer rx = ByteBuffer.allocateDirect(MESSAGE_MAX * 2);
        final UnsafeBuffer view = new UnsafeBuffer(rx);
        final XsHeaderFlyweight header = new XsHeaderFlyweight();
        rx.flip();
        try
        {
            while (!closed)
            {
                if (!fill(rx, HEADER_LENGTH))
                {
                    return;
                }
                header.wrap(view, rx.position());
                final long length = header.length();
                if (length > PAYLOAD_MAX)
                {
                    fail(new XenStoreException(Errno.EPROTO.number(),
                        "xenstored sent a " + length + "-byte payload, more than " + PAYLOAD_MAX));
                    return;
                }
                if (!fill(rx, HEADER_LENGTH + (int)length))
                {
                    return;
                }
                header.wrap(view, rx.position());
                final int type = header.type();
                final int reqId = header.reqId();
                final byte[] payload = new byte[(int)length];
                view.getBytes(header.payloadOffset(), payload);
                rx.position(rx.position() + HEADER_LENGTH + (int)length);
                if (type == XsMessageType.WATCH_EVENT.code())
                {
                    if (!queueEvent(payload))
                    {
                        return;
                    }
                }
                else
                {
                    complete(reqId, type, payload);
                }
            }
        }
        catch (final ClosedChannelException ex)
        {
            fail(new XenStoreException(Errno.ECONNRESET.number(), "xenstore connection closed"));
        }
        catch (final IOException ex)
        {
            fail(new XenStoreException(Errno.ECONNRESET.number(),
                "xenstore connection broke (" + transport.describe() + "): " + ex.getMessage(), ex));
        }
    }

    private void complete(final int reqId, final int type, final byte[] payload)
    {
        final CompletableFuture<Reply> future = pending.remove(reqId);
        if (null == future)
        {
            LOG.fine(() -> "reply to unknown request " + reqId + " ignored");
        }
        else
        {
            future.complete(new Reply(type, payload));
        }
    }

    private boolean queueEvent(final byte[] payload)
    {
        final XsWatchDispatcher.Offer offer;
        try
        {
            offer = watches.offer(payload);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return false;
        }
        if (offer == XsWatchDispatcher.Offer.OVERFLOW)
        {
            fail(new XenStoreException(Errno.EOVERFLOW.number(), "watch event queue full (" + watches.capacity() +
                " events) while the watch thread waits for a xenstore reply; connection closed rather than " +
                "deadlock or drop events"));
        }
        return offer == XsWatchDispatcher.Offer.QUEUED;
    }

    private boolean fill(final ByteBuffer rx, final int needed) throws IOException
    {
        while (rx.remaining() < needed)
        {
            rx.compact();
            final int n = transport.read(rx);
            rx.flip();
            if (n < 0)
            {
                fail(new XenStoreException(Errno.ECONNRESET.number(),
                    "xenstored closed the connection (" + transport.describe() + ")"));
                return false;
            }
        }
        return true;
    }
}
