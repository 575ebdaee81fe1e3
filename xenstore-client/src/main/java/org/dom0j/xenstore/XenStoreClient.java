package org.dom0j.xenstore;

import org.dom0j.common.Errno;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.dom0j.xenstore.XsPayloads.EMPTY;
import static org.dom0j.xenstore.XsPayloads.firstString;
import static org.dom0j.xenstore.XsPayloads.parseNumber;
import static org.dom0j.xenstore.XsPayloads.splitStrings;
import static org.dom0j.xenstore.XsPayloads.strings;

/**
 * A pure-Java xs_wire client: one connection to xenstored, over its Unix socket or the {@code /dev/xen/xenbus}
 * device, shared by any number of threads.
 * <p>
 * <b>Transport choice</b> ({@link #open()}), as libxenstore's {@code xs_open(0)} makes it: the Unix socket named by
 * {@code $XENSTORED_PATH}, else {@code /var/run/xenstored/socket}; if that cannot be connected, the xenbus device
 * named by {@code $XENSTORED_PATH}, else {@code /dev/xen/xenbus}, else {@code /proc/xen/xenbus}.
 * <p>
 * <b>Threads</b>: requests from any thread are multiplexed by req_id; each caller blocks until its own reply
 * arrives. A reader thread ({@code xenstore-reader}) reads every message. Watch events go through a bounded queue
 * (capacity {@link #DEFAULT_EVENT_QUEUE_CAPACITY} unless given) to the watch thread ({@code xenstore-watch}), which
 * calls listeners one at a time in arrival order. <b>Overflow</b>: events are never dropped. When the queue is full
 * the reader waits (backpressure: replies and further events wait behind it, and xenstored buffers or throttles).
 * If the queue is full while the watch thread itself waits for a reply (a listener making a request), waiting would
 * deadlock, so the connection is closed instead: every pending and later request fails with EOVERFLOW, and the
 * events already queued are still delivered.
 * <p>
 * <b>Transactions</b>: {@link #transaction} retries on EAGAIN with randomised exponential backoff (1 ms doubling to
 * 256 ms), at most {@link #MAX_TRANSACTION_ATTEMPTS} times.
 * <p>
 * Its parts: {@link XsClientConnection} (the wire, the reader thread, req_id multiplexing),
 * {@link XsWatchDispatcher} (the watches, their queue and thread), {@link XsPathOperations} (the node operations,
 * with or without a transaction) and {@link XsPayloads} (the payloads' encoding).
 */
public final class XenStoreClient implements XenStore
{
    /** The environment variable libxenstore reads for the socket (or device) path. */
    public static final String PATH_ENV = "XENSTORED_PATH";
    /** xenstored's socket when {@code $XENSTORED_PATH} is not set. */
    public static final String DEFAULT_SOCKET = "/var/run/xenstored/socket";
    /** The kernel's xenbus device in a Linux dom0. */
    public static final String XENBUS_DEVICE = "/dev/xen/xenbus";
    /** The old location of the xenbus device. */
    public static final String PROC_XENBUS = "/proc/xen/xenbus";
    /** Watch events that may wait for the watch thread before the reader applies backpressure. */
    public static final int DEFAULT_EVENT_QUEUE_CAPACITY = 4096;
    /** How many times {@link #transaction} runs its body before giving up with EAGAIN. */
    public static final int MAX_TRANSACTION_ATTEMPTS = 64;

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final XsClientConnection connection;
    private final XsWatchDispatcher watches;
    private final XsPathOperations outside;

    private XenStoreClient(final XsTransport transport, final int eventQueueCapacity)
    {
        final int n = INSTANCES.incrementAndGet();
        this.watches = new XsWatchDispatcher(eventQueueCapacity, "xenstore-watch-" + n);
        this.connection = new XsClientConnection(transport, watches, "xenstore-reader-" + n);
        this.outside = new XsPathOperations(connection, 0);
        connection.start();
        watches.start();
    }

