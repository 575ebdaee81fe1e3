package org.dom0j.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.util.concurrent.TimeUnit;

import static org.dom0j.nbd.NbdConstants.EIO;
import static org.dom0j.nbd.NbdConstants.ESHUTDOWN;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_FLAG_FUA;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_FLAG_NO_HOLE;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_FLUSH;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_READ;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_TRIM;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_WRITE;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_WRITE_ZEROES;

/**
 * One connection to an NBD export, for an agent thread that submits a batch of requests, sends them with one
 * gathering write, then collects completions:
 * <pre>{@code
 *   try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse("nbd+unix:///disk?socket=/run/nbd.sock"), 32))
 *   {
 *       nbd.submitRead(slot, sector * 512, length, bouncePageAddress);   // false: all 32 slots are taken
 *       nbd.flushSends();
 *       nbd.pollCompletions((cookie, errno) -> respond(cookie, errno));  // or awaitCompletion(handler, timeout)
 *   }
 * }</pre>
 * <b>Requests.</b> Each carries the caller's 64-bit cookie (blkback uses its slot index; cookies need not be
 * distinct), and each accepted request ends in exactly one completion, {@code handler.onCompletion(cookie, errno)}.
 * Data moves between the socket and the caller's native memory, given as an address and a length, with no copy
 * through the Java heap; that memory must stay valid and untouched until the request's completion. At most
 * {@code maxInFlight} requests ({@link #connect}'s bound) are taken at once: a {@code submit*} call when all are
 * taken returns false and changes nothing (submit again after completions, the caller's pools-run-dry rule).
 * <p>
 * <b>Refused requests.</b> A request this client will not send completes, at the next poll, without reaching the
 * server: {@code EINVAL} when its length is 0 or, for reads and writes, above {@link NbdExport#maximumPayload()}
 * (the server's maximum, at most 32 MiB; such requests are refused, not split, so that one request is one NBD
 * command and one reply: a blkif request carries 44 KiB, or 16 MiB with the most indirect segments, and blkback
 * should advertise no more than the export's maximum payload takes), when it reaches past the end of the export or
 * is not aligned to the minimum block size; {@code EPERM} when it would write to a read-only export;
 * {@code ENOTSUP} for a flush, trim, zeroing or FUA the server did not offer; {@code EIO} while the connection is
 * broken; {@code ESHUTDOWN} once the server said it is shutting down.
 * <p>
 * <b>Replies are not trusted.</b> A structured read reply may come in chunks of data and holes (zeroes are
 * written for a hole), in any order and interleaved with other replies; each chunk must lie within its request and
 * not overlap another, and a read completes with 0 only when every byte of it came. A magic other than the reply
 * magics, a cookie that answers no request in flight (or one already answered), a chunk of the wrong kind or
 * length, a message longer than its chunk, or a read declared done with bytes missing is a protocol violation.
 * Error chunks and error replies complete their request with the errno; the connection goes on.
 * <p>
 * <b>A broken connection.</b> When the server hangs up, the socket fails, or the server breaks the protocol, the
 * connection is broken: the socket is closed at once, nothing more is read into any request's memory, every request
 * in flight completes with {@code EIO} at the next poll, {@link #isBroken()} says so and {@link #brokenReason()}
 * says why. No exception escapes {@link #pollCompletions} or {@link #awaitCompletion} for anything the server does.
 * {@link #reconnect()} connects again to the same URI.
 * <p>
 * <b>Threads.</b> Not thread-safe: one thread (the agent's) makes every call, including the handler's. The socket
 * is non-blocking: {@link #flushSends()} and {@link #pollCompletions} never wait; only {@link #awaitCompletion},
 * {@link #connect} and {@link #reconnect} do. Nothing is allocated per request.
 */
public final class NbdConnection implements AutoCloseable
{
    /** How long {@link #connect(NbdUri, int)} waits for the connection and the handshake: 30 s. */
    public static final long DEFAULT_HANDSHAKE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** The most requests one connection may have in flight. */
    public static final int MAX_IN_FLIGHT_LIMIT = 4096;

