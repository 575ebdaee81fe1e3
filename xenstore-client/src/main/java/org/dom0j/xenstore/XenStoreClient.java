package org.dom0j.xenstore;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.dom0j.xenstore.XsWireDescriptor.HEADER_LENGTH;
import static org.dom0j.xenstore.XsWireDescriptor.MESSAGE_MAX;
import static org.dom0j.xenstore.XsWireDescriptor.PAYLOAD_MAX;

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

    private static final Logger LOG = Logger.getLogger(XenStoreClient.class.getName());
    private static final byte[] EMPTY = new byte[0];
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final XsTransport transport;
    private final ConcurrentHashMap<Integer, CompletableFuture<Reply>> pending = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, WatchHandle> watches = new ConcurrentHashMap<>();
    private final AtomicInteger nextReqId = new AtomicInteger(1);
    private final AtomicLong nextWatchId = new AtomicLong(1);
    private final ReentrantLock sendLock = new ReentrantLock();
    private final ByteBuffer sendBuffer = ByteBuffer.allocateDirect(MESSAGE_MAX);
    private final UnsafeBuffer sendView = new UnsafeBuffer(sendBuffer);
    private final XsHeaderFlyweight sendHeader = new XsHeaderFlyweight();
    private final BlockingQueue<Event> events;
    private final Thread reader;
    private final Thread watcher;
    private volatile boolean closed;
    private volatile XenStoreException failure;
    private volatile boolean watchThreadAwaitingReply;

    private XenStoreClient(final XsTransport transport, final int eventQueueCapacity)
    {
        this.transport = transport;
        this.events = new ArrayBlockingQueue<>(eventQueueCapacity);
        final int n = INSTANCES.incrementAndGet();
        this.reader = new Thread(this::readLoop, "xenstore-reader-" + n);
        this.watcher = new Thread(this::watchLoop, "xenstore-watch-" + n);
        reader.setDaemon(true);
        watcher.setDaemon(true);
        reader.start();
        watcher.start();
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
        return transport.describe();
    }

    @Override
    public String read(final String path)
    {
        return new String(readBytes(path), StandardCharsets.UTF_8);
    }

    @Override
    public byte[] readBytes(final String path)
    {
        return readBytes(0, path);
    }

    @Override
    public String readOrNull(final String path)
    {
        final byte[] value = readBytesOrNull(0, path);
        return null == value ? null : new String(value, StandardCharsets.UTF_8);
    }

    @Override
    public void write(final String path, final String value)
    {
        write(0, path, value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void write(final String path, final byte[] value)
    {
        write(0, path, value);
    }

    @Override
    public void mkdir(final String path)
    {
        checkPath(path, false, "mkdir");
        request(XsMessageType.MKDIR, 0, strings(path), "mkdir " + path);
    }

    @Override
    public void rm(final String path)
    {
        rm(0, path);
    }

    @Override
    public List<String> directory(final String path)
    {
        return directory(0, path);
    }

    @Override
    public boolean exists(final String path)
    {
        return exists(0, path);
    }

    @Override
    public List<XsPermission> getPermissions(final String path)
    {
        return getPermissions(0, path);
    }

    @Override
    public void setPermissions(final String path, final List<XsPermission> permissions)
    {
        setPermissions(0, path, permissions);
    }

    @Override
    public <T> T transaction(final Function<XenStoreTransaction, T> body)
    {
        long backoffMicros = 1000;
        for (int attempt = 1; ; attempt++)
        {
            final Reply started = request(XsMessageType.TRANSACTION_START, 0, strings(""), "transaction start");
            final int txId = (int)Long.parseLong(firstString(started.payload));
            final T result;
            try
            {
                result = body.apply(new Transaction(txId));
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
        checkPath(path, true, "watch");
        if (token.indexOf('\0') >= 0)
        {
            throw new XenStoreException(Errno.EINVAL.number(), "watch " + path + ": token contains NUL");
        }
        final long id = nextWatchId.getAndIncrement();
        final WatchHandle handle = new WatchHandle(id, path, token, depth, listener);
        watches.put(id, handle);
        try
        {
            request(XsMessageType.WATCH, 0, strings(path, handle.wireToken), "watch " + path);
        }
        catch (final RuntimeException ex)
        {
            watches.remove(id);
            throw ex;
        }
        return handle;
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
            "get domain path of " + domid).payload);
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
            strings(Integer.toString(domid)), "is domain " + domid + " introduced").payload);
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
        final byte[] payload = request(XsMessageType.CONTROL, 0, strings(args), "control " + String.join(" ", args))
            .payload;
        int end = payload.length;
        while (end > 0 && payload[end - 1] == 0)
        {
            end--;
        }
        return new String(payload, 0, end, StandardCharsets.UTF_8);
    }

    @Override
    public long getFeature(final int domid)
    {
        final byte[] payload = domid < 0 ? EMPTY : strings(Integer.toString(domid));
        return parseNumber(request(XsMessageType.GET_FEATURE, 0, payload, "get feature").payload, "get feature");
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
        return parseNumber(request(XsMessageType.GET_QUOTA, 0, payload, "get quota " + name).payload,
            "get quota " + name);
    }

    @Override
    public List<String> quotaNames(final int domid)
    {
        final byte[] payload = domid < 0 ? EMPTY : strings(Integer.toString(domid));
        final List<String> names = new ArrayList<>();
        for (final String s : splitStrings(request(XsMessageType.GET_QUOTA, 0, payload, "list quotas").payload))
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
        fail(new XenStoreException(Errno.ECONNRESET.number(), "xenstore connection closed"));
        if (Thread.currentThread() != watcher)
        {
            try
            {
                watcher.join(TimeUnit.SECONDS.toMillis(5));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    private byte[] readBytes(final int txId, final String path)
    {
        checkPath(path, false, "read");
        return request(XsMessageType.READ, txId, strings(path), "read " + path).payload;
    }

    private byte[] readBytesOrNull(final int txId, final String path)
    {
        try
        {
            return readBytes(txId, path);
        }
        catch (final XenStoreException ex)
        {
            if (ex.errno() == Errno.ENOENT.number())
            {
                return null;
            }
            throw ex;
        }
    }

    private boolean exists(final int txId, final String path)
    {
        try
        {
            readBytes(txId, path);
            return true;
        }
        catch (final XenStoreException ex)
        {
            if (ex.errno() == Errno.ENOENT.number() || ex.errno() == Errno.EACCES.number())
            {
                return false;
            }
            throw ex;
        }
    }

    private void write(final int txId, final String path, final byte[] value)
    {
        checkPath(path, false, "write");
        final byte[] p = path.getBytes(StandardCharsets.UTF_8);
        final byte[] payload = new byte[p.length + 1 + value.length];
        System.arraycopy(p, 0, payload, 0, p.length);
        System.arraycopy(value, 0, payload, p.length + 1, value.length);
        request(XsMessageType.WRITE, txId, payload, "write " + path);
    }

    private void rm(final int txId, final String path)
    {
        checkPath(path, false, "rm");
        try
        {
            request(XsMessageType.RM, txId, strings(path), "rm " + path);
        }
        catch (final XenStoreException ex)
        {
            if (ex.errno() != Errno.ENOENT.number())
            {
                throw ex;
            }
        }
    }

    private List<String> directory(final int txId, final String path)
    {
        checkPath(path, false, "directory");
        try
        {
            return splitStrings(request(XsMessageType.DIRECTORY, txId, strings(path), "directory " + path).payload);
        }
        catch (final XenStoreException ex)
        {
            if (ex.errno() != Errno.E2BIG.number())
            {
                throw ex;
            }
        }
        return directoryPart(txId, path);
    }

    private List<String> directoryPart(final int txId, final String path)
    {
        final List<String> children = new ArrayList<>();
        String generation = null;
        int offset = 0;
        for (int round = 0; ; round++)
        {
            if (round > 10_000)
            {
                throw new XenStoreException(Errno.EIO.number(), "directory " + path + ": DIRECTORY_PART never ended");
            }
            final byte[] payload = request(XsMessageType.DIRECTORY_PART, txId,
                strings(path, Integer.toString(offset)), "directory part " + path).payload;
            final List<String> parts = splitStrings(payload);
            if (parts.isEmpty())
            {
                throw new XenStoreException(Errno.EIO.number(), "directory " + path + ": empty DIRECTORY_PART reply");
            }
            final String gen = parts.get(0);
            if (null != generation && !generation.equals(gen))
            {
                children.clear();
                offset = 0;
                generation = null;
                continue;
            }
            generation = gen;
            final boolean complete = payload.length >= 2 && payload[payload.length - 1] == 0 &&
                payload[payload.length - 2] == 0;
            for (int i = 1; i < parts.size(); i++)
            {
                final String child = parts.get(i);
                if (child.isEmpty())
                {
                    continue;
                }
                children.add(child);
                offset += child.getBytes(StandardCharsets.UTF_8).length + 1;
            }
            if (complete)
            {
                return children;
            }
        }
    }

    private List<XsPermission> getPermissions(final int txId, final String path)
    {
        checkPath(path, true, "get permissions");
        final List<XsPermission> perms = new ArrayList<>();
        for (final String s : splitStrings(request(XsMessageType.GET_PERMS, txId, strings(path),
            "get permissions " + path).payload))
        {
            try
            {
                perms.add(XsPermission.parse(s));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new XenStoreException(Errno.EIO.number(), "get permissions " + path + ": " + ex.getMessage());
            }
        }
        return perms;
    }

    private void setPermissions(final int txId, final String path, final List<XsPermission> permissions)
    {
        checkPath(path, true, "set permissions");
        if (permissions.isEmpty())
        {
            throw new XenStoreException(Errno.EINVAL.number(), "set permissions " + path + ": no owner entry");
        }
        final String[] args = new String[permissions.size() + 1];
        args[0] = path;
        for (int i = 0; i < permissions.size(); i++)
        {
            args[i + 1] = permissions.get(i).toString();
        }
        request(XsMessageType.SET_PERMS, txId, strings(args), "set permissions " + path);
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

    private static void checkPath(final String path, final boolean allowSpecial, final String what)
    {
        final String why = XsPaths.whyInvalid(path, allowSpecial);
        if (null != why)
        {
            throw new XenStoreException(Errno.EINVAL.number(), what + " \"" + path + "\": " + why);
        }
    }

    private Reply request(final XsMessageType type, final int txId, final byte[] payload, final String what)
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
        final boolean onWatchThread = Thread.currentThread() == watcher;
        if (onWatchThread)
        {
            watchThreadAwaitingReply = true;
        }
        final Reply reply;
        try
        {
            reply = future.get();
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
                watchThreadAwaitingReply = false;
            }
        }
        if (reply.type == XsMessageType.ERROR.code())
        {
            final String name = firstString(reply.payload);
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
                    if (!enqueue(payload))
                    {
                        return;
                    }
                }
                else
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

    private boolean enqueue(final byte[] payload)
    {
        final List<String> parts = splitStrings(payload);
        if (parts.size() < 2)
        {
            LOG.warning("malformed watch event ignored: " + parts);
            return true;
        }
        final Event event = new Event(parts.get(0), parts.get(1));
        try
        {
            while (!events.offer(event, 20, TimeUnit.MILLISECONDS))
            {
                if (closed)
                {
                    return false;
                }
                if (watchThreadAwaitingReply)
                {
                    fail(new XenStoreException(Errno.EOVERFLOW.number(), "watch event queue full (" +
                        (events.size() + events.remainingCapacity()) + " events) while the watch thread waits " +
                        "for a xenstore reply; connection closed rather than deadlock or drop events"));
                    return false;
                }
            }
            return true;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void watchLoop()
    {
        while (true)
        {
            final Event event;
            try
            {
                // Woken by an event or by CLOSED_WAKE_UP; the timeout is only for a close that found the queue full.
                event = events.poll(1, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                return;
            }
            if (null == event || CLOSED_WAKE_UP == event)
            {
                if (closed)
                {
                    return;
                }
                continue;
            }
            final int colon = event.token.indexOf(':');
            final WatchHandle handle;
            try
            {
                handle = colon < 0 ? null : watches.get(Long.parseLong(event.token.substring(0, colon)));
            }
            catch (final NumberFormatException ex)
            {
                continue;
            }
            if (null == handle || !handle.wanted(event.path))
            {
                continue;
            }
            try
            {
                handle.listener.onWatchEvent(event.path, handle.token);
            }
            catch (final RuntimeException ex)
            {
                LOG.log(Level.WARNING, "watch listener for " + handle.path + " threw", ex);
            }
        }
    }

    private void fail(final XenStoreException ex)
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
        transport.close();
        // the watch thread leaves once it has delivered what is queued (a full queue: within its poll's timeout)
        events.offer(CLOSED_WAKE_UP);
        for (final Integer id : pending.keySet())
        {
            final CompletableFuture<Reply> f = pending.remove(id);
            if (null != f)
            {
                f.completeExceptionally(ex);
            }
        }
    }

    static byte[] strings(final String... values)
    {
        int length = 0;
        final byte[][] encoded = new byte[values.length][];
        for (int i = 0; i < values.length; i++)
        {
            encoded[i] = values[i].getBytes(StandardCharsets.UTF_8);
            length += encoded[i].length + 1;
        }
        final byte[] out = new byte[length];
        int at = 0;
        for (final byte[] e : encoded)
        {
            System.arraycopy(e, 0, out, at, e.length);
            at += e.length + 1;
        }
        return out;
    }

    static List<String> splitStrings(final byte[] payload)
    {
        final List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < payload.length; i++)
        {
            if (payload[i] == 0)
            {
                out.add(new String(payload, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < payload.length)
        {
            out.add(new String(payload, start, payload.length - start, StandardCharsets.UTF_8));
        }
        return out;
    }

    private static String firstString(final byte[] payload)
    {
        int end = 0;
        while (end < payload.length && payload[end] != 0)
        {
            end++;
        }
        return new String(payload, 0, end, StandardCharsets.UTF_8);
    }

    private static long parseNumber(final byte[] payload, final String what)
    {
        final String text = firstString(payload).trim();
        try
        {
            return Long.parseLong(text);
        }
        catch (final NumberFormatException ex)
        {
            throw new XenStoreException(Errno.EPROTO.number(), what + ": xenstored answered \"" + text + "\"");
        }
    }

    private record Reply(int type, byte[] payload)
    {
    }

    /** Queued by a close, so that an idle watch thread leaves at once rather than polling for the close. */
    private static final Event CLOSED_WAKE_UP = new Event("", "");

    private record Event(String path, String token)
    {
    }

    /**
     * The operations of one transaction, sent with its tx_id.
     */
    private final class Transaction implements XenStoreTransaction
    {
        private final int txId;

        Transaction(final int txId)
        {
            this.txId = txId;
        }

        @Override
        public String readOrNull(final String path)
        {
            final byte[] value = XenStoreClient.this.readBytesOrNull(txId, path);
            return null == value ? null : new String(value, StandardCharsets.UTF_8);
        }

        @Override
        public byte[] readBytesOrNull(final String path)
        {
            return XenStoreClient.this.readBytesOrNull(txId, path);
        }

        @Override
        public boolean exists(final String path)
        {
            return XenStoreClient.this.exists(txId, path);
        }

        @Override
        public List<XsPermission> getPermissions(final String path)
        {
            return XenStoreClient.this.getPermissions(txId, path);
        }

        @Override
        public void write(final String path, final String value)
        {
            XenStoreClient.this.write(txId, path, value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public void write(final String path, final byte[] value)
        {
            XenStoreClient.this.write(txId, path, value);
        }

        @Override
        public void mkdir(final String path)
        {
            checkPath(path, false, "mkdir");
            request(XsMessageType.MKDIR, txId, strings(path), "mkdir " + path);
        }

        @Override
        public void rm(final String path)
        {
            XenStoreClient.this.rm(txId, path);
        }

        @Override
        public List<String> directory(final String path)
        {
            return XenStoreClient.this.directory(txId, path);
        }

        @Override
        public void setPermissions(final String path, final List<XsPermission> permissions)
        {
            XenStoreClient.this.setPermissions(txId, path, permissions);
        }
    }

    /**
     * One watch: its wire token is "&lt;id&gt;:&lt;caller's token&gt;", so events find their listener even when
     * callers reuse tokens.
     */
    private final class WatchHandle implements XsWatch
    {
        private final long id;
        private final String path;
        private final String token;
        private final String wireToken;
        private final int depth;
        private final XsWatchListener listener;
        private volatile boolean removed;

        WatchHandle(final long id, final String path, final String token, final int depth,
            final XsWatchListener listener)
        {
            this.id = id;
            this.path = path;
            this.token = token;
            this.wireToken = id + ":" + token;
            this.depth = depth;
            this.listener = listener;
        }

        boolean wanted(final String eventPath)
        {
            if (removed)
            {
                return false;
            }
            if (depth < 0 || eventPath.charAt(0) == '@')
            {
                return true;
            }
            return XsPaths.isAtOrBelow(eventPath, path) && XsPaths.depthBelow(eventPath, path) <= depth;
        }

        @Override
        public String path()
        {
            return path;
        }

        @Override
        public String token()
        {
            return token;
        }

        @Override
        public void close()
        {
            if (removed)
            {
                return;
            }
            removed = true;
            if (null == watches.remove(id) || closed)
            {
                return;
            }
            request(XsMessageType.UNWATCH, 0, strings(path, wireToken), "unwatch " + path);
        }
    }
}