    /**
     * @param unixSocket xenstored's socket.
     * @return a connected client.
     * @throws XenStoreException ECONNREFUSED (or ENOENT) when nobody listens there.
     */
    public static XenStoreClient connect(final Path unixSocket)
    {
        return connect(unixSocket, DEFAULT_EVENT_QUEUE_CAPACITY);
    }

    /**
     * @param unixSocket         xenstored's socket.
     * @param eventQueueCapacity watch events that may wait for the watch thread.
     * @return a connected client.
     */
    public static XenStoreClient connect(final Path unixSocket, final int eventQueueCapacity)
    {
        try
        {
            return new XenStoreClient(new XsTransport.UnixSocket(unixSocket), eventQueueCapacity);
        }
        catch (final IOException ex)
        {
            final int errno = Files.exists(unixSocket) ? Errno.ECONNREFUSED.number() : Errno.ENOENT.number();
            throw new XenStoreException(errno, "connect to xenstored at " + unixSocket, ex);
        }
    }

    /**
     * @param device the xenbus device, normally {@code /dev/xen/xenbus}.
     * @return a client talking through it.
     */
    public static XenStoreClient openDevice(final Path device)
    {
        try
        {
            return new XenStoreClient(new XsTransport.XenbusDevice(device), DEFAULT_EVENT_QUEUE_CAPACITY);
        }
        catch (final IOException ex)
        {
            throw new XenStoreException(Errno.ENOENT.number(), "open xenbus device " + device, ex);
        }
    }

    /**
     * Connects as libxenstore does, from this process's environment (see the class comment).
     *
     * @return a connected client.
     */
    public static XenStoreClient open()
    {
        return open(System.getenv());
    }

    /**
     * Connects as libxenstore does (see the class comment).
     *
     * @param env the environment to read {@code XENSTORED_PATH} from.
     * @return a connected client.
     * @throws XenStoreException ENOENT naming every place tried when none answers.
     */
    public static XenStoreClient open(final Map<String, String> env)
    {
        final String configured = env.get(PATH_ENV);
        final boolean given = null != configured && !configured.isEmpty();
        final Path socket = Path.of(given ? configured : DEFAULT_SOCKET);
        final List<String> tried = new ArrayList<>();
        try
        {
            return new XenStoreClient(new XsTransport.UnixSocket(socket), DEFAULT_EVENT_QUEUE_CAPACITY);
        }
        catch (final IOException | UnsupportedOperationException ex)
        {
            tried.add("socket " + socket + " (" + ex.getMessage() + ")");
        }
        final List<Path> devices = given ? List.of(Path.of(configured)) :
            List.of(Path.of(XENBUS_DEVICE), Path.of(PROC_XENBUS));
        for (final Path device : devices)
        {
            if (Files.exists(device) && !Files.isDirectory(device))
            {
                try
                {
                    return new XenStoreClient(new XsTransport.XenbusDevice(device), DEFAULT_EVENT_QUEUE_CAPACITY);
                }
                catch (final IOException ex)
                {
                    tried.add("device " + device + " (" + ex.getMessage() + ")");
                }
            }
            else
            {
                tried.add("device " + device + " (missing)");
            }
        }
        throw new XenStoreException(Errno.ENOENT.number(),
            "no xenstored to talk to: tried " + String.join(", ", tried) + "; set " + PATH_ENV);
    }

    /**
     * @return e.g. "unix socket /var/run/xenstored/socket".
     */
    public String describe()
    {
        return connection.describe();
    }

    @Override
    public String read(final String path)
    {
        return new String(readBytes(path), StandardCharsets.UTF_8);
    }

    @Override
    public byte[] readBytes(final String path)
    {
        return outside.readBytes(path);
    }

    @Override
    public String readOrNull(final String path)
    {
        return outside.readOrNull(path);
    }

    @Override
    public void write(final String path, final String value)
    {
        outside.write(path, value);
    }

