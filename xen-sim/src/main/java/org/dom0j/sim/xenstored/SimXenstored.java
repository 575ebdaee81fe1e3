package org.dom0j.sim.xenstored;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.xenstore.XsErrors;
import org.dom0j.xenstore.XsHeaderFlyweight;
import org.dom0j.xenstore.XsMessageType;
import org.dom0j.xenstore.XsPaths;
import org.dom0j.xenstore.XsPermission;
import org.dom0j.xenstore.XsWireDescriptor;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.dom0j.sim.xenstored.XsArgs.domid;
import static org.dom0j.sim.xenstored.XsArgs.joinStrings;
import static org.dom0j.sim.xenstored.XsArgs.number;
import static org.dom0j.sim.xenstored.XsArgs.oneArg;
import static org.dom0j.sim.xenstored.XsArgs.strings;
import static org.dom0j.xenstore.XsWireDescriptor.HEADER_LENGTH;
import static org.dom0j.xenstore.XsWireDescriptor.PAYLOAD_MAX;

/**
 * A xenstored for the simulator that speaks real xs_wire on a Unix socket and behaves like C xenstored (Xen 4.17's
 * {@code tools/xenstore}), so that Debian's {@code xenstore-*} tools (through {@code XENSTORED_PATH}) and
 * {@link org.dom0j.xenstore.XenStoreClient} work against it unchanged.
 * <p>
 * <b>Who is who.</b> Every connection on the main socket is domain 0, privileged, as on C xenstored's Unix socket.
 * When dom0 INTRODUCEs domain N, the server opens a second socket, {@link #domainSocketPath(int)}
 * ({@code <dir>/domain-N.sock}); every connection made there is domain N, unprivileged: relative paths resolve
 * below {@code /local/domain/N}, permissions and quotas apply. This stands in for the per-domain ring of real Xen
 * (one shared page per domain); its kernel send buffer is kept small (4 KiB) so that a guest that stops reading
 * fills up about as soon as a 1 KiB ring would. RELEASE closes that socket and every connection made through it.
 * {@link #introduceDomain}, {@link #releaseDomain} and {@link #domainShutDown} let a simulator host do the same
 * without a dom0 connection.
 * <p>
 * <b>What it models</b>: READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART (with node generations), GET/SET_PERMS
 * (owner; n/r/w/b for others; domain 0 and a domain's SET_TARGET controller privileged; unprivileged domains own
 * what they create, may not give nodes away, EACCES vs ENOENT chosen from the parent as C does), transactions
 * (copy-on-write; EAGAIN at commit when any node the transaction looked at changed; at commit one watch event per
 * node the transaction changed, however often, in the order it first looked at them), watches (fire once when set;
 * fire for the node and its ancestors' watches on change, for every removed descendant's exact watches on RM;
 * filtered by read permission; relative watches get relative paths), "@introduceDomain" / "@releaseDomain" (with
 * their own permissions, n0 by default), RESET_WATCHES, GET_DOMAIN_PATH, INTRODUCE, RELEASE, IS_DOMAIN_INTRODUCED,
 * RESUME, SET_TARGET, CONTROL ("print", "check", "help", and "virq-dom-exc DOMID", the simulator's stand-in for the
 * VIRQ_DOM_EXC Xen raises when a domain shuts down), GET/SET_FEATURE and GET/SET_QUOTA (the 4.19 protocol;
 * 4.17's C xenstored would say ENOSYS), and C's quotas for unprivileged domains, counted per domain over all its
 * connections (see {@link DomainAccounting} and {@link SimXenstoredConfig}; exceeding nodes, transactions,
 * transaction-nodes, node-size or permissions gives ENOSPC, watches E2BIG; the node quota is checked again when a
 * transaction commits).
 * <p>
 * <b>Bad input.</b> An unknown type gets ENOSYS; malformed arguments EINVAL; a privileged type from a guest EACCES;
 * an unknown tx_id ENOENT. A length field above 4096 closes that connection (C marks it ignored). Output is bounded:
 * above {@link SimXenstoredConfig#outputSoftLimit()} bytes queued for a connection, or when a guest has its
 * {@code outstanding} quota of unread replies (over all its connections), the server stops reading that
 * connection's (that guest's) requests until it reads its replies; above {@link SimXenstoredConfig#outputHardLimit()}
 * bytes queued for a guest, watch events for it are dropped, not queued (C drops them for a domain over its memory
 * quota). No connection is closed for unread output, and a privileged one's watch events are never dropped. Other
 * connections never wait for one: one thread multiplexes all of them with non-blocking I/O.
 * <p>
 * <b>What it does not model</b>: shared-memory rings and event channels (sockets stand in), the memory quota
 * (bytes per domain; only queued output is bounded, as above), C's dropping of a duplicate watch event still queued,
 * C's counting of a guest's request as outstanding until the watch events it caused have been read (so here a
 * guest is not slowed by a watcher that does not read, and that watcher's queue, if it is privileged, grows without
 * bound), watch-event timeouts, events for a watcher that may read only the changed node's parent (C
 * sends them), live update, the permission "ignore" flag for entries naming dead domains, persistence (the store
 * starts empty but for {@code /tool/xenstored}), and the check that a domain exists in the hypervisor (any domid
 * below {@code DOMID_FIRST_RESERVED} may be introduced).
 * <p>
 * <b>Threads</b>: one server thread ({@code sim-xenstored}) owns all state. {@link #start}, {@link #close} and
 * {@link #domainSocketPath} may be called from any thread.
 */
public final class SimXenstored implements AutoCloseable
{
    private static final Logger LOG = Logger.getLogger(SimXenstored.class.getName());
    private static final int READ = 1;
    private static final int WRITE = 2;
    private static final int OWNER = 4;
    private static final byte[] OK = { 'O', 'K', 0 };
    private static final int GUEST_SOCKET_BUFFER = 4096;
    private static final AtomicLong INSTANCES = new AtomicLong();

