package org.dom0j.it;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.XenbusState;
import org.dom0j.blkback.jna.NativeFile;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.protocol.blkif.BlkifAbi;
import org.dom0j.ring.FrontRing;
import org.dom0j.ring.RingLayout;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.BlockGuest;
import org.dom0j.sim.guest.BlockWorkload;
import org.dom0j.sim.guest.SimBlkfront;
import org.dom0j.sim.guest.XenbusWaiter;
import org.dom0j.test.Await;
import org.dom0j.test.CProgram;
import org.dom0j.test.NbdServerProcess;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsWatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * blkback in {@code dom0j serve}, its own process, serving frontends in this one: a C frontend built from Xen's
 * own headers, a crash of the service after acknowledged writes, and a disk on an NBD export.
 */
@Timeout(180)
class BlkbackAcrossProcessesTest
{
    private Path dir;
    private SimMachine machine;
    private SimServe serve;
    private Path disk;

    @BeforeEach
    void setUp() throws Exception
    {
        dir = Path.of("/dev/shm").resolve("dom0j-it-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        machine = SimMachine.start(dir);
        disk = NativeFile.createSparse(dir.resolve("disk.img"), 16L << 20);
        startServe("serve.log");
    }

    private void startServe(final String logName) throws Exception
    {
        serve = SimServe.start(dir, dir.resolve(logName));
    }

    @AfterEach
    void tearDown() throws IOException
    {
        if (null != serve)
        {
            serve.process().destroyForcibly();
        }
        machine.close();
        IoUtil.delete(dir.toFile(), true);
    }

    private SimDomain guestWithDisk(final int domid)
    {
        return guestWithDisk(domid, 8192);
    }

    private SimDomain guestWithDisk(final int domid, final int pages)
    {
        return guestWithDisk(domid, pages, disk.toString());
    }

    private SimDomain guestWithDisk(final int domid, final int pages, final String params)
    {
        final SimDomain guest = machine.createGuest(domid, "it-" + domid, pages);
        XenbusDevices.attach(machine.xenStore(), 0, "vbd", domid, "51712",
            Map.of("params", params, "mode", "w", "type", "phy", "dev", "xvda", "device-type", "disk",
                "discard-enable", "1"),
            Map.of("virtual-device", "51712", "device-type", "disk"));
        return guest;
    }

    @Test
    void shouldServeACFrontendBuiltFromXensOwnHeaders() throws Exception
    {
        final String source;
        try (InputStream in = getClass().getResourceAsStream("/c/blkfront.c"))
        {
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        final Path binary = CProgram.compile(dir, "xen/io/blkif.h", "blkfront", source, "-O1");

        final SimDomain guest = guestWithDisk(3);
        final String fe = XenbusDevices.frontendPath(3, "vbd", "51712");
        final String be = XenbusDevices.backendPath(0, "vbd", 3, "51712");
        try (XenStore xs = machine.connectAsGuest(3);
            XenbusWaiter backend = new XenbusWaiter(xs, be + "/state", "c-front");
            EventChannels evtchn = guest.openEventChannels())
        {
            backend.await(s -> s == XenbusState.INIT_WAIT, 30_000);
            final int ringFrame = guest.allocatePage();
            new FrontRing(RingLayout.of(BlkifAbi.X86_64.requestSize(), BlkifAbi.X86_64.responseSize(), 1),
                guest.page(ringFrame)).init(0);
            final int ringRef = guest.grantAccess(0, ringFrame, false);
            final int dataFrame = guest.allocatePage();
            final int dataRef = guest.grantAccess(0, dataFrame, true);
            final int readFrame = guest.allocatePage();
            final int readRef = guest.grantAccess(0, readFrame, false);
            final int port = evtchn.bindUnboundPort(0);
            xs.write(fe + "/ring-ref", Integer.toString(ringRef));
            xs.write(fe + "/event-channel", Integer.toString(port));
            xs.write(fe + "/protocol", "x86_64-abi");
            xs.write(fe + "/state", XenbusState.INITIALISED.wireValue());
            backend.await(s -> s == XenbusState.CONNECTED, 30_000);

            final Process front = new ProcessBuilder(binary.toString(),
                dir.resolve("domains/3/memory").toString(), Integer.toString(ringFrame), Integer.toString(dataFrame),
                Integer.toString(dataRef), Integer.toString(readFrame), Integer.toString(readRef), "2048")
                .redirectErrorStream(true).start();
            final List<String> lines = new ArrayList<>();
            try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(front.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while (null != (line = reader.readLine()))
                {
                    lines.add(line);
                    if ("NOTIFY".equals(line))
                    {
                        // The simulator's event channels are Java; the test is the C frontend's event channel.
                        evtchn.notify(port);
                    }
                }
            }
            assertThat(front.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(lines).as("C frontend output").contains("RING_SIZE 32", "OK write", "OK flush", "OK read back",
                "OK eopnotsupp", "DONE");
            assertThat(front.exitValue()).isZero();
        }
        final byte[] onDisk = Files.readAllBytes(disk);
        for (int i = 0; i < 4096; i++)
        {
            assertThat(onDisk[2048 * 512 + i]).isEqualTo((byte)(i * 13 + 7));
        }
    }

    @Test
    void shouldKeepEveryAcknowledgedWriteWhenTheServiceIsKilled() throws Exception
    {
        final SimDomain guest = guestWithDisk(4);
        final long seed = System.nanoTime();
        try (XenStore xs = machine.connectAsGuest(4))
        {
            final SimBlkfront front = SimBlkfront.connect(guest, xs, "51712",
                new SimBlkfront.Options(2, 1, true, 16), 30_000);
            final BlockWorkload workload = new BlockWorkload(front, seed, 20, 4, 100, false);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (workload.stats().writes < 2000 && System.nanoTime() < deadline)
            {
                workload.submitSome();
                if (front.poll(workload) == 0)
                {
                    front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(5));
                }
            }
            assertThat(workload.stats().flushes).isPositive();

            // kill -9 while requests are still in flight: nothing acknowledged may be lost.
            serve.kill();
            serve = null;
            front.poll(workload);
            assertThat(workload.firstMismatch()).as("seed %d", seed).isNull();

            assertThat(verifyDisk(workload, seed)).as("blocks made durable by an acknowledged flush").isPositive();
        }
    }

    /**
     * Issue 15: a disk whose {@code params} is an NBD URI (qemu-nbd serving the disk file on a Unix socket), served by
     * {@code dom0j serve} to the simulated blkfront, two queues (qemu-nbd takes several clients, so it offers
     * CAN_MULTI_CONN), a verified random workload with flushes and discards, and the file read directly afterwards.
     */
    @Test
    void shouldServeADiskOnAnNbdExportToAVerifiedWorkload() throws Exception
    {
        final long seed = System.nanoTime();
        try (NbdServerProcess nbd = NbdServerProcess.qemuNbd(dir, disk, "--discard=unmap"))
        {
            final BlockWorkload workload = BlockGuest.withDisk(machine, 6, "it-nbd-6", 16384, nbd.uri(),
                new SimBlkfront.Options(2, 1, false, 64), front ->
                {
                    assertThat(front.queueCount()).isEqualTo(2);
                    final BlockWorkload w = new BlockWorkload(front, seed, 40, 16, 50, true);
                    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while ((w.stats().operations() < 3000 || front.outstanding() > 0) && System.nanoTime() < deadline)
                    {
                        if (w.stats().operations() < 3000)
                        {
                            w.submitSome();
                        }
                        if (front.poll(w) == 0)
                        {
                            front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(5));
                        }
                    }
                    return w;
                });

            assertThat(workload.stats().operations()).as("seed %d", seed).isGreaterThanOrEqualTo(3000);
            assertThat(workload.stats().errors).as("seed %d", seed).isZero();
            assertThat(workload.firstMismatch()).as("seed %d", seed).isNull();
            assertThat(workload.stats().discards).isPositive();
            assertThat(verifyDisk(workload, seed)).as("blocks made durable by an acknowledged flush").isPositive();
            assertThat(serve.log()).contains("NBD I/O", "disk on NBD " + nbd.uri(),
                "disks on NBD are served by grant copy through bounce pages");
        }
    }

    /**
     * Issue 14's promise: {@code dom0j serve} killed with SIGKILL under a running guest, again and again (the second
     * time stopped with SIGTERM instead, as an upgrade does), and started again each time; the guest sees pauses and
     * nothing else. Two queues, requests up to 192 KiB (blkback answers the
     * large ones out of order), flushes and discards, requests posted while no backend runs. Seeded
     * ({@code -Ddom0j.restart.seed}, {@code -Ddom0j.restart.kills} for more kills).
     */
    @Test
    void shouldAdoptTheDiskWithNoErrorAndNoStateChangeWhenTheServiceIsKilledAndStartedAgain() throws Exception
    {
        killAndStartAgainUnderLoad(5, disk.toString(), Integer.getInteger("dom0j.restart.kills", 3));
    }

    /**
     * The same on a disk that is an NBD export (qemu-nbd on the disk file): each serve connects to the server
     * afresh when it adopts the disk, and what the killed one left unanswered is served again.
     */
    @Test
    void shouldAdoptADiskOnAnNbdExportWhenTheServiceIsKilledAndStartedAgain() throws Exception
    {
        try (NbdServerProcess nbd = NbdServerProcess.qemuNbd(dir, disk, "--discard=unmap"))
        {
            killAndStartAgainUnderLoad(9, nbd.uri(), 2);
            assertThat(serve.log()).contains("disk on NBD " + nbd.uri());
        }
    }

    private void killAndStartAgainUnderLoad(final int domid, final String params, final int kills) throws Exception
    {
        final long seed = Long.getLong("dom0j.restart.seed", System.nanoTime());
        final SplittableRandom schedule = new SplittableRandom(seed);
        final SimDomain guest = guestWithDisk(domid, 65536, params);
        final String be = XenbusDevices.backendPath(0, "vbd", domid, "51712");
        final List<String> states = new CopyOnWriteArrayList<>();
        final List<Long> pausesMs = new ArrayList<>();
        final List<Integer> replayed = new ArrayList<>();
        try (XenStore xs = machine.connectAsGuest(domid))
        {
            final SimBlkfront front = SimBlkfront.connect(guest, xs, "51712",
                new SimBlkfront.Options(2, 1, false, 64), 30_000);
            final XsWatch stateWatch = machine.xenStore().watch(be + "/state", "restart",
                (path, token) -> states.add(String.valueOf(machine.xenStore().readOrNull(be + "/state"))));
            // The watch's first event comes on the client's own thread: the check at the end counts on it.
            Await.until("the watch's first event on the backend's state", 30_000, () -> !states.isEmpty());
            final BlockWorkload workload = new BlockWorkload(front, seed, 30, 48, 40, true);
            for (int kill = 1; kill <= kills; kill++)
            {
                final long target = workload.stats().operations() + 300 + schedule.nextInt(1200);
                run(front, workload, target, true);
                final boolean graceful = kill == 2;
                if (graceful)
                {
                    // An upgrade: SIGTERM, and the next serve takes over what this one detached.
                    serve.process().destroy();
                    assertThat(serve.process().waitFor(30, TimeUnit.SECONDS)).as("serve stopped on SIGTERM").isTrue();
                    assertThat(serve.log())
                        .contains("stopped cleanly", "connected devices stay connected");
                }
                else
                {
                    serve.kill();
                }
                final long killed = System.nanoTime();
                // The guest goes on posting while nothing serves it; posts again after taking what the old serve
                // answered before it died, so that requests cross the kill even when that was all of them. Counted
                // now: the next serve answers them.
                workload.submitSome();
                front.poll(workload);
                workload.submitSome();
                final int acrossKill = front.outstanding();
                final long done = workload.stats().operations();
                startServe("serve-" + kill + ".log");
                run(front, workload, done + 1, false);
                pausesMs.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed));
                // serve logs the adoption after it started the queues' agents, which may answer first: wait for the
                // line, do not race it.
                serve.awaitLog("adopted, 2 queue(s)", 30_000);
                replayed.add(replayedIn(serve.log()));
                assertThat(acrossKill).as("requests in flight across kill %d", kill).isPositive();
            }
            run(front, workload, workload.stats().operations() + 500, true);
            run(front, workload, 0, false);
            stateWatch.close();
            System.out.println("restart test, seed " + seed + ": " + kills + " kills, pauses " + pausesMs +
                " ms (kill to first answer, JVM start included), requests served again " + replayed + ", " +
                workload.stats().operations() + " requests");

            assertThat(front.violation()).as("seed %d", seed).isNull();
            assertThat(workload.stats().errors).as("I/O errors the guest saw, seed %d", seed).isZero();
            assertThat(workload.firstMismatch()).as("seed %d", seed).isNull();
            // One event when the watch was set, and one per write after it: the state was never written again.
            assertThat(states).as("backend state at the watch's first event, then at each write, seed %d", seed)
                .containsExactly(XenbusState.CONNECTED.wireValue());
            assertThat(serve.log()).contains("adopted, 2 queue(s)");
            assertThat(verifyDisk(workload, seed)).as("blocks made durable by an acknowledged flush").isPositive();
        }
    }

    /**
     * Runs the workload until {@code target} operations are done (posting, when {@code submit}), or, with
     * {@code target} 0, until nothing is outstanding.
     */
    private static void run(final SimBlkfront front, final BlockWorkload workload, final long target,
        final boolean submit) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (target == 0 ? front.outstanding() > 0 : workload.stats().operations() < target)
        {
            assertThat(System.nanoTime()).as("the workload reached %d operations (at %d, %d outstanding) in 90 s",
                target, workload.stats().operations(), front.outstanding()).isLessThan(deadline);
            if (submit)
            {
                workload.submitSome();
            }
            if (front.poll(workload) == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }
    }

    private static int replayedIn(final String log)
    {
        final java.util.regex.Matcher m = java.util.regex.Pattern.compile("adopted, \\d+ queue\\(s\\), (\\d+) request")
            .matcher(log);
        int total = 0;
        while (m.find())
        {
            total += Integer.parseInt(m.group(1));
        }
        return total;
    }

    /**
     * Checks every block of the disk file against the workload's model: what was acknowledged is there, or what was
     * still in flight.
     *
     * @return how many blocks an acknowledged flush made durable.
     */
    private int verifyDisk(final BlockWorkload workload, final long seed) throws IOException
    {
        final UnsafeBuffer expected = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final ByteBuffer actual = ByteBuffer.allocateDirect(4096);
        int durableChecked = 0;
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ))
        {
            for (long b = 0; b < workload.blocks(); b++)
            {
                final long version = workload.currentVersion(b);
                actual.clear();
                ch.read(actual, b * 4096);
                actual.flip();
                expectVersion(expected, seed, b, version);
                int differs = new UnsafeBuffer(actual).compareTo(expected);
                // A write (or discard) still unanswered at the kill may have been done: the block may hold it
                // instead. Only what was answered is promised.
                final long inFlight = workload.inFlightVersion(b);
                if (differs != 0 && inFlight >= 0)
                {
                    expectVersion(expected, seed, b, inFlight);
                    differs = new UnsafeBuffer(actual).compareTo(expected);
                }
                assertThat(differs)
                    .as("block %d, acknowledged version %d, in flight %d, durable version %d, seed %d", b,
                        version, inFlight, workload.durableVersion(b), seed)
                    .isZero();
                if (workload.durableVersion(b) != 0)
                {
                    durableChecked++;
                }
            }
        }
        return durableChecked;
    }

    private static void expectVersion(
        final UnsafeBuffer expected, final long seed, final long block, final long version)
    {
        if (version == 0)
        {
            expected.setMemory(0, 4096, (byte)0);
        }
        else
        {
            BlockWorkload.fill(expected, 0, seed, block, version);
        }
    }
}
