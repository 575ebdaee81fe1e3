package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XenStoreException;
import org.dom0j.xenstore.XsPaths;
import org.dom0j.xenstore.XsPermission;
import org.dom0j.xenstore.XsWatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Java client against the simulator's xenstored, one test per operation of the list.
 */
@Timeout(60)
class SimXenstoredClientTest
{
    @TempDir
    Path dir;

    private SimXenstored server;
    private XenStoreClient xs;

    @BeforeEach
    void start() throws Exception
    {
        server = SimXenstored.start(dir.resolve("socket"), SimXenstoredConfig.defaults());
        xs = XenStoreClient.connect(server.socketPath());
    }

    @AfterEach
    void stop()
    {
        xs.close();
        server.close();
    }

    static int errno(final Runnable r)
    {
        try
        {
            r.run();
        }
        catch (final XenStoreException ex)
        {
            return ex.errno();
        }
        return 0;
    }

    @Test
    void shouldReadBackWhatWasWrittenIncludingBytes()
    {
        xs.write("/a/b", "hello");
        assertThat(xs.read("/a/b")).isEqualTo("hello");
        final byte[] raw = { 0, 1, (byte)0xff, '\n' };
        xs.write("/a/raw", raw);
        assertThat(xs.readBytes("/a/raw")).containsExactly(raw);
        assertThat(xs.read("/a")).isEmpty();
    }

    @Test
    void shouldAnswerEnoentForMissingNodes()
    {
        assertThat(errno(() -> xs.read("/nope"))).isEqualTo(Errno.ENOENT.number());
        assertThat(xs.readOrNull("/nope")).isNull();
        assertThat(xs.exists("/nope")).isFalse();
        xs.mkdir("/yes");
        assertThat(xs.exists("/yes")).isTrue();
    }

    @Test
    void shouldListChildrenInCreationOrder()
    {
        xs.write("/d/zeta", "1");
        xs.write("/d/alpha", "2");
        xs.mkdir("/d/mid");
        xs.mkdir("/d/mid");
        assertThat(xs.directory("/d")).containsExactly("zeta", "alpha", "mid");
        assertThat(xs.directory("/")).containsExactly("tool", "d");
    }

    @Test
    void shouldRemoveSubtreeAndTolerateMissingNode()
    {
        xs.write("/r/a/b/c", "x");
        xs.write("/r/keep", "y");
        xs.rm("/r/a");
        assertThat(xs.directory("/r")).containsExactly("keep");
        xs.rm("/r/a");
        assertThat(errno(() -> xs.directory("/r/a"))).isEqualTo(Errno.ENOENT.number());
    }

    @Test
    void shouldFallBackToDirectoryPartForLongChildLists()
    {
        final List<String> names = new ArrayList<>();
        for (int i = 0; i < 400; i++)
        {
            names.add(String.format("child-with-a-long-name-%04d", i));
        }
        xs.transaction(tx ->
        {
            names.forEach(n -> tx.write("/big/" + n, ""));
            return null;
        });
        assertThat(xs.directory("/big")).containsExactlyElementsOf(names);
    }

    @Test
    void shouldGetAndSetPermissions()
    {
        xs.write("/p", "v");
        assertThat(xs.getPermissions("/p")).containsExactly(new XsPermission(XsPermission.Access.NONE, 0));
        final List<XsPermission> perms = List.of(XsPermission.parse("n3"), XsPermission.parse("r5"),
            XsPermission.parse("b7"));
        xs.setPermissions("/p", perms);
        assertThat(xs.getPermissions("/p")).containsExactlyElementsOf(perms);
        xs.write("/p/child", "c");
        assertThat(xs.getPermissions("/p/child")).containsExactlyElementsOf(perms);
        assertThat(xs.getPermissions(XsPaths.INTRODUCE_DOMAIN)).containsExactly(XsPermission.parse("n0"));
    }

    @Test
    void shouldCommitTransactionAtomically()
    {
        final String result = xs.transaction(tx ->
        {
            tx.write("/t/a", "1");
            tx.write("/t/b", "2");
            assertThat(tx.readOrNull("/t/a")).isEqualTo("1");
            return "done";
        });
        assertThat(result).isEqualTo("done");
        assertThat(xs.read("/t/b")).isEqualTo("2");
    }

