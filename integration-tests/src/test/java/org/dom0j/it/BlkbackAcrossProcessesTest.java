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
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.sim.guest.BlockWorkload;
import org.dom0j.sim.guest.SimBlkfront;
import org.dom0j.sim.guest.XenbusWaiter;
import org.dom0j.test.Await;
import org.dom0j.test.CProgram;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * blkback in {@code dom0j serve}, its own process, serving frontends in this one: a C frontend built from Xen's
 * own headers, and a crash of the service after acknowledged writes.
 */
@Timeout(180)
class BlkbackAcrossProcessesTest
{
    private Path dir;
    private SimMachine machine;
    private Process serve;
    private Path serveLog;
    private Path disk;

    @BeforeEach
    void setUp() throws Exception
    {
        dir = Path.of("/dev/shm").resolve("dom0j-it-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        machine = SimMachine.start(dir);
        disk = NativeFile.createSparse(dir.resolve("disk.img"), 16L << 20);
        serveLog = dir.resolve("serve.log");
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"), "org.dom0j.cli.Dom0j", "--platform=sim", "serve"));
        final ProcessBuilder pb =
            new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(serveLog.toFile());
        pb.environment().put(SimPlatformProvider.DIR_ENV, dir.toString());
        serve = pb.start();
        // 40 s: within JUnit's default timeout (60 s, which bounds this method too), so a slow start says so.
        Await.until("dom0j serve ready (\"dom0j serve: serving\" in its log), or ended", 40_000,
            () -> serveLog().contains("dom0j serve: serving") || !serve.isAlive());
        assertThat(serveLog()).as("serve's log (it ended: %s)", !serve.isAlive()).contains("dom0j serve: serving");
    }

    private String serveLog()
    {
        try
        {
            return Files.readString(serveLog, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    @AfterEach
    void tearDown() throws IOException
    {
        if (null != serve)
        {
            serve.destroyForcibly();
        }
        machine.close();
        IoUtil.delete(dir.toFile(), true);
    }

    private SimDomain guestWithDisk(final int domid)
    {
        final SimDomain guest = machine.createGuest(domid, "it-" + domid, 8192);
        XenbusDevices.attach(machine.xenStore(), 0, "vbd", domid, "51712",
            Map.of("params", disk.toString(), "mode", "w", "type", "phy", "dev", "xvda", "device-type", "disk",
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
            serve.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            serve = null;
            front.poll(workload);
            assertThat(workload.firstMismatch()).as("seed %d", seed).isNull();

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
            assertThat(durableChecked).as("blocks made durable by an acknowledged flush").isPositive();
        }
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
