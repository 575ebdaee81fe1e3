package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.test.Await;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XenStoreException;
import org.dom0j.xenstore.XsMessageType;
import org.dom0j.xenstore.XsPermission;
import org.dom0j.xenstore.XsWireDescriptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile and careless clients: malformed messages, a seeded fuzz run, clients that never read, and quotas. In each
 * case the server stays up and other connections are served.
 */
@Timeout(120)
class SimXenstoredRobustnessTest
{
    /** Deadline of each wait for the server thread. */
    private static final long WAIT_MS = 10_000;

    @TempDir
    Path dir;

    private SimXenstored server;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    private SimXenstored start(final SimXenstoredConfig config) throws IOException
    {
        server = SimXenstored.start(dir.resolve("socket"), config);
        return server;
    }

    private <T extends AutoCloseable> T closeLater(final T c)
    {
        toClose.add(c);
        return c;
    }

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

    private static String errnoName(final Runnable r)
    {
        try
        {
            r.run();
            return "OK";
        }
        catch (final XenStoreException ex)
        {
            return Errno.of(ex.errno()).name();
        }
    }

    /**
     * Waits, up to {@link #WAIT_MS}, for something the server does on its own thread; fails the test naming it.
     */
    private static void awaitThat(final String what, final BooleanSupplier condition) throws InterruptedException
    {
        assertThat(Await.until(condition, WAIT_MS)).as("within " + WAIT_MS + " ms: " + what).isTrue();
    }

    private void assertOthersServed()
    {
        assertThat(server.isRunning()).isTrue();
        try (XenStoreClient probe = XenStoreClient.connect(server.socketPath()))
        {
            probe.write("/probe", "alive");
            assertThat(probe.read("/probe")).isEqualTo("alive");
        }
    }

    @Test
    void shouldAnswerMalformedRequestsWithErrors() throws Exception
    {
        start(SimXenstoredConfig.defaults());
        final RawXsConnection raw = closeLater(new RawXsConnection(server.socketPath()));
        raw.send(XsMessageType.READ.code(), 1, "/tool");
        assertThat(raw.receive()).containsExactly(XsMessageType.ERROR.code(), 1, "EINVAL\0");
        raw.send(99, 2, "/tool\0");
        assertThat(raw.receive()).containsExactly(XsMessageType.ERROR.code(), 2, "ENOSYS\0");
        raw.send(XsMessageType.WATCH_EVENT.code(), 3, "/tool\0t\0");
        assertThat(raw.receive()).containsExactly(XsMessageType.ERROR.code(), 3, "ENOSYS\0");
        raw.send(XsMessageType.READ.code(), 4, "/" + "x".repeat(3100) + "\0");
        assertThat(raw.receive()).containsExactly(XsMessageType.ERROR.code(), 4, "EINVAL\0");
        raw.send(XsMessageType.READ.code(), 5, "/a\0/b\0");
        assertThat(raw.receive()).containsExactly(XsMessageType.ERROR.code(), 5, "EINVAL\0");
        final byte[] p = RawXsConnection.payload("/tool\0");
        raw.send(RawXsConnection.message(XsMessageType.READ.code(), 6, 77, p.length, p));
        assertThat(raw.receive()).containsExactly(XsMessageType.ERROR.code(), 6, "ENOENT\0");
        raw.send(XsMessageType.READ.code(), 7, "/tool\0");
        assertThat(raw.receive()).containsExactly(XsMessageType.READ.code(), 7, "");
        assertOthersServed();
    }

