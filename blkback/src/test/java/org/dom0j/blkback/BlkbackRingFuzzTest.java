package org.dom0j.blkback;

import org.dom0j.protocol.blkif.BlkifAbi;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.BlockWorkload;
import org.dom0j.sim.guest.SimBlkfront;
import org.dom0j.test.Await;
import org.dom0j.test.fuzz.Chunks;
import org.dom0j.test.fuzz.FuzzRun;
import org.dom0j.test.fuzz.Hostile;
import org.dom0j.test.fuzz.ProcessResources;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Fuzzes blkback's rings (issue 14): blkback as {@code dom0j serve} runs it (the conductor on its thread, an agent
 * per queue on its event channel) serves a well-behaved guest doing verified random I/O, while each case attaches a
 * new hostile guest ({@link HostileBlkfront}) that connects honestly and then writes random and mutated blkif
 * requests into its rings, plays with the indices and the event channel, and goes away politely or dies. Checked in
 * every case:
 * <ul>
 *   <li>no exception escapes an agent, the conductor keeps running;</li>
 *   <li>the good guest completes verified I/O during and after every case;</li>
 *   <li>every response carries an id that a request carried and a status blkif knows, never more responses than
 *       requests; every request published honestly is answered (with an error when it is bad) unless its ring was
 *       disabled; a certainly impossible {@code req_prod} disables the device (Closing, error node), nothing else
 *       does;</li>
 *   <li>the hostile guest's pages and disk hold nothing but its own chunks, its disk's and zeros (never data from
 *       outside its grants or its disk);</li>
 *   <li>once the hostile guest is gone, every grant it gave can be ended (none left mapped), and dom0's event
 *       channel ports, the ring mappings, the counters, file descriptors and threads are back where they were; the
 *       heap after the run is within a bound of the heap before it.</li>
 * </ul>
 * {@link FuzzRun} says how to replay a case or run long.
 */
class BlkbackRingFuzzTest
{
    private static final long HOSTILE_SECTORS = 2048;
    private static final int FIRST_HOSTILE_DOMID = 10;
    private static final long WAIT_MS = 5_000;
    private static final long HEAP_GROWTH_BOUND = 64L << 20;

    @TempDir
    Path dir;

    private final Logger quiet = Logger.getLogger("org.dom0j");
    private Level quietWas;
    private SimMachine machine;
    private SimBlkbackService service;
    private GoodGuest good;
    private Baseline baseline;

    /** What the service holds with only the good guest connected. */
    private record Baseline(int dom0Ports, int mappedPages, int counters, ProcessResources process,
        List<String> fds)
    {
    }

    @AfterEach
    void tearDown()
    {
        if (null != good)
        {
            good.close();
        }
        if (null != service)
        {
            service.close();
        }
        if (null != machine)
        {
            machine.close();
        }
        quiet.setLevel(quietWas);
    }

    @ParameterizedTest(name = "{0} data path")
    @EnumSource(DataPath.class)
    @Timeout(value = 1, unit = TimeUnit.HOURS)
    void shouldSurviveHostileRingsWhileServingAWellBehavedGuest(final DataPath path) throws Exception
    {
        quietWas = quiet.getLevel();
        quiet.setLevel(Level.SEVERE);
        machine = SimMachine.start(dir.resolve("sim"));
        startService(BlkbackConfiguration.fromSystemProperties().withDataPath(path));
        good = new GoodGuest(machine, dir.resolve("good.img"));

        final FuzzRun run = FuzzRun.configure("blkback rings " + path, 0xB1C0_0000L + path.ordinal(), 30, 6);
        final long[] heapBefore = new long[1];
        final FuzzRun.Summary summary = run.run((in, iteration) ->
        {
            if (null == baseline)
            {
                final ProcessResources process = ProcessResources.withHeap();
                heapBefore[0] = process.heapBytes();
                baseline = new Baseline(dom0Ports(), service.grants().mappedPageCount(), countersAllocated(), process,
                    ProcessResources.openFdTargets());
            }
            oneCase(in, FIRST_HOSTILE_DOMID + (int)(iteration % 2000));
        });
        System.out.println("blkback rings " + path + ": the well-behaved guest completed " +
            good.workload.stats().operations() + " verified operations meanwhile");
        if (!run.isReplay())
        {
            final long heapAfter = ProcessResources.withHeap().heapBytes();
            System.out.println("heap after GC: " + (heapBefore[0] >> 10) + " KiB before, " + (heapAfter >> 10) +
                " KiB after");
            if (heapAfter - heapBefore[0] > HEAP_GROWTH_BOUND)
            {
                throw new AssertionError("heap grew by " + ((heapAfter - heapBefore[0]) >> 20) + " MiB over " +
                    summary.cases() + " cases");
            }
        }
    }

