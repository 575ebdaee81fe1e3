package org.dom0j.sim.xenstored;

import org.dom0j.test.Await;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XsMessageType;
import org.dom0j.xenstore.XsPermission;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Quotas counted per domain, as C xenstored counts them in its {@code struct domain}: a guest that opens several
 * connections to its socket shares one quota of watches, transactions and unread replies among them; the node
 * quota is checked again when a transaction commits; a transaction's watch events are one per node it changed; a
 * privileged watcher is never dropped for unread watch events, and an unprivileged one loses events rather than its
 * connection. Each test fails on a server that counts per connection or fires one event per write.
 */
@Timeout(120)
class SimXenstoredDomainQuotaTest
{
    /** Deadline of each wait for the server thread. */
    private static final long WAIT_MS = 10_000;
    private static final int GUEST = 5;

    @TempDir
    Path dir;

    private SimXenstored server;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stop() throws Exception
    {
        for (final AutoCloseable c : toClose)
        {
            c.close();
        }
        if (null != server)
        {
            server.close();
        }
    }

    private <T extends AutoCloseable> T closeLater(final T c)
    {
        toClose.add(c);
        return c;
    }

    /** Starts the server, introduces {@link #GUEST} and gives it {@code /local/domain/5} (one node it owns). */
    private XenStoreClient start(final SimXenstoredConfig config) throws IOException
    {
        server = SimXenstored.start(dir.resolve("socket"), config);
        final XenStoreClient dom0 = closeLater(XenStoreClient.connect(server.socketPath()));
        dom0.introduceDomain(GUEST, GUEST, GUEST);
        dom0.mkdir("/local/domain/" + GUEST);
        dom0.setPermissions("/local/domain/" + GUEST, List.of(XsPermission.parse("n" + GUEST)));
        return dom0;
    }

    private Conn guest() throws IOException
    {
        return closeLater(new Conn(server.domainSocketPath(GUEST)));
    }

    private Conn dom0Raw() throws IOException
    {
        return closeLater(new Conn(server.socketPath()));
    }

    private static void awaitThat(final String what, final BooleanSupplier condition) throws InterruptedException
    {
        assertThat(Await.until(condition, WAIT_MS)).as("within " + WAIT_MS + " ms: " + what).isTrue();
    }

    // ---------------------------------------------------------------- fix 1: watches, transactions, outstanding

    @Test
    void shouldCountWatchesOfAllConnectionsOfOneDomainAgainstItsQuota() throws Exception
    {
        start(SimXenstoredConfig.defaults().withQuota(SimXenstoredConfig.WATCHES, 3));
        final Conn a = guest();
        final Conn b = guest();
        assertThat(a.call(XsMessageType.WATCH, 0, "w1\0t\0")).isEqualTo("OK");
        assertThat(a.call(XsMessageType.WATCH, 0, "w2\0t\0")).isEqualTo("OK");
        assertThat(b.call(XsMessageType.WATCH, 0, "w3\0t\0")).isEqualTo("OK");
        assertThat(b.call(XsMessageType.WATCH, 0, "w4\0t\0")).as("a 4th watch on a 2nd connection")
            .isEqualTo("E2BIG");
        final Conn c = guest();
        assertThat(c.call(XsMessageType.WATCH, 0, "w4\0t\0")).as("a 4th watch on a 3rd connection")
            .isEqualTo("E2BIG");

        assertThat(a.call(XsMessageType.UNWATCH, 0, "w1\0t\0")).isEqualTo("OK");
        assertThat(c.call(XsMessageType.WATCH, 0, "w4\0t\0")).as("UNWATCH gave one back").isEqualTo("OK");
        assertThat(b.call(XsMessageType.RESET_WATCHES, 0, "")).isEqualTo("OK");
        assertThat(c.call(XsMessageType.WATCH, 0, "w5\0t\0")).as("RESET_WATCHES gave b's back").isEqualTo("OK");
        assertThat(c.call(XsMessageType.WATCH, 0, "w6\0t\0")).isEqualTo("E2BIG");
        c.close();
        awaitThat("the server sees c closed", () -> server.connectionCount() == 3);
        assertThat(b.call(XsMessageType.WATCH, 0, "w7\0t\0")).as("closing c gave its 2 back").isEqualTo("OK");
        assertThat(b.call(XsMessageType.WATCH, 0, "w8\0t\0")).isEqualTo("OK");
        assertThat(b.call(XsMessageType.WATCH, 0, "w9\0t\0")).isEqualTo("E2BIG");

        final Conn dom0 = dom0Raw();
        for (int i = 0; i < 10; i++)
        {
            assertThat(dom0.call(XsMessageType.WATCH, 0, "/d" + i + "\0t\0")).as("dom0 has no quota").isEqualTo("OK");
        }
    }