    @Test
    void shouldCloseConnectionThatSendsOversizedPayload() throws Exception
    {
        start(SimXenstoredConfig.defaults());
        final RawXsConnection raw = closeLater(new RawXsConnection(server.socketPath()));
        final byte[] big = new byte[XsWireDescriptor.PAYLOAD_MAX + 1];
        raw.send(RawXsConnection.message(XsMessageType.WRITE.code(), 1, 0, big.length, big));
        assertThat(raw.receive()).isNull();
        final RawXsConnection liar = closeLater(new RawXsConnection(server.socketPath()));
        liar.send(RawXsConnection.message(XsMessageType.READ.code(), 1, 0, -1, new byte[0]));
        assertThat(liar.receive()).isNull();
        assertOthersServed();
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = { 1L, 2L, 3L, 0x5eed_d0_0d0L })
    void shouldSurviveSeededFuzzOfMalformedMessages(final long seed) throws Exception
    {
        System.out.println("SimXenstoredRobustnessTest fuzz seed " + seed);
        start(SimXenstoredConfig.defaults());
        final Random random = new Random(seed);
        try (XenStoreClient good = XenStoreClient.connect(server.socketPath()))
        {
            good.introduceDomain(5, 5, 5);
            good.mkdir("/local/domain/5");
            good.setPermissions("/local/domain/5", List.of(XsPermission.parse("n5")));
            for (int round = 0; round < 40; round++)
            {
                final Path target = random.nextBoolean() ? server.socketPath() : server.domainSocketPath(5);
                try (RawXsConnection raw = new RawXsConnection(target))
                {
                    final int messages = 1 + random.nextInt(20);
                    for (int m = 0; m < messages; m++)
                    {
                        raw.send(randomMessage(random));
                    }
                }
                catch (final IOException ex)
                {
                    // the server may close a hostile connection while we write: allowed
                }
                good.write("/fuzz/round", Integer.toString(round));
                assertThat(good.read("/fuzz/round")).isEqualTo(Integer.toString(round));
            }
            assertThat(good.read("/fuzz/round")).isEqualTo("39");
        }
        assertOthersServed();
    }

    private static byte[] randomMessage(final Random random)
    {
        final int type = switch (random.nextInt(4))
        {
            case 0 -> random.nextInt();
            case 1 -> random.nextInt(30);
            default -> pick(random, XsMessageType.READ, XsMessageType.WRITE, XsMessageType.DIRECTORY,
                XsMessageType.DIRECTORY_PART, XsMessageType.GET_PERMS, XsMessageType.SET_PERMS, XsMessageType.WATCH,
                XsMessageType.UNWATCH, XsMessageType.TRANSACTION_START, XsMessageType.TRANSACTION_END,
                XsMessageType.MKDIR, XsMessageType.RM, XsMessageType.GET_QUOTA, XsMessageType.RESET_WATCHES)
                .code();
        };
        final byte[] payload;
        switch (random.nextInt(4))
        {
            case 0 ->
            {
                payload = new byte[random.nextInt(64)];
                random.nextBytes(payload);
            }
            case 1 ->
            {
                final String[] pieces = { "/", "/local", "/local/domain/5", "@introduceDomain", "x", "T", "F",
                    "0", "r5", "n0", "b7", "//", "../", "tok", "-1", "99999999999" };
                final StringBuilder sb = new StringBuilder();
                for (int i = random.nextInt(4); i >= 0; i--)
                {
                    sb.append(pieces[random.nextInt(pieces.length)]);
                    if (random.nextBoolean())
                    {
                        sb.append('\0');
                    }
                }
                payload = RawXsConnection.payload(sb.toString());
            }
            case 2 -> payload = new byte[XsWireDescriptor.PAYLOAD_MAX + random.nextInt(100)];
            default -> payload = RawXsConnection.payload("/fuzz/" + random.nextInt(100) + "\0");
        }
        final int lengthField = random.nextInt(8) == 0 ? random.nextInt() : payload.length;
        final int txId = random.nextInt(6) == 0 ? random.nextInt(5) : 0;
        return RawXsConnection.message(type, random.nextInt(), txId, lengthField, payload);
    }

    @SafeVarargs
    private static <T> T pick(final Random random, final T... values)
    {
        return values[random.nextInt(values.length)];
    }

    @Test
    void shouldStopReadingFromClientThatNeverReadsItsReplies() throws Exception
    {
        final SimXenstoredConfig config = SimXenstoredConfig.defaults().withOutputLimits(16 * 1024, 256 * 1024);
        start(config);
        try (XenStoreClient dom0 = XenStoreClient.connect(server.socketPath()))
        {
            dom0.write("/big", "v".repeat(2000));
        }
        final RawXsConnection lazy = closeLater(new RawXsConnection(server.socketPath()));
        final Thread writer = new Thread(() ->
        {
            try
            {
                for (int i = 0; i < 5000; i++)
                {
                    lazy.send(XsMessageType.READ.code(), i, "/big\0");
                }
            }
            catch (final IOException ignore)
            {
                // closed at the end of the test
            }
        });
        writer.setDaemon(true);
        writer.start();
        awaitThat("the lazy client's unread replies reach the soft limit",
            () -> server.queuedOutputBytes() >= config.outputSoftLimit());
        for (int i = 0; i < 20; i++)
        {
            assertThat(server.queuedOutputBytes()).isLessThanOrEqualTo(
                config.outputSoftLimit() + XsWireDescriptor.MESSAGE_MAX);
            assertOthersServed();
        }
        assertThat(writer.isAlive()).as("the lazy client's writes are blocked by backpressure").isTrue();
        lazy.close();
        writer.join(WAIT_MS);
        assertThat(writer.isAlive()).as("the writer's send ends when its connection is closed").isFalse();
    }

