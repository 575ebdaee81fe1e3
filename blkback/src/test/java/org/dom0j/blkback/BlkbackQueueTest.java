package org.dom0j.blkback;

import org.dom0j.blkback.jna.IoUring;
import org.dom0j.blkback.jna.NativeFile;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.QueueCounters;
import org.dom0j.backend.RingAgent;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.blkif.BlkifAbi;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimHost;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_RESERVED_1;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_EOPNOTSUPP;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_ERROR;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_OKAY;

/**
 * One blkback queue against a simulated guest that writes its requests by hand: data integrity on both data
 * paths, and every rule a hostile frontend can break.
 */
@Timeout(60)
class BlkbackQueueTest
{
    private static final int DISK_SECTORS = 8192;
    /** What serve uses by default here: io_uring where the kernel allows it. */
    private static final IoEngine ENGINE = IoUring.isAvailable() ? IoEngine.URING : IoEngine.SYNC;

    /** Where a disk on tmpfs goes. */
    private static final Path SHM = Path.of("/dev/shm");

    @TempDir
    Path dir;

    private SimHost host;
    private SimDomain dom0;
    private Path diskFile;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    /** The persistent-grant bound of the queues made from here on. */
    private int persistentMax = PersistentGrants.DEFAULT_MAX;
    private final CountersManager countersManager = new CountersManager(
        new UnsafeBuffer(ByteBuffer.allocateDirect(128 * 1024)),
        new UnsafeBuffer(ByteBuffer.allocateDirect(32 * 1024)));

    /**
     * A queue and its frontend. The queue runs in a {@link RingAgent}, as under {@code dom0j serve}: the agent drains
     * its events, counts, and makes the final check; the test calls {@link RingAgent#doWork} where serve's thread
     * would.
     */
    private final class Pair
    {
        final TestBlkfront front;
        final BlkbackQueue queue;
        final QueueCounters queueCounters;
        final ConnectedQueue connected;
        final RingAgent agent;
        final GrantTables gnttab;
        final GrantMapping ringMapping;
        final Disk disk;
        private final TestQueue testQueue;

        Pair(final int domid, final BlkifAbi abi, final DataPath path, final boolean persistent, final boolean ro,
            final GrantTables wrapper) throws IOException
        {
            this(domid, abi, path, persistent, ro, wrapper, ENGINE);
        }

        Pair(final int domid, final BlkifAbi abi, final DataPath path, final boolean persistent, final boolean ro,
            final GrantTables wrapper, final IoEngine engine) throws IOException
        {
            this(domid, abi, path, persistent, ro, wrapper, engine, false, true);
        }

        /** With {@code mapped} reads are served from the disk's mapped page cache (what serve does by default). */
        Pair(final int domid, final BlkifAbi abi, final DataPath path, final boolean persistent, final boolean ro,
            final GrantTables wrapper, final IoEngine engine, final boolean direct, final boolean mapped)
            throws IOException
        {
            assumeTrue(engine != IoEngine.URING || IoUring.isAvailable(), "io_uring is not available here");
            final SimDomain guest = host.createDomain(domid, 2048);
            front = new TestBlkfront(guest, abi);
            gnttab = null == wrapper ? dom0.openGrantTables() : wrapper;
            disk = Disk.open(diskFile, ro, direct, false, false);
            final RequestValidator validator = new RequestValidator(disk.sectors512(), ro, 256, true, true, true,
                false);
            final TestQueue q = new TestQueue(dom0, countersManager, domid, front, gnttab, disk, validator,
                context -> context
                    .abi(abi)
                    .dataPath(path)
                    .persistentGrants(persistent ? new PersistentGrants(persistentMax) : null)
                    .ioEngine(engine)
                    .mapPageCache(mapped));
            ringMapping = q.ringMapping;
            queueCounters = q.queueCounters;
            connected = q.connected;
            queue = q.queue;
            agent = q.agent;
            testQueue = q;
            // The mapped path is what these tests check: no measured switch to bounce pages under them.
            queue.pageCacheChoice(PageCacheChoice.alwaysMapped());
            assertThat(queue.ioEngine()).as("io_uring refused here (the map path reads and writes with preadv)")
                .isEqualTo(path == DataPath.MAP ? IoEngine.SYNC : engine);
            assertThat(queue.readsFromPageCache()).as("reads from the mapped page cache")
                .isEqualTo(mapped && path == DataPath.COPY && !direct);
            assertThat(queue.writesToPageCache()).as("writes into the mapped page cache (on tmpfs)")
                .isEqualTo(queue.readsFromPageCache() && !ro && diskFile.startsWith(SHM));
            closeables.add(q);
            closeables.add(disk);
        }

        void serve()
        {
            testQueue.serve();
        }

        TestBlkfront.Response last()
        {
            return front.responses.get(front.responses.size() - 1);
        }

        /** Writes {@code pages} pages of pattern {@code seed} at {@code sector}, one full-page segment each. */
        int[][] write(final long id, final long sector, final int pages, final int seed)
        {
            final int[][] granted = new int[pages][];
            final int at = front.claim(BLKIF_OP_WRITE, pages, id, sector);
            for (int i = 0; i < pages; i++)
            {
                granted[i] = front.grantedPage(true);
                fill(front.guest.page(granted[i][0]), seed + i);
                front.segment(at, i, granted[i][1], 0, 7);
            }
            front.push();
            return granted;
        }

        /**
         * An indirect write of {@code pages} pages of patterns {@code seed}, {@code seed + 1}, ... at {@code sector};
         * when {@code badAt} is a segment number, that segment names a grant never given.
         */
        void writeIndirect(final long id, final long sector, final int pages, final int seed, final int badAt)
        {
            indirect(BLKIF_OP_WRITE, id, sector, pages, seed, badAt);
        }

        int[][] readIndirect(final long id, final long sector, final int pages)
        {
            return indirect(BLKIF_OP_READ, id, sector, pages, 0, -1);
        }

        private int[][] indirect(
            final int op, final long id, final long sector, final int pages, final int seed, final int badAt)
        {
            final int[] list = front.grantedPage(true);
            final UnsafeBuffer segments = front.guest.page(list[0]);
            final int[][] data = new int[pages][];
            for (int i = 0; i < pages; i++)
            {
                data[i] = front.grantedPage(op == BLKIF_OP_WRITE);
                if (op == BLKIF_OP_WRITE)
                {
                    fill(front.guest.page(data[i][0]), seed + i);
                }
                segments.putInt(i * 8, i == badAt ? 1999 : data[i][1], TestBlkfront.LE);
                segments.putByte(i * 8 + 4, (byte)0);
                segments.putByte(i * 8 + 5, (byte)7);
            }
            front.claimIndirect(op, pages, id, sector, new int[]{ list[1] });
            front.push();
            return data;
        }

        int[][] read(final long id, final long sector, final int pages)
        {
            final int[][] granted = new int[pages][];
            final int at = front.claim(BLKIF_OP_READ, pages, id, sector);
            for (int i = 0; i < pages; i++)
            {
                granted[i] = front.grantedPage(false);
                front.segment(at, i, granted[i][1], 0, 7);
            }
            front.push();
            return granted;
        }
    }