    private final Path socketPath;
    private final Path domainDirectory;
    private final SimXenstoredConfig config;
    private final Selector selector;
    private final ServerSocketChannel mainListener;
    private final Thread thread;
    private final XsStore store = new XsStore();
    private final List<Conn> connections = new ArrayList<>();
    private final Map<Integer, Domain> domains = new HashMap<>();
    private final Map<String, XsPermission[]> specialPerms = new HashMap<>();
    private final DomainAccounting accounting;
    /** Connections whose requests may be read again because their domain's replies were read: served next. */
    private final ArrayDeque<Conn> resumable = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final XsHeaderFlyweight header = new XsHeaderFlyweight();
    private final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
    private volatile boolean running = true;
    private int nextTxId = 1;

    private SimXenstored(final Path socketPath, final SimXenstoredConfig config) throws IOException
    {
        this.socketPath = socketPath.toAbsolutePath();
        this.config = config;
        this.domainDirectory = null != config.domainSocketDirectory() ? config.domainSocketDirectory() :
            this.socketPath.getParent();
        this.accounting = new DomainAccounting(config);
        for (final String special : List.of(XsPaths.INTRODUCE_DOMAIN, XsPaths.RELEASE_DOMAIN))
        {
            specialPerms.put(special, new XsPermission[]{ new XsPermission(XsPermission.Access.NONE, 0) });
        }
        Files.createDirectories(this.socketPath.getParent());
        Files.deleteIfExists(this.socketPath);
        this.selector = Selector.open();
        this.mainListener = listen(this.socketPath);
        mainListener.register(selector, SelectionKey.OP_ACCEPT, 0);
        this.thread = new Thread(this::run, "sim-xenstored-" + INSTANCES.incrementAndGet());
        thread.setDaemon(true);
    }

    /**
     * Binds the socket (replacing a stale file) and starts serving on a thread of its own.
     *
     * @param socketPath where to listen; connections there are domain 0.
     * @param config     quotas and bounds.
     * @return the running server.
     * @throws IOException when the socket cannot be made.
     */
    public static SimXenstored start(final Path socketPath, final SimXenstoredConfig config) throws IOException
    {
        final SimXenstored server = new SimXenstored(socketPath, config);
        server.thread.start();
        return server;
    }

    /**
     * @return the main (dom0) socket.
     */
    public Path socketPath()
    {
        return socketPath;
    }

    /**
     * @param domid a domain.
     * @return the socket on which connections are that domain; it exists from INTRODUCE until RELEASE.
     */
    public Path domainSocketPath(final int domid)
    {
        return domainDirectory.resolve("domain-" + domid + ".sock");
    }

    /**
     * @return whether the server thread is still serving.
     */
    public boolean isRunning()
    {
        return running && thread.isAlive();
    }