    @Test
    void shouldCountTransactionsOfAllConnectionsOfOneDomainAgainstItsQuota() throws Exception
    {
        start(SimXenstoredConfig.defaults().withQuota(SimXenstoredConfig.TRANSACTIONS, 2));
        final Conn a = guest();
        final Conn b = guest();
        final int t1 = Integer.parseInt(a.call(XsMessageType.TRANSACTION_START, 0, "\0"));
        b.call(XsMessageType.TRANSACTION_START, 0, "\0");
        assertThat(b.call(XsMessageType.TRANSACTION_START, 0, "\0")).as("a 3rd transaction, 2nd connection")
            .isEqualTo("ENOSPC");
        final Conn c = guest();
        assertThat(c.call(XsMessageType.TRANSACTION_START, 0, "\0")).as("a 3rd transaction, 3rd connection")
            .isEqualTo("ENOSPC");
        assertThat(a.call(XsMessageType.TRANSACTION_END, t1, "F\0")).isEqualTo("OK");
        final String t3 = c.call(XsMessageType.TRANSACTION_START, 0, "\0");
        assertThat(t3).as("ending one gave it back").matches("[0-9]+");
        assertThat(a.call(XsMessageType.TRANSACTION_START, 0, "\0")).isEqualTo("ENOSPC");
        c.close();
        awaitThat("the server sees c closed", () -> server.connectionCount() == 3);
        assertThat(a.call(XsMessageType.TRANSACTION_START, 0, "\0")).as("closing c ended its transaction")
            .matches("[0-9]+");

        final Conn dom0 = dom0Raw();
        for (int i = 0; i < 5; i++)
        {
            assertThat(dom0.call(XsMessageType.TRANSACTION_START, 0, "\0")).as("dom0 has no quota")
                .matches("[0-9]+");
        }
    }

    @Test
    void shouldCountUnreadRepliesOfAllConnectionsOfOneDomainAgainstOutstandingQuota() throws Exception
    {
        final XenStoreClient dom0 = start(SimXenstoredConfig.defaults());
        final String value = "0123456789".repeat(200);
        dom0.write("/local/domain/" + GUEST + "/v", value);
        final long reply = 16 + value.length();
        final Conn[] lazy = { guest(), guest(), guest() };
        for (final Conn c : lazy)
        {
            final java.io.ByteArrayOutputStream batch = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < 20; i++)
            {
                final byte[] p = RawXsConnection.payload("v\0");
                batch.write(RawXsConnection.message(XsMessageType.READ.code(), i, 0, p.length, p));
            }
            c.raw.send(batch.toByteArray());
        }
        awaitThat("20 unread replies queued for the guest", () -> server.queuedOutputBytes() >= 20 * reply);
        for (int i = 0; i < 3; i++)
        {
            // a round trip on dom0's socket: the server has read what the guests sent before it
            dom0.read("/local/domain/" + GUEST + "/v");
        }
        assertThat(server.queuedOutputBytes()).as("the domain's 20 outstanding replies, over 3 connections")
            .isEqualTo(20 * reply);

