package org.dom0j.blkback;

import org.dom0j.nbd.NbdCompletionHandler;
import org.dom0j.nbd.NbdConnection;
import org.dom0j.nbd.NbdConstants;
import org.dom0j.nbd.NbdException;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;

/**
 * One queue's connection to its disk's NBD export, and what happens when the server goes away. Each queue has its
 * own (a connection carries one stream of requests; several queues need the export's CAN_MULTI_CONN, so that a flush
 * on one covers the writes answered on the others).
 * <p>
 * <b>Waiting.</b> {@link #awaitAll} sends what was submitted and waits until every request in flight has completed.
 * A server that answers nothing for {@link #DEFAULT_TIMEOUT_NANOS} (30 s) while requests are in flight is given up
 * on: the connection is broken, and those requests fail, as in any outage.
 * <p>
 * <b>Outages.</b> When the connection breaks (the server hung up, reset, broke the protocol, timed out, or said it
 * is shutting down), every request in flight completes with EIO, and so is answered to the guest with
 * BLKIF_RSP_ERROR: never with data that did not come. From then on the queue's requests are answered with errors at
 * once, without waiting for the server, as Linux's nbd client fails requests once its timeout passed: a guest's I/O
 * must not hang because the server is gone. {@link #ready} connects again (the same URI, a full handshake) on the
 * first request after the break, then at most once a second ({@link #RETRY_INTERVAL_NANOS}) while the server stays
 * away; the outage is logged when it begins and when it ends, not per request. A server that comes back with an
 * export of another size (or block sizes that no longer fit) is not the disk the guest had: the queue stays in
 * error, and the log says why.
 * <p>
 * Not thread safe: made on the conductor's thread when the queue connects, then used by the queue's agent only.
 */
final class NbdLink implements AutoCloseable
{
    /** How long requests in flight may go without any answer before the server is given up on. */
    static final long DEFAULT_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** While the server is away, the least time between two attempts to connect again. */
    static final long RETRY_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    private static final Logger LOG = Logger.getLogger(NbdLink.class.getName());

    private final String roleName;
    private final NbdStorage storage;
    private final NbdConnection connection;
    private final long timeoutNanos;
    private final QueueErrors errors;
    private boolean down;
    private long outageStart;
    private long nextAttempt;
    private long failedInOutage;
    private long outages;
    private String stuck;

    /**
     * Connects the queue to the export.
     *
     * @param roleName     the queue's name, for the log.
     * @param storage      the export.
     * @param maxInFlight  the most requests the queue has in flight at once.
     * @param timeoutNanos how long requests in flight may go without an answer.
     * @param errors       where the last error is noted.
     * @throws IOException when the server cannot be reached, refuses, or no longer serves the disk's export.
     */
    NbdLink(
        final String roleName,
        final NbdStorage storage,
        final int maxInFlight,
        final long timeoutNanos,
        final QueueErrors errors) throws IOException
    {
        this.roleName = roleName;
        this.storage = storage;
        this.timeoutNanos = timeoutNanos;
        this.errors = errors;
        connection = storage.connect(maxInFlight);
    }

    /**
     * @return the connection (the same object across reconnections).
     */
    NbdConnection connection()
    {
        return connection;
    }