    /**
     * Runs a query on the server thread (for tests and the simulator host) and waits for it.
     *
     * @param query what to compute.
     * @param <T>   its result.
     * @return the result.
     */
    <T> T onServerThread(final Supplier<T> query)
    {
        final CompletableFuture<T> f = new CompletableFuture<>();
        commands.add(() -> f.complete(query.get()));
        selector.wakeup();
        try
        {
            return f.get(10, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
        catch (final ExecutionException | TimeoutException ex)
        {
            throw new IllegalStateException("sim-xenstored did not answer", ex);
        }
    }

    /**
     * @return how many client connections are open.
     */
    public int connectionCount()
    {
        return onServerThread(connections::size);
    }

    /**
     * Does what dom0's INTRODUCE does, for a simulator host that creates domains without a dom0 connection of its
     * own: opens {@link #domainSocketPath(int)} and fires "@introduceDomain".
     *
     * @param domid        the domain, 1 to 0x7FEF.
     * @param mfn          its (simulated) ring frame.
     * @param eventChannel its (simulated) event channel.
     * @throws org.dom0j.xenstore.XenStoreException EEXIST when it is known with another frame or port, EINVAL
     *                                              for a bad domid.
     */
    public void introduceDomain(final int domid, final long mfn, final int eventChannel)
    {
        final byte[] payload = (domid + "\0" + Long.toUnsignedString(mfn) + "\0" + eventChannel + "\0")
            .getBytes(StandardCharsets.US_ASCII);
        runPrivileged(() -> doIntroduce(payload), "introduce domain " + domid);
    }

    /**
     * Does what dom0's RELEASE does: closes the domain's socket and connections, fires "@releaseDomain".
     *
     * @param domid the domain.
     * @throws org.dom0j.xenstore.XenStoreException ENOENT when it was not introduced.
     */
    public void releaseDomain(final int domid)
    {
        runPrivileged(() -> doRelease(domid), "release domain " + domid);
    }

    /**
     * What C xenstored does when the hypervisor reports that a domain shut down (VIRQ_DOM_EXC): marks it shut
     * down and fires "@releaseDomain", so toolstacks watching it look and RELEASE it. RESUME clears the mark.
     *
     * @param domid the domain.
     * @throws org.dom0j.xenstore.XenStoreException ENOENT when it was not introduced.
     */
    public void domainShutDown(final int domid)
    {
        runPrivileged(() ->
        {
            markShutDown(domid);
            return OK;
        }, "shut down domain " + domid);
    }

    private void markShutDown(final int domid)
    {
        final Domain d = domains.get(domid);
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        if (!d.shutdown)
        {
            d.shutdown = true;
            fireSpecial(XsPaths.RELEASE_DOMAIN);
        }
    }

    /**
     * @param domid a domain.
     * @return whether it is introduced and marked shut down (see {@link #domainShutDown}).
     */
    public boolean isShutDown(final int domid)
    {
        return onServerThread(() ->
        {
            final Domain d = domains.get(domid);
            return null != d && d.shutdown;
        });
    }

    private void runPrivileged(final Supplier<byte[]> op, final String what)
    {
        final Errno failed = onServerThread(() ->
        {
            try
            {
                op.get();
                return null;
            }
            catch (final XsError err)
            {
                return err.errno();
            }
        });
        if (null != failed)
        {
            throw new org.dom0j.xenstore.XenStoreException(failed.number(), what);
        }
    }

    /**
     * @return the bytes of replies and watch events queued for all connections, not yet read by their clients.
     */
    public long queuedOutputBytes()
    {
        return onServerThread(() ->
        {
            long sum = 0;
            for (final Conn c : connections)
            {
                sum += c.outBytes;
            }
            return sum;
        });
    }

    /**
     * @param domid a domain.
     * @return how many nodes it owns.
     */
    public int nodesOwnedBy(final int domid)
    {
        return onServerThread(() -> store.owned(domid));
    }

    /**
     * Stops serving, closes every connection and removes the socket files.
     */
    @Override
    public void close()
    {
        running = false;
        selector.wakeup();
        if (Thread.currentThread() != thread)
        {
            try
            {
                thread.join(TimeUnit.SECONDS.toMillis(10));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Blocks until the server stops (for {@code dom0j xenstored} in the foreground).
     *
     * @throws InterruptedException when interrupted.
     */
    public void awaitTermination() throws InterruptedException
    {
        thread.join();
    }

    private static ServerSocketChannel listen(final Path path) throws IOException
    {
        Files.deleteIfExists(path);
        final ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(path));
        ch.configureBlocking(false);
        return ch;
    }

    private void run()
    {
        try
        {
            while (running)
            {
                selector.select(1000);
                Runnable r;
                while (null != (r = commands.poll()))
                {
                    r.run();
                }
                for (final SelectionKey key : selector.selectedKeys())
                {
                    handle(key);
                }
                selector.selectedKeys().clear();
                resume();
            }
        }
        catch (final IOException | ClosedSelectorException ex)
        {
            LOG.log(Level.SEVERE, "sim-xenstored stopped", ex);
        }
        catch (final RuntimeException | Error ex)
        {
            LOG.log(Level.SEVERE, "sim-xenstored crashed (a bug)", ex);
            throw ex;
        }
        finally
        {
            running = false;
            shutdown();
        }
    }

    private void shutdown()
    {
        for (final Conn c : new ArrayList<>(connections))
        {
            drop(c, null);
        }
        for (final Domain d : domains.values())
        {
            d.closeListener();
        }
        try
        {
            mainListener.close();
            selector.close();
            Files.deleteIfExists(socketPath);
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "closing sim-xenstored", ex);
        }
    }

    private void resume()
    {
        Conn conn;
        while (null != (conn = resumable.poll()))
        {
            if (!conn.closed)
            {
                try
                {
                    processInput(conn);
                }
                catch (final IOException ex)
                {
                    drop(conn, ex.getMessage());
                }
            }
        }
    }

    /** The domain's replies were read far enough that its connections' requests may be read again. */
    private void domainUnthrottled(final int domid)
    {
        for (final Conn c : connections)
        {
            if (c.domid == domid)
            {
                resumable.add(c);
            }
        }
    }

    private void handle(final SelectionKey key)
    {
        if (!key.isValid())
        {
            return;
        }
        if (key.channel() instanceof ServerSocketChannel server)
        {
            accept(server, (Integer)key.attachment());
            return;
        }
        final Conn conn = (Conn)key.attachment();
        try
        {
            if (key.isValid() && key.isWritable())
            {
                flush(conn);
            }
            if (key.isValid() && key.isReadable())
            {
                readFrom(conn);
            }
        }
        catch (final IOException ex)
        {
            drop(conn, ex.getMessage());
        }
    }

    private void accept(final ServerSocketChannel server, final int domid)
    {
        try
        {
            final SocketChannel ch = server.accept();
            if (null == ch)
            {
                return;
            }
            ch.configureBlocking(false);
            if (domid != 0)
            {
                // a guest's ring holds 1 KiB each way: keep the kernel from buffering much more than that
                ch.setOption(StandardSocketOptions.SO_SNDBUF, GUEST_SOCKET_BUFFER);
            }
            final Conn conn = new Conn(ch, domid);
            conn.key = ch.register(selector, SelectionKey.OP_READ, conn);
            connections.add(conn);
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "accept failed", ex);
        }
    }

    private void readFrom(final Conn conn) throws IOException
    {
        final int n = conn.channel.read(conn.in);
        if (n < 0)
        {
            drop(conn, null);
            return;
        }
        processInput(conn);
    }

    private void processInput(final Conn conn) throws IOException
    {
        while (!conn.closed && !throttled(conn))
        {
            final ByteBuffer in = conn.in;
            if (in.position() < HEADER_LENGTH)
            {
                break;
            }
            view.wrap(in, 0, in.capacity());
            header.wrap(view, 0);
            final long length = header.length();
            if (length > PAYLOAD_MAX)
            {
                drop(conn, "sent a " + length + "-byte payload (more than " + PAYLOAD_MAX + ")");
                return;
            }
            final int total = HEADER_LENGTH + (int)length;
            if (in.position() < total)
            {
                break;
            }
            final int type = header.type();
            final int reqId = header.reqId();
            final int txId = header.txId();
            final byte[] payload = new byte[(int)length];
            view.getBytes(HEADER_LENGTH, payload);
            in.flip().position(total);
            in.compact();
            process(conn, type, reqId, txId, payload);
        }
        flush(conn);
        updateInterest(conn);
    }

    private boolean throttled(final Conn conn)
    {
        return conn.outBytes >= config.outputSoftLimit() || accounting.outstandingFull(conn.domid);
    }

    private void updateInterest(final Conn conn)
    {
        if (conn.closed)
        {
            return;
        }
        int ops = 0;
        if (!throttled(conn))
        {
            ops |= SelectionKey.OP_READ;
        }
        if (!conn.out.isEmpty())
        {
            ops |= SelectionKey.OP_WRITE;
        }
        conn.key.interestOps(ops);
    }

    private void flush(final Conn conn) throws IOException
    {
        final boolean wasThrottled = throttled(conn);
        while (!conn.out.isEmpty())
        {
            final Out o = conn.out.peek();
            conn.channel.write(o.bytes);
            if (o.bytes.hasRemaining())
            {
                break;
            }
            conn.out.poll();
            conn.outBytes -= o.bytes.capacity();
            if (o.reply)
            {
                conn.outReplies--;
            }
            if (accounting.outputGone(conn.domid, o.bytes.capacity(), o.reply ? 1 : 0))
            {
                domainUnthrottled(conn.domid);
            }
        }
        if (wasThrottled && !throttled(conn))
        {
            processInput(conn);
            return;
        }
        updateInterest(conn);
    }

    private void drop(final Conn conn, final String why)
    {
        if (conn.closed)
        {
            return;
        }
        if (null != why)
        {
            LOG.warning("closing xenstore connection of domain " + conn.domid + ": " + why);
        }
        conn.closed = true;
        connections.remove(conn);
        accounting.watchesRemoved(conn.domid, conn.watches.size());
        accounting.transactionsEnded(conn.domid, conn.transactions.size());
        conn.watches.clear();
        conn.transactions.clear();
        if (accounting.outputGone(conn.domid, conn.outBytes, conn.outReplies))
        {
            domainUnthrottled(conn.domid);
        }
        conn.out.clear();
        conn.outBytes = 0;
        conn.outReplies = 0;
        try
        {
            conn.channel.close();
        }
        catch (final IOException ignore)
        {
            // already gone
        }
    }

    private void enqueue(final Conn conn, final int type, final int reqId, final int txId, final byte[] payload,
        final boolean reply)
    {
        if (conn.closed)
        {
            return;
        }
        final int size = HEADER_LENGTH + payload.length;
        if (!reply && !accounting.mayQueueWatchEvent(conn.domid, size))
        {
            LOG.fine(() -> "dropping a watch event for domain " + conn.domid + ": its unread output is at the limit");
            return;
        }
        final ByteBuffer bytes = ByteBuffer.allocate(size);
        final UnsafeBuffer b = new UnsafeBuffer(bytes);
        new XsHeaderFlyweight().wrap(b, 0).type(type).reqId(reqId).txId(txId).length(payload.length);
        b.putBytes(HEADER_LENGTH, payload);
        conn.out.add(new Out(bytes, reply));
        conn.outBytes += size;
        if (reply)
        {
            conn.outReplies++;
        }
        accounting.outputQueued(conn.domid, size, reply);
        if (conn.key.isValid() && (conn.key.interestOps() & SelectionKey.OP_WRITE) == 0)
        {
            conn.key.interestOps(conn.key.interestOps() | SelectionKey.OP_WRITE);
        }
    }

    private void process(final Conn conn, final int type, final int reqId, final int txId, final byte[] payload)
    {
        final XsMessageType t = XsMessageType.of(type);
        byte[] reply;
        int replyType = type;
        try
        {
            if (null == t || t == XsMessageType.WATCH_EVENT || t == XsMessageType.ERROR)
            {
                throw new XsError(Errno.ENOSYS);
            }
            reply = dispatch(conn, t, txId, payload);
        }
        catch (final XsError err)
        {
            replyType = XsMessageType.ERROR.code();
            reply = (XsErrors.nameOf(err.errno().number()) + "\0").getBytes(StandardCharsets.US_ASCII);
        }
        if (reply.length > PAYLOAD_MAX)
        {
            replyType = XsMessageType.ERROR.code();
            reply = "E2BIG\0".getBytes(StandardCharsets.US_ASCII);
        }
        enqueue(conn, replyType, reqId, txId, reply, true);
        if (replyType == type && t == XsMessageType.WATCH && !conn.closed)
        {
            final Watch w = conn.watches.get(conn.watches.size() - 1);
            sendEvent(conn, w, w.absolute);
        }
    }

    private byte[] dispatch(final Conn conn, final XsMessageType t, final int txId, final byte[] payload)
    {
        final boolean privilegedOnly = switch (t)
        {
            case CONTROL, INTRODUCE, RELEASE, IS_DOMAIN_INTRODUCED, RESUME, SET_TARGET, SET_FEATURE, SET_QUOTA -> true;
            default -> false;
        };
        if (privilegedOnly && !conn.privileged())
        {
            throw new XsError(Errno.EACCES);
        }
        XsStore.Tx tx = null;
        if (txId != 0 && t != XsMessageType.WATCH && t != XsMessageType.UNWATCH)
        {
            tx = conn.transactions.get(txId);
            if (null == tx)
            {
                throw new XsError(Errno.ENOENT);
            }
        }
        final Ctx ctx = new Ctx(conn, null == tx ? store.main() : tx, tx);
        return switch (t)
        {
            case READ -> doRead(ctx, oneArg(payload));
            case WRITE -> doWrite(ctx, payload);
            case MKDIR -> doMkdir(ctx, oneArg(payload));
            case RM -> doRm(ctx, oneArg(payload));
            case DIRECTORY -> doDirectory(ctx, oneArg(payload));
            case DIRECTORY_PART -> doDirectoryPart(ctx, payload);
            case GET_PERMS -> doGetPerms(ctx, oneArg(payload));
            case SET_PERMS -> doSetPerms(ctx, payload);
            case WATCH -> doWatch(conn, payload);
            case UNWATCH -> doUnwatch(conn, payload);
            case RESET_WATCHES -> doResetWatches(conn);
            case TRANSACTION_START -> doTransactionStart(conn, tx);
            case TRANSACTION_END -> doTransactionEnd(conn, txId, tx, oneArg(payload));
            case GET_DOMAIN_PATH -> (XsPaths.LOCAL_DOMAIN + domid(oneArg(payload)) + "\0")
                .getBytes(StandardCharsets.US_ASCII);
            case INTRODUCE -> doIntroduce(payload);
            case RELEASE -> doRelease(domid(oneArg(payload)));
            case IS_DOMAIN_INTRODUCED -> (domains.containsKey(domid(oneArg(payload))) ? "T\0" : "F\0")
                .getBytes(StandardCharsets.US_ASCII);
            case RESUME -> doResume(domid(oneArg(payload)));
            case SET_TARGET -> doSetTarget(payload);
            case CONTROL -> doControl(payload);
            case GET_FEATURE -> doGetFeature(payload);
            case SET_FEATURE -> doSetFeature(payload);
            case GET_QUOTA -> accounting.doGetQuota(strings(payload), domains::containsKey);
            case SET_QUOTA -> accounting.doSetQuota(strings(payload), domains::containsKey);
            default -> throw new XsError(Errno.ENOSYS);
        };
    }

    // ---------------------------------------------------------------- node operations

    private byte[] doRead(final Ctx ctx, final String path)
    {
        return getNode(ctx, canonical(ctx.conn, path, false), READ).value().clone();
    }

    private byte[] doWrite(final Ctx ctx, final byte[] payload)
    {
        int nul = 0;
        while (nul < payload.length && payload[nul] != 0)
        {
            nul++;
        }
        if (nul == payload.length)
        {
            throw new XsError(Errno.EINVAL);
        }
        final String path = canonical(ctx.conn, new String(payload, 0, nul, StandardCharsets.UTF_8), false);
        final byte[] value = java.util.Arrays.copyOfRange(payload, nul + 1, payload.length);
        accounting.checkNodeSize(ctx.conn.domid, value.length);
        final XsStore.Node existing = ctx.view.get(path);
        final XsStore.Node written;
        if (null != existing)
        {
            requirePerm(ctx.conn, existing, WRITE);
            written = existing.withValue(value);
            ctx.view.put(path, written);
        }
        else
        {
            final Errno e = errnoFromParents(ctx, path, WRITE, Errno.ENOENT);
            if (e != Errno.ENOENT)
            {
                throw new XsError(e);
            }
            written = create(ctx, path, value);
        }
        fire(ctx, path, written.perms(), null, false);
        return OK;
    }

    private byte[] doMkdir(final Ctx ctx, final String given)
    {
        final String path = canonical(ctx.conn, given, false);
        final XsStore.Node existing = ctx.view.get(path);
        if (null != existing)
        {
            requirePerm(ctx.conn, existing, WRITE);
            return OK;
        }
        final Errno e = errnoFromParents(ctx, path, WRITE, Errno.ENOENT);
        if (e != Errno.ENOENT)
        {
            throw new XsError(e);
        }
        final XsStore.Node made = create(ctx, path, new byte[0]);
        fire(ctx, path, made.perms(), null, false);
        return OK;
    }

    private byte[] doRm(final Ctx ctx, final String given)
    {
        final String path = canonical(ctx.conn, given, false);
        final XsStore.Node node = ctx.view.get(path);
        if (null == node)
        {
            final Errno e = errnoFromParents(ctx, path, WRITE, Errno.ENOENT);
            if (e == Errno.ENOENT && !path.equals("/") && null != ctx.view.get(XsPaths.parent(path)))
            {
                return OK;
            }
            throw new XsError(e);
        }
        requirePerm(ctx.conn, node, WRITE);
        if (path.equals("/"))
        {
            throw new XsError(Errno.EINVAL);
        }
        removeTree(ctx, path, node, path);
        final String parentPath = XsPaths.parent(path);
        final XsStore.Node parent = ctx.view.get(parentPath);
        ctx.view.put(parentPath, parent.withoutChild(path.substring(path.lastIndexOf('/') + 1)));
        return OK;
    }

    private void removeTree(final Ctx ctx, final String path, final XsStore.Node node, final String root)
    {
        for (final String child : node.children())
        {
            final String childPath = XsPaths.child(path, child);
            final XsStore.Node c = ctx.view.get(childPath);
            if (null != c)
            {
                removeTree(ctx, childPath, c, root);
            }
        }
        ctx.view.remove(path);
        fire(ctx, path, node.perms(), null, !path.equals(root));
    }

    private byte[] doDirectory(final Ctx ctx, final String path)
    {
        final XsStore.Node node = getNode(ctx, canonical(ctx.conn, path, false), READ);
        return joinStrings(node.children(), false);
    }

    private byte[] doDirectoryPart(final Ctx ctx, final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() != 2)
        {
            throw new XsError(Errno.EINVAL);
        }
        final XsStore.Node node = getNode(ctx, canonical(ctx.conn, args.get(0), false), READ);
        final int offset;
        try
        {
            offset = Integer.parseInt(args.get(1));
        }
        catch (final NumberFormatException ex)
        {
            throw new XsError(Errno.EINVAL);
        }
        final byte[] all = joinStrings(node.children(), false);
        final byte[] gen = (node.generation() + "\0").getBytes(StandardCharsets.US_ASCII);
        if (offset < 0 || offset >= all.length)
        {
            final byte[] out = java.util.Arrays.copyOf(gen, gen.length + 1);
            return out;
        }
        final int max = PAYLOAD_MAX - gen.length - 1;
        int len = 0;
        int at = offset;
        while (at < all.length)
        {
            int end = at;
            while (all[end] != 0)
            {
                end++;
            }
            final int childLen = end - at + 1;
            if (len + childLen > max)
            {
                break;
            }
            len += childLen;
            at = end + 1;
        }
        final boolean complete = offset + len == all.length;
        final byte[] out = new byte[gen.length + len + (complete ? 1 : 0)];
        System.arraycopy(gen, 0, out, 0, gen.length);
        System.arraycopy(all, offset, out, gen.length, len);
        return out;
    }

    private byte[] doGetPerms(final Ctx ctx, final String given)
    {
        final String path = canonical(ctx.conn, given, true);
        final XsPermission[] perms;
        if (path.startsWith("@"))
        {
            perms = specialPerms.get(path);
            if (null == perms)
            {
                throw new XsError(Errno.ENOENT);
            }
            if ((permFor(ctx.conn, perms) & READ) == 0)
            {
                throw new XsError(Errno.EACCES);
            }
        }
        else
        {
            perms = getNode(ctx, path, READ).perms();
        }
        final List<String> out = new ArrayList<>();
        for (final XsPermission p : perms)
        {
            out.add(p.toString());
        }
        return joinStrings(out, false);
    }

    private byte[] doSetPerms(final Ctx ctx, final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2 || payload[payload.length - 1] != 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        final int count = args.size() - 1;
        accounting.checkPermissions(ctx.conn.domid, count);
        final XsPermission[] perms = new XsPermission[count];
        for (int i = 0; i < count; i++)
        {
            try
            {
                perms[i] = XsPermission.parse(args.get(i + 1));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new XsError(Errno.EINVAL);
            }
        }
        final String path = canonical(ctx.conn, args.get(0), true);
        if (path.startsWith("@"))
        {
            final XsPermission[] old = specialPerms.get(path);
            if (null == old)
            {
                throw new XsError(Errno.ENOENT);
            }
            if (!ctx.conn.privileged())
            {
                throw new XsError(Errno.EACCES);
            }
            specialPerms.put(path, perms);
            return OK;
        }
        final XsStore.Node node = getNode(ctx, path, WRITE | OWNER);
        if (!ctx.conn.privileged() && perms[0].domid() != node.owner())
        {
            throw new XsError(Errno.EPERM);
        }
        ctx.view.put(path, node.withPerms(perms));
        fire(ctx, path, perms, node.perms(), false);
        return OK;
    }

    private XsStore.Node create(final Ctx ctx, final String path, final byte[] value)
    {
        if (null != ctx.tx)
        {
            ctx.tx.nodeCreated();
        }
        final List<String> missing = new ArrayList<>();
        String p = path;
        XsStore.Node parent;
        while (true)
        {
            missing.add(p);
            p = XsPaths.parent(p);
            parent = ctx.view.get(p);
            if (null != parent)
            {
                break;
            }
        }
        String parentPath = p;
        XsStore.Node made = null;
        for (int i = missing.size() - 1; i >= 0; i--)
        {
            // the committed count, as C's create_node: a transaction's own new nodes are checked at its commit
            accounting.checkNodeCreation(ctx.conn.domid, store.owned(ctx.conn.domid));
            final String name = missing.get(i);
            final XsPermission[] perms = parent.perms().clone();
            if (!ctx.conn.privileged())
            {
                perms[0] = new XsPermission(perms[0].access(), ctx.conn.domid);
            }
            ctx.view.put(parentPath, parent.withChild(name.substring(name.lastIndexOf('/') + 1)));
            made = new XsStore.Node(i == 0 ? value : new byte[0], perms, List.of(), 0);
            ctx.view.put(name, made);
            parent = made;
            parentPath = name;
        }
        return made;
    }

    private XsStore.Node getNode(final Ctx ctx, final String path, final int perm)
    {
        final XsStore.Node node = ctx.view.get(path);
        if (null == node)
        {
            throw new XsError(errnoFromParents(ctx, path, perm, Errno.ENOENT));
        }
        requirePerm(ctx.conn, node, perm);
        return node;
    }

    private void requirePerm(final Conn conn, final XsStore.Node node, final int perm)
    {
        if ((permFor(conn, node.perms()) & perm) != perm)
        {
            throw new XsError(Errno.EACCES);
        }
    }

    /** C's errno_from_parents: ENOENT only if the nearest existing ancestor grants {@code perm}. */
    private Errno errnoFromParents(final Ctx ctx, final String path, final int perm, final Errno errno)
    {
        String p = path;
        XsStore.Node ancestor = null;
        while (null == ancestor && !p.equals("/"))
        {
            p = XsPaths.parent(p);
            ancestor = ctx.view.get(p);
        }
        if (null == ancestor)
        {
            return Errno.EACCES;
        }
        return (permFor(ctx.conn, ancestor.perms()) & perm) != 0 ? errno : Errno.EACCES;
    }

    private int permFor(final Conn conn, final XsPermission[] perms)
    {
        final Integer target = conn.target();
        if (conn.privileged() || perms[0].domid() == conn.domid || (null != target && perms[0].domid() == target))
        {
            return READ | WRITE | OWNER;
        }
        for (int i = 1; i < perms.length; i++)
        {
            if (perms[i].domid() == conn.domid || (null != target && perms[i].domid() == target))
            {
                return bits(perms[i].access());
            }
        }
        return bits(perms[0].access());
    }

    private static int bits(final XsPermission.Access access)
    {
        return switch (access)
        {
            case NONE -> 0;
            case READ -> READ;
            case WRITE -> WRITE;
            case BOTH -> READ | WRITE;
        };
    }

    // ---------------------------------------------------------------- watches

    private byte[] doWatch(final Conn conn, final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2 || payload[payload.length - 1] != 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        final String given = args.get(0);
        final String token = args.get(1);
        final String absolute = canonical(conn, given, true);
        for (final Watch w : conn.watches)
        {
            if (w.given.equals(given) && w.token.equals(token))
            {
                throw new XsError(Errno.EEXIST);
            }
        }
        accounting.addWatch(conn.domid);
        final String relativePrefix = given.startsWith("/") || given.startsWith("@") ? null :
            XsPaths.LOCAL_DOMAIN + conn.domid + "/";
        conn.watches.add(new Watch(given, absolute, token, relativePrefix));
        return OK;
    }

    private byte[] doUnwatch(final Conn conn, final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2)
        {
            throw new XsError(Errno.EINVAL);
        }
        canonical(conn, args.get(0), true);
        for (int i = 0; i < conn.watches.size(); i++)
        {
            final Watch w = conn.watches.get(i);
            if (w.given.equals(args.get(0)) && w.token.equals(args.get(1)))
            {
                conn.watches.remove(i);
                accounting.watchesRemoved(conn.domid, 1);
                return OK;
            }
        }
        throw new XsError(Errno.ENOENT);
    }