    @Override
    public void write(final String path, final byte[] value)
    {
        outside.write(path, value);
    }

    @Override
    public void mkdir(final String path)
    {
        outside.mkdir(path);
    }

    @Override
    public void rm(final String path)
    {
        outside.rm(path);
    }

    @Override
    public List<String> directory(final String path)
    {
        return outside.directory(path);
    }

    @Override
    public boolean exists(final String path)
    {
        return outside.exists(path);
    }

    @Override
    public List<XsPermission> getPermissions(final String path)
    {
        return outside.getPermissions(path);
    }

    @Override
    public void setPermissions(final String path, final List<XsPermission> permissions)
    {
        outside.setPermissions(path, permissions);
    }

    @Override
    public <T> T transaction(final Function<XenStoreTransaction, T> body)
    {
        long backoffMicros = 1000;
        for (int attempt = 1; ; attempt++)
        {
            final int txId = (int)Long.parseLong(firstString(
                request(XsMessageType.TRANSACTION_START, 0, strings(""), "transaction start").payload()));
            final T result;
            try
            {
                result = body.apply(new XsPathOperations(connection, txId));
            }
            catch (final XenStoreException ex)
            {
                endQuietly(txId);
                if (ex.errno() != Errno.EAGAIN.number() || attempt >= MAX_TRANSACTION_ATTEMPTS)
                {
                    throw ex;
                }
                backoffMicros = backoff(backoffMicros);
                continue;
            }
            catch (final RuntimeException | Error ex)
            {
                endQuietly(txId);
                throw ex;
            }
            try
            {
                request(XsMessageType.TRANSACTION_END, txId, strings("T"), "transaction " + txId + " commit");
                return result;
            }
            catch (final XenStoreException ex)
            {
                if (ex.errno() != Errno.EAGAIN.number() || attempt >= MAX_TRANSACTION_ATTEMPTS)
                {
                    throw ex;
                }
            }
            backoffMicros = backoff(backoffMicros);
        }
    }

    @Override
    public XsWatch watch(final String path, final String token, final XsWatchListener listener)
    {
        return watch(path, token, -1, listener);
    }

    @Override
    public XsWatch watch(final String path, final String token, final int depth, final XsWatchListener listener)
    {
        XsPathOperations.checkPath(path, true, "watch");
        if (token.indexOf('\0') >= 0)
        {
            throw new XenStoreException(Errno.EINVAL.number(), "watch " + path + ": token contains NUL");
        }
        final XsWatchDispatcher.Watch watch = watches.add(path, token, depth, listener, this::unwatch);
        try
        {
            request(XsMessageType.WATCH, 0, strings(path, watch.wireToken()), "watch " + path);
        }
        catch (final RuntimeException ex)
        {
            watches.remove(watch);
            throw ex;
        }
        return watch;
    }

    @Override
    public void resetWatches()
    {
        request(XsMessageType.RESET_WATCHES, 0, EMPTY, "reset watches");
        watches.clear();
    }

    @Override
    public String getDomainPath(final int domid)
    {
        return firstString(request(XsMessageType.GET_DOMAIN_PATH, 0, strings(Integer.toString(domid)),
            "get domain path of " + domid).payload());
    }

    @Override
    public void introduceDomain(final int domid, final long mfn, final int eventChannel)
    {
        request(XsMessageType.INTRODUCE, 0,
            strings(Integer.toString(domid), Long.toUnsignedString(mfn), Integer.toString(eventChannel)),
            "introduce domain " + domid);
    }

    @Override
    public void releaseDomain(final int domid)
    {
        request(XsMessageType.RELEASE, 0, strings(Integer.toString(domid)), "release domain " + domid);
    }

    @Override
    public boolean isDomainIntroduced(final int domid)
    {
        final String answer = firstString(request(XsMessageType.IS_DOMAIN_INTRODUCED, 0,
            strings(Integer.toString(domid)), "is domain " + domid + " introduced").payload());
        return "T".equals(answer);
    }