    /**
     * Before requests are sent: whether they may be. When the connection is down, connects again if an attempt is
     * due (the first request since the break, then once a second).
     *
     * @param now {@link System#nanoTime()}.
     * @return true when requests may be submitted; false when they are to be answered with
     *         {@link #unavailable()} at once.
     */
    boolean ready(final long now)
    {
        if (null != stuck)
        {
            return false;
        }
        if (!connection.isBroken() && !connection.isShutdownRequested())
        {
            return true;
        }
        noteOutage(now);
        if (now - nextAttempt < 0)
        {
            return false;
        }
        try
        {
            connection.reconnect();
        }
        catch (final IOException ex)
        {
            if (ex instanceof NbdException nbd && nbd.isExportChanged())
            {
                giveUp(ex.getMessage());
            }
            else
            {
                nextAttempt = System.nanoTime() + RETRY_INTERVAL_NANOS;
                LOG.fine(() -> roleName + ": still no NBD connection: " + ex.getMessage());
            }
            return false;
        }
        final String problem = storage.unfit(connection.export());
        if (null != problem)
        {
            giveUp(storage.uri() + ": " + problem);
            return false;
        }
        final long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - outageStart);
        final long failed = failedInOutage;
        LOG.info(() -> roleName + ": connected to " + storage.uri() + " again after " + millis + " ms; " + failed +
            " request(s) were answered with I/O errors meanwhile");
        down = false;
        return true;
    }

    /**
     * Sends what was submitted and waits until nothing is in flight, every completion delivered to {@code handler}.
     * When no request completes for the timeout, the server is given up on: the connection is broken (the requests
     * in flight complete with EIO), and the next request connects again.
     *
     * @param handler told of each completion.
     */
    void awaitAll(final NbdCompletionHandler handler)
    {
        connection.flushSends();
        long lastProgress = System.nanoTime();
        while (connection.inFlight() > 0)
        {
            final long left = timeoutNanos - (System.nanoTime() - lastProgress);
            if (left <= 0)
            {
                timedOut();
                lastProgress = System.nanoTime();
            }
            else if (connection.awaitCompletion(handler, left) > 0)
            {
                lastProgress = System.nanoTime();
            }
        }
        if (connection.isBroken())
        {
            noteOutage(System.nanoTime());
        }
    }

    /**
     * What a completion comes to: OK, or IO_ERROR (a server's error reply is logged, once while it repeats; a
     * request failed by an outage is counted in the outage's log line instead).
     *
     * @param errno the completion's errno.
     * @param op    the request's operation, for the log.
     * @return the verdict.
     */
    RequestVerdict verdict(final int errno, final int op)
    {
        if (errno == 0)
        {
            return RequestVerdict.OK;
        }
        if (down || connection.isBroken())
        {
            failedInOutage++;
            return RequestVerdict.IO_ERROR;
        }
        return errors.ioError("the NBD server answered " + NbdConstants.errnoName(errno) + " to a " + name(op));
    }

    private static String name(final int op)
    {
        return switch (op)
        {
            case BLKIF_OP_READ -> "read";
            case BLKIF_OP_WRITE -> "write";
            case BLKIF_OP_DISCARD -> "trim";
            default -> "flush";
        };
    }

    /**
     * @return IO_ERROR, for a request answered without being sent (the connection is down).
     */
    RequestVerdict unavailable()
    {
        failedInOutage++;
        return RequestVerdict.IO_ERROR;
    }

    /**
     * @return how many outages began (for tests and logs).
     */
    long outages()
    {
        return outages;
    }

    /**
     * @return why the queue stays in error for good, or null.
     */
    String stuck()
    {
        return stuck;
    }

    private void noteOutage(final long now)
    {
        if (down)
        {
            return;
        }
        down = true;
        outages++;
        outageStart = now;
        nextAttempt = now;
        failedInOutage = 0;
        final String reason = connection.isBroken() ? connection.brokenReason() : "the server is shutting down";
        errors.note(reason);
        LOG.warning(() -> roleName + ": NBD connection to " + storage.uri() + " lost (" + reason + "); requests are " +
            "answered with I/O errors until it is back (trying again at the next request, then at most once a " +
            "second)");
    }

    private void timedOut()
    {
        // The requests in flight complete with EIO at the next poll; the next request connects again.
        final long millis = TimeUnit.NANOSECONDS.toMillis(timeoutNanos);
        connection.abandon("no answer in " + (millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms") + " with " +
            connection.inFlight() + " request(s) in flight");
    }

    private void giveUp(final String why)
    {
        stuck = why;
        errors.note(why);
        LOG.severe(() -> roleName + ": " + why + ": this is not the disk the guest had; its requests are answered " +
            "with I/O errors until the device is connected again");
    }

    /**
     * Hangs up (a soft disconnect when the connection is up; nothing is in flight between passes).
     */
    @Override
    public void close()
    {
        connection.close();
    }
}