    private byte[] doResetWatches(final Conn conn)
    {
        accounting.watchesRemoved(conn.domid, conn.watches.size());
        accounting.transactionsEnded(conn.domid, conn.transactions.size());
        conn.watches.clear();
        conn.transactions.clear();
        return OK;
    }

    private void fire(final Ctx ctx, final String path, final XsPermission[] perms, final XsPermission[] oldPerms,
        final boolean exact)
    {
        if (null != ctx.tx)
        {
            ctx.tx.queueWatch(path, exact);
            return;
        }
        fireNow(path, perms, oldPerms, exact);
    }

    private void fireNow(final String path, final XsPermission[] perms, final XsPermission[] oldPerms,
        final boolean exact)
    {
        for (final Conn c : new ArrayList<>(connections))
        {
            if (c.watches.isEmpty())
            {
                continue;
            }
            final boolean visible = (permFor(c, perms) & READ) != 0 ||
                (null != oldPerms && (permFor(c, oldPerms) & READ) != 0);
            if (!visible)
            {
                continue;
            }
            for (final Watch w : new ArrayList<>(c.watches))
            {
                final boolean match = exact ? w.absolute.equals(path) : XsPaths.isAtOrBelow(path, w.absolute);
                if (match)
                {
                    sendEvent(c, w, path);
                }
            }
        }
    }