    @Override
    public void resumeDomain(final int domid)
    {
        request(XsMessageType.RESUME, 0, strings(Integer.toString(domid)), "resume domain " + domid);
    }

    @Override
    public void setTarget(final int domid, final int targetDomid)
    {
        request(XsMessageType.SET_TARGET, 0, strings(Integer.toString(domid), Integer.toString(targetDomid)),
            "set target of " + domid + " to " + targetDomid);
    }

    @Override
    public String control(final String... args)
    {
        return XsPayloads.text(request(XsMessageType.CONTROL, 0, strings(args), "control " + String.join(" ", args))
            .payload());
    }

    @Override
    public long getFeature(final int domid)
    {
        final byte[] payload = domid < 0 ? EMPTY : strings(Integer.toString(domid));
        return parseNumber(request(XsMessageType.GET_FEATURE, 0, payload, "get feature").payload(), "get feature");
    }

    @Override
    public void setFeature(final int domid, final long features)
    {
        request(XsMessageType.SET_FEATURE, 0, strings(Integer.toString(domid), Long.toUnsignedString(features)),
            "set feature of " + domid);
    }

    @Override
    public long getQuota(final int domid, final String name)
    {
        final byte[] payload = domid < 0 ? strings(name) : strings(Integer.toString(domid), name);
        return parseNumber(request(XsMessageType.GET_QUOTA, 0, payload, "get quota " + name).payload(),
            "get quota " + name);
    }

    @Override
    public List<String> quotaNames(final int domid)
    {
        final byte[] payload = domid < 0 ? EMPTY : strings(Integer.toString(domid));
        final List<String> names = new ArrayList<>();
        for (final String s : splitStrings(request(XsMessageType.GET_QUOTA, 0, payload, "list quotas").payload()))
        {
            for (final String name : s.split(" "))
            {
                if (!name.isEmpty())
                {
                    names.add(name);
                }
            }
        }
        return names;
    }

    @Override
    public void setQuota(final int domid, final String name, final long value)
    {
        final byte[] payload = domid < 0 ? strings(name, Long.toString(value)) :
            strings(Integer.toString(domid), name, Long.toString(value));
        request(XsMessageType.SET_QUOTA, 0, payload, "set quota " + name);
    }

    @Override
    public void close()
    {
        connection.fail(new XenStoreException(Errno.ECONNRESET.number(), "xenstore connection closed"));
        if (!watches.isWatchThread())
        {
            try
            {
                watches.join(TimeUnit.SECONDS.toMillis(5));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void endQuietly(final int txId)
    {
        try
        {
            request(XsMessageType.TRANSACTION_END, txId, strings("F"), "transaction " + txId + " abort");
        }
        catch (final XenStoreException ignore)
        {
            // the transaction is gone either way
        }
    }

    private static long backoff(final long micros)
    {
        try
        {
            TimeUnit.MICROSECONDS.sleep(ThreadLocalRandom.current().nextLong(micros / 2, micros + 1));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new XenStoreException(Errno.EINTR.number(), "transaction retry interrupted", ex);
        }
        return Math.min(micros * 2, 256_000);
    }

    /**
     * Sends a closed watch's UNWATCH. A connection that has failed (or fails meanwhile) has no watch left to undo, so
     * closing a watch then is quiet, as closing it after {@link #close} is.
     */
    private void unwatch(final String path, final String wireToken)
    {
        if (connection.isClosed())
        {
            return;
        }
        try
        {
            request(XsMessageType.UNWATCH, 0, strings(path, wireToken), "unwatch " + path);
        }
        catch (final XenStoreException ex)
        {
            if (!connection.isClosed())
            {
                throw ex;
            }
        }
    }

    private XsClientConnection.Reply request(final XsMessageType type, final int txId, final byte[] payload,
        final String what)
    {
        return connection.request(type, txId, payload, what);
    }
}
