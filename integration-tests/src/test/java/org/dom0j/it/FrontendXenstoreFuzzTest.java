package org.dom0j.it;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.AgentScheduler;
import org.dom0j.backend.BackendConductor;
import org.dom0j.blkback.BlkbackConfiguration;
import org.dom0j.blkback.BlkbackDeviceType;
import org.dom0j.blkback.jna.NativeFile;
import org.dom0j.console.ConsoleDeviceType;
import org.dom0j.console.ConsoleHub;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.netback.NetbackConfiguration;
import org.dom0j.netback.NetbackDeviceType;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.dom0j.sim.guest.BlockWorkload;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.SimBlkfront;
import org.dom0j.sim.guest.SimConsoleFront;
import org.dom0j.sim.guest.SimNetfront;
import org.dom0j.test.Await;
import org.dom0j.test.fuzz.FuzzRun;
import org.dom0j.test.fuzz.Hostile;
import org.dom0j.test.fuzz.ProcessResources;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;

/**
 * Fuzzes what frontends write in xenstore (issue 14): the three device types of {@code dom0j serve} (vbd, vif,
 * console) in one conductor on the simulator, threaded as serve runs them, serve a well-behaved block guest doing
 * verified I/O, two network guests sending each other verified frames and a console guest, while each case attaches
 * one device of a random type to a new hostile guest ({@link HostileXenbusFrontend}) that writes random and almost-
 * right values for its keys (ring refs, event channels, protocol, multi-queue and feature keys, very long values,
 * non-numbers, missing keys, keys nobody knows) and states in any order, whatever the backend's state (InitWait,
 * Connected, Closing), and sometimes a coherent set so that it connects. Checked in every case:
 * <ul>
 *   <li>no exception escapes an agent; no device type, grant or event channel call throws anything but the
 *       platform's refusal; a device that fails says why, and "connect failed" only for a refusal;</li>
 *   <li>the backend is in a state a backend may be in (InitWait, Connected, Closing, Closed); after the frontend
 *       closes, it closes, and every grant the guest gave can be ended;</li>
 *   <li>the good guests keep completing verified I/O, frames and console lines;</li>
 *   <li>once the hostile guest is gone, dom0's ports, mappings, counters, console sessions, descriptors and threads
 *       are back where they were; the heap stays within a bound.</li>
 * </ul>
 */
class FrontendXenstoreFuzzTest
{
    private static final int GOOD_BLK = 2;
    private static final int GOOD_CONSOLE = 3;
    private static final int GOOD_NET_A = 4;
    private static final int GOOD_NET_B = 5;
    private static final int FIRST_HOSTILE_DOMID = 10;
    private static final long WAIT_MS = 5_000;
    private static final long HEAP_GROWTH_BOUND = 64L << 20;

    @TempDir
    Path dir;

    private final Logger quiet = Logger.getLogger("org.dom0j");
    private Level quietWas;
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private SimMachine machine;
    private RecordingPlatform platform;
    private GrantTables gnttab;
    private AgentScheduler scheduler;
    private AgentRunner conductorRunner;
    private CountersManager counters;
    private ConsoleHub hub;
    private Path hostileDisk;
    private SimBlkfront blkfront;
    private BlockWorkload workload;
    private SimConsoleFront console;
    private SimNetfront netA;
    private SimNetfront netB;
    private long frames;
    private long nextSeq;
    private Baseline baseline;
    private final TreeMap<String, Integer> outcomes = new TreeMap<>();

    private record Baseline(int dom0Ports, int mappedPages, int counters, int sessions, ProcessResources process,
        List<String> fds)
    {
    }