    @Test
    void shouldRetryTransactionOnConflict() throws Exception
    {
        xs.write("/counter", "0");
        final int threads = 4;
        final int increments = 25;
        final AtomicInteger attempts = new AtomicInteger();
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (XenStoreClient other = XenStoreClient.connect(server.socketPath()))
        {
            final List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final XenStoreClient c = t % 2 == 0 ? xs : other;
                futures.add(pool.submit(() ->
                {
                    for (int i = 0; i < increments; i++)
                    {
                        c.transaction(tx ->
                        {
                            attempts.incrementAndGet();
                            final int v = Integer.parseInt(tx.readOrNull("/counter"));
                            tx.write("/counter", Integer.toString(v + 1));
                            return null;
                        });
                    }
                }));
            }
            for (final Future<?> f : futures)
            {
                f.get();
            }
        }
        finally
        {
            pool.shutdownNow();
        }
        assertThat(xs.read("/counter")).isEqualTo(Integer.toString(threads * increments));
        assertThat(attempts.get()).isGreaterThanOrEqualTo(threads * increments);
    }

    @Test
    void shouldAnswerEagainAtCommitWhenReadNodeChanged() throws Exception
    {
        xs.write("/c", "0");
        final CountDownLatch inside = new CountDownLatch(1);
        final AtomicInteger runs = new AtomicInteger();
        xs.transaction(tx ->
        {
            tx.readOrNull("/c");
            if (runs.incrementAndGet() == 1)
            {
                xs.write("/c", "changed");
                assertThat(tx.readOrNull("/c")).as("repeatable read inside the transaction").isEqualTo("0");
                inside.countDown();
            }
            else
            {
                assertThat(tx.readOrNull("/c")).isEqualTo("changed");
            }
            tx.write("/d", "x");
            return null;
        });
        assertThat(runs.get()).isEqualTo(2);
        assertThat(inside.await(1, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void shouldFireWatchOnceAtOnceThenInOrder() throws Exception
    {
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(1000);
        xs.mkdir("/w");
        try (var w = xs.watch("/w", "tok", (p, t) -> events.add(p + "|" + t)))
        {
            assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/w|tok");
            for (int i = 0; i < 100; i++)
            {
                xs.write("/w/n" + i, "v");
            }
            for (int i = 0; i < 100; i++)
            {
                assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/w/n" + i + "|tok");
            }
            xs.write("/other", "x");
            xs.rm("/w/n0");
            assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/w/n0|tok");
            w.close();
            xs.write("/w/after", "x");
            xs.write("/w/sync", "x");
        }
        xs.read("/w/sync");
        assertThat(events.poll(200, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void shouldFilterEventsByDepthInClient() throws Exception
    {
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(100);
        xs.watch("/dp", "t", 1, (p, t) -> events.add(p));
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/dp");
        xs.write("/dp/a/b/c", "deep");
        xs.write("/dp/x", "shallow");
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/dp/x");
    }

    @Test
    void shouldFireWatchesOfRemovedDescendants() throws Exception
    {
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(100);
        xs.write("/rm/a/b", "x");
        xs.watch("/rm/a/b", "deep", (p, t) -> events.add(t + ":" + p));
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("deep:/rm/a/b");
        xs.rm("/rm");
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("deep:/rm/a/b");
    }

    @Test
    void shouldStopAllWatchesOnResetWatches() throws Exception
    {
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(100);
        xs.watch("/rw", "t", (p, t) -> events.add(p));
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/rw");
        xs.resetWatches();
        xs.write("/rw/x", "1");
        xs.read("/rw/x");
        assertThat(events.poll(200, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void shouldAnswerDomainPath()
    {
        assertThat(xs.getDomainPath(7)).isEqualTo("/local/domain/7");
    }

    @Test
    void shouldIntroduceAndReleaseDomainsWithSpecialWatches() throws Exception
    {
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(100);
        xs.watch(XsPaths.INTRODUCE_DOMAIN, "i", (p, t) -> events.add(p));
        xs.watch(XsPaths.RELEASE_DOMAIN, "r", (p, t) -> events.add(p));
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo(XsPaths.INTRODUCE_DOMAIN);
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo(XsPaths.RELEASE_DOMAIN);
        assertThat(xs.isDomainIntroduced(3)).isFalse();
        xs.introduceDomain(3, 0x1234, 7);
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo(XsPaths.INTRODUCE_DOMAIN);
        assertThat(xs.isDomainIntroduced(3)).isTrue();
        assertThat(Files.exists(server.domainSocketPath(3))).isTrue();
        xs.introduceDomain(3, 0x1234, 7);
        assertThat(errno(() -> xs.introduceDomain(3, 0x9999, 7))).isEqualTo(Errno.EEXIST.number());
        try (XenStoreClient guest = XenStoreClient.connect(server.domainSocketPath(3)))
        {
            xs.mkdir("/local/domain/3");
            xs.setPermissions("/local/domain/3", List.of(XsPermission.parse("n3")));
            guest.write("name", "guest3");
            assertThat(xs.read("/local/domain/3/name")).isEqualTo("guest3");
            xs.releaseDomain(3);
            assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo(XsPaths.RELEASE_DOMAIN);
            assertThat(errno(() -> guest.read("name"))).isEqualTo(Errno.ECONNRESET.number());
        }
        assertThat(xs.isDomainIntroduced(3)).isFalse();
        assertThat(Files.exists(server.domainSocketPath(3))).isFalse();
        assertThat(errno(() -> xs.releaseDomain(3))).isEqualTo(Errno.ENOENT.number());
    }

    @Test
    void shouldResumeSetTargetAndControl()
    {
        assertThat(errno(() -> xs.resumeDomain(4))).isEqualTo(Errno.ENOENT.number());
        xs.introduceDomain(4, 1, 1);
        xs.introduceDomain(5, 2, 2);
        xs.resumeDomain(4);
        xs.setTarget(5, 4);
        assertThat(errno(() -> xs.setTarget(5, 99))).isEqualTo(Errno.ENOENT.number());
        assertThat(xs.control("check")).isEqualTo("OK");
        assertThat(xs.control("help")).contains("print");
        assertThat(errno(() -> xs.control("no-such-command"))).isEqualTo(Errno.EINVAL.number());
    }

    @Test
    void shouldGetAndSetQuotasAndFeatures()
    {
        assertThat(xs.quotaNames(-1)).contains("nodes", "watches", "transactions", "outstanding", "node-size",
            "permissions");
        assertThat(xs.getQuota(-1, "nodes")).isEqualTo(1000);
        xs.setQuota(-1, "watches", 64);
        assertThat(xs.getQuota(-1, "watches")).isEqualTo(64);
        xs.introduceDomain(6, 1, 1);
        xs.setQuota(6, "nodes", 10);
        assertThat(xs.getQuota(6, "nodes")).isEqualTo(10);
        assertThat(xs.getQuota(-1, "nodes")).isEqualTo(1000);
        assertThat(errno(() -> xs.getQuota(-1, "bogus"))).isEqualTo(Errno.EINVAL.number());
        assertThat(xs.getFeature(-1)).isZero();
        assertThat(xs.getFeature(6)).isZero();
        xs.setFeature(6, 0);
        assertThat(errno(() -> xs.setFeature(6, 1))).isEqualTo(Errno.EINVAL.number());
    }

    @Test
    void shouldRefuseBadRequestsBeforeSending()
    {
        assertThat(errno(() -> xs.read("/bad path"))).isEqualTo(Errno.EINVAL.number());
        assertThat(errno(() -> xs.read("/a//b"))).isEqualTo(Errno.EINVAL.number());
        assertThat(errno(() -> xs.read("/a/"))).isEqualTo(Errno.EINVAL.number());
        assertThat(errno(() -> xs.read("@introduceDomain"))).isEqualTo(Errno.EINVAL.number());
        assertThat(errno(() -> xs.read("/" + "x".repeat(3100)))).isEqualTo(Errno.EINVAL.number());
        assertThat(errno(() -> xs.read("/local/domain/1/" + "x".repeat(2100)))).isEqualTo(Errno.EINVAL.number());
        assertThat(errno(() -> xs.write("/v", new byte[4096]))).isEqualTo(Errno.E2BIG.number());
        assertThatThrownBy(() -> xs.read("/bad path")).hasMessageContaining("not allowed");
        xs.write("/still", "works");
        assertThat(xs.read("/still")).isEqualTo("works");
    }

    @Test
    void shouldServeManyThreadsOnOneConnection() throws Exception
    {
        final ExecutorService pool = Executors.newFixedThreadPool(8);
        try
        {
            final List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++)
            {
                final int id = t;
                futures.add(pool.submit(() ->
                {
                    for (int i = 0; i < 200; i++)
                    {
                        final String v = id + "-" + i;
                        xs.write("/mt/" + id, v);
                        assertThat(xs.read("/mt/" + id)).isEqualTo(v);
                    }
                }));
            }
            for (final Future<?> f : futures)
            {
                f.get();
            }
        }
        finally
        {
            pool.shutdownNow();
        }
        assertThat(xs.directory("/mt")).hasSize(8);
    }

    @Test
    void shouldFailPendingAndLaterRequestsWhenServerGoesAway()
    {
        xs.write("/x", "1");
        server.close();
        assertThat(errno(() -> xs.read("/x"))).isEqualTo(Errno.ECONNRESET.number());
        assertThat(errno(() -> xs.read("/x"))).isEqualTo(Errno.ECONNRESET.number());
    }

    @Test
    void shouldCloseAWatchQuietlyOnceTheServerWentAway()
    {
        final XsWatch before = xs.watch("/w", "t", (path, token) -> { });
        server.close();
        // whether or not the reader has seen the connection go yet: a dead connection has no watch left to undo
        before.close();
        assertThat(errno(() -> xs.read("/w"))).isEqualTo(Errno.ECONNRESET.number());
        final XsWatch[] after = new XsWatch[1];
        assertThat(errno(() -> after[0] = xs.watch("/w", "u", (path, token) -> { })))
            .isEqualTo(Errno.ECONNRESET.number());
    }

    @Test
    void shouldOpenThroughXenstoredPath()
    {
        try (XenStoreClient c = XenStoreClient.open(java.util.Map.of(XenStoreClient.PATH_ENV,
            server.socketPath().toString())))
        {
            c.write("/via/env", "ok".getBytes(StandardCharsets.UTF_8));
            assertThat(c.describe()).contains(server.socketPath().toString());
        }
        assertThat(xs.read("/via/env")).isEqualTo("ok");
        assertThatThrownBy(() -> XenStoreClient.open(java.util.Map.of(XenStoreClient.PATH_ENV,
            dir.resolve("none").toString()))).isInstanceOf(XenStoreException.class)
            .hasMessageContaining("XENSTORED_PATH");
    }

    @Test
    void shouldApplyBackpressureAndLoseNoEventsWhenListenerIsSlow() throws Exception
    {
        final CountDownLatch release = new CountDownLatch(1);
        final List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch all = new CountDownLatch(101);
        try (XenStoreClient small = XenStoreClient.connect(server.socketPath(), 4))
        {
            small.watch("/slow", "t", (p, t) ->
            {
                try
                {
                    release.await();
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
                seen.add(p);
                all.countDown();
            });
            for (int i = 0; i < 100; i++)
            {
                xs.write("/slow/n" + i, "v");
            }
            release.countDown();
            assertThat(all.await(30, TimeUnit.SECONDS)).isTrue();
            small.write("/slow-still-works", "1");
        }
        assertThat(seen.get(0)).isEqualTo("/slow");
        for (int i = 0; i < 100; i++)
        {
            assertThat(seen.get(i + 1)).isEqualTo("/slow/n" + i);
        }
    }

    @Test
    void shouldCloseWithEoverflowWhenQueueFillsWhileListenerWaitsForReply() throws Exception
    {
        final CountDownLatch release = new CountDownLatch(1);
        final BlockingQueue<Integer> listenerErrors = new ArrayBlockingQueue<>(10);
        final AtomicInteger calls = new AtomicInteger();
        try (XenStoreClient small = XenStoreClient.connect(server.socketPath(), 4))
        {
            small.watch("/ovf", "t", (p, t) ->
            {
                if (calls.incrementAndGet() != 1)
                {
                    return;
                }
                try
                {
                    release.await();
                    small.read("/tool");
                    listenerErrors.add(0);
                }
                catch (final XenStoreException ex)
                {
                    listenerErrors.add(ex.errno());
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            });
            for (int i = 0; i < 20; i++)
            {
                xs.write("/ovf/n" + i, "v");
            }
            release.countDown();
            assertThat(listenerErrors.poll(30, TimeUnit.SECONDS)).isEqualTo(Errno.EOVERFLOW.number());
            assertThat(errno(() -> small.read("/tool"))).isEqualTo(Errno.EOVERFLOW.number());
        }
        xs.write("/ovf/after", "server unaffected");
    }

    @Test
    void shouldIntroduceAndReleaseFromTheSimulatorHost() throws Exception
    {
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(10);
        xs.watch(XsPaths.INTRODUCE_DOMAIN, "i", (p, t) -> events.add(p));
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo(XsPaths.INTRODUCE_DOMAIN);
        server.introduceDomain(9, 1, 2);
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo(XsPaths.INTRODUCE_DOMAIN);
        assertThat(xs.isDomainIntroduced(9)).isTrue();
        assertThat(errno(() -> server.introduceDomain(9, 5, 2))).isEqualTo(Errno.EEXIST.number());
        assertThat(errno(() -> server.introduceDomain(0x7FF0, 5, 2))).isEqualTo(Errno.EINVAL.number());
        server.releaseDomain(9);
        assertThat(xs.isDomainIntroduced(9)).isFalse();
        assertThat(errno(() -> server.releaseDomain(9))).isEqualTo(Errno.ENOENT.number());
    }

    @Test
    void shouldFireReleaseDomainWhenDomainShutsDownAndClearOnResume() throws Exception
    {
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(10);
        server.introduceDomain(11, 1, 2);
        xs.watch(XsPaths.RELEASE_DOMAIN, "r", (p, t) -> events.add(p));
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo(XsPaths.RELEASE_DOMAIN);
        server.domainShutDown(11);
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo(XsPaths.RELEASE_DOMAIN);
        assertThat(server.isShutDown(11)).isTrue();
        assertThat(xs.isDomainIntroduced(11)).isTrue();
        xs.resumeDomain(11);
        assertThat(server.isShutDown(11)).isFalse();
    }
}