    @Test
    void shouldBoundUnreadRepliesOfGuestByOutstandingQuota() throws Exception
    {
        start(SimXenstoredConfig.defaults());
        try (XenStoreClient dom0 = XenStoreClient.connect(server.socketPath()))
        {
            dom0.introduceDomain(4, 4, 4);
            dom0.write("/local/domain/4/v", "0123456789".repeat(200));
            dom0.setPermissions("/local/domain/4", List.of(XsPermission.parse("n4")));
            dom0.setPermissions("/local/domain/4/v", List.of(XsPermission.parse("n4")));
        }
        final RawXsConnection guest = closeLater(new RawXsConnection(server.domainSocketPath(4)));
        final java.io.ByteArrayOutputStream batch = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < 1000; i++)
        {
            final byte[] p = RawXsConnection.payload("v\0");
            batch.write(RawXsConnection.message(XsMessageType.READ.code(), i, 0, p.length, p));
        }
        guest.send(batch.toByteArray());
        final long reply = XsWireDescriptor.HEADER_LENGTH + 2000;
        awaitThat("20 unread replies queued for the guest", () -> server.queuedOutputBytes() >= 20 * reply);
        assertOthersServed();
        assertThat(server.queuedOutputBytes()).isEqualTo(20 * reply);
        for (int i = 0; i < 1000; i++)
        {
            final Object[] r = guest.receive();
            assertThat(r).containsExactly(XsMessageType.READ.code(), i, "0123456789".repeat(200));
        }
    }

    @Test
    void shouldKeepOneDomainsQuotaExhaustionFromAffectingAnother() throws Exception
    {
        start(SimXenstoredConfig.defaults().withQuota(SimXenstoredConfig.NODES, 20)
            .withQuota(SimXenstoredConfig.WATCHES, 3).withQuota(SimXenstoredConfig.TRANSACTIONS, 2)
            .withQuota(SimXenstoredConfig.NODE_SIZE, 100).withQuota(SimXenstoredConfig.PERMISSIONS, 2));
        final XenStoreClient dom0 = closeLater(XenStoreClient.connect(server.socketPath()));
        for (int d = 1; d <= 2; d++)
        {
            dom0.introduceDomain(d, d, d);
            dom0.mkdir("/local/domain/" + d);
            dom0.setPermissions("/local/domain/" + d, List.of(XsPermission.parse("n" + d)));
        }
        final XenStoreClient g1 = closeLater(XenStoreClient.connect(server.domainSocketPath(1)));
        final XenStoreClient g2 = closeLater(XenStoreClient.connect(server.domainSocketPath(2)));
        int written = 0;
        String last = "OK";
        while ("OK".equals(last) && written < 100)
        {
            final int n = written;
            last = errnoName(() -> g1.write("n" + n, "x"));
            if ("OK".equals(last))
            {
                written++;
            }
        }
        assertThat(last).isEqualTo("ENOSPC");
        assertThat(server.nodesOwnedBy(1)).isEqualTo(20);
        assertThat(written).isEqualTo(19);
        g2.write("fine", "yes");
        assertThat(g2.read("fine")).isEqualTo("yes");
        dom0.write("/dom0/fine", "yes");
        g1.rm("n0");
        g1.write("again", "x");

        assertThat(errnoName(() -> g2.write("big", "b".repeat(101)))).isEqualTo("ENOSPC");
        g2.write("big", "b".repeat(100));
        dom0.write("/dom0/big", "b".repeat(2000));

        assertThat(errnoName(() -> g2.setPermissions("fine", List.of(XsPermission.parse("n2"),
            XsPermission.parse("r1"), XsPermission.parse("r0"))))).isEqualTo("ENOSPC");

        for (int i = 0; i < 3; i++)
        {
            g2.watch("w" + i, "t", (p, t) -> { });
        }
        assertThat(errnoName(() -> g2.watch("w9", "t", (p, t) -> { }))).isEqualTo("E2BIG");
        g1.watch("w9", "t", (p, t) -> { });

        final String nested = g2.transaction(t1 -> g2.transaction(t2 ->
            errnoName(() -> g2.transaction(t3 -> "third"))));
        assertThat(nested).isEqualTo("ENOSPC");
    }
}