    @AfterEach
    void tearDown() throws Exception
    {
        for (int i = toClose.size() - 1; i >= 0; i--)
        {
            toClose.get(i).close();
        }
        if (null != machine)
        {
            machine.close();
        }
        quiet.setLevel(quietWas);
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.HOURS)
    void shouldSurviveHostileFrontendDirectoriesAtEveryStateWhileGoodGuestsAreServed() throws Exception
    {
        quietWas = quiet.getLevel();
        quiet.setLevel(Level.OFF);
        machine = SimMachine.start(dir.resolve("sim"));
        startService();
        startGoodGuests();

        final FuzzRun run = FuzzRun.configure("frontend xenstore", 0x5E7_0000L, 60, 9);
        final long[] heapBefore = new long[1];
        final FuzzRun.Summary summary = run.run((in, iteration) ->
        {
            if (null == baseline)
            {
                final ProcessResources process = ProcessResources.withHeap();
                heapBefore[0] = process.heapBytes();
                baseline = new Baseline(dom0Ports(), gnttab.mappedPageCount(), countersAllocated(), hub.openCount(),
                    process, ProcessResources.openFdTargets());
            }
            oneCase(in, FIRST_HOSTILE_DOMID + (int)(iteration % 2000));
        });
        System.out.println("frontend xenstore: the good guests completed " + workload.stats().operations() +
            " verified block operations and " + frames + " verified frames meanwhile; the hostile devices ended " +
            outcomes);
        if (!run.isReplay())
        {
            final long heapAfter = ProcessResources.withHeap().heapBytes();
            System.out.println("heap after GC: " + (heapBefore[0] >> 10) + " KiB before, " + (heapAfter >> 10) +
                " KiB after");
            require(heapAfter - heapBefore[0] <= HEAP_GROWTH_BOUND, "heap grew by " +
                ((heapAfter - heapBefore[0]) >> 20) + " MiB over " + summary.cases() + " cases");
        }
    }

