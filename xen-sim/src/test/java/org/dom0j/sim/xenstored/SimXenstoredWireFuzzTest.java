package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.test.fuzz.FuzzRun;
import org.dom0j.test.fuzz.Hostile;
import org.dom0j.test.fuzz.ProcessResources;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XenStoreException;
import org.dom0j.xenstore.XsMessageType;
import org.dom0j.xenstore.XsPermission;
import org.dom0j.xenstore.XsWireDescriptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.dom0j.xenstore.XsMessageType.*;

/**
 * Fuzzes xs_wire against the simulated xenstored (issue 14), beside the malformed-message rounds of
 * {@link SimXenstoredRobustnessTest}: one server for the run, and per case a few new connections, privileged (dom0's
 * socket) or a guest's (domains 6 and 7), that send sequences of requests drawn from a grammar of xs_wire (every
 * message type, paths absolute, relative, special, long, odd; values up to 3000 bytes; permissions; watch tokens;
 * transaction ids the server gave or never gave), some mutated (terminators missing or doubled, payloads cut or
 * random), some framed wrongly (a length field that lies, a payload over 4096 bytes), some split across writes, and
 * some connections that never read their replies. A dom0 connection is kept from what only breaks the test (releasing
 * the good guest, setting quotas or permissions on the good clients' nodes). Checked in every case:
 * <ul>
 *   <li>the server keeps running;</li>
 *   <li>a connection that frames its messages right and reads its replies gets every reply, in order, with its
 *       request's id and type or ERROR with an errno xenstored knows, and is never closed;</li>
 *   <li>a privileged client and a guest client (domain 5) keep being served: writes read back, directories list
 *       them, transactions commit, their watches fire;</li>
 *   <li>once the hostile connections are gone, the connection count is back to its baseline, no output stays
 *       queued, the hostile guests own no more nodes than their quota; descriptors and threads are back to their
 *       baseline and the heap after the run is within a bound.</li>
 * </ul>
 */
class SimXenstoredWireFuzzTest
{
    private static final int GOOD_GUEST = 5;
    private static final int[] HOSTILE_GUESTS = { 6, 7 };
    private static final int FIRST_SPARE_DOMID = 20;
    private static final long WAIT_MS = 5_000;
    private static final long HEAP_GROWTH_BOUND = 64L << 20;
    private static final String[] ODD_DOMIDS = { "", "abc", "-1", "021", "+21", " 21", "21x", "0x15",
        "99999999999", "65535", "32752", "32751", "4294967317", "2\n", "22\0" };
    /** The domains a hostile dom0 connection may have introduced: released after each case. */
    private static final int[] RELEASED_AFTER_CASE = { 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 32751 };
    private static final XsMessageType[] COMMON = { READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS,
        SET_PERMS, WATCH, UNWATCH, TRANSACTION_START, TRANSACTION_END, GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED,
        RESET_WATCHES, GET_QUOTA, GET_FEATURE };
    private static final XsMessageType[] PRIVILEGED = { INTRODUCE, RELEASE, RESUME, SET_TARGET, SET_QUOTA,
        SET_FEATURE, CONTROL };

    @TempDir
    Path dir;

    private final Logger quiet = Logger.getLogger("org.dom0j");
    private Level quietWas;
    /** The server's own words (why it closed a connection), kept for a failure's message instead of printed. */
    private final Logger serverLog = Logger.getLogger(SimXenstored.class.getName());
    private final Deque<String> serverSaid = new java.util.concurrent.ConcurrentLinkedDeque<>();
    private final Handler keep = new Handler()
    {
        @Override
        public void publish(final LogRecord record)
        {
            serverSaid.add(record.getMessage());
            while (serverSaid.size() > 20)
            {
                serverSaid.poll();
            }
        }

        @Override
        public void flush()
        {
        }

        @Override
        public void close()
        {
        }
    };
    private SimXenstored server;
    private XenStoreClient dom0;
    private XenStoreClient guest;
    private final AtomicInteger dom0Events = new AtomicInteger();
    private final AtomicInteger guestEvents = new AtomicInteger();
    private int baselineConnections;
    private ProcessResources baselineProcess;
    private List<String> baselineFds;

    /** A request sent, as the server should answer it. */
    private record Sent(int type, int reqId)
    {
    }