    private final NbdUri uri;
    private final long handshakeTimeoutNanos;
    private final NbdRequestTable table;
    private final NbdReplyReader reader;
    private final NbdRequestWriter writer;

    private NbdTransport transport;
    private NbdExport export;
    private boolean broken;
    private String brokenReason;
    private boolean shutdownRequested;
    private boolean closed;
    private boolean polling;
    private String sendFailure;

    private NbdConnection(
        final NbdUri uri,
        final int maxInFlight,
        final long handshakeTimeoutNanos,
        final NbdTransport transport,
        final NbdExport export)
    {
        this.uri = uri;
        this.handshakeTimeoutNanos = handshakeTimeoutNanos;
        this.transport = transport;
        this.export = export;
        table = new NbdRequestTable(maxInFlight);
        reader = new NbdReplyReader(table);
        reader.reset(export.structuredReplies());
        writer = new NbdRequestWriter(table);
    }

    /**
     * Connects and shakes hands, waiting at most {@link #DEFAULT_HANDSHAKE_TIMEOUT_NANOS}.
     *
     * @param uri         the export.
     * @param maxInFlight how many requests may be in flight at once, 1 to {@value #MAX_IN_FLIGHT_LIMIT}.
     * @return the connection, in the transmission phase.
     * @throws IOException when the server cannot be reached, refuses the export (an {@link NbdException} naming it,
     *                     with the server's own message) or breaks the handshake.
     */
    public static NbdConnection connect(final NbdUri uri, final int maxInFlight) throws IOException
    {
        return connect(uri, maxInFlight, DEFAULT_HANDSHAKE_TIMEOUT_NANOS);
    }

    /**
     * @param uri                   the export.
     * @param maxInFlight           how many requests may be in flight at once, 1 to {@value #MAX_IN_FLIGHT_LIMIT}.
     * @param handshakeTimeoutNanos how long the connection and handshake may take, here and at each reconnect.
     * @return the connection, in the transmission phase.
     * @throws IOException as {@link #connect(NbdUri, int)}.
     */
    public static NbdConnection connect(final NbdUri uri, final int maxInFlight, final long handshakeTimeoutNanos)
        throws IOException
    {
        if (maxInFlight < 1 || maxInFlight > MAX_IN_FLIGHT_LIMIT)
        {
            throw new IllegalArgumentException("maxInFlight " + maxInFlight + " is not in 1.." + MAX_IN_FLIGHT_LIMIT);
        }
        final long deadline = System.nanoTime() + handshakeTimeoutNanos;
        final NbdTransport transport = NbdTransport.connect(uri, deadline);
        try
        {
            final NbdExport export = NbdHandshake.negotiate(transport, uri.exportName(), deadline);
            return new NbdConnection(uri, maxInFlight, handshakeTimeoutNanos, transport, export);
        }
        catch (final IOException | RuntimeException ex)
        {
            transport.close();
            throw ex;
        }
    }

    /**
     * @return the URI connected to.
     */
    public NbdUri uri()
    {
        return uri;
    }

    /**
     * @return what the last handshake agreed: size, flags, block sizes.
     */
    public NbdExport export()
    {
        return export;
    }

    /**
     * @return the most requests that may be taken at once.
     */
    public int maxInFlight()
    {
        return table.capacity();
    }

    /**
     * @return requests submitted and not yet completed to the caller.
     */
    public int inFlight()
    {
        return table.taken();
    }

    /**
     * @param cookie  the caller's name for the request.
     * @param offset  where in the export, in bytes.
     * @param length  how many bytes, 1 to {@link NbdExport#maximumPayload()}.
     * @param address native memory the data is read into; written only until the request completes.
     * @return false when {@code maxInFlight} requests are taken; true when the request will complete.
     */
    public boolean submitRead(final long cookie, final long offset, final int length, final long address)
    {
        final int slot = acquire(cookie, NBD_CMD_READ, offset, length, address);
        if (slot >= 0)
        {
            queueUnlessRefused(slot, export.checkRead(offset, length), 0);
        }
        return slot >= 0;
    }