    private void startService(final BlkbackConfiguration configuration)
    {
        service = SimBlkbackService.eventDriven(machine, configuration, TimeUnit.MILLISECONDS.toNanos(1));
    }

    private void oneCase(final Hostile in, final int domid) throws Exception
    {
        final Path disk = hostileDisk(domid);
        final SimDomain guest = machine.createGuest(domid, "hostile" + domid, 512);
        final boolean readOnly = in.chance(15);
        XenbusDevices.attach(machine.xenStore(), 0, "vbd", domid, "51712",
            Map.of("params", disk.toString(), "mode", readOnly ? "r" : "w", "type", "phy", "dev", "xvda",
                "device-type", "disk", "removable", "0", "discard-enable", in.chance(80) ? "1" : "0"),
            Map.of("virtual-device", "51712", "device-type", "disk"));
        final String be = XenbusDevices.backendPath(0, "vbd", domid, "51712");
        final XenStore xs = machine.connectAsGuest(domid);
        HostileBlkfront front = null;
        try
        {
            require(Await.until(() -> "2".equals(state(be)), WAIT_MS), "backend reaches InitWait");
            final int maxQueues = number(be + "/multi-queue-max-queues", 1);
            final int maxOrder = number(be + "/max-ring-page-order", 0);
            final int maxIndirect = number(be + "/feature-max-indirect-segments", 0);
            final int queues = in.between(1, maxQueues);
            final int order = in.chance(50) ? 0 : in.between(0, maxOrder);
            final BlkifAbi abi = in.chance(70) ? BlkifAbi.X86_64 : BlkifAbi.X86_32;
            front = new HostileBlkfront(guest, xs, "51712", in, abi, queues, order, maxIndirect, HOSTILE_SECTORS);
            final boolean refusedAtConnect = in.chance(5) && front.scrambleBeforeConnect(in.pick(front.rings));
            front.publish(order, in.nextBoolean());
            require(Await.until(() -> "4".equals(state(be)) || "5".equals(state(be)), WAIT_MS),
                "backend connects or fails");
            if (refusedAtConnect)
            {
                require("5".equals(state(be)) && errorNode(domid).contains("ring indices impossible"),
                    "impossible indices at connect refused: state " + state(be) + ", error " + errorNode(domid));
            }
            else
            {
                require("4".equals(state(be)), "backend connected, not failed: " + errorNode(domid));
                attack(in, front);
                judge(front, domid, be);
            }
            leave(in, front, domid, be);
            front = null;
        }
        finally
        {
            if (null != front)
            {
                front.close();
            }
            xs.close();
            if (machine.host().exists(domid))
            {
                machine.destroyGuest(domid);
            }
        }
        requireServiceBackToBaseline(domid);
        requireOnlyOwnDataOnDisk(disk, domid);
        Files.delete(disk);
        good.requireProgress(8, WAIT_MS);
    }

    /** The rounds of a case: requests, rewrites, storms, index games; the good guest runs in between. */
    private void attack(final Hostile in, final HostileBlkfront front) throws Exception
    {
        final int rounds = in.between(1, 24);
        for (int r = 0; r < rounds; r++)
        {
            final HostileBlkfront.Ring ring = in.pick(front.rings);
            final int action = in.nextInt(100);
            if (action < 60 && !ring.wild)
            {
                final int free = front.free(ring);
                if (free > 0)
                {
                    front.post(ring, in.between(1, Math.min(free, in.chance(80) ? 8 : free)));
                    if (in.chance(20))
                    {
                        front.rewritePublished(ring, in.between(1, 8));
                    }
                }
                if (in.chance(90))
                {
                    front.notify(ring, 1);
                }
            }
            else if (action < 68)
            {
                front.notify(ring, in.between(20, 400));
            }
            else if (action < 74)
            {
                front.scribbleEventIndices(ring);
            }
            else if (action < 80)
            {
                front.toggleAGrant();
            }
            else if (action < 83)
            {
                front.wildIndex(ring);
                front.notify(ring, 1);
            }
            // else: the guest does nothing this round.
            settle(front, in.chance(70) ? 20 : 0);
            good.step();
        }
    }