    private void startService() throws Exception
    {
        final SimPlatform sim = new SimPlatform(machine.host(), 0);
        platform = new RecordingPlatform(sim);
        toClose.add(platform);
        final XenStore store = platform.openXenStore();
        toClose.add(store);
        gnttab = platform.openGrantTables();
        toClose.add(gnttab);
        scheduler = AgentScheduler.eventDriven(TimeUnit.MILLISECONDS.toNanos(1), errors::add);
        counters = new CountersManager(new UnsafeBuffer(ByteBuffer.allocateDirect(1024 * 1024)),
            new UnsafeBuffer(ByteBuffer.allocateDirect(256 * 1024)));
        hub = new ConsoleHub(dir.resolve("logs"), dir.resolve("run"));
        toClose.add(hub);
        final NetbackDeviceType vif = NetbackDeviceType.withSwitch(NetbackConfiguration.fromSystemProperties(),
            gnttab, counters);
        toClose.add(vif::close);
        toClose.add(scheduler);
        final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
            .platform(platform)
            .xenStore(store)
            .grantTables(gnttab)
            .scheduler(scheduler)
            .countersManager(counters)
            .deviceType(platform.deviceType(new BlkbackDeviceType(platform, counters,
                BlkbackConfiguration.fromSystemProperties())))
            .deviceType(platform.deviceType(vif))
            .deviceType(platform.deviceType(new ConsoleDeviceType(hub))));
        conductorRunner = new AgentRunner(new BackoffIdleStrategy(10, 20, 1000, 1_000_000), errors::add, null,
            conductor);
        AgentRunner.startOnThread(conductorRunner);
        toClose.add(conductorRunner);
        hostileDisk = NativeFile.createSparse(dir.resolve("hostile.img"), 1L << 20);
    }

    private void startGoodGuests() throws Exception
    {
        final Path disk = NativeFile.createSparse(dir.resolve("good.img"), 8L << 20);
        final SimDomain blkGuest = machine.createGuest(GOOD_BLK, "good-blk", 8192);
        attach(HostileXenbusFrontend.Kind.VBD, GOOD_BLK, disk);
        final XenStore blkStore = guestStore(GOOD_BLK);
        blkfront = SimBlkfront.connect(blkGuest, blkStore, "51712", new SimBlkfront.Options(1, 0, true, 11),
            WAIT_MS);
        toClose.add(blkfront);
        workload = new BlockWorkload(blkfront, 0x600DL, 50, 4, 20, true);

        final SimDomain consoleGuest = machine.createGuest(GOOD_CONSOLE, "good-console", 256);
        attach(HostileXenbusFrontend.Kind.CONSOLE, GOOD_CONSOLE, null);
        console = SimConsoleFront.connect(consoleGuest, guestStore(GOOD_CONSOLE), "1", WAIT_MS);
        toClose.add(console);

        netA = goodNet(GOOD_NET_A);
        netB = goodNet(GOOD_NET_B);
    }

    private SimNetfront goodNet(final int domid) throws Exception
    {
        final SimDomain guest = machine.createGuest(domid, "good-net" + domid, 4096);
        attach(HostileXenbusFrontend.Kind.VIF, domid, null);
        final SimNetfront front = SimNetfront.connect(guest, guestStore(domid), "0",
            SimNetfront.Options.linuxDefaults(), WAIT_MS);
        toClose.add(front);
        return front;
    }

    private XenStore guestStore(final int domid)
    {
        final XenStore xs = machine.connectAsGuest(domid);
        toClose.add(xs);
        return xs;
    }

    private void attach(final HostileXenbusFrontend.Kind kind, final int domid, final Path disk)
    {
        final String mac = NetGuest.defaultMac(domid, "0");
        switch (kind)
        {
            case VBD -> XenbusDevices.attach(machine.xenStore(), 0, "vbd", domid, kind.devid,
                Map.of("params", disk.toString(), "mode", "w", "type", "phy", "dev", "xvda", "device-type", "disk",
                    "removable", "0", "discard-enable", "1"),
                Map.of("virtual-device", kind.devid, "device-type", "disk"));
            case VIF -> XenbusDevices.attach(machine.xenStore(), 0, "vif", domid, kind.devid,
                Map.of("script", "/bin/true", "mac", mac, "bridge", "xenbr0", "handle", "0", "type", "vif"),
                Map.of("handle", "0", "mac", mac, "mtu", "1500"));
            default -> XenbusDevices.attach(machine.xenStore(), 0, "console", domid, kind.devid,
                Map.of("protocol", "vt100"), Map.of("output", "pty"));
        }
    }

    private void oneCase(final Hostile in, final int domid) throws Exception
    {
        final HostileXenbusFrontend.Kind kind = in.pick(HostileXenbusFrontend.Kind.values());
        final SimDomain guest = machine.createGuest(domid, "hostile" + domid, 128);
        attach(kind, domid, hostileDisk);
        final String be = XenbusDevices.backendPath(0, kind.type, domid, kind.devid);
        final XenStore xs = machine.connectAsGuest(domid);
        final HostileXenbusFrontend front = new HostileXenbusFrontend(kind, guest, xs, in);
        try
        {
            if (in.chance(80))
            {
                require(Await.until(() -> "2".equals(state(be)), WAIT_MS), "backend reaches InitWait");
            }
            if (in.chance(50))
            {
                front.honest(in.chance(70) ? "3" : "4");
            }
            for (int step = in.between(3, 25); step > 0; step--)
            {
                front.step();
                if (in.chance(30))
                {
                    Thread.sleep(in.between(1, 5));
                }
                goodStep();
            }
            Thread.sleep(20);
            judge(kind, domid, be);
            leave(in, front, be);
        }
        finally
        {
            front.close();
            xs.close();
            if (machine.host().exists(domid))
            {
                machine.destroyGuest(domid);
            }
        }
        requireBackToBaseline(kind, domid);
        requireGoodGuestsServed(in);
    }

    private void judge(final HostileXenbusFrontend.Kind kind, final int domid, final String be) throws Exception
    {
        require(platform.bugs.isEmpty(), "a backend threw: " + platform.bugs);
        require(errors.isEmpty(), "an agent threw: " + errors);
        // The conductor takes the device up in its own time (the case may not have waited for InitWait).
        Await.until(() -> List.of("2", "4", "5", "6").contains(state(be)), WAIT_MS);
        final String state = state(be);
        require(List.of("2", "4", "5", "6").contains(state), "the backend is in state " + state);
        final String error = machine.xenStore().readOrNull("/local/domain/0/error/backend/" + kind.type + "/" +
            domid + "/" + kind.devid + "/error");
        if (null != error)
        {
            for (final String prefix : new String[]{ "connect failed: ", "could not set the device up: " })
            {
                if (error.startsWith(prefix))
                {
                    require(platform.refusals.contains(error.substring(prefix.length())), "the device failed on " +
                        "something else than the platform's refusal: " + error);
                }
            }
            final int value = error.indexOf(" = \"");
            final String reason = (value < 0 ? error : error.substring(0, value) + " bad value")
                .replaceAll("/local/domain/[0-9]+/device/[a-z]+/[0-9]+/", "").replaceAll("[0-9]+", "N");
            outcomes.merge(kind.type + " failed: " + reason.substring(0, Math.min(60, reason.length())), 1,
                Integer::sum);
        }
        else
        {
            outcomes.merge(kind.type + " " + switch (state)
            {
                case "2" -> "waiting";
                case "4" -> "connected";
                case "5" -> "closing";
                default -> "closed";
            }, 1, Integer::sum);
        }
    }

    private void leave(final Hostile in, final HostileXenbusFrontend front, final String be) throws Exception
    {
        if (in.chance(50))
        {
            // An honest end: Closing, then Closed; the backend follows, and lets go of every page.
            front.write("state", "5");
            require(Await.until(() -> List.of("5", "6").contains(state(be)), WAIT_MS),
                "backend closing after the frontend: " + state(be));
            front.write("state", "6");
            require(Await.until(() -> "6".equals(state(be)), WAIT_MS), "backend closed after the frontend: " +
                state(be));
            final AtomicReference<List<Integer>> busy = new AtomicReference<>(List.of());
            require(Await.until(() -> busy.updateAndGet(b -> front.endAllGrants()).isEmpty(), WAIT_MS),
                "grants still in use by dom0 after it closed: " + busy.get());
        }
    }

    private void requireBackToBaseline(final HostileXenbusFrontend.Kind kind, final int domid) throws Exception
    {
        final String be = XenbusDevices.backendPath(0, kind.type, domid, kind.devid);
        final boolean back = Await.until(() -> null == state(be) && dom0Ports() == baseline.dom0Ports() &&
            gnttab.mappedPageCount() == baseline.mappedPages() && countersAllocated() == baseline.counters() &&
            hub.openCount() == baseline.sessions() && ProcessResources.now().backTo(baseline.process()), WAIT_MS);
        require(back, "service back to its baseline after the hostile guest left: backend state " + state(be) +
            ", dom0 ports " + dom0Ports() + " (was " + baseline.dom0Ports() + "), ring pages mapped " +
            gnttab.mappedPageCount() + " (was " + baseline.mappedPages() + "), counters " + countersAllocated() +
            " (was " + baseline.counters() + "), sessions " + hub.openCount() + " (was " + baseline.sessions() +
            "), " + ProcessResources.now() + " (was " + baseline.process() + "), new descriptors " +
            ProcessResources.newFdTargets(baseline.fds()));
        require(platform.bugs.isEmpty(), "a backend threw: " + platform.bugs);
        require(errors.isEmpty(), "an agent threw: " + errors);
        require(conductorRunner.thread().isAlive(), "the conductor runs");
    }

    /** A little of each good guest's work, without waiting. */
    private void goodStep()
    {
        workload.submitSome();
        blkfront.poll(workload);
        netA.poll((q, f, l, fl, g, s) -> { });
        netB.poll(this::onFrame);
    }

    /** Each good guest must get something done now. */
    private void requireGoodGuestsServed(final Hostile in) throws Exception
    {
        final long target = workload.stats().operations() + 4;
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (workload.stats().operations() < target)
        {
            require(System.nanoTime() < deadline, "the good block guest stalled");
            workload.submitSome();
            if (blkfront.poll(workload) == 0)
            {
                blkfront.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
        require(null == workload.firstMismatch() && workload.stats().errors == 0, "the good block guest: " +
            workload.firstMismatch() + ", " + workload.stats().errors + " errors");

        final String line = "good " + nextSeq + "\n";
        console.writeFully(line, WAIT_MS);
        final Path log = ConsoleHub.logPath(hub.logDirectory(), "good-console", GOOD_CONSOLE, "1");
        require(Await.until(() -> contains(log, line), WAIT_MS), "the good console's line reached its log");

        final long expect = frames + 3;
        for (int i = 0; i < 3; i++)
        {
            sendFrame(in);
        }
        while (frames < expect)
        {
            require(System.nanoTime() < deadline + TimeUnit.MILLISECONDS.toNanos(WAIT_MS),
                "the good network guests stalled: " + (expect - frames) + " frames missing");
            netA.poll((q, f, l, fl, g, s) -> { });
            if (netB.poll(this::onFrame) == 0)
            {
                netB.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
        require(null == netA.violation() && null == netB.violation() && netA.txErrors() == 0,
            "the good network guests saw " + netA.violation() + " / " + netB.violation() + ", " + netA.txErrors() +
            " TX errors");
    }

    private void sendFrame(final Hostile in) throws Exception
    {
        final int length = in.between(64, 1500);
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[length]);
        fill(frame, netB.mac(), netA.mac(), nextSeq, length);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (!netA.send(0, frame, 0, length, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
        {
            require(System.nanoTime() < deadline, "the good network guest could not send");
            netA.poll((q, f, l, fl, g, s) -> { });
            Thread.sleep(1);
        }
        nextSeq++;
    }

    private void onFrame(final int queue, final DirectBuffer data, final int length, final int rxFlags,
        final int gsoType, final int gsoSize)
    {
        if (length < 22 || data.getLong(14) != 0x5453_5A5A_5546_4F47L)
        {
            return;
        }
        final long seq = data.getLong(6 + 16);
        final UnsafeBuffer expected = new UnsafeBuffer(new byte[length]);
        fill(expected, netB.mac(), netA.mac(), seq, length);
        final byte[] got = new byte[length];
        data.getBytes(0, got);
        require(expected.equals(new UnsafeBuffer(got)), "frame " + seq + " arrived altered");
        frames++;
    }

    private static void fill(final UnsafeBuffer frame, final long dst, final long src, final long seq,
        final int length)
    {
        for (int i = 0; i < 6; i++)
        {
            frame.putByte(i, (byte)(dst >>> (40 - 8 * i)));
            frame.putByte(6 + i, (byte)(src >>> (40 - 8 * i)));
        }
        frame.putByte(12, (byte)0x88);
        frame.putByte(13, (byte)0xB5);
        frame.putLong(14, 0x5453_5A5A_5546_4F47L);
        frame.putLong(22, seq);
        for (int i = 30; i < length; i++)
        {
            frame.putByte(i, (byte)(seq * 31 + i));
        }
    }

    private static boolean contains(final Path file, final String text)
    {
        try
        {
            final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            bytes.write(Files.exists(file) ? Files.readAllBytes(file) : new byte[0]);
            return bytes.toString(java.nio.charset.StandardCharsets.US_ASCII).contains(text);
        }
        catch (final java.io.IOException ex)
        {
            return false;
        }
    }

    private String state(final String be)
    {
        return machine.xenStore().readOrNull(be + "/state");
    }

    private int dom0Ports()
    {
        return machine.host().domain(0).boundPortCount();
    }

    private int countersAllocated()
    {
        final int[] n = new int[1];
        counters.forEach((value, id, label) -> n[0]++);
        return n[0];
    }

    private static void require(final boolean condition, final String what)
    {
        if (!condition)
        {
            throw new AssertionError(what);
        }
    }
}