    /** A hostile connection: what it sent, what came back (read by a thread of its own), whether it still frames. */
    private static final class WireConnection implements AutoCloseable
    {
        final RawXsConnection raw;
        final boolean privileged;
        final int domid;
        final boolean reads;
        /** Whether this one frames messages wrongly now and then (the others never do). */
        final boolean misframes;
        final Deque<Sent> awaiting = new ArrayDeque<>();
        final BlockingQueue<Object[]> replies = new LinkedBlockingQueue<>();
        final List<String> txIds = new ArrayList<>();
        /** What it sent, briefly, for a failure's message. */
        final List<String> history = new ArrayList<>();
        volatile boolean ended;
        boolean framed = true;
        long answered;
        private final Thread reader;

        WireConnection(final Path socket, final boolean privileged, final int domid, final boolean reads,
            final boolean misframes) throws IOException
        {
            this.raw = new RawXsConnection(socket);
            this.privileged = privileged;
            this.domid = domid;
            this.reads = reads;
            this.misframes = misframes;
            reader = new Thread(this::readLoop, "xs-fuzz-reader");
            reader.setDaemon(true);
            if (reads)
            {
                reader.start();
            }
        }

        private void readLoop()
        {
            try
            {
                Object[] message;
                while (null != (message = raw.receive()))
                {
                    replies.add(message);
                }
            }
            catch (final IOException ex)
            {
                // Closed.
            }
            ended = true;
        }

        void send(final byte[] bytes, final Hostile in) throws IOException
        {
            if (in.chance(10) && bytes.length > 1)
            {
                // Split across writes: the server must put a message together from pieces.
                final int cut = in.between(1, bytes.length - 1);
                raw.send(java.util.Arrays.copyOfRange(bytes, 0, cut));
                Thread.onSpinWait();
                raw.send(java.util.Arrays.copyOfRange(bytes, cut, bytes.length));
            }
            else
            {
                raw.send(bytes);
            }
        }

        /**
         * Takes the replies come so far and checks them against what was sent.
         *
         * @return a problem, or null.
         */
        String check()
        {
            Object[] reply;
            while (null != (reply = replies.poll()))
            {
                final int type = (Integer)reply[0];
                final int reqId = (Integer)reply[1];
                final String payload = (String)reply[2];
                if (type == WATCH_EVENT.code())
                {
                    continue;
                }
                if (!framed)
                {
                    continue;
                }
                final Sent sent = awaiting.poll();
                if (null == sent)
                {
                    return "a reply (type " + type + ", req_id " + reqId + ") to no request";
                }
                if (reqId != sent.reqId() || (type != sent.type() && type != ERROR.code()))
                {
                    return "the reply to request " + sent + " came as type " + type + " req_id " + reqId;
                }
                if (type == ERROR.code() && (!payload.endsWith("\0") ||
                    null == Errno.ofName(payload.substring(0, payload.length() - 1))))
                {
                    return "an ERROR reply to " + sent + " names no errno: '" + payload + "'";
                }
                if (type == TRANSACTION_START.code() && payload.endsWith("\0"))
                {
                    txIds.add(payload.substring(0, payload.length() - 1));
                }
                answered++;
            }
            return null;
        }

        @Override
        public void close() throws IOException
        {
            raw.close();
        }

        @Override
        public String toString()
        {
            return (privileged ? "dom0" : "domain " + domid) + " connection, " + answered + " replies taken, " +
                "sent " + history;
        }
    }

