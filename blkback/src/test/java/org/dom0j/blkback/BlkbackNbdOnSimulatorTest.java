package org.dom0j.blkback;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.BlockWorkload;
import org.dom0j.sim.guest.SimBlkfront;
import org.dom0j.test.Await;
import org.dom0j.test.NbdServerProcess;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_ERROR;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_RSP_OKAY;

/**
 * blkback inside the backend framework on the simulator, serving disks whose {@code params} is an NBD URI, from a
 * real qemu-nbd or nbdkit: what is advertised follows the export (queues with and without CAN_MULTI_CONN, flush,
 * discard, indirect segments within the maximum payload), the Linux-like simulated blkfront runs a verified random
 * workload through it, and the guest sees errors, never wrong data, while the server is killed and started again.
 * Skipped, saying why, where qemu-nbd or nbdkit is not installed.
 */
@Timeout(120)
class BlkbackNbdOnSimulatorTest
{
    private static final long DISK_BYTES = 32L << 20;

    @TempDir
    Path dir;

    private SimMachine machine;
    private SimBlkbackService service;
    private Path image;
    private NbdServerProcess server;

    @BeforeEach
    void setUp() throws Exception
    {
        machine = SimMachine.start(dir.resolve("sim"));
        image = dir.resolve("disk.img");
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw"))
        {
            file.setLength(DISK_BYTES);
        }
    }

    private void startBackend(final BlkbackConfiguration configuration)
    {
        service = SimBlkbackService.dedicated(machine, configuration);
    }

    @AfterEach
    void tearDown()
    {
        if (null != service)
        {
            service.close();
        }
        machine.close();
        if (null != server)
        {
            server.close();
        }
        assertThat(null == service ? List.of() : service.errors()).as("errors raised by agents").isEmpty();
    }

    private SimDomain guestWithDisk(final int domid, final String params, final String mode)
    {
        return SimBlkbackService.guestWithDisk(machine, domid, 16384, params, mode);
    }