    /** Lets the backend work for a while, collecting and checking responses. */
    private void settle(final HostileBlkfront front, final long millis) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        do
        {
            boolean allAnswered = true;
            for (final HostileBlkfront.Ring ring : front.rings)
            {
                final String problem = front.collect(ring);
                require(null == problem, problem);
                allAnswered &= ring.wild || ring.outstanding() == 0;
            }
            if (allAnswered)
            {
                return;
            }
            Thread.sleep(1);
        }
        while (System.nanoTime() < deadline);
    }

    /** The end of the attack: honest requests answered, or the device failed for an impossible index. */
    private void judge(final HostileBlkfront front, final int domid, final String be) throws Exception
    {
        final boolean mustFail = front.rings.stream().anyMatch(r -> r.certainlyWild);
        final boolean mayFail = front.rings.stream().anyMatch(r -> r.wild);
        if (mustFail)
        {
            require(Await.until(() -> "5".equals(state(be)), WAIT_MS), "an impossible req_prod fails the device");
            require(errorNode(domid).contains("ring protocol violation"), "error node names the violation: " +
                errorNode(domid));
            return;
        }
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        boolean answered;
        String state;
        do
        {
            state = state(be);
            answered = true;
            for (final HostileBlkfront.Ring ring : front.rings)
            {
                final String problem = front.collect(ring);
                require(null == problem, problem);
                answered &= ring.wild || ring.outstanding() == 0;
            }
            if (!answered)
            {
                Thread.sleep(1);
            }
        }
        while (!answered && System.nanoTime() < deadline && !"5".equals(state));
        if ("5".equals(state))
        {
            require(mayFail, "the device failed though its indices were honest: " + errorNode(domid));
            require(errorNode(domid).contains("ring protocol violation"), "error node names the violation: " +
                errorNode(domid));
            return;
        }
        require("4".equals(state), "still connected: " + state);
        for (final HostileBlkfront.Ring ring : front.rings)
        {
            require(ring.wild || ring.outstanding() == 0, "ring " + ring.index + ": " + ring.outstanding() +
                " requests published honestly were not answered in " + WAIT_MS + " ms");
        }
    }

    /**
     * Goes away as a frontend does on removal, as the toolstack detaches, or by dying; checks the guest's pages
     * once the backend has closed (or, when the guest dies, just before).
     */
    private void leave(final Hostile in, final HostileBlkfront front, final int domid, final String be)
        throws Exception
    {
        final String fe = front.frontendPath;
        switch (in.nextInt(3))
        {
            case 0 ->
            {
                front.xs.write(fe + "/state", "5");
                require(Await.until(() -> "5".equals(state(be)) || "6".equals(state(be)), WAIT_MS),
                    "backend closing after the frontend");
                front.xs.write(fe + "/state", "6");
                require(Await.until(() -> "6".equals(state(be)), WAIT_MS), "backend closed after the frontend");
                requireGrantsReleased(front);
                requireOnlyOwnDataInPages(front);
            }
            case 1 ->
            {
                XenbusDevices.requestDetach(machine.xenStore(), 0, "vbd", domid, "51712");
                require(Await.until(() -> "5".equals(state(be)) || "6".equals(state(be)), WAIT_MS),
                    "backend closing on detach");
                front.xs.write(fe + "/state", "6");
                require(Await.until(() -> "6".equals(state(be)) || null == state(be), WAIT_MS),
                    "backend closed on detach");
                requireGrantsReleased(front);
                requireOnlyOwnDataInPages(front);
                XenbusDevices.remove(machine.xenStore(), 0, "vbd", domid, "51712");
            }
            default ->
                // The guest dies with its requests in flight.
                requireOnlyOwnDataInPages(front);
        }
        front.close();
        machine.destroyGuest(domid);
    }

    private void requireGrantsReleased(final HostileBlkfront front) throws InterruptedException
    {
        final AtomicReference<List<Integer>> busy = new AtomicReference<>(front.endAllGrants());
        // The backend closed: nothing of the guest may stay mapped (a persistent grant, a ring page).
        require(Await.until(() -> busy.updateAndGet(b -> front.endAllGrants()).isEmpty(), WAIT_MS),
            "grants still in use by dom0 after it closed: " + busy.get());
    }

    private static void requireOnlyOwnDataInPages(final HostileBlkfront front)
    {
        final String problem = front.checkDataPages();
        require(null == problem, problem);
    }

    private static void requireOnlyOwnDataOnDisk(final Path disk, final int domid) throws IOException
    {
        final byte[] bytes = Files.readAllBytes(disk);
        for (int at = 0; at < bytes.length; at += Chunks.SIZE)
        {
            final String problem = HostileBlkfront.foreignChunk(bytes, at, domid);
            require(null == problem, "hostile disk sector " + at / Chunks.SIZE + ": " + problem);
        }
    }

    private void requireServiceBackToBaseline(final int domid) throws InterruptedException
    {
        final String be = XenbusDevices.backendPath(0, "vbd", domid, "51712");
        require(Await.until(() -> null == state(be), WAIT_MS), "the backend directory stays removed: " +
            describe(be));
        final boolean back = Await.until(() -> dom0Ports() == baseline.dom0Ports() &&
            service.grants().mappedPageCount() == baseline.mappedPages() &&
            countersAllocated() == baseline.counters() && ProcessResources.now().backTo(baseline.process()), WAIT_MS);
        require(back, "service back to its baseline after the hostile guest left: dom0 ports " + dom0Ports() +
            " (was " + baseline.dom0Ports() + "), ring pages mapped " + service.grants().mappedPageCount() + " (was " +
            baseline.mappedPages() + "), counters " + countersAllocated() + " (was " + baseline.counters() + "), " +
            ProcessResources.now() + " (was " + baseline.process() + "), new descriptors " +
            ProcessResources.newFdTargets(baseline.fds()));
        require(service.errors().isEmpty(), "an agent threw: " + service.errors());
        require(service.conductorRunning(), "the conductor runs");
    }

    private Path hostileDisk(final int domid) throws IOException
    {
        final Path disk = dir.resolve("hostile-" + domid + ".img");
        final byte[] bytes = new byte[(int)HOSTILE_SECTORS * Chunks.SIZE];
        for (int s = 0; s < HOSTILE_SECTORS; s++)
        {
            Chunks.fill(bytes, s * Chunks.SIZE, HostileBlkfront.DISK_MAGIC, HostileBlkfront.diskLabel(s));
        }
        try (FileChannel channel = FileChannel.open(disk, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING))
        {
            channel.write(ByteBuffer.wrap(bytes));
        }
        return disk;
    }

    private String state(final String be)
    {
        return machine.xenStore().readOrNull(be + "/state");
    }

    private String describe(final String dir)
    {
        if (!machine.xenStore().exists(dir))
        {
            return dir + " is gone";
        }
        final StringBuilder text = new StringBuilder(dir + " holds");
        for (final String key : machine.xenStore().directory(dir))
        {
            text.append(' ').append(key).append('=').append(machine.xenStore().readOrNull(dir + "/" + key));
        }
        return text.toString();
    }

    private String errorNode(final int domid)
    {
        final String error = machine.xenStore().readOrNull("/local/domain/0/error/backend/vbd/" + domid +
            "/51712/error");
        return null == error ? "(none)" : error;
    }

    private int number(final String path, final int defaultValue)
    {
        final String value = machine.xenStore().readOrNull(path);
        return null == value ? defaultValue : Integer.parseInt(value);
    }

    private int dom0Ports()
    {
        return machine.host().domain(0).boundPortCount();
    }

    private int countersAllocated()
    {
        final int[] n = new int[1];
        service.counters().forEach((value, id, label) -> n[0]++);
        return n[0];
    }

    private static void require(final boolean condition, final String what)
    {
        if (!condition)
        {
            throw new AssertionError(what);
        }
    }

    /** The well-behaved guest: Linux-like blkfront, seeded random I/O verified against a model of its disk. */
    private static final class GoodGuest implements AutoCloseable
    {
        final XenStore xs;
        final SimBlkfront front;
        final BlockWorkload workload;

        GoodGuest(final SimMachine machine, final Path disk) throws Exception
        {
            org.dom0j.blkback.jna.NativeFile.createSparse(disk, 16L << 20);
            machine.createGuest(2, "good", 16384);
            XenbusDevices.attach(machine.xenStore(), 0, "vbd", 2, "51712",
                Map.of("params", disk.toString(), "mode", "w", "type", "phy", "dev", "xvda", "device-type", "disk",
                    "removable", "0", "discard-enable", "1"),
                Map.of("virtual-device", "51712", "device-type", "disk"));
            xs = machine.connectAsGuest(2);
            front = SimBlkfront.connect(machine.host().domain(2), xs, "51712",
                new SimBlkfront.Options(2, 1, true, 32), WAIT_MS);
            workload = new BlockWorkload(front, 0x600DL, 50, 8, 20, true);
        }

        /** Submits and collects without waiting. */
        void step()
        {
            workload.submitSome();
            front.poll(workload);
            check();
        }

        void requireProgress(final int operations, final long timeoutMs)
        {
            final long target = workload.stats().operations() + operations;
            final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (workload.stats().operations() < target)
            {
                require(System.nanoTime() < deadline, "the well-behaved guest stalled: " +
                    (target - workload.stats().operations()) + " of " + operations + " operations missing after " +
                    timeoutMs + " ms (" + front.outstanding() + " outstanding)");
                workload.submitSome();
                if (front.poll(workload) == 0)
                {
                    front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
                }
            }
            check();
        }

        private void check()
        {
            require(null == workload.firstMismatch(), "the well-behaved guest read wrong data: " +
                workload.firstMismatch());
            require(workload.stats().errors == 0, "the well-behaved guest got " + workload.stats().errors +
                " errors");
            require(null == front.violation(), "the well-behaved guest saw a violation: " + front.violation());
        }

        @Override
        public void close()
        {
            front.close();
            xs.close();
        }
    }
}