        final AtomicInteger replies = new AtomicInteger();
        final List<Thread> readers = new ArrayList<>();
        for (final Conn c : lazy)
        {
            final Thread t = new Thread(() ->
            {
                try
                {
                    for (int i = 0; i < 20; i++)
                    {
                        final Object[] r = c.raw.receive();
                        if (null != r && (int)r[1] == i && value.equals(r[2]))
                        {
                            replies.incrementAndGet();
                        }
                    }
                }
                catch (final IOException ex)
                {
                    throw new UncheckedIOException(ex);
                }
            });
            t.start();
            readers.add(t);
        }
        for (final Thread t : readers)
        {
            t.join(WAIT_MS * 3);
        }
        assertThat(replies.get()).as("every request answered once its domain's replies were read").isEqualTo(60);
    }

    // ---------------------------------------------------------------- fix 2: the node quota at commit

    @Test
    void shouldRefuseCommitOfParallelTransactionsThatTogetherExceedNodeQuota() throws Exception
    {
        final XenStoreClient dom0 = start(SimXenstoredConfig.defaults().withQuota(SimXenstoredConfig.NODES, 20));
        // two directories of its own, so that the two transactions touch no node in common (no EAGAIN)
        dom0.mkdir("/local/domain/" + GUEST + "/a");
        dom0.mkdir("/local/domain/" + GUEST + "/b");
        final Conn a = guest();
        final Conn b = guest();
        final int ta = Integer.parseInt(a.call(XsMessageType.TRANSACTION_START, 0, "\0"));
        final int tb = Integer.parseInt(b.call(XsMessageType.TRANSACTION_START, 0, "\0"));
        for (int i = 0; i < 15; i++)
        {
            assertThat(a.call(XsMessageType.WRITE, ta, "a/" + i + "\0x")).isEqualTo("OK");
            assertThat(b.call(XsMessageType.WRITE, tb, "b/" + i + "\0x")).isEqualTo("OK");
        }
        assertThat(a.call(XsMessageType.TRANSACTION_END, ta, "T\0")).isEqualTo("OK");
        assertThat(server.nodesOwnedBy(GUEST)).isEqualTo(18);
        assertThat(b.call(XsMessageType.TRANSACTION_END, tb, "T\0")).as("18 + 15 nodes is above 20")
            .isEqualTo("ENOSPC");
        assertThat(server.nodesOwnedBy(GUEST)).as("nothing of the refused transaction applied").isEqualTo(18);
        assertThat(a.call(XsMessageType.READ, 0, "b/0\0")).isEqualTo("ENOENT");
    }

    @Test
    void shouldRefuseCommitThatWouldBringDomainToItsNodeQuotaAsXen417Does() throws Exception
    {
        start(SimXenstoredConfig.defaults().withQuota(SimXenstoredConfig.NODES, 20));
        final Conn g = guest();
        int tx = Integer.parseInt(g.call(XsMessageType.TRANSACTION_START, 0, "\0"));
        for (int i = 0; i < 19; i++)
        {
            assertThat(g.call(XsMessageType.WRITE, tx, "n" + i + "\0x")).isEqualTo("OK");
        }
        assertThat(g.call(XsMessageType.TRANSACTION_END, tx, "T\0")).as("1 + 19 = 20 nodes: C's commit wants < 20")
            .isEqualTo("ENOSPC");
        tx = Integer.parseInt(g.call(XsMessageType.TRANSACTION_START, 0, "\0"));
        for (int i = 0; i < 18; i++)
        {
            assertThat(g.call(XsMessageType.WRITE, tx, "n" + i + "\0x")).isEqualTo("OK");
        }
        assertThat(g.call(XsMessageType.TRANSACTION_END, tx, "T\0")).isEqualTo("OK");
        assertThat(server.nodesOwnedBy(GUEST)).isEqualTo(19);
        assertThat(g.call(XsMessageType.WRITE, 0, "last\0x")).as("a direct write may reach the quota").isEqualTo("OK");
        assertThat(g.call(XsMessageType.WRITE, 0, "over\0x")).isEqualTo("ENOSPC");
        tx = Integer.parseInt(g.call(XsMessageType.TRANSACTION_START, 0, "\0"));
        assertThat(g.call(XsMessageType.RM, tx, "last\0")).isEqualTo("OK");
        assertThat(g.call(XsMessageType.TRANSACTION_END, tx, "T\0")).as("a transaction that only removes")
            .isEqualTo("OK");
        assertThat(server.nodesOwnedBy(GUEST)).isEqualTo(19);
    }

    @Test
    void shouldRefuseTransactionThatTouchesMoreNodesThanTransactionNodesQuota() throws Exception
    {
        final XenStoreClient dom0 = start(SimXenstoredConfig.defaults()
            .withQuota(SimXenstoredConfig.TRANSACTION_NODES, 10));
        for (int i = 0; i < 12; i++)
        {
            dom0.write("/local/domain/" + GUEST + "/k" + i, "x");
        }
        final Conn g = guest();
        final int tx = Integer.parseInt(g.call(XsMessageType.TRANSACTION_START, 0, "\0"));
        for (int i = 0; i < 10; i++)
        {
            assertThat(g.call(XsMessageType.WRITE, tx, "k" + i + "\0y")).isEqualTo("OK");
        }
        assertThat(g.call(XsMessageType.READ, tx, "k0\0")).as("a node already in the transaction").isEqualTo("y");
        assertThat(g.call(XsMessageType.READ, tx, "k10\0")).as("an 11th node").isEqualTo("ENOSPC");
        assertThat(g.call(XsMessageType.TRANSACTION_END, tx, "T\0")).as("C fails the transaction: ENOMEM")
            .isEqualTo("ENOMEM");
        assertThat(dom0.read("/local/domain/" + GUEST + "/k0")).isEqualTo("x");

        final Conn d = dom0Raw();
        final int dtx = Integer.parseInt(d.call(XsMessageType.TRANSACTION_START, 0, "\0"));
        for (int i = 0; i < 12; i++)
        {
            assertThat(d.call(XsMessageType.WRITE, dtx, "/local/domain/" + GUEST + "/k" + i + "\0z"))
                .as("dom0 has no such quota").isEqualTo("OK");
        }
        assertThat(d.call(XsMessageType.TRANSACTION_END, dtx, "T\0")).isEqualTo("OK");
    }

    // ---------------------------------------------------------------- fix 3: watch events of a transaction

    @Test
    void shouldFireOneEventPerNodeWhenGuestWritesItsKey12000TimesInOneTransaction() throws Exception
    {
        start(SimXenstoredConfig.defaults());
        final String key = "k".repeat(200);
        final String path = "/local/domain/" + GUEST + "/" + key;
        final Conn dom0 = dom0Raw();
        assertThat(dom0.call(XsMessageType.WATCH, 0, "/local/domain/" + GUEST + "\0tok\0")).isEqualTo("OK");
        assertThat(dom0.takeEvents()).containsExactly("/local/domain/" + GUEST);

        try (XenStoreClient g = XenStoreClient.connect(server.domainSocketPath(GUEST)))
        {
            g.transaction(t ->
            {
                for (int i = 0; i < 12_000; i++)
                {
                    t.write(key, "v" + i);
                }
                return null;
            });
        }
        assertThat(dom0.call(XsMessageType.READ, 0, path + "\0")).as("dom0 still connected and served")
            .isEqualTo("v11999");
        assertThat(dom0.takeEvents()).as("one event for the one node the transaction changed")
            .containsExactly(path);
    }

    @Test
    void shouldNeverCloseDom0ConnectionForUnreadWatchEvents() throws Exception
    {
        final SimXenstoredConfig config = SimXenstoredConfig.defaults().withOutputLimits(4 * 1024, 32 * 1024);
        final XenStoreClient writer = start(config);
        final Conn lazy = dom0Raw();
        lazy.raw.send(XsMessageType.WATCH.code(), 1, "/spam\0tok\0");
        assertThat(lazy.raw.receive()).containsExactly(XsMessageType.WATCH.code(), 1, "OK\0");
        assertThat(lazy.raw.receive()).containsExactly(XsMessageType.WATCH_EVENT.code(), 0, "/spam\0tok\0");
        final String prefix = "/spam/" + "n".repeat(200);
        for (int i = 0; i < 2000; i++)
        {
            writer.write(prefix + i, "x");
        }
        assertThat(server.queuedOutputBytes()).as("far above the hard limit")
            .isGreaterThan(2L * config.outputHardLimit());
        assertThat(server.connectionCount()).as("the writer and the lazy watcher").isEqualTo(2);
        for (int i = 0; i < 2000; i++)
        {
            assertThat(lazy.raw.receive()).containsExactly(XsMessageType.WATCH_EVENT.code(), 0,
                prefix + i + "\0tok\0");
        }
    }

    @Test
    void shouldDropWatchEventsAboveHardLimitOfGuestButKeepItsConnections() throws Exception
    {
        final SimXenstoredConfig config = SimXenstoredConfig.defaults().withOutputLimits(4 * 1024, 32 * 1024);
        final XenStoreClient dom0 = start(config);
        final String watched = "/local/domain/" + GUEST + "/spam";
        final Conn a = guest();
        final Conn b = guest();
        for (final Conn c : List.of(a, b))
        {
            assertThat(c.call(XsMessageType.WATCH, 0, watched + "\0tok\0")).isEqualTo("OK");
            assertThat(c.takeEvents()).containsExactly(watched);
        }
        final String prefix = watched + "/" + "n".repeat(200);
        for (int i = 0; i < 500; i++)
        {
            dom0.write(prefix + i, "x");
        }
        assertThat(server.connectionCount()).as("dom0 and both guest connections").isEqualTo(3);
        assertThat(server.queuedOutputBytes()).as("the guest's two connections together")
            .isLessThanOrEqualTo(config.outputHardLimit());
        final String last = a.call(XsMessageType.READ, 0, prefix + 499 + "\0");
        assertThat(last).as("still served once it reads").isEqualTo("x");
        assertThat(a.takeEvents().size()).as("some events dropped").isBetween(1, 499);
    }

    /**
     * One raw connection used request by request: {@link #call} sends and returns the reply (or the errno's name),
     * keeping the watch events that arrive before it for {@link #takeEvents}.
     */
    private static final class Conn implements AutoCloseable
    {
        private final RawXsConnection raw;
        private final List<String> events = new ArrayList<>();
        private int reqId = 100;

        Conn(final Path socket) throws IOException
        {
            raw = new RawXsConnection(socket);
        }

        String call(final XsMessageType type, final int txId, final String payload) throws IOException
        {
            final int id = ++reqId;
            raw.send(type.code(), id, txId, payload);
            while (true)
            {
                final Object[] m = raw.receive();
                assertThat(m).as("reply to request " + id + " (" + type + ")").isNotNull();
                final String p = (String)m[2];
                if ((int)m[0] == XsMessageType.WATCH_EVENT.code())
                {
                    events.add(p.substring(0, p.indexOf('\0')));
                    continue;
                }
                assertThat((int)m[1]).isEqualTo(id);
                final String text = p.endsWith("\0") ? p.substring(0, p.length() - 1) : p;
                return text.indexOf('\0') >= 0 ? text.substring(0, text.indexOf('\0')) : text;
            }
        }

        /**
         * @return the paths of the watch events that came so far (a round trip makes sure the server sent what it
         *         had queued), and forgets them.
         */
        List<String> takeEvents() throws IOException
        {
            call(XsMessageType.GET_DOMAIN_PATH, 0, "0\0");
            final List<String> out = new ArrayList<>(events);
            events.clear();
            return out;
        }

        @Override
        public void close() throws IOException
        {
            raw.close();
        }
    }
}