    /**
     * @param cookie  the caller's name for the request.
     * @param offset  where in the export, in bytes.
     * @param length  how many bytes, 1 to {@link NbdExport#maximumPayload()}.
     * @param address native memory holding the data; it is sent at {@link #flushSends()} or later, so it must not
     *                change until the request completes.
     * @param fua     forced unit access: complete only once the data is on stable storage
     *                ({@code NBD_CMD_FLAG_FUA}); ENOTSUP when the export does not offer it.
     * @return false when {@code maxInFlight} requests are taken; true when the request will complete.
     */
    public boolean submitWrite(final long cookie, final long offset, final int length, final long address,
        final boolean fua)
    {
        final int slot = acquire(cookie, NBD_CMD_WRITE, offset, length, address);
        if (slot >= 0)
        {
            queueUnlessRefused(slot, export.checkWrite(offset, length, fua), fua ? NBD_CMD_FLAG_FUA : 0);
        }
        return slot >= 0;
    }

    /**
     * Makes every write whose completion has been delivered durable (NBD_CMD_FLUSH). Writes still in flight are
     * not covered: the server may order them after the flush.
     *
     * @param cookie the caller's name for the request.
     * @return false when {@code maxInFlight} requests are taken; true when the request will complete.
     */
    public boolean submitFlush(final long cookie)
    {
        final int slot = acquire(cookie, NBD_CMD_FLUSH, 0, 0, 0);
        if (slot >= 0)
        {
            queueUnlessRefused(slot, export.checkFlush(), 0);
        }
        return slot >= 0;
    }

    /**
     * Tells the server the bytes are no longer needed (NBD_CMD_TRIM). The server may discard all, some or none of
     * them; until they are written again their contents are undefined.
     *
     * @param cookie the caller's name for the request.
     * @param offset where in the export, in bytes.
     * @param length how many bytes, 1 to 2^32 - 1 (no payload, so the maximum payload does not apply).
     * @return false when {@code maxInFlight} requests are taken; true when the request will complete.
     */
    public boolean submitTrim(final long cookie, final long offset, final long length)
    {
        final int slot = acquire(cookie, NBD_CMD_TRIM, offset, length, 0);
        if (slot >= 0)
        {
            queueUnlessRefused(slot, export.checkEffect(export.canTrim(), offset, length), 0);
        }
        return slot >= 0;
    }

    /**
     * Writes zeroes without sending them (NBD_CMD_WRITE_ZEROES).
     *
     * @param cookie the caller's name for the request.
     * @param offset where in the export, in bytes.
     * @param length how many bytes, 1 to 2^32 - 1.
     * @param noHole the server must allocate the range, not punch a hole ({@code NBD_CMD_FLAG_NO_HOLE}).
     * @return false when {@code maxInFlight} requests are taken; true when the request will complete.
     */
    public boolean submitWriteZeroes(final long cookie, final long offset, final long length, final boolean noHole)
    {
        final int slot = acquire(cookie, NBD_CMD_WRITE_ZEROES, offset, length, 0);
        if (slot >= 0)
        {
            queueUnlessRefused(slot, export.checkEffect(export.canWriteZeroes(), offset, length),
                noHole ? NBD_CMD_FLAG_NO_HOLE : 0);
        }
        return slot >= 0;
    }

    /**
     * Writes queued requests to the socket, as many as it takes, in one gathering write where it can: headers and
     * the data of writes together. Never waits; what the socket does not take now goes at the next call (polling
     * calls this too). When the socket fails, nothing more is sent, and the next poll takes the replies that came
     * before the failure and then breaks the connection.
     *
     * @return requests that went to the socket in full.
     */
    public int flushSends()
    {
        checkOpen();
        return broken || sendFailure != null ? 0 : send();
    }

    /**
     * @return true when some queued request has not gone to the socket in full.
     */
    public boolean hasPendingSends()
    {
        return table.sendCount() > 0;
    }

