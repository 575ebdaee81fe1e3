package org.dom0j.sim.xenstored;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.xenstore.XsErrors;
import org.dom0j.xenstore.XsHeaderFlyweight;
import org.dom0j.xenstore.XsMessageType;
import org.dom0j.xenstore.XsPaths;

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
import java.util.List;
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
 * <b>Parts</b>: this class is the server loop (accept, read, parse, dispatch, write, throttle) and the host's API;
 * the requests are served by {@link XsNodes} (node operations, with {@link XsAccess}'s permission checks),
 * {@link XsWatches} (watches and their events), {@link XsTransactions} and {@link XsDomains} (INTRODUCE, RELEASE
 * and the other domain requests), over one {@link XsStore}, with each domain's use counted by
 * {@link DomainAccounting}; each client is an {@link XsConnection}.
 * <p>
 * <b>Threads</b>: one server thread ({@code sim-xenstored}) owns all state, in this class and in all its parts.
 * {@link #start}, {@link #close} and {@link #domainSocketPath} may be called from any thread.
 */
public final class SimXenstored implements AutoCloseable
{
    /** The reply of a request that succeeded with nothing to say. */
    static final byte[] OK = { 'O', 'K', 0 };
    private static final Logger LOG = Logger.getLogger(SimXenstored.class.getName());
    private static final int GUEST_SOCKET_BUFFER = 4096;
    private static final AtomicLong INSTANCES = new AtomicLong();

    private final Path socketPath;
    private final Path domainDirectory;
    private final SimXenstoredConfig config;
    private final Selector selector;
    private final ServerSocketChannel mainListener;
    private final Thread thread;
    private final XsStore store = new XsStore();
    private final List<XsConnection> connections = new ArrayList<>();
    private final DomainAccounting accounting;
    private final XsWatches watches;
    private final XsDomains domains;
    private final XsNodes nodes;
    private final XsTransactions transactions;
    /** Connections whose requests may be read again because their domain's replies were read: served next. */
    private final ArrayDeque<XsConnection> resumable = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final XsHeaderFlyweight header = new XsHeaderFlyweight();
    private final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
    private volatile boolean running = true;

    private SimXenstored(final Path socketPath, final SimXenstoredConfig config) throws IOException
    {
        this.socketPath = socketPath.toAbsolutePath();
        this.config = config;
        this.domainDirectory = null != config.domainSocketDirectory() ? config.domainSocketDirectory() :
            this.socketPath.getParent();
        this.accounting = new DomainAccounting(config);
        this.watches = new XsWatches(connections, store, accounting);
        Files.createDirectories(this.socketPath.getParent());
        Files.deleteIfExists(this.socketPath);
        this.selector = Selector.open();
        this.domains = new XsDomains(config, selector, this::domainSocketPath, this::dropConnectionsOf, watches,
            accounting);
        this.nodes = new XsNodes(store, accounting, watches);
        this.transactions = new XsTransactions(store, accounting, watches);
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
        runPrivileged(() -> domains.doIntroduce(payload), "introduce domain " + domid);
    }

    /**
     * Does what dom0's RELEASE does: closes the domain's socket and connections, fires "@releaseDomain".
     *
     * @param domid the domain.
     * @throws org.dom0j.xenstore.XenStoreException ENOENT when it was not introduced.
     */
    public void releaseDomain(final int domid)
    {
        runPrivileged(() -> domains.doRelease(domid), "release domain " + domid);
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
            domains.markShutDown(domid);
            return OK;
        }, "shut down domain " + domid);
    }

    /**
     * @param domid a domain.
     * @return whether it is introduced and marked shut down (see {@link #domainShutDown}).
     */
    public boolean isShutDown(final int domid)
    {
        return onServerThread(() -> domains.isShutDown(domid));
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
            for (final XsConnection c : connections)
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

    /**
     * @param path where to listen; a stale file there is replaced.
     * @return a non-blocking listening socket.
     * @throws IOException when it cannot be made.
     */
    static ServerSocketChannel listen(final Path path) throws IOException
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
        for (final XsConnection c : new ArrayList<>(connections))
        {
            drop(c, null);
        }
        domains.closeListeners();
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
        XsConnection conn;
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
        for (final XsConnection c : connections)
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
        final XsConnection conn = (XsConnection)key.attachment();
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
            final XsConnection conn = new XsConnection(ch, domid, domains, accounting);
            conn.key = ch.register(selector, SelectionKey.OP_READ, conn);
            connections.add(conn);
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "accept failed", ex);
        }
    }

    private void readFrom(final XsConnection conn) throws IOException
    {
        final int n = conn.channel.read(conn.in);
        if (n < 0)
        {
            drop(conn, null);
            return;
        }
        processInput(conn);
    }

    private void processInput(final XsConnection conn) throws IOException
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

    private boolean throttled(final XsConnection conn)
    {
        return conn.outBytes >= config.outputSoftLimit() || accounting.outstandingFull(conn.domid);
    }

    private void updateInterest(final XsConnection conn)
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

    private void flush(final XsConnection conn) throws IOException
    {
        final boolean wasThrottled = throttled(conn);
        while (!conn.out.isEmpty())
        {
            final XsConnection.Out o = conn.out.peek();
            conn.channel.write(o.bytes());
            if (o.bytes().hasRemaining())
            {
                break;
            }
            conn.out.poll();
            conn.outBytes -= o.bytes().capacity();
            if (o.reply())
            {
                conn.outReplies--;
            }
            if (accounting.outputGone(conn.domid, o.bytes().capacity(), o.reply() ? 1 : 0))
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

    /** Closes every connection of a domain (it is being released). */
    private void dropConnectionsOf(final int domid)
    {
        for (final XsConnection c : new ArrayList<>(connections))
        {
            if (c.domid == domid)
            {
                drop(c, null);
            }
        }
    }

    private void drop(final XsConnection conn, final String why)
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

    private void process(final XsConnection conn, final int type, final int reqId, final int txId, final byte[] payload)
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
        conn.enqueue(replyType, reqId, txId, reply, true);
        if (replyType == type && t == XsMessageType.WATCH && !conn.closed)
        {
            watches.fireNewest(conn);
        }
    }

    private byte[] dispatch(final XsConnection conn, final XsMessageType t, final int txId, final byte[] payload)
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
        final XsNodes.Ctx ctx = new XsNodes.Ctx(conn, null == tx ? store.main() : tx, tx);
        return switch (t)
        {
            case READ -> nodes.doRead(ctx, oneArg(payload));
            case WRITE -> nodes.doWrite(ctx, payload);
            case MKDIR -> nodes.doMkdir(ctx, oneArg(payload));
            case RM -> nodes.doRm(ctx, oneArg(payload));
            case DIRECTORY -> nodes.doDirectory(ctx, oneArg(payload));
            case DIRECTORY_PART -> nodes.doDirectoryPart(ctx, payload);
            case GET_PERMS -> nodes.doGetPerms(ctx, oneArg(payload));
            case SET_PERMS -> nodes.doSetPerms(ctx, payload);
            case WATCH -> watches.doWatch(conn, payload);
            case UNWATCH -> watches.doUnwatch(conn, payload);
            case RESET_WATCHES -> watches.doResetWatches(conn);
            case TRANSACTION_START -> transactions.doTransactionStart(conn, tx);
            case TRANSACTION_END -> transactions.doTransactionEnd(conn, txId, tx, oneArg(payload));
            case GET_DOMAIN_PATH -> (XsPaths.LOCAL_DOMAIN + domid(oneArg(payload)) + "\0")
                .getBytes(StandardCharsets.US_ASCII);
            case INTRODUCE -> domains.doIntroduce(payload);
            case RELEASE -> domains.doRelease(domid(oneArg(payload)));
            case IS_DOMAIN_INTRODUCED -> (domains.isIntroduced(domid(oneArg(payload))) ? "T\0" : "F\0")
                .getBytes(StandardCharsets.US_ASCII);
            case RESUME -> domains.doResume(domid(oneArg(payload)));
            case SET_TARGET -> domains.doSetTarget(payload);
            case CONTROL -> domains.doControl(payload);
            case GET_FEATURE -> domains.doGetFeature(payload);
            case SET_FEATURE -> domains.doSetFeature(payload);
            case GET_QUOTA -> accounting.doGetQuota(strings(payload), domains::isIntroduced);
            case SET_QUOTA -> accounting.doSetQuota(strings(payload), domains::isIntroduced);
            default -> throw new XsError(Errno.ENOSYS);
        };
    }
}