    private void sendEvent(final Conn conn, final Watch w, final String path)
    {
        String reported = path;
        if (null != w.relativePrefix && path.startsWith(w.relativePrefix))
        {
            reported = path.substring(w.relativePrefix.length());
        }
        final byte[] p = reported.getBytes(StandardCharsets.UTF_8);
        final byte[] t = w.token.getBytes(StandardCharsets.UTF_8);
        if (p.length + t.length + 2 > PAYLOAD_MAX)
        {
            return;
        }
        final byte[] payload = new byte[p.length + t.length + 2];
        System.arraycopy(p, 0, payload, 0, p.length);
        System.arraycopy(t, 0, payload, p.length + 1, t.length);
        enqueue(conn, XsMessageType.WATCH_EVENT.code(), 0, 0, payload, false);
    }

    // ---------------------------------------------------------------- transactions

    private byte[] doTransactionStart(final Conn conn, final XsStore.Tx current)
    {
        if (null != current)
        {
            throw new XsError(Errno.EBUSY);
        }
        accounting.startTransaction(conn.domid);
        final int id = nextTxId;
        nextTxId = nextTxId == Integer.MAX_VALUE ? 1 : nextTxId + 1;
        conn.transactions.put(id, store.begin(accounting.transactionNodeLimit(conn.domid)));
        return (id + "\0").getBytes(StandardCharsets.US_ASCII);
    }