    /**
     * Sends what is queued, reads the replies that have come, and delivers their completions; never waits.
     *
     * @param handler told of each completion.
     * @return completions delivered.
     */
    public int pollCompletions(final NbdCompletionHandler handler)
    {
        checkOpen();
        checkNotPolling("pollCompletions");
        polling = true;
        try
        {
            int completions = 0;
            if (!broken)
            {
                if (sendFailure == null)
                {
                    send();
                }
                try
                {
                    // Replies that came before a failed send are still taken: the server may have answered them.
                    reader.poll(transport, handler);
                    if (sendFailure != null)
                    {
                        breakConnection(sendFailure);
                    }
                }
                catch (final IOException ex)
                {
                    breakConnection(describe(ex));
                }
                finally
                {
                    completions += reader.takeCompleted();
                    shutdownRequested |= reader.shutdownSeen();
                }
            }
            for (int i = table.localCount(); i > 0; i--)
            {
                final int slot = table.popLocal();
                final int errno = table.errno[slot];
                final long cookie = table.release(slot);
                completions++;
                handler.onCompletion(cookie, errno);
            }
            return completions;
        }
        finally
        {
            polling = false;
        }
    }

    /**
     * Polls until at least one completion is delivered, waiting on the socket in between, or until the time is up.
     * Returns at once when nothing is in flight.
     *
     * @param handler      told of each completion.
     * @param timeoutNanos how long to wait at most.
     * @return completions delivered; 0 when the time ran out or nothing was in flight.
     */
    public int awaitCompletion(final NbdCompletionHandler handler, final long timeoutNanos)
    {
        final long deadline = System.nanoTime() + timeoutNanos;
        while (true)
        {
            final int completions = pollCompletions(handler);
            if (completions > 0 || broken || table.remote() == 0)
            {
                return completions;
            }
            final long left = deadline - System.nanoTime();
            if (left <= 0)
            {
                return 0;
            }
            try
            {
                transport.await(SelectionKey.OP_READ | (hasPendingSends() ? SelectionKey.OP_WRITE : 0), left);
            }
            catch (final IOException ex)
            {
                breakConnection("waiting on the socket failed: " + describe(ex));
            }
        }
    }

    /**
     * {@link #awaitCompletion(NbdCompletionHandler, long)} without a time limit: returns when a completion was
     * delivered or nothing is in flight. A server that never answers keeps it waiting; an agent should give a limit.
     *
     * @param handler told of each completion.
     * @return completions delivered.
     */
    public int awaitCompletion(final NbdCompletionHandler handler)
    {
        int completions;
        do
        {
            completions = awaitCompletion(handler, TimeUnit.SECONDS.toNanos(1));
        }
        while (completions == 0 && table.remote() > 0);
        return completions;
    }

    /**
     * @return true when the connection broke (the server went away or broke the protocol) and has not been
     * connected again.
     */
    public boolean isBroken()
    {
        return broken;
    }

    /**
     * @return why the connection broke, or null.
     */
    public String brokenReason()
    {
        return brokenReason;
    }

    /**
     * @return true once the server answered a request with {@code NBD_ESHUTDOWN}: it is shutting down, new requests
     * complete with ESHUTDOWN, and the caller should {@link #close()} (which sends the soft disconnect the
     * specification asks for) when its requests are done, or {@link #reconnect()}.
     */
    public boolean isShutdownRequested()
    {
        return shutdownRequested;
    }

    /**
     * @return OFFSET_DATA chunks received: how the server answers reads with structured replies.
     */
    public long dataChunksReceived()
    {
        return reader.dataChunks();
    }

    /**
     * @return OFFSET_HOLE chunks received: ranges of a read the server said are zeroes without sending them.
     */
    public long holeChunksReceived()
    {
        return reader.holeChunks();
    }

    /**
     * @return error chunks received.
     */
    public long errorChunksReceived()
    {
        return reader.errorChunks();
    }

    /**
     * @return the message of the last error chunk, up to 256 bytes (empty when it had none), or null before any.
     */
    public String lastServerErrorMessage()
    {
        return reader.lastErrorMessage();
    }