    @AfterEach
    void tearDown()
    {
        quiet.setLevel(quietWas);
        serverLog.removeHandler(keep);
        serverLog.setUseParentHandlers(true);
        serverLog.setLevel(null);
        if (null != guest)
        {
            guest.close();
        }
        if (null != dom0)
        {
            dom0.close();
        }
        if (null != server)
        {
            server.close();
        }
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.HOURS)
    void shouldServeEveryWellFramedRequestAndEveryoneElseWhateverHostileClientsSend() throws Exception
    {
        quietWas = quiet.getLevel();
        quiet.setLevel(Level.OFF);
        serverLog.setLevel(Level.WARNING);
        serverLog.setUseParentHandlers(false);
        serverLog.addHandler(keep);
        final SimXenstoredConfig config = SimXenstoredConfig.defaults();
        server = SimXenstored.start(dir.resolve("socket"), config);
        dom0 = XenStoreClient.connect(server.socketPath());
        for (final int domid : new int[]{ GOOD_GUEST, HOSTILE_GUESTS[0], HOSTILE_GUESTS[1] })
        {
            dom0.introduceDomain(domid, domid, domid);
            dom0.mkdir("/local/domain/" + domid);
            dom0.setPermissions("/local/domain/" + domid, List.of(XsPermission.parse("n" + domid)));
        }
        guest = XenStoreClient.connect(server.domainSocketPath(GOOD_GUEST));
        dom0.write("/good/w", "0");
        dom0.watch("/good/w", "good", (path, token) -> dom0Events.incrementAndGet());
        guest.write("data/w", "0");
        guest.watch("data/w", "good", (path, token) -> guestEvents.incrementAndGet());
        final long nodesQuota = config.quotas().get(SimXenstoredConfig.NODES);

        final FuzzRun run = FuzzRun.configure("xs_wire", 0x5157_0000L, 100, 5);
        final long[] heapBefore = new long[1];
        final long[] messages = new long[2];
        final FuzzRun.Summary summary = run.run((in, iteration) ->
        {
            if (null == baselineProcess)
            {
                baselineConnections = server.connectionCount();
                baselineProcess = ProcessResources.withHeap();
                baselineFds = ProcessResources.openFdTargets();
                heapBefore[0] = baselineProcess.heapBytes();
            }
            final long[] counts = oneCase(in, iteration, nodesQuota);
            messages[0] += counts[0];
            messages[1] += counts[1];
        });
        System.out.println("xs_wire: " + messages[0] + " messages sent, " + messages[1] +
            " replies checked in order");
        if (!run.isReplay())
        {
            final long heapAfter = ProcessResources.withHeap().heapBytes();
            System.out.println("heap after GC: " + (heapBefore[0] >> 10) + " KiB before, " + (heapAfter >> 10) +
                " KiB after");
            require(heapAfter - heapBefore[0] <= HEAP_GROWTH_BOUND, "heap grew by " +
                ((heapAfter - heapBefore[0]) >> 20) + " MiB over " + summary.cases() + " cases");
        }
    }

    private long[] oneCase(final Hostile in, final long iteration, final long nodesQuota) throws Exception
    {
        final List<WireConnection> connections = new ArrayList<>();
        long sent = 0;
        long answered = 0;
        try
        {
            for (int c = in.between(1, 3); c > 0; c--)
            {
                final boolean privileged = in.chance(40);
                final int domid = privileged ? 0 : in.pick(6, 7);
                connections.add(new WireConnection(privileged ? server.socketPath() : server.domainSocketPath(domid),
                    privileged, domid, in.chance(85), in.chance(25)));
            }
            for (final WireConnection connection : connections)
            {
                final int count = connection.reads ? in.between(5, 40) : in.between(1, 20);
                for (int m = 0; m < count; m++)
                {
                    final byte[] message = message(in, connection);
                    try
                    {
                        connection.send(message, in);
                        sent++;
                    }
                    catch (final IOException ex)
                    {
                        // The server closed it: it framed a message wrongly, or never read what it was sent (its
                        // watch events over the hard limit).
                        require(!connection.framed || !connection.reads, "the server closed a connection that " +
                            "framed every message right and read its replies: " + ex + ", " + connection +
                            "; the server said lately " + serverSaid);
                        break;
                    }
                    final String problem = connection.check();
                    require(null == problem, problem);
                }
            }
            for (final WireConnection connection : connections)
            {
                if (!connection.reads || !connection.framed)
                {
                    continue;
                }
                final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
                while (!connection.awaiting.isEmpty())
                {
                    final String problem = connection.check();
                    require(null == problem, problem);
                    require(!connection.ended || !connection.replies.isEmpty(), "the server closed a connection " +
                        "that framed every message right, " + connection.awaiting.size() + " requests unanswered: " +
                        connection + "; the server said lately " + serverSaid);
                    require(System.nanoTime() < deadline, connection.awaiting.size() + " requests unanswered in " +
                        WAIT_MS + " ms, the first " + connection.awaiting.peek());
                    Thread.sleep(1);
                }
                answered += connection.answered;
            }
            require(server.isRunning(), "the server runs");
            requireGoodClientsServed(in, iteration);
        }
        finally
        {
            for (final WireConnection connection : connections)
            {
                connection.close();
            }
        }
        // What the hostile connections left: introduced spare domains go, the rest must have gone with them.
        for (final int domid : RELEASED_AFTER_CASE)
        {
            try
            {
                dom0.releaseDomain(domid);
            }
            catch (final XenStoreException ex)
            {
                // Not introduced.
            }
        }
        require(org.dom0j.test.Await.until(() -> server.connectionCount() == baselineConnections &&
            server.queuedOutputBytes() == 0 && ProcessResources.now().backTo(baselineProcess), WAIT_MS),
            "back to the baseline: " + server.connectionCount() + " connections (was " + baselineConnections +
            "), " + server.queuedOutputBytes() + " bytes queued, " + ProcessResources.now() + " (was " +
            baselineProcess + "), new descriptors " + ProcessResources.newFdTargets(baselineFds));
        for (final int domid : HOSTILE_GUESTS)
        {
            require(server.nodesOwnedBy(domid) <= nodesQuota, "domain " + domid + " owns " +
                server.nodesOwnedBy(domid) + " nodes, its quota is " + nodesQuota);
        }
        return new long[]{ sent, answered };
    }