    private byte[] doTransactionEnd(final Conn conn, final int txId, final XsStore.Tx tx, final String arg)
    {
        if (null == tx)
        {
            throw new XsError(Errno.ENOENT);
        }
        final boolean commit;
        if (arg.equals("T"))
        {
            commit = true;
        }
        else if (arg.equals("F"))
        {
            commit = false;
        }
        else
        {
            throw new XsError(Errno.EINVAL);
        }
        conn.transactions.remove(txId);
        accounting.transactionsEnded(conn.domid, 1);
        if (!commit)
        {
            return OK;
        }
        if (tx.failed())
        {
            throw new XsError(Errno.ENOMEM);
        }
        accounting.checkCommit(conn.domid, tx, store::owned);
        if (!tx.commit())
        {
            throw new XsError(Errno.EAGAIN);
        }
        for (final XsStore.TxWatch w : tx.queuedWatches())
        {
            fireCommitted(tx, w);
        }
        return OK;
    }

    /**
     * Fires, after commit, the one event of a node the transaction changed (however often): as C's
     * {@code finalize_transaction}, visible to a watcher who may read the node as it was when the transaction
     * first looked at it or as it is now; a node the transaction created and removed fires nothing.
     */
    private void fireCommitted(final XsStore.Tx tx, final XsStore.TxWatch w)
    {
        final XsStore.Node now = store.main().get(w.path());
        final XsStore.Node before = tx.before(w.path());
        if (null != now)
        {
            fireNow(w.path(), now.perms(), null == before ? null : before.perms(), w.exact());
        }
        else if (null != before)
        {
            fireNow(w.path(), before.perms(), null, w.exact());
        }
    }