    @BeforeEach
    void setUp() throws IOException
    {
        host = SimHost.open(dir.resolve("sim"));
        dom0 = host.domainOrCreate(0, SimHost.DOM0_PAGES);
        diskFile = NativeFile.createSparse(dir.resolve("disk.img"), (long)DISK_SECTORS * 512);
    }

    /** With {@code tmpfs}, puts the disk on tmpfs, where the queue maps it for writing too. */
    private void diskOnTmpfs(final boolean tmpfs) throws IOException
    {
        if (!tmpfs)
        {
            return;
        }
        assumeTrue(Files.isDirectory(SHM), "no /dev/shm here");
        final Path file = SHM.resolve("dom0j-blkback-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        diskFile = NativeFile.createSparse(file, (long)DISK_SECTORS * 512);
        closeables.add(0, () -> Files.deleteIfExists(file));
    }

    /**
     * The set-ups the batch tests run on: data path, I/O engine, O_DIRECT, through the mapped page cache, disk on
     * tmpfs (where writes go through the mapping too).
     */
    static Stream<Arguments> batchSetups()
    {
        return Stream.of(
            Arguments.of(DataPath.COPY, IoEngine.SYNC, false, true, false),
            Arguments.of(DataPath.COPY, IoEngine.SYNC, false, false, false),
            Arguments.of(DataPath.COPY, IoEngine.URING, false, true, false),
            Arguments.of(DataPath.COPY, IoEngine.URING, true, false, false),
            Arguments.of(DataPath.MAP, IoEngine.SYNC, false, false, false),
            Arguments.of(DataPath.COPY, IoEngine.SYNC, false, true, true));
    }

    @AfterEach
    void tearDown() throws Exception
    {
        for (int i = closeables.size() - 1; i >= 0; i--)
        {
            closeables.get(i).close();
        }
        host.close();
    }

    @ParameterizedTest
    @CsvSource({ "X86_64,COPY,false", "X86_64,MAP,false", "X86_64,MAP,true", "X86_32,COPY,false", "X86_32,MAP,true" })
    void shouldWriteThenReadBackTheSameBytes(final BlkifAbi abi, final DataPath path, final boolean persistent)
        throws IOException
    {
        final Pair p = new Pair(3, abi, path, persistent, false, null);

        p.write(1, 16, 3, 40);
        p.serve();
        assertThat(p.last()).isEqualTo(new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_OKAY));
        final byte[] onDisk = Files.readAllBytes(diskFile);
        assertThat(onDisk[16 * 512]).isEqualTo(pattern(40, 0));
        assertThat(onDisk[16 * 512 + 3 * 4096 - 1]).isEqualTo(pattern(42, 4095));

        final int[][] pages = p.read(2, 16, 3);
        p.serve();
        assertThat(p.last()).isEqualTo(new TestBlkfront.Response(2, BLKIF_OP_READ, BLKIF_RSP_OKAY));
        for (int i = 0; i < 3; i++)
        {
            assertThat(checksum(p.front.guest.page(pages[i][0]))).isEqualTo(checksum(40 + i));
        }
        assertThat(p.queue.counters().writeSectors()).isEqualTo(24);
        assertThat(p.queue.counters().readSectors()).isEqualTo(24);
        assertThat(p.queue.counters().outOfResources()).as("oo_req: nothing ran out").isZero();
        assertThat(p.gnttab.mappedPageCount()).as("only the ring (and persistent grants of reads) stay mapped")
            .isEqualTo(1 + (persistent ? 3 : 0));
    }

    @Test
    void shouldLetAnIdleQueueSleepUntilItsNextTimedDuty() throws IOException
    {
        // A hundred idle disks polled every millisecond took a CPU of dom0j serve: every request comes with an event.
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.write(1, 16, 2, 7);
        p.serve();
        assertThat(p.last()).isEqualTo(new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_OKAY));
        assertThat(p.queue.idleWaitNanos(p.connected, System.nanoTime()))
            .isEqualTo(BlkbackQueue.IDLE_WAIT_NANOS);

