package org.dom0j.blkback;

import org.dom0j.blkback.jna.IoUring;
import org.dom0j.blkback.jna.NativeFile;
import org.dom0j.test.Await;

import org.dom0j.backend.XenbusState;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.BlockWorkload;
import org.dom0j.sim.guest.SimBlkfront;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * blkback inside the backend framework on the simulator: the conductor discovers the device the toolstack
 * attached, the Linux-like simulated blkfront negotiates (queues, ring pages, persistent grants, indirect), and a
 * seeded random workload checks every byte read against its model.
 */
@Timeout(120)
class BlkbackOnSimulatorTest
{
    @TempDir
    Path dir;

    private SimMachine machine;
    private SimBlkbackService service;
    private Path disk;
    private Path shmDisk;

    @BeforeEach
    void setUp() throws Exception
    {
        machine = SimMachine.start(dir.resolve("sim"));
        disk = NativeFile.createSparse(dir.resolve("disk.img"), 32L << 20);
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
        if (null != shmDisk)
        {
            try
            {
                Files.deleteIfExists(shmDisk);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }
        assertThat(null == service ? List.of() : service.errors()).as("errors raised by agents").isEmpty();
    }

    private SimDomain guestWithDisk(final int domid, final String mode)
    {
        return SimBlkbackService.guestWithDisk(machine, domid, 16384, disk.toString(), mode);
    }

    @ParameterizedTest(name = "{0} path, {1} queue(s), ring order {2}, {3} segments, published in batches: {4}, " +
        "{5} I/O, O_DIRECT {6}, disk on tmpfs {7}")
    @CsvSource({ "COPY,1,0,11,false,URING,false,false", "COPY,2,1,64,false,URING,false,false",
        "MAP,1,0,11,false,SYNC,false,false", "MAP,2,0,16,false,SYNC,false,false", "COPY,1,0,11,true,SYNC,false,false",
        "COPY,2,0,32,true,URING,false,false", "MAP,2,0,11,true,SYNC,false,false", "COPY,2,0,64,true,URING,true,false",
        "COPY,1,0,11,false,SYNC,true,false", "COPY,2,0,64,true,URING,false,true", "COPY,1,1,11,false,SYNC,false,true" })
    void shouldServeVerifiedRandomIo(
        final DataPath path, final int queues, final int order, final int segments, final boolean batched,
        final IoEngine engine, final boolean direct, final boolean tmpfs)
        throws Exception
    {
        Assumptions.assumeTrue(engine != IoEngine.URING || IoUring.isAvailable(), "io_uring is not available here");
        if (tmpfs)
        {
            // There blkback copies writes straight into the disk's mapped page cache, reads straight out of it.
            Assumptions.assumeTrue(Files.isDirectory(Path.of("/dev/shm")), "no /dev/shm here");
            Files.delete(disk);
            disk = NativeFile.createSparse(Path.of("/dev/shm", "dom0j-blkback-sim-test-" +
                ProcessHandle.current().pid() + "-" + System.nanoTime()), 32L << 20);
            shmDisk = disk;
        }
        startBackend(BlkbackConfiguration.fromSystemProperties().withDataPath(path).withIoEngine(engine)
            .withDirect(direct));
        final SimDomain guest = guestWithDisk(7, "w");
        final XenStore guestStore = machine.connectAsGuest(7);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51712",
            new SimBlkfront.Options(queues, order, true, segments), 10_000);

        assertThat(front.sectors()).isEqualTo((32L << 20) / 512);
        assertThat(front.queueCount()).isEqualTo(queues);
        assertThat(front.isPersistent()).isEqualTo(path == DataPath.MAP);
        assertThat(front.hasFlush()).isTrue();
        assertThat(front.hasDiscard()).isTrue();
        final String be = XenbusDevices.backendPath(0, "vbd", 7, "51712");
        assertThat(machine.xenStore().read(be + "/state")).isEqualTo("4");
        assertThat(machine.xenStore().read(be + "/hotplug-status")).isEqualTo("connected");
        assertThat(machine.xenStore().read(be + "/discard-granularity")).isEqualTo("4096");
        assertThat(machine.xenStore().read(be + "/discard-secure")).as("a file cannot securely erase").isEqualTo("0");

        final BlockWorkload workload = new BlockWorkload(front, 1234L + queues, 40, segments / 2, 50, true);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (workload.stats().operations() < 3000 && System.nanoTime() < deadline)
        {
            if (batched)
            {
                // Everything submitted here is published at once, one push per queue, as blk-mq does.
                front.beginBatch();
                workload.submitSome();
                front.endBatch();
            }
            else
            {
                workload.submitSome();
            }
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

        assertThat(workload.firstMismatch()).as("seed %d", workload.seed()).isNull();
        assertThat(workload.stats().errors).isZero();
        assertThat(workload.stats().operations()).isGreaterThanOrEqualTo(3000);
        assertThat(workload.stats().reads).isPositive();
        assertThat(workload.stats().writes).isPositive();
        assertThat(workload.stats().flushes).isPositive();

        front.disconnect(10_000);
        guestStore.close();
        assertThat(Await.until(() -> "6".equals(machine.xenStore().readOrNull(be + "/state")), 10_000))
            .as("backend closes after the frontend").isTrue();
        assertThat(Await.until(() -> service.grants().mappedPageCount() == 0, 5_000))
            .as("no ring left mapped").isTrue();
    }

    @Test
    void shouldPublishABatchOfRequestsOnlyAtItsEnd() throws Exception
    {
        startBackend(BlkbackConfiguration.fromSystemProperties());
        final SimDomain guest = guestWithDisk(7, "w");
        final XenStore guestStore = machine.connectAsGuest(7);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51712",
            new SimBlkfront.Options(2, 0, true, 11), 10_000);
        final int[] answered = new int[1];
        final SimBlkfront.Completion completion = (tag, op, status, data) ->
        {
            assertThat(status).isEqualTo((short)0);
            answered[0]++;
        };

        front.beginBatch();
        front.nextWriteBuffer(0).setMemory(0, 4096, (byte)7);
        front.submitWrite(0, 0, 8, 1);
        front.submitRead(1, 8, 8, 2);
        front.submitRead(0, 16, 8, 3);
        assertThat(front.unpublished(0)).as("queue 0 holds its two requests back").isEqualTo(2);
        assertThat(front.unpublished(1)).isEqualTo(1);
        front.endBatch();
        assertThat(front.unpublished(0)).isZero();
        assertThat(front.unpublished(1)).isZero();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (answered[0] < 3 && System.nanoTime() < deadline)
        {
            if (front.poll(completion) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }

        assertThat(answered[0]).isEqualTo(3);
        front.disconnect(10_000);
        guestStore.close();
    }

    @Test
    void shouldTellTheFrontendWhenTheDiskGrowsOnline() throws Exception
    {
        startBackend(BlkbackConfiguration.fromSystemProperties());
        final SimDomain guest = guestWithDisk(9, "w");
        final XenStore guestStore = machine.connectAsGuest(9);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51712",
            new SimBlkfront.Options(1, 0, true, 11), 10_000);
        final long before = front.sectors();
        final String be = XenbusDevices.backendPath(0, "vbd", 9, "51712");
        final AtomicInteger connectedEvents = new AtomicInteger();
        try (var watch = guestStore.watch(be + "/state", "resize", (p, t) -> connectedEvents.incrementAndGet()))
        {
            Await.until("the watch's first event on the backend's state", 5_000, () -> connectedEvents.get() >= 1);
            final int initial = connectedEvents.get();
            try (var f = org.dom0j.blkback.jna.NativeFile.open(disk, false, false))
            {
                f.truncate(48L << 20);
            }
            assertThat(Await.until(() -> connectedEvents.get() > initial, 10_000))
                .as("the backend writes Connected again after the resize").isTrue();
        }
        assertThat(front.refreshCapacity()).isEqualTo((48L << 20) / 512).isGreaterThan(before);
        final long[] status = { 99 };
        front.submitRead(0, before, 8, 1);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (status[0] == 99 && System.nanoTime() < deadline)
        {
            if (front.poll((tag, op, st, data) -> status[0] = st) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
        assertThat(status[0]).as("a read past the old end succeeds").isZero();
        front.disconnect(10_000);
        guestStore.close();
    }

    @Test
    void shouldFailADeviceWhoseFrontendOffersTooManyQueuesAndGoOn() throws Exception
    {
        startBackend(BlkbackConfiguration.fromSystemProperties());
        final SimDomain guest = guestWithDisk(8, "w");
        final XenStore guestStore = machine.connectAsGuest(8);
        final String fe = XenbusDevices.frontendPath(8, "vbd", "51712");
        final String be = XenbusDevices.backendPath(0, "vbd", 8, "51712");
        Await.until("the backend in InitWait (2)", 10_000,
            () -> "2".equals(machine.xenStore().readOrNull(be + "/state")));
        guestStore.write(fe + "/multi-queue-num-queues", "99");
        guestStore.write(fe + "/queue-0/ring-ref", "8");
        guestStore.write(fe + "/queue-0/event-channel", "1");
        guestStore.write(fe + "/state", XenbusState.INITIALISED.wireValue());

        Await.until("the backend's error node for too many queues", 10_000,
            () -> null != machine.xenStore().readOrNull("/local/domain/0/error/backend/vbd/8/51712/error"));
        assertThat(machine.xenStore().read("/local/domain/0/error/backend/vbd/8/51712/error"))
            .contains("multi-queue-num-queues");
        assertThat(machine.xenStore().read(be + "/state")).isNotEqualTo("4");
        guestStore.close();
    }

    @Test
    void shouldServeUnderATypeNameOfItsOwnAndLeaveTheKernelsVbdAlone() throws Exception
    {
        // As 'dom0j serve --blk-type dom0j-vbd' beside Linux's xen-blkback: this guest's xvda is the kernel's (under
        // backend/vbd), its xvdb dom0j's (under backend/dom0j-vbd); blkfront follows each device's backend key.
        service = SimBlkbackService.dedicated(machine, BlkbackConfiguration.fromSystemProperties(), "dom0j-vbd");
        final SimDomain guest = guestWithDisk(9, "w");
        SimBlkbackService.attachDisk(machine, 9, "dom0j-vbd", "xvdb", disk.toString(), "w");
        final XenStore guestStore = machine.connectAsGuest(9);
        final SimBlkfront front = SimBlkfront.connect(guest, guestStore, "51728",
            new SimBlkfront.Options(1, 0, true, 11), 10_000);

        final String ours = XenbusDevices.backendPath(0, "dom0j-vbd", 9, "51728");
        assertThat(machine.xenStore().read(ours + "/state")).isEqualTo("4");
        assertThat(machine.xenStore().read(ours + "/hotplug-status")).isEqualTo("connected");
        final BlockWorkload workload = new BlockWorkload(front, 99L, 40, 8, 50, true);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((workload.stats().operations() < 500 || front.outstanding() > 0) && System.nanoTime() < deadline)
        {
            if (workload.stats().operations() < 500)
            {
                workload.submitSome();
            }
            if (front.poll(workload) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
        assertThat(workload.firstMismatch()).isNull();
        assertThat(workload.stats().errors).isZero();
        assertThat(workload.stats().operations()).isGreaterThanOrEqualTo(500);

        // By now the conductor has set its own device up and connected it; the kernel's is as the toolstack wrote it.
        final String kernels = XenbusDevices.backendPath(0, "vbd", 9, "51712");
        assertThat(machine.xenStore().read(kernels + "/state")).isEqualTo("1");
        assertThat(machine.xenStore().readOrNull(kernels + "/hotplug-status")).isNull();
        assertThat(machine.xenStore().readOrNull(kernels + "/feature-flush-cache")).isNull();
        front.disconnect(10_000);
        guestStore.close();
    }
}