    /**
     * Gives the connection up without waiting for the server, for a caller whose server did not answer in time: the
     * socket is closed, nothing more is read into any request's memory, every request in flight completes with
     * {@code EIO} at the next poll, and {@link #isBroken()} is true with {@code reason}. {@link #reconnect()}
     * connects again. Does nothing to a connection already broken.
     *
     * @param reason why, for {@link #brokenReason()}.
     */
    public void abandon(final String reason)
    {
        checkOpen();
        checkNotPolling("abandon");
        if (!broken)
        {
            breakConnection(reason);
        }
    }

    /**
     * Connects again to the same URI and shakes hands again. A connection that is not broken is broken first (its
     * requests in flight complete with EIO). Completions not yet delivered are kept for the next poll. The export
     * must still have the size it had; its flags and block sizes are taken anew. Waits for the handshake, up to the
     * handshake timeout.
     *
     * @throws IOException when the server cannot be reached or refuses; the connection stays broken and may be
     *                     reconnected again later. An {@link NbdException} whose
     *                     {@link NbdException#isExportChanged()} is true when the export's size changed.
     */
    public void reconnect() throws IOException
    {
        checkOpen();
        checkNotPolling("reconnect");
        if (!broken)
        {
            breakConnection("reconnect asked for");
        }
        final long deadline = System.nanoTime() + handshakeTimeoutNanos;
        final NbdTransport fresh = NbdTransport.connect(uri, deadline);
        try
        {
            final NbdExport renewed = NbdHandshake.negotiate(fresh, uri.exportName(), deadline);
            if (renewed.size() != export.size())
            {
                NbdRequestWriter.disconnect(fresh);
                throw NbdException.exportChanged(uri + ": export '" + uri.exportName() + "' is now " + renewed.size() +
                    " bytes; it was " + export.size() + " bytes when first connected");
            }
            transport = fresh;
            export = renewed;
            reader.reset(renewed.structuredReplies());
            broken = false;
            brokenReason = null;
            shutdownRequested = false;
        }
        catch (final IOException | RuntimeException ex)
        {
            fresh.close();
            throw ex;
        }
    }

    /**
     * Sends the soft disconnect ({@code NBD_CMD_DISC}) unless the connection is broken or a request is half sent,
     * then closes the socket. Requests still in flight are abandoned: no completion comes for them, and their
     * memory is no longer touched. Drain them first, as the specification asks. Idempotent.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        checkNotPolling("close");
        closed = true;
        if (!broken && !writer.halfSent())
        {
            NbdRequestWriter.disconnect(transport);
        }
        transport.close();
    }

    private int acquire(final long cookie, final int command, final long offset, final long length,
        final long address)
    {
        checkOpen();
        return table.acquire(cookie, command, offset, length, address);
    }

    /**
     * Queues the request unless it is refused: then it becomes a local completion with the refusal's errno.
     */
    private void queueUnlessRefused(final int slot, final int refusal, final int flags)
    {
        final int errno = broken ? EIO : shutdownRequested ? ESHUTDOWN : refusal;
        if (errno != 0)
        {
            table.queueLocal(slot, errno);
        }
        else
        {
            writer.queue(slot, flags);
        }
    }

    private int send()
    {
        try
        {
            return writer.send(transport);
        }
        catch (final IOException ex)
        {
            sendFailure = "sending a request failed: " + describe(ex);
            return 0;
        }
    }

    private void breakConnection(final String reason)
    {
        broken = true;
        brokenReason = reason;
        sendFailure = null;
        transport.close();
        table.failRemote(EIO);
    }

    private void checkNotPolling(final String what)
    {
        if (polling)
        {
            throw new IllegalStateException(what + " called from a completion handler");
        }
    }

    private static String describe(final IOException ex)
    {
        return ex instanceof NbdException || ex instanceof EOFException ? ex.getMessage() : ex.toString();
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("NBD connection to " + uri + " is closed");
        }
    }
}
