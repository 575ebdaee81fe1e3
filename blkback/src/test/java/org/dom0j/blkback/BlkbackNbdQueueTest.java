package org.dom0j.blkback;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.RingAgent;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.protocol.blkif.BlkifAbi;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimHost;
import org.dom0j.test.NbdServerProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_EOPNOTSUPP;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_ERROR;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_OKAY;

/**
 * One blkback queue whose disk is an NBD export served by a real qemu-nbd or nbdkit (child processes of the test,
 * on Unix sockets), against a frontend that writes its requests by hand: a verified random workload in ring order
 * (overlapping requests in one bite included), what a read-only export and a server without flush or trim come to,
 * and what the guest sees when the server dies with requests in flight, hangs, or comes back with another export.
 * Skipped, saying why, where qemu-nbd or nbdkit is not installed.
 */
@Timeout(120)
class BlkbackNbdQueueTest
{
    private static final int DISK_BYTES = 4 << 20;
    private static final int DISK_SECTORS = DISK_BYTES / 512;
    /** Most pages of one request here (an indirect one), and so of each slot of the page pool. */
    private static final int MAX_PAGES = 64;
    private static final int SLOTS = RequestBatch.BATCH_LIMIT;

    @TempDir
    Path dir;

    private SimHost host;
    private SimDomain dom0;
    private Path image;
    private NbdServerProcess server;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final CountersManager countersManager = new CountersManager(
        new UnsafeBuffer(ByteBuffer.allocateDirect(128 * 1024)),
        new UnsafeBuffer(ByteBuffer.allocateDirect(32 * 1024)));

    /**
     * A queue on the export and its frontend, with a pool of granted pages: slot {@code s} of a bite uses pages
     * {@code s * MAX_PAGES} on, and an indirect page of its own.
     */
    private final class NbdQueue
    {
        final TestBlkfront front;
        final BlkbackQueue queue;
        final RingAgent agent;
        final Disk disk;
        final int[][] pages = new int[SLOTS * MAX_PAGES][];
        final int[][] indirectPages = new int[SLOTS][];
        private final TestQueue testQueue;

        NbdQueue(final String uri, final boolean readOnly, final long timeoutNanos) throws IOException
        {
            final int domid = 3;
            final SimDomain guest = host.createDomain(domid, SLOTS * (MAX_PAGES + 1) + 64);
            front = new TestBlkfront(guest, BlkifAbi.X86_64);
            final GrantTables gnttab = dom0.openGrantTables();
            disk = Disk.open(uri, readOnly, false, false, false);
            final RequestValidator validator = new RequestValidator(disk.sectors512(), disk.isReadOnly(), 256,
                disk.canFlush(), true, disk.canDiscard(), false);
            testQueue = new TestQueue(dom0, countersManager, domid, front, gnttab, disk, validator,
                context -> context
                    .dataPath(DataPath.MAP)
                    .mapPageCache(true)
                    .nbdTimeoutNanos(timeoutNanos));
            queue = testQueue.queue;
            agent = testQueue.agent;
            for (int i = 0; i < pages.length; i++)
            {
                pages[i] = front.grantedPage(false);
            }
            for (int s = 0; s < SLOTS; s++)
            {
                indirectPages[s] = front.grantedPage(true);
            }
            closeables.add(testQueue);
            closeables.add(gnttab);
            closeables.add(disk);
        }

        /** Serves until nothing is left to do, and collects the answers. */
        void serve()
        {
            testQueue.serve();
        }

        UnsafeBuffer page(final int slot, final int i)
        {
            return front.guest.page(pages[slot * MAX_PAGES + i][0]);
        }

        /** A read or write of {@code count} whole pages of slot {@code slot}'s, direct up to 11, else indirect. */
        void readOrWrite(final int op, final long id, final long sector, final int slot, final int count)
        {
            if (count <= 11)
            {
                final int at = front.claim(op, count, id, sector);
                for (int i = 0; i < count; i++)
                {
                    front.segment(at, i, pages[slot * MAX_PAGES + i][1], 0, 7);
                }
            }
            else
            {
                final UnsafeBuffer list = front.guest.page(indirectPages[slot][0]);
                for (int i = 0; i < count; i++)
                {
                    list.putInt(i * 8, pages[slot * MAX_PAGES + i][1], TestBlkfront.LE);
                    list.putByte(i * 8 + 4, (byte)0);
                    list.putByte(i * 8 + 5, (byte)7);
                }
                front.claimIndirect(op, count, id, sector, new int[]{ indirectPages[slot][1] });
            }
            front.ring.commitRequest();
        }