    // ---------------------------------------------------------------- domains

    private byte[] doIntroduce(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 3)
        {
            throw new XsError(Errno.EINVAL);
        }
        final int domid = domid(args.get(0));
        final long mfn;
        final int port;
        try
        {
            mfn = Long.parseUnsignedLong(args.get(1));
            port = Integer.parseInt(args.get(2));
        }
        catch (final NumberFormatException ex)
        {
            throw new XsError(Errno.EINVAL);
        }
        if (domid == 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        final Domain existing = domains.get(domid);
        if (null != existing)
        {
            if (existing.mfn != mfn || existing.port != port)
            {
                throw new XsError(Errno.EEXIST);
            }
            return OK;
        }
        final Domain d = new Domain(domid, mfn, port);
        try
        {
            d.listener = listen(domainSocketPath(domid));
            d.listener.register(selector, SelectionKey.OP_ACCEPT, domid);
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "cannot make socket for domain " + domid, ex);
            throw new XsError(Errno.EIO);
        }
        domains.put(domid, d);
        fireSpecial(XsPaths.INTRODUCE_DOMAIN);
        return OK;
    }

    private byte[] doRelease(final int domid)
    {
        if (domid == 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        final Domain d = domains.remove(domid);
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        d.closeListener();
        for (final Conn c : new ArrayList<>(connections))
        {
            if (c.domid == domid)
            {
                drop(c, null);
            }
        }
        for (final Domain other : domains.values())
        {
            if (null != other.target && other.target == domid)
            {
                other.target = null;
            }
        }
        accounting.forget(domid);
        fireSpecial(XsPaths.RELEASE_DOMAIN);
        return OK;
    }

    private void fireSpecial(final String special)
    {
        final XsPermission[] perms = specialPerms.get(special);
        for (final Conn c : new ArrayList<>(connections))
        {
            if ((permFor(c, perms) & READ) == 0)
            {
                continue;
            }
            for (final Watch w : new ArrayList<>(c.watches))
            {
                if (w.absolute.equals(special))
                {
                    sendEvent(c, w, special);
                }
            }
        }
    }

    private byte[] doResume(final int domid)
    {
        final Domain d = domains.get(domid);
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        d.shutdown = false;
        return OK;
    }

    private byte[] doSetTarget(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2)
        {
            throw new XsError(Errno.EINVAL);
        }
        final Domain d = domains.get(domid(args.get(0)));
        final int target = domid(args.get(1));
        if (null == d || !domains.containsKey(target))
        {
            throw new XsError(Errno.ENOENT);
        }
        d.target = target;
        return OK;
    }

    private byte[] doControl(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.isEmpty())
        {
            throw new XsError(Errno.EINVAL);
        }
        final String text = switch (args.get(0))
        {
            case "print" ->
            {
                LOG.info("xenstore-control print: " + String.join(" ", args.subList(1, args.size())));
                yield "OK";
            }
            case "check" -> "OK";
            // The simulator's stand-in for VIRQ_DOM_EXC, which Xen raises in dom0 when a domain shuts down: C
            // xenstored then finds the domain shut down and fires @releaseDomain (domainShutDown).
            case "virq-dom-exc" ->
            {
                if (args.size() != 2)
                {
                    throw new XsError(Errno.EINVAL);
                }
                markShutDown(domid(args.get(1)));
                yield "OK";
            }
            case "help" -> "Available commands:\ncheck\nhelp\nprint <string>\nvirq-dom-exc <domid>\n";
            default -> throw new XsError(Errno.EINVAL);
        };
        return (text + "\0").getBytes(StandardCharsets.UTF_8);
    }

    private byte[] doGetFeature(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.isEmpty())
        {
            return (config.serverFeatures() + "\0").getBytes(StandardCharsets.US_ASCII);
        }
        final Domain d = domains.get(domid(args.get(0)));
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        return (d.features + "\0").getBytes(StandardCharsets.US_ASCII);
    }

    private byte[] doSetFeature(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2)
        {
            throw new XsError(Errno.EINVAL);
        }
        final Domain d = domains.get(domid(args.get(0)));
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        final long value = number(args.get(1));
        if ((value & ~config.serverFeatures()) != 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        d.features = value;
        return OK;
    }

    // ---------------------------------------------------------------- paths

    private String canonical(final Conn conn, final String given, final boolean allowSpecial)
    {
        if (null != XsPaths.whyInvalid(given, allowSpecial))
        {
            throw new XsError(Errno.EINVAL);
        }
        if (given.startsWith("/") || given.startsWith("@"))
        {
            return given;
        }
        final String absolute = XsPaths.LOCAL_DOMAIN + conn.domid + "/" + given;
        if (null != XsPaths.whyInvalid(absolute, false))
        {
            throw new XsError(Errno.EINVAL);
        }
        return absolute;
    }

    // ---------------------------------------------------------------- state

    private record Ctx(Conn conn, XsStore.View view, XsStore.Tx tx)
    {
    }

    private record Out(ByteBuffer bytes, boolean reply)
    {
    }

    private record Watch(String given, String absolute, String token, String relativePrefix)
    {
    }

    private final class Conn
    {
        private final SocketChannel channel;
        private final int domid;
        private final ByteBuffer in = ByteBuffer.allocate(XsWireDescriptor.MESSAGE_MAX);
        private final ArrayDeque<Out> out = new ArrayDeque<>();
        private final List<Watch> watches = new ArrayList<>();
        private final Map<Integer, XsStore.Tx> transactions = new HashMap<>();
        private SelectionKey key;
        private long outBytes;
        private int outReplies;
        private boolean closed;

        Conn(final SocketChannel channel, final int domid)
        {
            this.channel = channel;
            this.domid = domid;
        }

        boolean privileged()
        {
            return domid == 0;
        }

        Integer target()
        {
            final Domain d = domains.get(domid);
            return null == d ? null : d.target;
        }
    }

    private static final class Domain
    {
        private final int domid;
        private final long mfn;
        private final int port;
        private ServerSocketChannel listener;
        private Integer target;
        private boolean shutdown;
        private long features;

        Domain(final int domid, final long mfn, final int port)
        {
            this.domid = domid;
            this.mfn = mfn;
            this.port = port;
        }

        void closeListener()
        {
            try
            {
                if (null != listener)
                {
                    final Object address = listener.getLocalAddress();
                    listener.close();
                    if (address instanceof UnixDomainSocketAddress u)
                    {
                        Files.deleteIfExists(u.getPath());
                    }
                }
            }
            catch (final IOException ex)
            {
                LOG.log(Level.WARNING, "closing the socket of domain " + domid, ex);
            }
        }
    }
}
