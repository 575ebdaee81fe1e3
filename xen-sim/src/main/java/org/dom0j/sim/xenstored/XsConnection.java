package org.dom0j.sim.xenstored;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.xenstore.XsHeaderFlyweight;
import org.dom0j.xenstore.XsPaths;
import org.dom0j.xenstore.XsWireDescriptor;

import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

import static org.dom0j.xenstore.XsWireDescriptor.HEADER_LENGTH;

/**
 * One client connection of {@link SimXenstored}: the domain it speaks for (from the socket it came in on), its
 * unparsed input, its queue of replies and watch events not yet written, its watches and its open transactions.
 * The server loop reads and writes its channel; the other parts of the server queue output with {@link #enqueue}.
 * <p>
 * Confined to the server thread.
 */
final class XsConnection
{
    private static final Logger LOG = Logger.getLogger(SimXenstored.class.getName());

    final SocketChannel channel;
    final int domid;
    final ByteBuffer in = ByteBuffer.allocate(XsWireDescriptor.MESSAGE_MAX);
    final ArrayDeque<Out> out = new ArrayDeque<>();
    final List<XsWatches.Watch> watches = new ArrayList<>();
    final Map<Integer, XsStore.Tx> transactions = new HashMap<>();
    SelectionKey key;
    long outBytes;
    int outReplies;
    boolean closed;
    private final XsDomains domains;
    private final DomainAccounting accounting;

    XsConnection(final SocketChannel channel, final int domid, final XsDomains domains,
        final DomainAccounting accounting)
    {
        this.channel = channel;
        this.domid = domid;
        this.domains = domains;
        this.accounting = accounting;
    }

    boolean privileged()
    {
        return domid == 0;
    }

    /**
     * @return the domain this connection's domain is SET_TARGET controller of, or null.
     */
    Integer target()
    {
        return domains.target(domid);
    }

    /**
     * @param given        a path as the client sent it; relative ones are below {@code /local/domain/<domid>}.
     * @param allowSpecial whether "@introduceDomain" and the like are allowed.
     * @return the absolute path.
     * @throws XsError EINVAL when it is not a valid path.
     */
    String canonical(final String given, final boolean allowSpecial)
    {
        if (null != XsPaths.whyInvalid(given, allowSpecial))
        {
            throw new XsError(Errno.EINVAL);
        }
        if (given.startsWith("/") || given.startsWith("@"))
        {
            return given;
        }
        final String absolute = XsPaths.LOCAL_DOMAIN + domid + "/" + given;
        if (null != XsPaths.whyInvalid(absolute, false))
        {
            throw new XsError(Errno.EINVAL);
        }
        return absolute;
    }

    /**
     * Queues a message to be written when the socket can take it; a watch event is dropped instead when the
     * domain's unread output is at its limit (see {@link DomainAccounting#mayQueueWatchEvent}).
     *
     * @param type    the message type.
     * @param reqId   the request's req_id (0 for a watch event).
     * @param txId    the request's tx_id (0 for a watch event).
     * @param payload the payload.
     * @param reply   whether it answers a request (else it is a watch event).
     */
    void enqueue(final int type, final int reqId, final int txId, final byte[] payload, final boolean reply)
    {
        if (closed)
        {
            return;
        }
        final int size = HEADER_LENGTH + payload.length;
        if (!reply && !accounting.mayQueueWatchEvent(domid, size))
        {
            LOG.fine(() -> "dropping a watch event for domain " + domid + ": its unread output is at the limit");
            return;
        }
        final ByteBuffer bytes = ByteBuffer.allocate(size);
        final UnsafeBuffer b = new UnsafeBuffer(bytes);
        new XsHeaderFlyweight().wrap(b, 0).type(type).reqId(reqId).txId(txId).length(payload.length);
        b.putBytes(HEADER_LENGTH, payload);
        out.add(new Out(bytes, reply));
        outBytes += size;
        if (reply)
        {
            outReplies++;
        }
        accounting.outputQueued(domid, size, reply);
        if (key.isValid() && (key.interestOps() & SelectionKey.OP_WRITE) == 0)
        {
            key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
        }
    }

    /**
     * A message queued for the client.
     *
     * @param bytes header and payload, written from its position.
     * @param reply whether it answers a request (else it is a watch event).
     */
    record Out(ByteBuffer bytes, boolean reply)
    {
    }
}