        void discard(final long id, final long sector, final long sectors)
        {
            final int at = front.claim(BLKIF_OP_DISCARD, 0, id, sector);
            front.ringPage.putLong(at + BlkifAbi.X86_64.discardNrSectorsOffset(), sectors, TestBlkfront.LE);
            front.ring.commitRequest();
        }

        void flush(final long id)
        {
            front.claim(BLKIF_OP_FLUSH_DISKCACHE, 0, id, 0);
            front.ring.commitRequest();
        }

        void push()
        {
            front.ring.pushRequests();
            front.evtchn.notify(front.port);
        }

        TestBlkfront.Response last()
        {
            return front.responses.get(front.responses.size() - 1);
        }
    }

    @BeforeEach
    void setUp() throws IOException
    {
        host = SimHost.open(dir.resolve("sim"));
        dom0 = host.domainOrCreate(0, SimHost.DOM0_PAGES);
        image = dir.resolve("disk.img");
        final byte[] content = new byte[DISK_BYTES];
        new Random(5).nextBytes(content);
        Files.write(image, content);
    }

    @AfterEach
    void tearDown() throws Exception
    {
        for (int i = closeables.size() - 1; i >= 0; i--)
        {
            closeables.get(i).close();
        }
        if (null != server)
        {
            server.close();
        }
        host.close();
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = { 1, 2, 3 })
    void shouldServeAVerifiedRandomWorkloadInRingOrderThroughQemuNbd(final long seed) throws IOException
    {
        server = NbdServerProcess.qemuNbd(dir, image, "--discard=unmap");
        final NbdQueue q = new NbdQueue(server.uri(), false, NbdLink.DEFAULT_TIMEOUT_NANOS);
        assertThat(q.queue.ioEngine()).as("an NBD disk is served by its own path, whatever was configured")
            .isEqualTo(IoEngine.NBD);
        assertThat(q.queue.readsFromPageCache()).isFalse();
        final byte[] model = Files.readAllBytes(image);
        final Random random = new Random(seed);
        final long[] counts = new long[4];
        long id = 0;
        for (int round = 0; round < 150; round++)
        {
            final int n = 1 + random.nextInt(SLOTS);
            final long firstId = id;
            final byte[][] expected = new byte[n][];
            for (int s = 0; s < n; s++)
            {
                final int dice = random.nextInt(100);
                if (dice < 4)
                {
                    q.flush(id++);
                    counts[2]++;
                    continue;
                }
                if (dice < 8)
                {
                    // Whole 4 KiB blocks, as blkfront sends them with discard-granularity 4096.
                    final long sector = 8L * random.nextInt(DISK_SECTORS / 8 - 32);
                    final long sectors = 8L * (1 + random.nextInt(32));
                    q.discard(id++, sector, sectors);
                    Arrays.fill(model, (int)sector * 512, (int)(sector + sectors) * 512, (byte)0);
                    counts[3]++;
                    continue;
                }
                final int count = random.nextInt(10) == 0 ? 12 + random.nextInt(MAX_PAGES - 11) :
                    1 + random.nextInt(8);
                // A third of them in the first 64 KiB, so that requests of a bite overlap.
                final int span = random.nextInt(3) == 0 ? 128 : DISK_SECTORS - count * 8;
                final long sector = random.nextInt(Math.max(1, span));
                final int from = (int)sector * 512;
                if (dice < 54)
                {
                    for (int i = 0; i < count; i++)
                    {
                        final byte[] data = new byte[4096];
                        random.nextBytes(data);
                        q.page(s, i).putBytes(0, data);
                        System.arraycopy(data, 0, model, from + i * 4096, 4096);
                    }
                    q.readOrWrite(BLKIF_OP_WRITE, id++, sector, s, count);
                    counts[1]++;
                }
                else
                {
                    for (int i = 0; i < count; i++)
                    {
                        q.page(s, i).setMemory(0, 4096, (byte)0xEE);
                    }
                    expected[s] = Arrays.copyOfRange(model, from, from + count * 4096);
                    q.readOrWrite(BLKIF_OP_READ, id++, sector, s, count);
                    counts[0]++;
                }
            }
            q.push();
            q.front.responses.clear();
            q.serve();

            assertThat(q.front.responses).as("round %d (seed %d)", round, seed).hasSize((int)(id - firstId));
            for (int s = 0; s < n; s++)
            {
                final TestBlkfront.Response response = q.front.responses.get(s);
                assertThat(response.id()).as("answers in the order taken").isEqualTo(firstId + s);
                assertThat(response.status()).as("request %d: %s", response.id(), q.queue.lastError())
                    .isEqualTo(BLKIF_RSP_OKAY);
                if (null != expected[s])
                {
                    final byte[] read = new byte[expected[s].length];
                    for (int i = 0; i < read.length / 4096; i++)
                    {
                        q.page(s, i).getBytes(0, read, i * 4096, 4096);
                    }
                    assertThat(read).as("read %d of round %d (seed %d) sees every earlier request of the ring",
                        response.id(), round, seed).isEqualTo(expected[s]);
                }
            }
        }

        assertThat(Files.readAllBytes(image)).as("the backing file, read directly").isEqualTo(model);
        final BlkbackCounters counters = q.queue.counters();
        assertThat(counters.readRequests()).isEqualTo(counts[0]);
        assertThat(counters.writeRequests()).isEqualTo(counts[1]);
        assertThat(counters.flushRequests()).isEqualTo(counts[2]);
        assertThat(counters.discardRequests()).isEqualTo(counts[3]);
        assertThat(counters.errors()).isZero();
        assertThat(counters.outOfResources()).as("a bite of 16 fits the batch's bounce pages").isZero();
    }