    private void requireGoodClientsServed(final Hostile in, final long iteration) throws Exception
    {
        final String value = "v" + iteration + "-" + in.nextInt(1000);
        dom0.write("/good/k" + iteration % 4, value);
        require(value.equals(dom0.read("/good/k" + iteration % 4)), "dom0 reads back what it wrote");
        require(dom0.directory("/good").contains("k" + iteration % 4), "dom0 lists what it wrote");
        final int dom0Before = dom0Events.get();
        dom0.write("/good/w", value);
        guest.transaction(tx ->
        {
            tx.write("data/t", value);
            return null;
        });
        require(value.equals(guest.read("data/t")), "the guest reads back its transaction's write");
        final int guestBefore = guestEvents.get();
        guest.write("data/w", value);
        require(org.dom0j.test.Await.until(() -> dom0Events.get() > dom0Before && guestEvents.get() > guestBefore,
            WAIT_MS), "the good clients' watches fire");
    }

    /** One message for a connection: a request of the grammar, sometimes mutated, sometimes framed wrongly. */
    private byte[] message(final Hostile in, final WireConnection connection)
    {
        final int type;
        final int choice = in.nextInt(100);
        if (choice < 75)
        {
            type = in.pick(COMMON).code();
        }
        else if (choice < 88)
        {
            type = in.pick(PRIVILEGED).code();
        }
        else if (choice < 93)
        {
            type = in.pick(WATCH_EVENT, ERROR).code();
        }
        else
        {
            type = in.chance(50) ? in.pickInt(20, 27, 28, 100, 255) : in.nextInt();
        }
        byte[] payload = payload(in, connection, type);
        if (in.chance(8))
        {
            payload = mutate(in, payload);
        }
        final int reqId = in.nextInt();
        final int txId = connection.txIds.isEmpty() || in.chance(70) ? (in.chance(5) ? in.nextInt(100) : 0) :
            (int)Long.parseLong(in.pick(connection.txIds));
        int length = payload.length;
        if (connection.misframes && in.chance(4))
        {
            payload = new byte[XsWireDescriptor.PAYLOAD_MAX + 1 + in.nextInt(200)];
            length = payload.length;
        }
        else if (connection.misframes && in.chance(4))
        {
            length = in.chance(50) ? in.nextInt(XsWireDescriptor.PAYLOAD_MAX + 1) : in.nextInt();
        }
        if (length != payload.length || length > XsWireDescriptor.PAYLOAD_MAX)
        {
            connection.framed = false;
            connection.awaiting.clear();
        }
        else if (connection.framed)
        {
            connection.awaiting.add(new Sent(type, reqId));
        }
        connection.history.add(XsMessageType.of(type) + "(" + length + (txId != 0 ? " tx " + txId : "") + ")");
        return RawXsConnection.message(type, reqId, txId, length, payload);
    }