    private String backend(final int domid, final String key)
    {
        return machine.xenStore().readOrNull(XenbusDevices.backendPath(0, "vbd", domid, "51712") + "/" + key);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "qemu-nbd", "nbdkit" })
    void shouldServeAVerifiedWorkloadOnTwoQueuesOfAnExportWithMultiConn(final String which) throws Exception
    {
        // qemu-nbd offers CAN_MULTI_CONN when it takes several clients (-e 8 here); nbdkit's file plugin always.
        server = "qemu-nbd".equals(which) ? NbdServerProcess.qemuNbd(dir, image, "--discard=unmap") :
            NbdServerProcess.nbdkit(dir, "file", "file=" + image);
        // Map and the mapped page cache asked for: a disk on NBD is still served by grant copy.
        startBackend(BlkbackConfiguration.fromSystemProperties().withDataPath(DataPath.MAP));
        final SimDomain guest = guestWithDisk(7, server.uri(), "w");
        final XenStore guestStore = machine.connectAsGuest(7);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51712",
            new SimBlkfront.Options(2, 1, true, 64), 10_000);

        assertThat(backend(7, "multi-queue-max-queues")).isEqualTo("4");
        assertThat(front.queueCount()).isEqualTo(2);
        assertThat(front.sectors()).isEqualTo(DISK_BYTES / 512);
        assertThat(front.isPersistent()).as("grant copy: no persistent grants").isFalse();
        assertThat(backend(7, "feature-persistent")).isEqualTo("0");
        assertThat(front.hasFlush()).isTrue();
        assertThat(front.hasDiscard()).isTrue();
        assertThat(backend(7, "discard-secure")).isEqualTo("0");
        assertThat(backend(7, "feature-max-indirect-segments")).isEqualTo("256");
        assertThat(backend(7, "info")).isEqualTo("0");

        final BlockWorkload workload = runWorkload(front, 4321L, 3000);

        assertThat(workload.firstMismatch()).as("seed %d", workload.seed()).isNull();
        assertThat(workload.stats().errors).isZero();
        assertThat(workload.stats().flushes).isPositive();
        assertThat(workload.stats().discards).isPositive();
        front.disconnect(10_000);
        guestStore.close();
        assertThat(Await.until(() -> "6".equals(backend(7, "state")), 10_000)).isTrue();
        assertBackingFileHolds(workload);
    }

    @Test
    void shouldOfferOneQueueWhenTheExportLacksMultiConn() throws Exception
    {
        // One client at a time: qemu-nbd 7.2 then does not offer CAN_MULTI_CONN.
        server = NbdServerProcess.qemuNbd(dir, image, "-e", "1", "--discard=unmap");
        startBackend(BlkbackConfiguration.fromSystemProperties());
        final SimDomain guest = guestWithDisk(8, server.uri(), "w");
        final XenStore guestStore = machine.connectAsGuest(8);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51712",
            new SimBlkfront.Options(2, 0, true, 32), 10_000);

        assertThat(backend(8, "multi-queue-max-queues")).isEqualTo("1");
        assertThat(front.queueCount()).as("asked for 2").isEqualTo(1);
        final BlockWorkload workload = runWorkload(front, 99L, 2000);
        assertThat(workload.firstMismatch()).as("seed %d", workload.seed()).isNull();
        assertThat(workload.stats().errors).isZero();
        front.disconnect(10_000);
        guestStore.close();
        assertThat(Await.until(() -> "6".equals(backend(8, "state")), 10_000)).isTrue();
        assertBackingFileHolds(workload);
    }

    @Test
    void shouldOfferWhatTheExportDoesAndNoLargerRequestsThanItTakes() throws Exception
    {
        // 64 KiB at most per request, no flush, no trim: 16 indirect segments, no feature-flush-cache or discard.
        server = NbdServerProcess.nbdkit(dir, "--filter=blocksize-policy", "eval", "get_size=echo 33554432",
            "pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none", "pwrite=cat >/dev/null",
            "can_write=exit 0", "blocksize-minimum=512", "blocksize-preferred=4096", "blocksize-maximum=65536",
            "blocksize-error-policy=error");
        startBackend(BlkbackConfiguration.fromSystemProperties());
        final SimDomain guest = guestWithDisk(9, server.uri(), "w");
        final XenStore guestStore = machine.connectAsGuest(9);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51712",
            new SimBlkfront.Options(1, 0, true, 64), 10_000);

        assertThat(backend(9, "feature-max-indirect-segments")).isEqualTo("16");
        assertThat(front.maxSectorsPerRequest()).isEqualTo(16 * 8);
        assertThat(backend(9, "feature-flush-cache")).isEqualTo("0");
        assertThat(backend(9, "feature-barrier")).isEqualTo("1");
        assertThat(backend(9, "feature-discard")).isEqualTo("0");
        assertThat(backend(9, "physical-sector-size")).isEqualTo("4096");
        final int[] statuses = new int[2];
        front.submitRead(0, 0, 16 * 8, 1);
        front.submitFlush(0, 2);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int answered = 0;
        while (answered < 2 && System.nanoTime() < deadline)
        {
            final int n = front.poll((tag, op, status, data) -> statuses[(int)tag - 1] = status);
            answered += n;
            if (n == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
        assertThat(statuses).as("a 64 KiB read, and a barrier (no volatile cache to flush)").containsOnly(0);
        front.disconnect(10_000);
        guestStore.close();
    }

    @Test
    void shouldServeAReadOnlyExportAsAReadOnlyDisk() throws Exception
    {
        server = NbdServerProcess.qemuNbd(dir, image, "-r");
        startBackend(BlkbackConfiguration.fromSystemProperties());
        final SimDomain guest = guestWithDisk(10, server.uri(), "w");
        final XenStore guestStore = machine.connectAsGuest(10);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51712",
            new SimBlkfront.Options(1, 0, true, 11), 10_000);

        assertThat(front.isReadOnly()).isTrue();
        assertThat(backend(10, "info")).as("VDISK_READONLY").isEqualTo("4");
        assertThat(front.hasDiscard()).isFalse();
        front.nextWriteBuffer(0).setMemory(0, 4096, (byte)1);
        front.submitWrite(0, 0, 8, 1);
        final short[] status = { 99 };
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (status[0] == 99 && System.nanoTime() < deadline)
        {
            if (front.poll((tag, op, st, data) -> status[0] = st) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
        assertThat(status[0]).isEqualTo((short)-1);
        front.disconnect(10_000);
        guestStore.close();
    }

    @Test
    void shouldFailTheDeviceSayingWhyWhenTheServerCannotBeReached() throws Exception
    {
        startBackend(BlkbackConfiguration.fromSystemProperties());
        guestWithDisk(11, "nbd+unix:///disk?socket=" + dir.resolve("nobody.sock"), "w");

        final String error = "/local/domain/0/error/backend/vbd/11/51712/error";
        Await.until("the device's error node", 10_000, () -> null != machine.xenStore().readOrNull(error));
        assertThat(machine.xenStore().read(error)).contains("cannot open the disk").contains("nobody.sock");
    }

    @Test
    void shouldFailTheDeviceOfAnExportWithTls() throws Exception
    {
        startBackend(BlkbackConfiguration.fromSystemProperties());
        guestWithDisk(12, "nbds://127.0.0.1/disk", "w");

        final String error = "/local/domain/0/error/backend/vbd/12/51712/error";
        Await.until("the device's error node", 10_000, () -> null != machine.xenStore().readOrNull(error));
        assertThat(machine.xenStore().read(error)).contains("TLS");
    }

    @Test
    void shouldAnswerTheGuestWithAnErrorOnceTheConfiguredNbdTimeoutHasPassed() throws Exception
    {
        // The server holds every read for 60 s; serve's --nbd-timeout (here 0.5 s, default 30 s) gives it up.
        server = NbdServerProcess.nbdkit(dir, "--threads=1", "--filter=delay", "file", "file=" + image, "rdelay=60");
        startBackend(BlkbackConfiguration.fromSystemProperties().withNbdTimeoutMillis(500));
        final SimDomain guest = guestWithDisk(14, server.uri(), "w");
        final XenStore guestStore = machine.connectAsGuest(14);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51712",
            new SimBlkfront.Options(1, 0, false, 11), 10_000);
        final List<Short> statuses = new CopyOnWriteArrayList<>();
        final long start = System.nanoTime();
        front.submitRead(0, 0, 8, 1);
        final long deadline = start + TimeUnit.SECONDS.toNanos(20);
        while (statuses.isEmpty())
        {
            assertThat(System.nanoTime() - deadline).as("an answer long before the server's 60 s").isNegative();
            if (front.poll((tag, op, status, data) -> statuses.add(status)) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
        final long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(statuses).containsExactly((short)BLKIF_RSP_ERROR);
        assertThat(tookMillis).as("given up after the configured 0.5 s, not the default 30 s")
            .isGreaterThanOrEqualTo(500).isLessThan(20_000);
        front.close();
        guestStore.close();
    }

    @Test
    void shouldGiveTheGuestErrorsButNeverWrongDataWhileTheServerIsKilledAndStartedAgain() throws Exception
    {
        final long seed = 77;
        writePattern(seed);
        // Every request held a little, so that the kill finds requests in flight on both queues.
        server = NbdServerProcess.nbdkit(dir, "--filter=delay", "file", "file=" + image, "rdelay=5ms", "wdelay=5ms");
        startBackend(BlkbackConfiguration.fromSystemProperties());
        final SimDomain guest = guestWithDisk(13, server.uri(), "w");
        final XenStore guestStore = machine.connectAsGuest(13);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51712",
            new SimBlkfront.Options(2, 0, true, 32), 10_000);
        final PatternWorkload workload = new PatternWorkload(front, seed);

        final long killAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300 + seed % 200);
        boolean killed = false;
        long okBeforeKill = 0;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!killed || workload.errors == 0)
        {
            assertThat(System.nanoTime() - deadline).as("errors after the kill by the deadline").isNegative();
            workload.step();
            if (!killed && System.nanoTime() - killAt > 0)
            {
                okBeforeKill = workload.ok;
                server.kill();
                killed = true;
            }
        }
        assertThat(okBeforeKill).as("requests answered before the kill").isPositive();

        // While it is away, every request is answered, with an error, and never hangs.
        final long errorsSoFar = workload.errors;
        final long downUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        while (System.nanoTime() - downUntil < 0)
        {
            workload.step();
        }
        assertThat(workload.errors).as("requests answered with errors while the server is away")
            .isGreaterThan(errorsSoFar);

        server = NbdServerProcess.nbdkit(dir, "file", "file=" + image);
        final long okBeforeRestart = workload.ok;
        final long restartDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (workload.ok < okBeforeRestart + 500)
        {
            assertThat(System.nanoTime() - restartDeadline).as("requests answered OK once the server is back")
                .isNegative();
            workload.step();
        }
        workload.drain();

        assertThat(workload.mismatch).as("a request answered OK with wrong data").isNull();
        assertThat(workload.verifiedReads).isPositive();
        front.disconnect(10_000);
        guestStore.close();
    }

    /** Runs BlockWorkload for {@code operations} requests (at most 30 s), then lets every request be answered. */
    private static BlockWorkload runWorkload(final SimBlkfront front, final long seed, final int operations)
        throws InterruptedException
    {
        final BlockWorkload workload = new BlockWorkload(front, seed, 40, 16, 50, true);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (workload.stats().operations() < operations && System.nanoTime() < deadline)
        {
            front.beginBatch();
            workload.submitSome();
            front.endBatch();
            if (front.poll(workload) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
        while (front.outstanding() > 0 && System.nanoTime() < deadline)
        {
            if (front.poll(workload) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
        assertThat(workload.stats().operations()).isGreaterThanOrEqualTo(operations);
        return workload;
    }

    /** The backing file, read directly, against the workload's model of every block. */
    private void assertBackingFileHolds(final BlockWorkload workload) throws Exception
    {
        final byte[] file = Files.readAllBytes(image);
        final UnsafeBuffer expected = new UnsafeBuffer(new byte[4096]);
        for (long block = 0; block < workload.blocks(); block++)
        {
            final long version = workload.currentVersion(block);
            if (version == 0)
            {
                expected.setMemory(0, 4096, (byte)0);
            }
            else
            {
                BlockWorkload.fill(expected, 0, workload.seed(), block, version);
            }
            for (int i = 0; i < 4096; i += 8)
            {
                final long actual = new UnsafeBuffer(file).getLong((int)(block * 4096 + i));
                if (actual != expected.getLong(i))
                {
                    throw new AssertionError("block " + block + " of the backing file differs at byte " + i +
                        " (version " + version + ", seed " + workload.seed() + ")");
                }
            }
        }
    }

    private void writePattern(final long seed) throws Exception
    {
        final UnsafeBuffer block = new UnsafeBuffer(new byte[4096]);
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw"))
        {
            for (long b = 0; b < DISK_BYTES / 4096; b++)
            {
                BlockWorkload.fill(block, 0, seed, b, 1);
                file.write(block.byteArray());
            }
        }
    }

    /**
     * Random reads and writes of whole blocks whose content is a function of (seed, block, version), no two in
     * flight on one block: a write answered OK sets the block's version, one answered with an error leaves the
     * block unknown (it may or may not have landed) until a write to it succeeds; a read answered OK must match a
     * known version.
     */
    private static final class PatternWorkload implements SimBlkfront.Completion
    {
        final SimBlkfront front;
        final long seed;
        final SplittableRandom random;
        final long[] version;
        final boolean[] busy;
        final long[] tagBlock = new long[1024];
        final long[] tagVersion = new long[1024];
        final int[] tagCount = new int[1024];
        final boolean[] tagUsed = new boolean[1024];
        long nextVersion = 1;
        long ok;
        long errors;
        long verifiedReads;
        String mismatch;

        PatternWorkload(final SimBlkfront front, final long seed)
        {
            this.front = front;
            this.seed = seed;
            this.random = new SplittableRandom(seed);
            version = new long[(int)(front.sectors() / 8)];
            java.util.Arrays.fill(version, 1);
            busy = new boolean[version.length];
        }

        void step()
        {
            for (int q = 0; q < front.queueCount(); q++)
            {
                while (front.canSubmit(q) && submit(q))
                {
                    continue;
                }
            }
            if (front.poll(this) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }

        void drain()
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (front.outstanding() > 0 && System.nanoTime() < deadline)
            {
                if (front.poll(this) == 0)
                {
                    front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(5));
                }
            }
            assertThat(front.outstanding()).as("requests never answered").isZero();
        }

        private boolean submit(final int q)
        {
            int tag = 0;
            while (tag < tagUsed.length && tagUsed[tag])
            {
                tag++;
            }
            final int count = 1 + random.nextInt(8);
            final int first = random.nextInt(version.length - count);
            for (int b = first; b < first + count; b++)
            {
                if (busy[b])
                {
                    return false;
                }
            }
            for (int b = first; b < first + count; b++)
            {
                busy[b] = true;
            }
            tagUsed[tag] = true;
            tagBlock[tag] = first;
            tagCount[tag] = count;
            if (random.nextBoolean())
            {
                tagVersion[tag] = 0;
                front.submitRead(q, first * 8L, count * 8, tag);
            }
            else
            {
                final long v = ++nextVersion;
                final UnsafeBuffer data = front.nextWriteBuffer(q);
                for (int i = 0; i < count; i++)
                {
                    BlockWorkload.fill(data, i * 4096, seed, first + i, v);
                }
                tagVersion[tag] = v;
                front.submitWrite(q, first * 8L, count * 8, tag);
            }
            return true;
        }

        @Override
        public void onComplete(final long tag, final int op, final short status, final DirectBuffer data)
        {
            final int t = (int)tag;
            final int first = (int)tagBlock[t];
            for (int i = 0; i < tagCount[t]; i++)
            {
                final int block = first + i;
                busy[block] = false;
                if (op == BLKIF_OP_READ)
                {
                    if (status == BLKIF_RSP_OKAY && version[block] > 0)
                    {
                        verify(data, i * 4096, block);
                    }
                }
                else
                {
                    // A failed write may have landed in part, or not at all: the block is unknown until rewritten.
                    version[block] = status == BLKIF_RSP_OKAY ? tagVersion[t] : -1;
                }
            }
            if (status == BLKIF_RSP_OKAY)
            {
                ok++;
                verifiedReads += op == BLKIF_OP_READ ? 1 : 0;
            }
            else
            {
                errors++;
            }
            tagUsed[t] = false;
        }

        private void verify(final DirectBuffer data, final int offset, final int block)
        {
            for (int i = 0; i < 4096; i += 8)
            {
                if (data.getLong(offset + i) != BlockWorkload.word(seed, block, version[block], i) && null == mismatch)
                {
                    mismatch = "block " + block + " (version " + version[block] + ") differs at byte " + i;
                    return;
                }
            }
        }
    }
}