    @Test
    void shouldServeAReadOnlyExportReadOnly() throws IOException
    {
        server = NbdServerProcess.qemuNbd(dir, image, "-r");
        final NbdQueue q = new NbdQueue(server.uri(), false, NbdLink.DEFAULT_TIMEOUT_NANOS);
        assertThat(q.disk.isReadOnly()).as("mode w, but the export is read-only").isTrue();
        assertThat(q.disk.info() & 4).as("VDISK_READONLY").isEqualTo(4);
        assertThat(q.disk.canDiscard()).isFalse();

        q.page(0, 0).setMemory(0, 4096, (byte)1);
        q.readOrWrite(BLKIF_OP_WRITE, 1, 8, 0, 1);
        q.readOrWrite(BLKIF_OP_READ, 2, 16, 1, 2);
        q.push();
        q.serve();

        assertThat(q.front.responses).containsExactly(
            new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_ERROR),
            new TestBlkfront.Response(2, BLKIF_OP_READ, BLKIF_RSP_OKAY));
        final byte[] read = new byte[8192];
        q.page(1, 0).getBytes(0, read, 0, 4096);
        q.page(1, 1).getBytes(0, read, 4096, 4096);
        assertThat(read).isEqualTo(Arrays.copyOfRange(Files.readAllBytes(image), 16 * 512, 16 * 512 + 8192));
        assertThat(q.queue.counters().errors()).isEqualTo(1);
    }

    @Test
    void shouldServeAWritableExportReadOnlyWhenTheModeSaysSo() throws IOException
    {
        server = NbdServerProcess.qemuNbd(dir, image);
        final NbdQueue q = new NbdQueue(server.uri(), true, NbdLink.DEFAULT_TIMEOUT_NANOS);
        assertThat(q.disk.isReadOnly()).isTrue();
        assertThat(q.disk.info()).isEqualTo(4);

        q.readOrWrite(BLKIF_OP_WRITE, 1, 8, 0, 1);
        q.push();
        q.serve();

        assertThat(q.last()).isEqualTo(new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_ERROR));
    }

    @Test
    void shouldRefuseFlushAndDiscardOfAnExportWithoutThem() throws IOException
    {
        // A shell plugin that offers no flush, FUA or trim: nothing volatile to flush, so flush is not advertised.
        server = NbdServerProcess.nbdkit(dir, "eval", "get_size=echo 1048576",
            "pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none", "pwrite=cat >/dev/null",
            "can_write=exit 0");
        final NbdQueue q = new NbdQueue(server.uri(), false, NbdLink.DEFAULT_TIMEOUT_NANOS);
        assertThat(q.disk.canFlush()).isFalse();
        assertThat(q.disk.canDiscard()).isFalse();

        q.readOrWrite(BLKIF_OP_WRITE, 1, 0, 0, 2);
        q.flush(2);
        q.discard(3, 0, 8);
        q.push();
        q.serve();

        assertThat(q.front.responses).containsExactly(
            new TestBlkfront.Response(1, BLKIF_OP_WRITE, BLKIF_RSP_OKAY),
            new TestBlkfront.Response(2, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_RSP_EOPNOTSUPP),
            new TestBlkfront.Response(3, BLKIF_OP_DISCARD, BLKIF_RSP_EOPNOTSUPP));
    }

    @Test
    void shouldFlushABarrierWithDataThroughTheExport() throws IOException
    {
        server = NbdServerProcess.qemuNbd(dir, image);
        final NbdQueue q = new NbdQueue(server.uri(), false, NbdLink.DEFAULT_TIMEOUT_NANOS);
        q.page(0, 0).setMemory(0, 4096, (byte)0x42);
        final int at = q.front.claim(BLKIF_OP_WRITE_BARRIER, 1, 1, 24);
        q.front.segment(at, 0, q.pages[0][1], 0, 7);
        q.front.ring.commitRequest();
        q.push();
        q.serve();

        assertThat(q.last()).isEqualTo(new TestBlkfront.Response(1, BLKIF_OP_WRITE_BARRIER, BLKIF_RSP_OKAY));
        final byte[] onDisk = Arrays.copyOfRange(Files.readAllBytes(image), 24 * 512, 24 * 512 + 4096);
        final byte[] expected = new byte[4096];
        Arrays.fill(expected, (byte)0x42);
        assertThat(onDisk).isEqualTo(expected);
        assertThat(q.queue.counters().flushRequests()).isEqualTo(1);
        assertThat(q.queue.counters().writeRequests()).as("a barrier's data counts as a write").isEqualTo(1);
    }

    @Test
    void shouldAnswerRequestsInFlightWithErrorsWhenTheServerDiesThenReconnectWhenItIsBack() throws Exception
    {
        // Every request is held 300 ms by the server, so that the kill finds them all in flight.
        server = NbdServerProcess.nbdkit(dir, "--filter=delay", "file", "file=" + image, "rdelay=300ms",
            "wdelay=300ms");
        final NbdQueue q = new NbdQueue(server.uri(), false, NbdLink.DEFAULT_TIMEOUT_NANOS);
        for (int s = 0; s < 8; s++)
        {
            q.page(s, 0).setMemory(0, 4096, (byte)0xEE);
            q.readOrWrite(s % 2 == 0 ? BLKIF_OP_READ : BLKIF_OP_WRITE, s, 64L * s, s, 1);
        }
        q.push();
        final Thread killer = new Thread(() ->
        {
            try
            {
                Thread.sleep(100);
                server.kill();
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        });
        killer.start();
        q.serve();
        killer.join();

        assertThat(q.front.responses).hasSize(8).allSatisfy(r ->
            assertThat(r.status()).as("request %d, in flight at the kill", r.id()).isEqualTo(BLKIF_RSP_ERROR));
        for (int s = 0; s < 8; s += 2)
        {
            assertThat(q.page(s, 0).getByte(0)).as("nothing of a failed read reaches the guest")
                .isEqualTo((byte)0xEE);
            assertThat(q.page(s, 0).getByte(4095)).isEqualTo((byte)0xEE);
        }
        assertThat(q.queue.lastError()).as("why, for the log").isNotNull();

        // While the server is away, requests are answered with errors at once.
        q.front.responses.clear();
        q.readOrWrite(BLKIF_OP_READ, 20, 0, 0, 1);
        q.push();
        final long start = System.nanoTime();
        q.serve();
        assertThat(q.last()).isEqualTo(new TestBlkfront.Response(20, BLKIF_OP_READ, BLKIF_RSP_ERROR));
        assertThat(System.nanoTime() - start).as("answered at once").isLessThan(TimeUnit.SECONDS.toNanos(2));

        server.close();
        server = NbdServerProcess.nbdkit(dir, "file", "file=" + image);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long nextId = 30;
        short status;
        do
        {
            // Reconnected at the next request, then at most once a second.
            q.front.responses.clear();
            q.page(0, 0).setMemory(0, 4096, (byte)0xEE);
            q.readOrWrite(BLKIF_OP_READ, nextId++, 40, 0, 1);
            q.push();
            q.serve();
            status = q.last().status();
            if (status != BLKIF_RSP_OKAY)
            {
                Thread.sleep(100);
            }
        }
        while (status != BLKIF_RSP_OKAY && System.nanoTime() - deadline < 0);
        assertThat(status).as("a read once the server is back").isEqualTo(BLKIF_RSP_OKAY);
        final byte[] read = new byte[4096];
        q.page(0, 0).getBytes(0, read);
        assertThat(read).isEqualTo(Arrays.copyOfRange(Files.readAllBytes(image), 40 * 512, 40 * 512 + 4096));
    }

    @Test
    void shouldGiveUpOnAServerThatDoesNotAnswerInTime() throws IOException
    {
        server = NbdServerProcess.nbdkit(dir, "--filter=delay", "file", "file=" + image, "rdelay=20");
        final NbdQueue q = new NbdQueue(server.uri(), false, TimeUnit.MILLISECONDS.toNanos(300));
        q.page(0, 0).setMemory(0, 4096, (byte)0xEE);
        q.readOrWrite(BLKIF_OP_READ, 1, 0, 0, 1);
        q.readOrWrite(BLKIF_OP_READ, 2, 8, 1, 1);
        q.push();
        final long start = System.nanoTime();
        q.serve();

        assertThat(System.nanoTime() - start).as("the timeout, not the server's 20 s")
            .isLessThan(TimeUnit.SECONDS.toNanos(10));
        assertThat(q.front.responses).extracting(TestBlkfront.Response::status)
            .containsExactly(BLKIF_RSP_ERROR, BLKIF_RSP_ERROR);
        assertThat(q.page(0, 0).getByte(0)).isEqualTo((byte)0xEE);
        assertThat(q.queue.lastError()).contains("no answer in 300 ms with 2 request(s) in flight");
    }

    @Test
    void shouldStayInErrorWhenTheServerComesBackWithAnotherSize() throws Exception
    {
        server = NbdServerProcess.nbdkit(dir, "file", "file=" + image);
        final NbdQueue q = new NbdQueue(server.uri(), false, NbdLink.DEFAULT_TIMEOUT_NANOS);
        q.readOrWrite(BLKIF_OP_READ, 1, 0, 0, 1);
        q.push();
        q.serve();
        assertThat(q.last().status()).isEqualTo(BLKIF_RSP_OKAY);

        server.kill();
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw"))
        {
            file.setLength(2 * DISK_BYTES);
        }
        server.start();
        for (long id = 2; id < 5; id++)
        {
            q.readOrWrite(BLKIF_OP_READ, id, 0, 0, 1);
            q.push();
            q.serve();
            assertThat(q.last()).isEqualTo(new TestBlkfront.Response(id, BLKIF_OP_READ, BLKIF_RSP_ERROR));
            Thread.sleep(600);
        }
        assertThat(q.queue.lastError()).contains("is now " + 2 * DISK_BYTES + " bytes");
    }

    @Test
    void shouldRefuseAnExportWhoseBlocksAreLargerThanASector() throws IOException
    {
        server = NbdServerProcess.nbdkit(dir, "--filter=blocksize-policy", "memory", "1M",
            "blocksize-minimum=4096", "blocksize-preferred=4096", "blocksize-maximum=65536",
            "blocksize-error-policy=error");

        assertThatThrownBy(() -> Disk.open(server.uri(), false, false, false, false))
            .isInstanceOf(IOException.class)
            .hasMessageContaining("the export needs requests aligned to 4096 bytes");
    }

    @Test
    void shouldNotAllocatePerRequest() throws IOException
    {
        server = NbdServerProcess.qemuNbd(dir, image);
        final NbdQueue q = new NbdQueue(server.uri(), false, NbdLink.DEFAULT_TIMEOUT_NANOS);
        final Random random = new Random(42);
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        long allocated = 0;
        final int rounds = 1000;
        for (int round = 0; round < 2 * rounds; round++)
        {
            for (int s = 0; s < SLOTS; s++)
            {
                q.readOrWrite((s & 1) == 0 ? BLKIF_OP_WRITE : BLKIF_OP_READ, s, random.nextInt(DISK_SECTORS / 8) * 8L,
                    s, 1);
            }
            q.front.ring.pushRequests();
            final long before = threads.getCurrentThreadAllocatedBytes();
            q.agent.doWork();
            final long after = threads.getCurrentThreadAllocatedBytes();
            if (round >= rounds)
            {
                allocated += after - before;
            }
            q.front.collect();
            assertThat(q.last().status()).isEqualTo(BLKIF_RSP_OKAY);
            q.front.responses.clear();
        }
        System.out.printf("blkback on NBD: %d bytes allocated over %d requests%n", allocated, rounds * SLOTS);
        assertThat(allocated).as("bytes allocated by the queue over %d requests", rounds * SLOTS)
            .isLessThan(rounds * SLOTS * 4L);
    }
}