    private byte[] payload(final Hostile in, final WireConnection c, final int type)
    {
        final StringBuilder p = new StringBuilder();
        if (type == WRITE.code())
        {
            p.append(path(in, c)).append('\0');
            return concat(p.toString().getBytes(StandardCharsets.UTF_8), value(in));
        }
        if (type == SET_PERMS.code())
        {
            p.append(path(in, c)).append('\0');
            for (int i = in.between(0, 7); i > 0; i--)
            {
                p.append(in.pick("n" + c.domid, "r0", "b5", "w7", "r6", "x", "n", "r-1", "r99999", "n0"))
                    .append('\0');
            }
        }
        else if (type == WATCH.code() || type == UNWATCH.code())
        {
            p.append(in.chance(15) ? in.pick("@introduceDomain", "@releaseDomain") : path(in, c)).append('\0')
                .append("t").append(in.nextInt(8)).append('\0');
        }
        else if (type == TRANSACTION_START.code())
        {
            p.append('\0');
        }
        else if (type == TRANSACTION_END.code())
        {
            p.append(in.pick("T", "F", "", "X", "TT")).append('\0');
        }
        else if (type == DIRECTORY_PART.code())
        {
            p.append(path(in, c)).append('\0').append(in.chance(70) ? "0" : Long.toString(in.interestingLong()))
                .append('\0');
        }
        else if (type == INTRODUCE.code() || type == RELEASE.code() || type == RESUME.code() ||
            type == IS_DOMAIN_INTRODUCED.code() || type == GET_DOMAIN_PATH.code() || type == SET_TARGET.code())
        {
            p.append(spareDomid(in)).append('\0');
            if (type == INTRODUCE.code() || type == SET_TARGET.code())
            {
                p.append(in.chance(80) ? Integer.toString(in.nextInt(1000)) : in.mutatedValue("5")).append('\0');
            }
            if (type == INTRODUCE.code())
            {
                p.append(in.nextInt(100)).append('\0');
            }
        }
        else if (type == GET_QUOTA.code() || type == SET_QUOTA.code())
        {
            // dom0's quotas for everyone, or the good guest's, would only break the test: spare domains only.
            p.append(spareDomid(in)).append('\0').append(in.pick("nodes", "watches", "outstanding",
                "transactions", "node-size", "permissions", "bogus", "")).append('\0');
            if (type == SET_QUOTA.code())
            {
                p.append(in.chance(70) ? Long.toString(in.nextLong(5000)) : in.mutatedValue("10")).append('\0');
            }
        }
        else if (type == GET_FEATURE.code() || type == SET_FEATURE.code())
        {
            p.append(spareDomid(in)).append('\0');
            if (type == SET_FEATURE.code())
            {
                p.append(in.nextInt(16)).append('\0');
            }
        }
        else if (type == CONTROL.code())
        {
            p.append(in.pick("print", "check", "help", "quota", "log", "junk", "")).append('\0');
            if (in.nextBoolean())
            {
                p.append(in.longString(in.between(1, 30))).append('\0');
            }
        }
        else if (type == RESET_WATCHES.code())
        {
            p.append(in.chance(80) ? "" : "x\0");
        }
        else
        {
            p.append(path(in, c)).append('\0');
        }
        return p.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A spare domain's id, or something almost one. Never the domains the test itself uses (0 and 5 to 7): a dom0
     * connection releasing them would only break the test; whatever it may introduce is released after the case.
     */
    private static String spareDomid(final Hostile in)
    {
        return in.chance(85) ? Integer.toString(FIRST_SPARE_DOMID + in.nextInt(10)) : in.pick(ODD_DOMIDS);
    }

    /** A path: where dom0 may go (never the good clients' nodes), or a guest's own, another's, special, odd. */
    private static String path(final Hostile in, final WireConnection c)
    {
        final String base = c.privileged ?
            in.pick("/fuzz", "/fuzz/a", "/fuzz/a/b", "/fuzz/" + in.nextInt(8), "/local/domain/6/d",
                "/local/domain/" + FIRST_SPARE_DOMID, "/tool/fuzz", "/fuzz/x/y/z/w") :
            in.pick("data/x", "data/x/y", "device/z", "/local/domain/" + c.domid + "/q", "data/" + in.nextInt(50),
                "/local/domain/5/data/w", "/good/w", "/local/domain/0", "/fuzz/a");
        return switch (in.nextInt(12))
        {
            case 0 -> "";
            case 1 -> "/";
            case 2 -> base + "/";
            case 3 -> base + "//z";
            case 4 -> base + "/./z";
            case 5 -> base + "/" + "p".repeat(in.between(100, 3100));
            case 6 -> base + "/\u00e9\u20ac";
            default -> base;
        };
    }

    private static byte[] value(final Hostile in)
    {
        return in.chance(80) ? in.mutatedValue("1").getBytes(StandardCharsets.UTF_8) :
            in.bytes(in.between(0, 3000));
    }

    private static byte[] mutate(final Hostile in, final byte[] payload)
    {
        return switch (in.nextInt(5))
        {
            case 0 -> payload.length > 0 ? java.util.Arrays.copyOf(payload, payload.length - 1) : payload;
            case 1 -> concat(payload, new byte[]{ 0, 0 });
            case 2 -> java.util.Arrays.copyOf(payload, in.nextInt(payload.length + 1));
            case 3 -> in.bytes(in.between(0, 200));
            default -> new byte[0];
        };
    }

    private static byte[] concat(final byte[] head, final byte[] tail)
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(head, 0, head.length);
        bytes.write(tail, 0, tail.length);
        return bytes.toByteArray();
    }

    private static void require(final boolean condition, final String what)
    {
        if (!condition)
        {
            throw new AssertionError(what);
        }
    }
}