        // Watching the disk's size: until the next check, at most a second away.
        p.queue.watchDiskSize(sectors -> { });
        p.serve();
        final long wait = p.queue.idleWaitNanos(p.connected, System.nanoTime());
        assertThat(wait).isPositive().isLessThanOrEqualTo(DiskSizeWatcher.SIZE_CHECK_INTERVAL_NANOS);
        assertThat(p.queue.idleWaitNanos(p.connected, System.nanoTime() + DiskSizeWatcher.SIZE_CHECK_INTERVAL_NANOS))
            .isZero();
    }

    @Test
    void shouldWakeForThePurgeWhileItHoldsPersistentGrants() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.MAP, true, false, null);
        assertThat(p.queue.idleWaitNanos(p.connected, System.nanoTime()))
            .isEqualTo(BlkbackQueue.IDLE_WAIT_NANOS);
        p.write(1, 16, 2, 7);
        p.serve();
        p.read(2, 16, 2);
        p.serve();
        assertThat(p.last()).isEqualTo(new TestBlkfront.Response(2, BLKIF_OP_READ, BLKIF_RSP_OKAY));
        assertThat(p.gnttab.mappedPageCount()).as("the ring and 2 persistent grants").isEqualTo(3);
        // Until the purge the last pass scheduled is due, by the reading given (which may be a tick behind)
        final long now = System.nanoTime();
        assertThat(p.queue.idleWaitNanos(p.connected, now)).isBetween(0L, PersistentGrants.PURGE_INTERVAL_NANOS);
        assertThat(p.queue.idleWaitNanos(p.connected, now + PersistentGrants.PURGE_INTERVAL_NANOS))
            .as("a purge interval later it is due: no wait").isZero();
    }

    @Test
    void shouldKeepNoMoreGrantsMappedThanThePersistentBound() throws IOException
    {
        // A guest that offers new grants with every request: 15 distinct pages, a bound of 4. Linux's is 1056
        // (PersistentGrants.DEFAULT_MAX); PersistentGrantsTest checks that bound and the purge.
        persistentMax = 4;
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.MAP, true, false, null);
        p.write(1, 16, 3, 40);
        p.serve();
        assertThat(p.last()).isEqualTo(new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_OKAY));
        for (int id = 2; id <= 5; id++)
        {
            final int[][] pages = p.read(id, 16, 3);
            p.serve();
            assertThat(p.last()).isEqualTo(new TestBlkfront.Response(id, BLKIF_OP_READ, BLKIF_RSP_OKAY));
            for (int i = 0; i < 3; i++)
            {
                assertThat(checksum(p.front.guest.page(pages[i][0]))).as("request %d page %d", id, i)
                    .isEqualTo(checksum(40 + i));
            }
        }
        assertThat(p.gnttab.mappedPageCount()).as("the ring and 4 persistent grants; the others were unmapped")
            .isEqualTo(1 + 4);
    }

    @Test
    void shouldHonourPartialSegments() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        final int[] page = p.front.grantedPage(true);
        fill(p.front.guest.page(page[0]), 9);
        final int at = p.front.claim(BLKIF_OP_WRITE, 1, 5, 100);
        p.front.segment(at, 0, page[1], 2, 4);
        p.front.push();
        p.serve();

        assertThat(p.last().status()).isEqualTo(BLKIF_RSP_OKAY);
        final byte[] onDisk = Files.readAllBytes(diskFile);
        assertThat(onDisk[100 * 512]).isEqualTo(pattern(9, 1024));
        assertThat(onDisk[100 * 512 + 3 * 512 - 1]).isEqualTo(pattern(9, 1024 + 1535));
        assertThat(onDisk[100 * 512 + 3 * 512]).isZero();
    }

    @ParameterizedTest
    @EnumSource(DataPath.class)
    void shouldServeAnIndirectWriteAndRead(final DataPath path) throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, path, false, false, null);
        final int segments = 40;
        final int[] indirect = p.front.grantedPage(true);
        final UnsafeBuffer list = p.front.guest.page(indirect[0]);
        final int[][] data = new int[segments][];
        for (int i = 0; i < segments; i++)
        {
            data[i] = p.front.grantedPage(true);
            fill(p.front.guest.page(data[i][0]), 100 + i);
            list.putInt(i * 8, data[i][1], TestBlkfront.LE);
            list.putByte(i * 8 + 4, (byte)0);
            list.putByte(i * 8 + 5, (byte)7);
        }
        p.front.claimIndirect(BLKIF_OP_WRITE, segments, 77, 0, new int[]{ indirect[1] });
        p.front.push();
        p.serve();

        // As Linux: the response names the operation performed (indirect_op), which blkfront checks.
        assertThat(p.last()).isEqualTo(new TestBlkfront.Response(77, BLKIF_OP_WRITE, BLKIF_RSP_OKAY));
        final byte[] onDisk = Files.readAllBytes(diskFile);
        for (int i = 0; i < segments; i++)
        {
            assertThat(onDisk[i * 4096 + 7]).isEqualTo(pattern(100 + i, 7));
        }
    }

    @Test
    void shouldCopyOnlyTheDescriptorsAnIndirectPageHolds() throws IOException
    {
        // 40 segments: 320 bytes of the indirect page are the request's, the rest is the guest's to fill as it likes
        // (here: descriptors that would fail validation); only those 320 bytes are copied in, and the write is served
        final GrantTables real = dom0.openGrantTables();
        final List<Integer> lengths = new ArrayList<>();
        final GrantTables seeing = new RacingGrantTables(() -> real, () -> { }).seeing(batch ->
        {
            if (lengths.isEmpty())
            {
                for (int i = 0; i < batch.count(); i++)
                {
                    lengths.add(batch.length(i));
                }
            }
        });
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, seeing);
        final int segments = 40;
        final int[] indirect = p.front.grantedPage(true);
        final UnsafeBuffer list = p.front.guest.page(indirect[0]);
        list.setMemory(0, 4096, (byte)0xFF);
        for (int i = 0; i < segments; i++)
        {
            final int[] data = p.front.grantedPage(true);
            fill(p.front.guest.page(data[0]), 200 + i);
            list.putInt(i * 8, data[1], TestBlkfront.LE);
            list.putByte(i * 8 + 4, (byte)0);
            list.putByte(i * 8 + 5, (byte)7);
            list.putShort(i * 8 + 6, (short)0);
        }
        p.front.claimIndirect(BLKIF_OP_WRITE, segments, 78, 0, new int[]{ indirect[1] });
        p.front.push();
        p.serve();

        assertThat(lengths).as("the indirect page's copy").containsExactly(segments * 8);
        assertThat(p.last()).isEqualTo(new TestBlkfront.Response(78, BLKIF_OP_WRITE, BLKIF_RSP_OKAY));
        final byte[] onDisk = Files.readAllBytes(diskFile);
        for (int i = 0; i < segments; i++)
        {
            assertThat(onDisk[i * 4096 + 4095]).isEqualTo(pattern(200 + i, 4095));
        }
    }

    @Test
    void shouldRejectRequestWithTwelveSegmentsAndGoOn() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.front.claim(BLKIF_OP_WRITE, 12, 1, 0);
        p.front.push();
        p.write(2, 0, 1, 1);
        p.serve();

        assertThat(p.front.responses).containsExactly(
            new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_ERROR),
            new TestBlkfront.Response(2, BLKIF_OP_WRITE, BLKIF_RSP_OKAY));
        assertThat(p.queue.counters().errors()).isEqualTo(1);
        assertThat(p.queueCounters.errors().get()).isEqualTo(1);
        assertThat(p.queue.violation()).isNull();
    }

    @Test
    void shouldCountEachRequestAnsweredWithAnErrorInTheQueueCountersToo() throws IOException
    {
        // The queue's own counters (what dom0j top shows for every device type) count bad requests as blkback's do.
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.front.claim(BLKIF_OP_WRITE, 12, 1, 0);
        p.front.push();
        p.write(2, 0, 1, 1);
        final int at = p.front.claim(BLKIF_OP_READ, 1, 3, 0);
        p.front.segment(at, 0, 1999, 0, 7);
        p.front.push();
        p.front.claim(BLKIF_OP_RESERVED_1, 0, 4, 0);
        p.front.push();
        p.serve();

        assertThat(p.front.responses).extracting(TestBlkfront.Response::status)
            .as("refused by validation, served, a grant never given, an unsupported operation")
            .containsExactly(BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP);
        assertThat(p.queueCounters.errors().get()).as("the queue's errors").isEqualTo(3);
        assertThat(p.queue.counters().errors()).as("blkback's errors").isEqualTo(3);
        assertThat(p.queueCounters.responses().get()).isEqualTo(4);
    }

    @ParameterizedTest
    @CsvSource({ "URING,true", "URING,false", "SYNC,true" })
    void shouldCountEveryNotificationTheFrontendReceives(final IoEngine engine, final boolean large)
        throws IOException
    {
        // With io_uring a large request completes on its own, outside a bite off the ring, and its answer is pushed
        // at once: that notification must be counted (notifications-sent) as the bites' are. The page cache is not
        // mapped, so large reads are streamed too.
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null, engine, false, false);
        final int pages = large ? LargePipeline.PIPELINE_BYTES / 4096 : 2;
        final int requests = 8;
        int received = 0;
        for (int id = 0; id < requests; id++)
        {
            final long sector = (long)(id % 4) * pages * 8;
            if ((id & 1) == 0)
            {
                p.writeIndirect(id, sector, pages, id, -1);
            }
            else
            {
                p.readIndirect(id, sector, pages);
            }
            for (int i = 0; i < 10_000 && p.front.responses.size() <= id; i++)
            {
                p.agent.doWork();
                received += p.front.takeEvents();
                p.front.collect();
            }
        }

        assertThat(p.front.responses).hasSize(requests).extracting(TestBlkfront.Response::status)
            .containsOnly(BLKIF_RSP_OKAY);
        assertThat(received).as("each answer comes with the notification the frontend asked for").isEqualTo(requests);
        assertThat(p.queueCounters.notificationsSent().get()).as("notifications-sent").isEqualTo(received);
    }

    @Test
    void shouldServeFromTheRingWhileSpinningAndTakeEventsOnlyAfterWaiting() throws IOException
    {
        // Under serve's event-driven scheduler a spinning agent reads the ring's indices, not the event channel (a
        // system call): the frontend's notification stays queued until the idle strategy is about to block.
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null, IoEngine.SYNC, false, false);
        p.agent.takeEventsOnlyAfterWaiting();
        p.agent.idleWaitNanos(1_000_000);
        p.agent.doWork();
        final long before = p.queueCounters.eventsReceived().get();

        p.writeIndirect(1, 0, 2, 1, -1);
        for (int i = 0; i < 100 && p.front.responses.isEmpty(); i++)
        {
            p.agent.doWork();
            p.front.collect();
        }

        assertThat(p.front.responses).as("served from the ring's indices").hasSize(1)
            .extracting(TestBlkfront.Response::status).containsOnly(BLKIF_RSP_OKAY);
        assertThat(p.queueCounters.eventsReceived().get()).as("no event taken while spinning").isEqualTo(before);
        assertThat(p.agent.queue().eventChannels().awaitEvent(0)).as("the notification is still queued").isTrue();
        p.agent.idleWaitNanos(1_000_000);
        p.agent.doWork();
        assertThat(p.queueCounters.eventsReceived().get()).as("taken on the pass after the wait").isEqualTo(before + 1);
        assertThat(p.agent.queue().eventChannels().awaitEvent(0)).isFalse();
    }

    @Test
    void shouldCountOutOfRequestsWhenALargeRequestWaitsForAFreeSlot() throws IOException
    {
        // Linux's oo_req: the ring waited because the backend ran out of request resources. Here, one more large
        // request than there are slots, all taken in one bite: the last waits for a slot.
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null, IoEngine.URING, false, false);
        final int pages = LargePipeline.PIPELINE_BYTES / 4096;
        final int requests = LargePipeline.LARGE_REQUESTS_IN_FLIGHT + 1;
        for (int r = 0; r < requests; r++)
        {
            p.writeIndirect(r, (long)r * pages * 8, pages, 100 * r, -1);
        }
        p.serve();

        assertThat(p.front.responses).hasSize(requests).extracting(TestBlkfront.Response::status)
            .containsOnly(BLKIF_RSP_OKAY);
        assertThat(p.queue.counters().outOfResources()).isEqualTo(1);
    }

    @Test
    void shouldRejectFirstSectAfterLastSectAndFirstSectPastSeven() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        final int[] page = p.front.grantedPage(true);
        int at = p.front.claim(BLKIF_OP_WRITE, 1, 1, 0);
        p.front.segment(at, 0, page[1], 5, 4);
        p.front.push();
        at = p.front.claim(BLKIF_OP_WRITE, 1, 2, 0);
        p.front.segment(at, 0, page[1], 8, 9);
        p.front.push();
        p.serve();

        assertThat(p.front.responses).extracting(TestBlkfront.Response::status)
            .containsExactly(BLKIF_RSP_ERROR, BLKIF_RSP_ERROR);
    }

    @Test
    void shouldRejectASectorRangePastTheEnd() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.write(1, DISK_SECTORS - 7, 1, 1);
        p.serve();

        assertThat(p.last().status()).isEqualTo(BLKIF_RSP_ERROR);
        assertThat(Files.size(diskFile)).isEqualTo(DISK_SECTORS * 512L);
    }

    @ParameterizedTest
    @EnumSource(DataPath.class)
    void shouldRejectAnUngrantedOrForeignGrant(final DataPath path) throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, path, false, false, null);
        int at = p.front.claim(BLKIF_OP_READ, 1, 1, 0);
        p.front.segment(at, 0, 1999, 0, 7);
        p.front.push();
        final int frame = p.front.guest.allocatePage();
        final int foreign = p.front.guest.grantAccess(5, frame, false);
        at = p.front.claim(BLKIF_OP_READ, 1, 2, 0);
        p.front.segment(at, 0, foreign, 0, 7);
        p.front.push();
        final int readOnly = p.front.grantedPage(true)[1];
        at = p.front.claim(BLKIF_OP_READ, 1, 3, 0);
        p.front.segment(at, 0, readOnly, 0, 7);
        p.front.push();
        p.serve();

        assertThat(p.front.responses).extracting(TestBlkfront.Response::status)
            .as("never granted, granted to domain 5, read-only grant for a read (the backend must write it)")
            .containsExactly(BLKIF_RSP_ERROR, BLKIF_RSP_ERROR, BLKIF_RSP_ERROR);
        assertThat(p.gnttab.mappedPageCount()).isEqualTo(1);
    }

    @Test
    void shouldAnswerEopnotsuppToTheReservedOperation() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.front.claim(BLKIF_OP_RESERVED_1, 0, 9, 0);
        p.front.push();
        p.serve();

        assertThat(p.last()).isEqualTo(new TestBlkfront.Response(9, BLKIF_OP_RESERVED_1, BLKIF_RSP_EOPNOTSUPP));
    }

    @Test
    void shouldRefuseWritesToAReadOnlyDisk() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, true, null);
        p.write(1, 0, 1, 1);
        p.serve();

        assertThat(p.last().status()).isEqualTo(BLKIF_RSP_ERROR);
        assertThat(Files.readAllBytes(diskFile)[0]).isZero();
    }

    @Test
    void shouldFlushAndBarrier() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.write(1, 0, 1, 1);
        p.front.claim(BLKIF_OP_FLUSH_DISKCACHE, 0, 2, 0);
        p.front.push();
        final int[] page = p.front.grantedPage(true);
        fill(p.front.guest.page(page[0]), 3);
        final int at = p.front.claim(BLKIF_OP_WRITE_BARRIER, 1, 3, 8);
        p.front.segment(at, 0, page[1], 0, 7);
        p.front.push();
        p.serve();

        assertThat(p.front.responses).extracting(TestBlkfront.Response::status)
            .containsExactly(BLKIF_RSP_OKAY, BLKIF_RSP_OKAY, BLKIF_RSP_OKAY);
        assertThat(p.queue.counters().flushRequests()).isEqualTo(2);
        assertThat(Files.readAllBytes(diskFile)[8 * 512]).isEqualTo(pattern(3, 0));
    }

    @Test
    void shouldDiscardByPunchingAHole() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.write(1, 0, 4, 1);
        final int at = p.front.claim(BLKIF_OP_DISCARD, 0, 2, 8);
        p.front.ringPage.putLong(at + BlkifAbi.X86_64.discardNrSectorsOffset(), 16, TestBlkfront.LE);
        p.front.push();
        p.serve();

        assertThat(p.last().status()).isEqualTo(BLKIF_RSP_OKAY);
        final byte[] onDisk = Files.readAllBytes(diskFile);
        assertThat(onDisk[8 * 512 - 1]).isEqualTo(pattern(1, 4095));
        assertThat(onDisk[8 * 512]).isZero();
        assertThat(onDisk[24 * 512 - 1]).isZero();
        assertThat(onDisk[24 * 512]).isEqualTo(pattern(4, 0));
    }

    @Test
    void shouldUseOnlyTheCopyWhenTheFrontendRewritesARequestAfterPostingIt() throws IOException
    {
        // XSA-155: the guest races the backend, rewriting the slot while its request is being served. The
        // decorator rewrites sector, segment count and grant in the shared slot at the first grant copy.
        final GrantTables[] real = new GrantTables[1];
        final int[] slot = new int[1];
        final TestBlkfront[] front = new TestBlkfront[1];
        final GrantTables racing = new RacingGrantTables(() -> real[0], () ->
        {
            final int sectorAt = slot[0] + BlkifAbi.X86_64.sectorNumberOffset();
            front[0].ringPage.putLong(sectorAt, DISK_SECTORS - 1, TestBlkfront.LE);
            front[0].ringPage.putByte(slot[0] + 1, (byte)11);
            front[0].ringPage.putInt(slot[0] + BlkifAbi.X86_64.segmentsOffset(), 12345, TestBlkfront.LE);
        });
        real[0] = dom0.openGrantTables();
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, racing);
        front[0] = p.front;
        final int[] page = p.front.grantedPage(true);
        fill(p.front.guest.page(page[0]), 5);
        slot[0] = p.front.claim(BLKIF_OP_WRITE, 1, 1, 32);
        p.front.segment(slot[0], 0, page[1], 0, 7);
        p.front.push();
        p.serve();

        assertThat(p.last()).isEqualTo(new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_OKAY));
        assertThat(Files.readAllBytes(diskFile)[32 * 512]).isEqualTo(pattern(5, 0));
        assertThat(p.queue.counters().writeSectors()).isEqualTo(8);
    }

    @Test
    void shouldWriteEveryResponseSlotWhole() throws IOException
    {
        // XSA-216: fill the whole ring with 0xFF first; after the response, every byte of it that is not a field
        // must be zero.
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.front.ringPage.setMemory(64, 4096 - 64, (byte)0xFF);
        p.write(0x0102030405060708L, 0, 1, 1);
        p.serve();

        final int slot = p.front.layout.slotOffset(0);
        final byte[] response = new byte[16];
        p.front.ringPage.getBytes(slot, response);
        assertThat(response).containsExactly(8, 7, 6, 5, 4, 3, 2, 1, BLKIF_OP_WRITE, 0, 0, 0, 0, 0, 0, 0);
    }

    @Test
    void shouldDisableOnlyTheDeviceWhoseRingOverflows() throws IOException
    {
        final Pair hostile = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        final Pair good = new Pair(4, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        hostile.front.ringPage.putIntRelease(0, 32 + 5);
        hostile.front.evtchn.notify(hostile.front.port);
        good.write(1, 0, 1, 1);
        hostile.serve();
        good.serve();

        assertThat(hostile.queue.violation()).contains("RING_REQUEST_PROD_OVERFLOW");
        assertThat(hostile.front.responses).isEmpty();
        assertThat(good.last().status()).isEqualTo(BLKIF_RSP_OKAY);
        assertThat(hostile.agent.doWork()).as("a disabled queue reads nothing more").isLessThanOrEqualTo(1);
    }

    @ParameterizedTest
    @MethodSource("batchSetups")
    void shouldFailOnlyTheRequestWithABadGrantInTheMiddleOfABatch(
        final DataPath path, final IoEngine engine, final boolean direct, final boolean mapped, final boolean tmpfs)
        throws IOException
    {
        diskOnTmpfs(tmpfs);
        final Pair p = new Pair(3, BlkifAbi.X86_64, path, false, false, null, engine, direct, mapped);
        p.write(1, 0, 2, 10);
        p.write(2, 64, 1, 20);
        p.read(3, 0, 2);
        p.write(4, 128, 1, 30);
        // Between good requests, all taken in one pass: a write naming a grant never given (its second segment),
        // and a read into a page granted read-only (the backend would have to write it).
        final int[] good = p.front.grantedPage(true);
        fill(p.front.guest.page(good[0]), 40);
        int at = p.front.claim(BLKIF_OP_WRITE, 2, 5, 256);
        p.front.segment(at, 0, good[1], 0, 7);
        p.front.segment(at, 1, 1999, 0, 7);
        p.front.push();
        at = p.front.claim(BLKIF_OP_READ, 1, 6, 0);
        p.front.segment(at, 0, p.front.grantedPage(true)[1], 0, 7);
        p.front.push();
        final int[][] readBack = p.read(7, 64, 1);
        p.serve();

        assertThat(p.front.responses).containsExactly(
            new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(2, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(3, BLKIF_OP_READ, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(4, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(5, BLKIF_OP_WRITE, BLKIF_RSP_ERROR),
            new TestBlkfront.Response(6, BLKIF_OP_READ, BLKIF_RSP_ERROR),
            new TestBlkfront.Response(7, BLKIF_OP_READ, BLKIF_RSP_OKAY));
        final byte[] onDisk = Files.readAllBytes(diskFile);
        assertThat(onDisk[128 * 512 + 9]).isEqualTo(pattern(30, 9));
        if (!p.queue.writesToPageCache())
        {
            assertThat(onDisk[256 * 512]).as("the write with a bad grant wrote nothing").isZero();
        }
        // Copied straight into the page cache, its good segment may have landed: a failed write leaves its sectors
        // undefined, as on a disk.
        assertThat(checksum(p.front.guest.page(readBack[0][0]))).isEqualTo(checksum(20));
        assertThat(p.queue.counters().errors()).isEqualTo(2);
        assertThat(p.queue.counters().writeSectors()).isEqualTo(32);
        assertThat(p.queue.counters().readSectors()).isEqualTo(24);
        assertThat(p.queue.violation()).isNull();
        assertThat(p.gnttab.mappedPageCount()).isEqualTo(1);
    }

    @ParameterizedTest
    @CsvSource({ "SYNC,false,true,false", "SYNC,false,false,false", "URING,false,true,false", "URING,true,false,false",
        "SYNC,false,true,true", "URING,false,false,true" })
    void shouldServeABatchOfMixedOperationsInRingOrder(
        final IoEngine engine, final boolean direct, final boolean mapped, final boolean tmpfs) throws IOException
    {
        diskOnTmpfs(tmpfs);
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null, engine, direct, mapped);
        // All posted before the queue runs, so they are taken in one pass.
        p.write(1, 0, 1, 50);
        final int[][] sameSector = p.read(2, 0, 1);
        p.front.claim(BLKIF_OP_FLUSH_DISKCACHE, 0, 3, 0);
        p.front.push();
        p.write(4, 8, 1, 60);
        final int discardAt = p.front.claim(BLKIF_OP_DISCARD, 0, 5, 0);
        p.front.ringPage.putLong(discardAt + BlkifAbi.X86_64.discardNrSectorsOffset(), 8, TestBlkfront.LE);
        p.front.push();
        final int[][] discarded = p.read(6, 0, 1);
        final int[] indirect = p.front.grantedPage(true);
        final int[] data = p.front.grantedPage(true);
        fill(p.front.guest.page(data[0]), 70);
        final UnsafeBuffer list = p.front.guest.page(indirect[0]);
        list.putInt(0, data[1], TestBlkfront.LE);
        list.putByte(4, (byte)0);
        list.putByte(5, (byte)7);
        p.front.claimIndirect(BLKIF_OP_WRITE, 1, 7, 16, new int[]{ indirect[1] });
        p.front.push();
        final int[][] both = p.read(8, 8, 2);
        p.serve();

        assertThat(p.front.responses).containsExactly(
            new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(2, BLKIF_OP_READ, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(3, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(4, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(5, BLKIF_OP_DISCARD, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(6, BLKIF_OP_READ, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(7, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(8, BLKIF_OP_READ, BLKIF_RSP_OKAY));
        assertThat(checksum(p.front.guest.page(sameSector[0][0])))
            .as("a read after a write of the same sector in one batch sees the write").isEqualTo(checksum(50));
        assertThat(p.front.guest.page(discarded[0][0]).getByte(0)).as("read after the discard").isZero();
        assertThat(checksum(p.front.guest.page(both[0][0]))).isEqualTo(checksum(60));
        assertThat(checksum(p.front.guest.page(both[1][0]))).as("the indirect write before it").isEqualTo(checksum(70));
        assertThat(p.queue.counters().flushRequests()).isEqualTo(1);
    }

    @ParameterizedTest
    @CsvSource({ "false", "true" })
    void shouldLetAReadFromThePageCacheReadWhatWasThereBeforeALaterWriteOfTheSameBatch(final boolean tmpfs)
        throws IOException
    {
        diskOnTmpfs(tmpfs);
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.write(1, 0, 2, 10);
        p.serve();
        // One batch: a read, a write of its second page, the same read again. Reads from the page cache copy after
        // the batch's writes, so the first read must be served before the write is.
        final int[][] before = p.read(2, 0, 2);
        p.write(3, 8, 1, 20);
        final int[][] after = p.read(4, 0, 2);
        p.serve();

        assertThat(p.front.responses).extracting(TestBlkfront.Response::status).containsOnly(BLKIF_RSP_OKAY);
        assertThat(checksum(p.front.guest.page(before[0][0]))).isEqualTo(checksum(10));
        assertThat(checksum(p.front.guest.page(before[1][0]))).as("read before the write").isEqualTo(checksum(11));
        assertThat(checksum(p.front.guest.page(after[0][0]))).isEqualTo(checksum(10));
        assertThat(checksum(p.front.guest.page(after[1][0]))).as("read after the write").isEqualTo(checksum(20));
    }

    @ParameterizedTest
    @CsvSource({ "false", "true" })
    void shouldServeABatchAgainRequestByRequestWhenItsGrantCopyFailsAsAWhole(final boolean tmpfs) throws IOException
    {
        diskOnTmpfs(tmpfs);
        // On Xen a grant-copy call fails as a whole when our side of it cannot be touched (a page of the mapped page
        // cache that cannot be read or written): here the first call fails so.
        final GrantTables[] real = new GrantTables[1];
        final GrantTables failing = new RacingGrantTables(() -> real[0], () ->
        {
            throw new GrantTableException(14, "grant copy: Bad address");
        });
        real[0] = dom0.openGrantTables();
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, failing);
        p.write(1, 0, 1, 10);
        p.write(2, 8, 1, 20);
        final int[][] read = p.read(3, 0, 2);
        p.write(4, 0, 1, 30);
        p.serve();

        assertThat(p.front.responses).extracting(TestBlkfront.Response::status).containsOnly(BLKIF_RSP_OKAY);
        assertThat(p.front.responses).extracting(TestBlkfront.Response::id).containsExactly(1L, 2L, 3L, 4L);
        assertThat(checksum(p.front.guest.page(read[0][0]))).as("read before the last write").isEqualTo(checksum(10));
        assertThat(checksum(p.front.guest.page(read[1][0]))).isEqualTo(checksum(20));
        final byte[] onDisk = Files.readAllBytes(diskFile);
        assertThat(onDisk[7]).as("the last write").isEqualTo(pattern(30, 7));
        assertThat(onDisk[4096 + 7]).isEqualTo(pattern(20, 7));
        assertThat(p.queue.counters().writeSectors()).isEqualTo(24);
    }

    @ParameterizedTest
    @CsvSource({ "false", "true" })
    void shouldCopyReadsOutAgainAloneWhenTheirGrantCopyFailsAsAWhole(final boolean mapped) throws IOException
    {
        final byte[] old = new byte[4096];
        for (int i = 0; i < old.length; i++)
        {
            old[i] = pattern(10, i);
        }
        try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(diskFile,
            java.nio.file.StandardOpenOption.WRITE))
        {
            file.write(ByteBuffer.wrap(old), 0);
        }
        // A read, then a write of its sector. Through bounce pages they are one batch: the write's copy in is the
        // first call, the read's copy out the second, which fails; the read is copied again from its bounce pages,
        // which hold what it read before the write. From the page cache the read is served first, alone, and its
        // copy out (the first call) fails: it is read again with preadv.
        final GrantTables[] real = new GrantTables[1];
        final GrantTables failing = new RacingGrantTables(() -> real[0], () ->
        {
            throw new GrantTableException(14, "grant copy: Bad address");
        }, mapped ? 1 : 2);
        real[0] = dom0.openGrantTables();
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, failing, ENGINE, false, mapped);
        final int[][] read = p.read(1, 0, 1);
        p.write(2, 0, 1, 30);
        p.serve();

        assertThat(p.front.responses).extracting(TestBlkfront.Response::status).containsOnly(BLKIF_RSP_OKAY);
        assertThat(p.front.responses).hasSize(2);
        assertThat(checksum(p.front.guest.page(read[0][0]))).as("what was there before the write")
            .isEqualTo(checksum(10));
        assertThat(Files.readAllBytes(diskFile)[7]).isEqualTo(pattern(30, 7));
    }

    @Test
    void shouldAnswerAnEmptyDiscardOfAMappedDiskAndGoOn() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.write(1, 0, 1, 10);
        p.serve();
        final int at = p.front.claim(BLKIF_OP_DISCARD, 0, 2, 0);
        p.front.ringPage.putLong(at + BlkifAbi.X86_64.discardNrSectorsOffset(), 0, TestBlkfront.LE);
        p.front.push();
        final int[][] read = p.read(3, 0, 1);
        p.serve();

        assertThat(p.front.responses).extracting(TestBlkfront.Response::id).containsExactly(1L, 2L, 3L);
        assertThat(p.last().status()).isEqualTo(BLKIF_RSP_OKAY);
        assertThat(checksum(p.front.guest.page(read[0][0]))).isEqualTo(checksum(10));
        assertThat(p.queue.violation()).isNull();
    }

    @Test
    void shouldAnswerAReadOfPagesThatCannotBeReadWithAnErrorInsteadOfFaulting() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.write(1, 0, 1, 10);
        p.serve();
        // The file shrinks beneath the mapping while the queue still serves the old size: a copy that touched the
        // lost pages would raise SIGBUS. Populating them fails instead, and preadv then reads short.
        try (NativeFile file = NativeFile.open(diskFile, false, false))
        {
            file.truncate(4 * 4096);
        }
        p.read(2, 64, 1);
        final int[][] good = p.read(3, 0, 1);
        p.serve();

        assertThat(p.front.responses).containsExactly(
            new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(2, BLKIF_OP_READ, BLKIF_RSP_ERROR),
            new TestBlkfront.Response(3, BLKIF_OP_READ, BLKIF_RSP_OKAY));
        assertThat(p.queue.lastError()).contains("short read");
        assertThat(checksum(p.front.guest.page(good[0][0]))).isEqualTo(checksum(10));
        assertThat(p.queue.violation()).isNull();
    }

    @Test
    void shouldMapThePageCacheAfreshAfterItsBudgetAndWhenTheDiskGrows() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null);
        p.queue.remapPageCacheEvery(256 * 1024);
        p.write(1, 0, 4, 10);
        p.serve();
        for (int i = 0; i < 8; i++)
        {
            // each read in a 64 KiB region of its own (regions are populated whole)
            p.read(2 + i, 128 * (i + 1), 4);
            p.serve();
        }
        // 576 KiB populated through a mapping renewed every 256 KiB.
        assertThat(p.queue.pageCacheMaps()).isGreaterThanOrEqualTo(2);
        final int maps = p.queue.pageCacheMaps();
        int[][] read = null;
        for (int i = 0; i < 8; i++)
        {
            read = p.read(20 + i, 0, 4);
            p.serve();
        }
        assertThat(p.queue.pageCacheMaps()).as("reading populated pages again grows nothing").isEqualTo(maps);
        for (int i = 0; i < 4; i++)
        {
            assertThat(checksum(p.front.guest.page(read[i][0]))).isEqualTo(checksum(10 + i));
        }

        final long oldEnd = (long)DISK_SECTORS;
        try (NativeFile file = NativeFile.open(diskFile, false, false))
        {
            file.truncate(2L * DISK_SECTORS * 512);
        }
        assertThat(p.disk.refreshSize()).isTrue();
        p.write(30, oldEnd, 1, 40);
        final int[][] grown = p.read(31, oldEnd, 1);
        p.serve();

        assertThat(p.front.responses).extracting(TestBlkfront.Response::status).containsOnly(BLKIF_RSP_OKAY);
        assertThat(p.queue.pageCacheMaps()).as("mapped again at the new size").isEqualTo(maps + 1);
        assertThat(p.queue.readsFromPageCache()).isTrue();
        assertThat(checksum(p.front.guest.page(grown[0][0]))).isEqualTo(checksum(40));
    }

    @ParameterizedTest
    @EnumSource(value = IoEngine.class, names = { "URING", "SYNC" })
    void shouldServeEarlyABatchThatFillsTheBouncePages(final IoEngine engine) throws IOException
    {
        // Writes of 256 segments each, one more than the queue holds at once: the batch's bounce pages (256 with this
        // validator, at least RequestBatch.MIN_BOUNCE_PAGES), or with io_uring the large requests' slots (four):
        // the last waits until the others are done.
        final int segments = 256;
        final int requests = engine == IoEngine.URING ? LargePipeline.LARGE_REQUESTS_IN_FLIGHT + 1 : 2;
        try (NativeFile file = NativeFile.open(diskFile, false, false))
        {
            file.truncate((long)requests * segments * 4096);
        }
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null, engine);
        assertThat((requests - 1) * segments)
            .isEqualTo((engine == IoEngine.URING ? LargePipeline.LARGE_REQUESTS_IN_FLIGHT : 1) *
                Math.max(segments, RequestBatch.MIN_BOUNCE_PAGES));
        final int[][] data = new int[requests * segments][];
        for (int r = 0; r < requests; r++)
        {
            final int[] indirect = p.front.grantedPage(true);
            final UnsafeBuffer list = p.front.guest.page(indirect[0]);
            for (int i = 0; i < segments; i++)
            {
                final int k = r * segments + i;
                data[k] = p.front.grantedPage(true);
                fill(p.front.guest.page(data[k][0]), k);
                list.putInt(i * 8, data[k][1], TestBlkfront.LE);
                list.putByte(i * 8 + 4, (byte)0);
                list.putByte(i * 8 + 5, (byte)7);
            }
            p.front.claimIndirect(BLKIF_OP_WRITE, segments, r, (long)r * segments * 8, new int[]{ indirect[1] });
            p.front.push();
        }
        p.serve();

        assertThat(p.front.responses).hasSize(requests).extracting(TestBlkfront.Response::status)
            .containsOnly(BLKIF_RSP_OKAY);
        final byte[] onDisk = Files.readAllBytes(diskFile);
        for (int k = 0; k < requests * segments; k++)
        {
            assertThat(onDisk[k * 4096 + 4095]).isEqualTo(pattern(k, 4095));
        }
        assertThat(p.queue.counters().writeSectors()).isEqualTo(requests * segments * 8L);
        assertThat(p.queue.counters().outOfResources()).as("oo_req: the last request waited for room once")
            .isEqualTo(1);
    }

    @ParameterizedTest
    @CsvSource({ "false,true", "false,false", "true,false" })
    void shouldServeLargeRequestsBesideEachOtherWithIoUringAndKeepOverlappingOnesInOrder(
        final boolean direct, final boolean mapped) throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null, IoEngine.URING, direct, mapped);
        final int pages = LargePipeline.PIPELINE_BYTES / 4096 + 8;
        final long second = pages * 8L;
        final long third = 2 * pages * 8L;
        // One batch: two large writes, a large write with a bad grant, a large read of the first write's sectors
        // (it must wait for that write), a small read of the second's (likewise), and a small write.
        p.writeIndirect(1, 0, pages, 100, -1);
        p.writeIndirect(2, second, pages, 300, -1);
        p.writeIndirect(3, third, pages, 500, pages / 2);
        final int[][] first = p.readIndirect(4, 0, pages);
        final int[][] small = p.read(5, second + 8, 2);
        p.write(6, third + pages * 8L, 1, 700);
        p.serve();

        assertThat(p.front.responses).containsExactlyInAnyOrder(
            new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(2, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(3, BLKIF_OP_WRITE, BLKIF_RSP_ERROR),
            new TestBlkfront.Response(4, BLKIF_OP_READ, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(5, BLKIF_OP_READ, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(6, BLKIF_OP_WRITE, BLKIF_RSP_OKAY));
        for (int i = 0; i < pages; i++)
        {
            assertThat(checksum(p.front.guest.page(first[i][0]))).as("page %d of the large read", i)
                .isEqualTo(checksum(100 + i));
        }
        assertThat(checksum(p.front.guest.page(small[0][0]))).isEqualTo(checksum(301));
        assertThat(checksum(p.front.guest.page(small[1][0]))).isEqualTo(checksum(302));
        final byte[] onDisk = Files.readAllBytes(diskFile);
        for (int i = 0; i < pages; i++)
        {
            assertThat(onDisk[(int)(third * 512) + i * 4096 + 1]).as("the write with a bad grant wrote nothing")
                .isZero();
        }
        assertThat(onDisk[(int)((third + pages * 8L) * 512) + 5]).isEqualTo(pattern(700, 5));
        assertThat(p.queue.counters().errors()).isEqualTo(1);
        assertThat(p.queue.counters().writeSectors()).isEqualTo(2L * pages * 8 + 8);
        assertThat(p.queue.counters().readSectors()).isEqualTo(pages * 8L + 16);
        assertThat(p.gnttab.mappedPageCount()).isEqualTo(1);
    }

    @ParameterizedTest
    @MethodSource("batchSetups")
    void shouldNotAllocatePerRequest(
        final DataPath path, final IoEngine engine, final boolean direct, final boolean mapped, final boolean tmpfs)
        throws IOException
    {
        diskOnTmpfs(tmpfs);
        final Pair p = new Pair(3, BlkifAbi.X86_64, path, path == DataPath.MAP, false, null, engine, direct, mapped);
        final int[] page = p.front.grantedPage(false);
        final Random random = new Random(42);
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        long allocatedInMeasuredRounds = 0;
        final int rounds = 2000;
        for (int round = 0; round < 2 * rounds; round++)
        {
            final int batch = 16;
            for (int i = 0; i < batch; i++)
            {
                final int at = p.front.claim((i & 1) == 0 ? BLKIF_OP_WRITE : BLKIF_OP_READ, 1, i,
                    random.nextInt(DISK_SECTORS / 8) * 8L);
                p.front.segment(at, 0, page[1], 0, 7);
                p.front.ring.commitRequest();
            }
            p.front.ring.pushRequests();
            final long before = threads.getCurrentThreadAllocatedBytes();
            p.agent.doWork();
            final long after = threads.getCurrentThreadAllocatedBytes();
            if (round >= rounds)
            {
                allocatedInMeasuredRounds += after - before;
            }
            p.front.collect();
            p.front.responses.clear();
        }
        System.out.printf("blkback %s %s%s%s: %d bytes allocated over %d requests%n", path, engine,
            direct ? " O_DIRECT" : "", p.queue.writesToPageCache() ? " mapped reads and writes" :
                p.queue.readsFromPageCache() ? " mapped reads" : "", allocatedInMeasuredRounds, rounds * 16);
        // One object per request would cost at least 16 bytes each; allow a few one-off allocations (JIT, resize).
        assertThat(allocatedInMeasuredRounds).as("bytes allocated by the queue over %d requests", rounds * 16)
            .isLessThan(rounds * 16L * 4);
    }

    @Test
    void shouldNotAllocatePerLargeRequest() throws IOException
    {
        final Pair p = new Pair(3, BlkifAbi.X86_64, DataPath.COPY, false, false, null, IoEngine.URING);
        final int pages = LargePipeline.PIPELINE_BYTES / 4096;
        final int[] list = p.front.grantedPage(true);
        final UnsafeBuffer segments = p.front.guest.page(list[0]);
        for (int i = 0; i < pages; i++)
        {
            segments.putInt(i * 8, p.front.grantedPage(false)[1], TestBlkfront.LE);
            segments.putByte(i * 8 + 4, (byte)0);
            segments.putByte(i * 8 + 5, (byte)7);
        }
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final int rounds = 400;
        long allocated = 0;
        long answered = 0;
        for (int round = 0; round < 2 * rounds; round++)
        {
            for (int i = 0; i < 4; i++)
            {
                p.front.claimIndirect((i & 1) == 0 ? BLKIF_OP_WRITE : BLKIF_OP_READ, pages, i,
                    (long)(round % 8) * pages * 8, new int[]{ list[1] });
                p.front.ring.commitRequest();
            }
            p.front.ring.pushRequests();
            final long before = threads.getCurrentThreadAllocatedBytes();
            while (p.agent.doWork() > 0)
            {
                // until every request is answered and nothing is in flight
            }
            final long after = threads.getCurrentThreadAllocatedBytes();
            if (round >= rounds)
            {
                allocated += after - before;
            }
            p.front.collect();
            answered += p.front.responses.stream().filter(r -> r.status() == BLKIF_RSP_OKAY).count();
            p.front.responses.clear();
        }
        System.out.printf("blkback large requests: %d bytes allocated over %d requests%n", allocated, rounds * 4);
        assertThat(answered).isEqualTo(8L * rounds);
        assertThat(allocated).as("bytes allocated by the queue over %d large requests", rounds * 4)
            .isLessThan(rounds * 4L * 4);
    }

    static void fill(final UnsafeBuffer page, final int seed)
    {
        for (int i = 0; i < 4096; i++)
        {
            page.putByte(i, pattern(seed, i));
        }
    }

    static byte pattern(final int seed, final int i)
    {
        return (byte)(seed * 31 + i * 7 + (i >> 8));
    }

    static long checksum(final UnsafeBuffer page)
    {
        long sum = 0;
        for (int i = 0; i < 4096; i++)
        {
            sum = sum * 31 + page.getByte(i);
        }
        return sum;
    }

    static long checksum(final int seed)
    {
        long sum = 0;
        for (int i = 0; i < 4096; i++)
        {
            sum = sum * 31 + pattern(seed, i);
        }
        return sum;
    }

    /** Delegates to real grant tables, running a hook (the racing guest, a failure) before one copy call. */
    private static final class RacingGrantTables implements GrantTables
    {
        private final java.util.function.Supplier<GrantTables> real;
        private final Runnable race;
        private final int atCall;
        private int calls;
        private java.util.function.Consumer<GrantCopyBatch> seen = batch -> { };

        /** Runs the hook before the first copy. */
        RacingGrantTables(final java.util.function.Supplier<GrantTables> real, final Runnable race)
        {
            this(real, race, 1);
        }

        /** Runs the hook before copy call number {@code atCall}, counted from 1. */
        RacingGrantTables(final java.util.function.Supplier<GrantTables> real, final Runnable race, final int atCall)
        {
            this.real = real;
            this.race = race;
            this.atCall = atCall;
        }

        @Override
        public GrantMapping map(final int domid, final int[] refs, final int count, final boolean writable)
        {
            return real.get().map(domid, refs, count, writable);
        }

        @Override
        public GrantMapping mapOneWithNotify(
            final int domid, final int ref, final boolean writable, final int notifyOffset, final int notifyPort)
        {
            return real.get().mapOneWithNotify(domid, ref, writable, notifyOffset, notifyPort);
        }

        /** Shows each batch to {@code seen} before it is copied. */
        RacingGrantTables seeing(final java.util.function.Consumer<GrantCopyBatch> seen)
        {
            this.seen = seen;
            return this;
        }

        @Override
        public void copy(final GrantCopyBatch batch)
        {
            seen.accept(batch);
            if (++calls == atCall)
            {
                race.run();
            }
            real.get().copy(batch);
        }

        @Override
        public void setMaxGrants(final int count)
        {
            real.get().setMaxGrants(count);
        }

        @Override
        public int mappedPageCount()
        {
            return real.get().mappedPageCount();
        }

        @Override
        public void close()
        {
            real.get().close();
        }
    }
}
