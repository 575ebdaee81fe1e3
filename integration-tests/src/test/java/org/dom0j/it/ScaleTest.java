package org.dom0j.it;

import org.agrona.IoUtil;
import org.dom0j.backend.CountersFile;
import org.dom0j.blkback.jna.NativeFile;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.test.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToLongFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14, scale: many guests, each with a disk, a network interface and a console, on one {@code dom0j serve}
 * (one conductor serving vbd, vif and console, its own process, as deployed), and nothing left once they are gone.
 * <p>
 * Each guest ({@link ScaleGuest}) runs a verified random block workload on a small sparse disk, pings the other guest
 * of its pair and streams verified bytes to it through serve's switch, and writes a line on its console that must
 * reach serve's log. The guests' vCPUs are a few driver threads of this process stepping every guest in turn, so
 * the spread of progress between guests is the service's doing. Reported (one line on stdout): guests, devices,
 * disk requests and stream bytes per guest over the same interval (min/median/max), serve's memory per device
 * (resident, anonymous and live heap, before and after connecting all) and threads before, connected and after.
 * After every guest has disconnected and been destroyed, serve must hold nothing of them: no grant mapped, no
 * port bound in dom0, no counters allocated, no mapping of guest memory, and as many threads and file descriptors
 * as before.
 * <p>
 * {@code -Ddom0j.scale.guests=N} (even; default 100), {@code -Ddom0j.scale.seconds=S} (the measured interval,
 * default 8), {@code -Ddom0j.scale.drivers=D} (guest vCPU threads, default 2), {@code -Ddom0j.scale.seed=X},
 * {@code -Ddom0j.scale.rounds=R} (connect, run and tear down all the guests R times on the same serve; default 1),
 * {@code -Ddom0j.scale.nmt=true} (print serve's native memory summaries). serve's log is kept in
 * {@code target/scale-serve.log}.
 */
@Timeout(600)
class ScaleTest
{
    private static final int GUESTS = Integer.getInteger("dom0j.scale.guests", 100);
    private static final double SECONDS = Double.parseDouble(System.getProperty("dom0j.scale.seconds", "8"));
    private static final int DRIVERS = Integer.getInteger("dom0j.scale.drivers", 2);
    private static final int ROUNDS = Integer.getInteger("dom0j.scale.rounds", 1);
    private static final long SEED = Long.getLong("dom0j.scale.seed", System.nanoTime());
    /** Print jcmd's native memory summary of serve before, connected and after (a diagnosis aid). */
    private static final boolean NMT = Boolean.getBoolean("dom0j.scale.nmt");
    /** 8 MiB: blkfront's 32 slots of 11 pages, netfront's 256 + 256 buffers, the console page, rings. */
    private static final int GUEST_PAGES = 2048;
    private static final long DISK_BYTES = 2L << 20;
    private static final int CONNECTORS = 8;
    private static final long WAIT_MS = 60_000;
    private static final int RUN = 0;
    private static final int DRAIN = 1;
    private static final int STOP = 2;

    private Path dir;
    private SimMachine machine;
    private Process serve;
    private Path serveLog;
    private final List<ScaleGuest> guests = new ArrayList<>();
    private final List<Thread> drivers = new ArrayList<>();
    private final AtomicInteger drainedDrivers = new AtomicInteger();
    private volatile int phase = RUN;
    private final long testStart = System.nanoTime();
    private int grantsInUse;
    private int leakedGrants;

    @BeforeEach
    void setUp()
    {
        assertThat(GUESTS % 2).as("dom0j.scale.guests must be even: guests talk in pairs").isZero();
        dir = Path.of("/dev/shm").resolve("dom0j-scale-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        machine = SimMachine.start(dir);
    }

    @AfterEach
    void tearDown() throws InterruptedException
    {
        phase = STOP;
        for (final Thread t : drivers)
        {
            t.join(10_000);
        }
        if (null != serve)
        {
            serve.destroyForcibly();
            serve.waitFor(10, TimeUnit.SECONDS);
            // Kept for a look after a failure: the simulator's directory goes.
            try
            {
                Files.copy(serveLog, Path.of("target", "scale-serve.log"), StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final IOException ex)
            {
                System.out.println("scale: could not keep serve's log: " + ex);
            }
        }
        machine.close();
        IoUtil.delete(dir.toFile(), true);
    }

    @Test
    void shouldServeEveryGuestsDiskNicAndConsoleFromOneServiceAndLeaveNothingBehind() throws Exception
    {
        System.out.println("scale: " + GUESTS + " guests, " + ROUNDS + " round(s), seed " + SEED);
        startServe();
        progress("serve started");
        final ServiceProbe probe = new ServiceProbe(serve.pid());
        final ServiceProbe.Reading before = probe.read(true);
        nativeMemory(probe, "before");
        final Baseline baseline = new Baseline(before, probe.fdTargets(), probe.threadNames(),
            machine.host().domain(0).boundPortCount(), allocatedCounters());
        for (int round = 1; round <= ROUNDS; round++)
        {
            round(round, probe, baseline);
        }
        stopServe();
    }

    /**
     * What serve was before any guest: what it must come back to after each round.
     */
    private record Baseline(
        ServiceProbe.Reading reading, Map<Integer, String> fds, Map<String, Integer> threads, int dom0Ports,
        int counters)
    {
    }

    /**
     * Connects every guest, measures, runs the workloads, measures the interval, drains, checks the console lines,
     * tears every guest down, and checks that serve holds nothing of them.
     */
    private void round(final int round, final ServiceProbe probe, final Baseline baseline) throws Exception
    {
        final ServiceProbe.Reading before = baseline.reading();
        guests.clear();
        drivers.clear();
        drainedDrivers.set(0);
        phase = RUN;
        final long connectStart = System.nanoTime();
        createGuests(round);
        final double connectSeconds = (System.nanoTime() - connectStart) / 1e9;
        progress("round " + round + ": connected");
        final ServiceProbe.Reading connected = probe.read(true);
        nativeMemory(probe, "connected");
        final Map<String, Integer> threadKinds = kinds(probe.threadNames());
        final int countersConnected = allocatedCounters();
        // What serve costs while its guests do nothing.
        final long idleCpu0 = probe.cpuNanos();
        final long idle0 = System.nanoTime();
        Await.until(() -> false, 2_000);
        final double idleCpu = (probe.cpuNanos() - idleCpu0) / (double)(System.nanoTime() - idle0);

        startDrivers();
        final long warmStart = System.nanoTime();
        final long warmDeadline = warmStart + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        boolean moving = false;
        while (!moving && System.nanoTime() - warmDeadline < 0)
        {
            moving = Await.until(() -> null != firstProblem() || guests.stream().allMatch(
                g -> g.diskOps > 0 && g.netBytes > 0 && g.pingReplies > 0), 5_000);
            if (!moving)
            {
                progress("waiting for " + waiting());
            }
        }
        assertThat(moving).as(() -> "every guest's disk, stream and pings moved; not yet: " + idle()).isTrue();
        assertThat(firstProblem()).isNull();
        final double warmSeconds = (System.nanoTime() - warmStart) / 1e9;
        progress("round " + round + ": every guest moving");

        final long[] disk0 = snapshot(g -> g.diskOps);
        final long[] net0 = snapshot(g -> g.netBytes);
        final long windowStart = System.nanoTime();
        final long busyCpu0 = probe.cpuNanos();
        // The measured interval: ended early only by a guest's problem.
        Await.until(() -> null != firstProblem(), (long)(SECONDS * 1000));
        final double busyCpu = (probe.cpuNanos() - busyCpu0) / (double)(System.nanoTime() - windowStart);
        final double window = (System.nanoTime() - windowStart) / 1e9;
        final long[] diskOps = minus(snapshot(g -> g.diskOps), disk0);
        final long[] netBytes = minus(snapshot(g -> g.netBytes), net0);
        assertThat(firstProblem()).isNull();
        final ServiceProbe.Reading busy = probe.read(false);

        phase = DRAIN;
        assertThat(Await.until(() -> drainedDrivers.get() == drivers.size(), WAIT_MS))
            .as("every disk request answered and every stream byte acknowledged").isTrue();
        phase = STOP;
        for (final Thread t : drivers)
        {
            t.join(WAIT_MS);
        }
        assertThat(firstProblem()).isNull();
        assertThat(withNone(diskOps)).as("guests with no disk request answered in the interval").isEmpty();
        assertThat(withNone(netBytes)).as("guests with no stream byte verified in the interval").isEmpty();

        sayOnConsoles();
        progress("round " + round + ": drained, console lines in serve's logs");
        tearDownGuests();
        progress("round " + round + ": guests disconnected and destroyed");

        final boolean threadsBack = Await.until(() -> probe.read(false).threads() <= before.threads(), 10_000);
        final boolean fdsBack = Await.until(() -> probe.fds() <= before.fds(), 10_000);
        final List<String> guestMaps = guestMemoryMaps(probe);
        final ServiceProbe.Reading after = probe.read(true);
        nativeMemory(probe, "after");
        final int dom0PortsAfter = machine.host().domain(0).boundPortCount();
        final int countersAfter = allocatedCounters();

        System.out.println(String.format(Locale.ROOT, "scale: %d guests, %d devices (vbd, vif, console) on one " +
            "dom0j serve; connect %.1f s; per guest in %.1f s: disk requests min/median/max %s, stream KiB %s; " +
            "serve CPU idle %.0f%%, busy %.0f%%; per device: RSS %s KiB, direct %s KiB, thread stacks %s KiB, " +
            "heap live %s KiB (committed %s KiB); threads %d -> %d %s -> %d; fds %d -> %d -> %d; teardown: %d " +
            "grants in use, %d dom0 ports, %d counters, %d guest memory maps%s (seed %d)",
            GUESTS, 3 * GUESTS, connectSeconds, window, spread(diskOps, 1), spread(netBytes, 1024), idleCpu * 100,
            busyCpu * 100, perDevice(before.rssKib(), connected.rssKib()),
            perDevice(before.committedKib("Other"), connected.committedKib("Other")),
            perDevice(before.committedKib("Thread"), connected.committedKib("Thread")),
            perDevice(before.heapBytes() / 1024, connected.heapBytes() / 1024),
            perDevice(before.committedKib("Java Heap"), connected.committedKib("Java Heap")),
            before.threads(), connected.threads(), threadKinds, after.threads(), before.fds(), connected.fds(),
            after.fds(), grantsInUse, dom0PortsAfter - baseline.dom0Ports(), countersAfter - baseline.counters(),
            guestMaps.size(), ROUNDS > 1 ? "; round " + round : "", SEED));
        System.out.println(String.format(Locale.ROOT, "scale: serve before/connected/busy/after: RSS KiB " +
            "%d/%d/%d/%d (anon %d/%d/%d/%d, shmem %d/%d/%d/%d); before/connected/after: JVM committed KiB %d/%d/%d " +
            "(direct %d/%d/%d), live heap KiB %d/%d/%d, counters %d/%d/%d; all moving %.1f s after connecting",
            before.rssKib(), connected.rssKib(), busy.rssKib(), after.rssKib(), before.anonKib(), connected.anonKib(),
            busy.anonKib(), after.anonKib(), before.shmemKib(), connected.shmemKib(), busy.shmemKib(),
            after.shmemKib(), before.committedKib("Total"), connected.committedKib("Total"),
            after.committedKib("Total"), before.committedKib("Other"), connected.committedKib("Other"),
            after.committedKib("Other"), before.heapBytes() / 1024, connected.heapBytes() / 1024,
            after.heapBytes() / 1024, baseline.counters(), countersConnected, countersAfter, warmSeconds));

        assertThat(grantsInUse).as("guest grants still mapped or being copied by serve").isZero();
        assertThat(leakedGrants).as("grants netfront could not end").isZero();
        assertThat(dom0PortsAfter).as("dom0's bound event channel ports").isEqualTo(baseline.dom0Ports());
        assertThat(countersAfter).as("counters allocated in serve's counters file").isEqualTo(baseline.counters());
        assertThat(guestMaps).as("serve's mappings of destroyed guests' memory").isEmpty();
        assertThat(threadsBack).as(() -> "serve's threads back to " + before.threads() + " (" + baseline.threads() +
            "); now " + probe.threadNames()).isTrue();
        assertThat(fdsBack).as(() -> "serve's file descriptors back to " + before.fds() + "; new ones: " +
            newFds(baseline.fds(), probe.fdTargets())).isTrue();
        if (after.committedKib("Other") >= 0)
        {
            // Each device's buffers are hundreds of KiB: what a few lazily made buffers take is allowed, not that.
            assertThat(after.committedKib("Other") - before.committedKib("Other"))
                .as("serve's direct and Unsafe memory (KiB) left after teardown").isLessThan(4096);
        }
    }

    /**
     * @return KiB per device that {@code to} grew by since {@code from}, or "?" when either is unknown.
     */
    private static String perDevice(final long from, final long to)
    {
        return from < 0 || to < 0 ? "?" : String.format(Locale.ROOT, "%.0f", (to - from) / (3.0 * GUESTS));
    }

    private static Map<Integer, String> newFds(final Map<Integer, String> before, final Map<Integer, String> now)
    {
        final Map<Integer, String> added = new TreeMap<>(now);
        added.entrySet().removeIf(e -> e.getValue().equals(before.get(e.getKey())));
        return added;
    }

    private static void nativeMemory(final ServiceProbe probe, final String when)
    {
        if (NMT)
        {
            System.out.println("scale: serve's native memory " + when + ":\n" +
                probe.jcmd("VM.native_memory", "summary"));
        }
    }

    private void progress(final String what)
    {
        System.out.printf(Locale.ROOT, "scale: %6.1f s %s%n", (System.nanoTime() - testStart) / 1e9, what);
    }

    private void startServe() throws IOException, InterruptedException
    {
        serveLog = dir.resolve("serve.log");
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
            // A fixed set of the JVM's own threads, so that serve's thread count before and after compare.
            "-XX:-UseDynamicNumberOfCompilerThreads", "-XX:-UseDynamicNumberOfGCThreads",
            // Native memory by category (direct buffers, thread stacks, heap) for the report.
            "-XX:NativeMemoryTracking=summary",
            "-cp", System.getProperty("java.class.path"), "org.dom0j.cli.Dom0j", "--platform=sim", "serve",
            "--on-exit", "close"));
        final ProcessBuilder pb =
            new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(serveLog.toFile());
        pb.environment().put(SimPlatformProvider.DIR_ENV, dir.toString());
        serve = pb.start();
        assertThat(Await.until(() -> !serve.isAlive() || read(serveLog).contains("dom0j serve: serving"), WAIT_MS))
            .isTrue();
        assertThat(serve.isAlive()).as(() -> read(serveLog)).isTrue();
    }

    private void stopServe() throws InterruptedException
    {
        serve.destroy();
        assertThat(serve.waitFor(WAIT_MS, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(read(serveLog)).contains("stopped cleanly");
    }

    private void createGuests(final int round) throws Exception
    {
        Files.createDirectories(dir.resolve("disks"));
        for (int i = 0; i < GUESTS; i++)
        {
            final int domid = i + 1;
            final int peer = (i ^ 1) + 1;
            final long seed = SEED + (long)(round - 1) * GUESTS + i / 2;
            final Path disk = NativeFile.createSparse(dir.resolve("disks").resolve(domid + ".img"), DISK_BYTES);
            guests.add(new ScaleGuest(machine, domid, disk, seed, ip(domid), ip(peer)));
        }
        runOnPool(guests.stream().map(g -> (Callable<Void>)() ->
        {
            g.create(GUEST_PAGES);
            return null;
        }).toList(), "connect");
    }

    private static int ip(final int domid)
    {
        return 0x0A01_0000 | domid;
    }

    private void startDrivers()
    {
        for (int d = 0; d < DRIVERS; d++)
        {
            final List<ScaleGuest> mine = new ArrayList<>();
            for (int i = d; i < guests.size(); i += DRIVERS)
            {
                mine.add(guests.get(i));
            }
            final Thread t = new Thread(() -> drive(mine), "scale-vcpu-" + d);
            t.setDaemon(true);
            drivers.add(t);
        }
        drivers.forEach(Thread::start);
    }

    /**
     * A vCPU shared by some guests: steps each in turn; idles briefly when a whole round moved nothing (a guest's
     * idle loop, not a synchronisation).
     */
    private void drive(final List<ScaleGuest> mine)
    {
        boolean draining = false;
        boolean drained = false;
        while (phase != STOP)
        {
            final long now = System.nanoTime();
            int work = 0;
            for (final ScaleGuest g : mine)
            {
                work += g.step(now);
            }
            if (!draining && phase == DRAIN)
            {
                draining = true;
                mine.forEach(ScaleGuest::beginDrain);
            }
            if (draining && !drained && mine.stream().allMatch(g -> null != g.problem || g.drained()))
            {
                drained = true;
                drainedDrivers.incrementAndGet();
            }
            if (work == 0)
            {
                LockSupport.parkNanos(50_000);
            }
        }
    }

    private void sayOnConsoles() throws Exception
    {
        final String[] lines = new String[guests.size()];
        runOnPool(guests.stream().map(g -> (Callable<Void>)() ->
        {
            lines[guests.indexOf(g)] = g.sayOnConsole();
            return null;
        }).toList(), "console");
        final Path logs = dir.resolve("console-logs");
        final List<Integer> missing = new ArrayList<>();
        assertThat(Await.until(() ->
        {
            missing.clear();
            for (int i = 0; i < guests.size(); i++)
            {
                if (!read(logs.resolve(guests.get(i).consoleLogName())).contains(lines[i] + "\n"))
                {
                    missing.add(guests.get(i).domid);
                }
            }
            return missing.isEmpty();
        }, WAIT_MS)).as(() -> "each guest's console line in serve's log; missing for " + missing).isTrue();
    }

    private void tearDownGuests() throws Exception
    {
        final AtomicInteger inUse = new AtomicInteger();
        final AtomicInteger leaked = new AtomicInteger();
        final List<String> diskProblems = Collections.synchronizedList(new ArrayList<>());
        runOnPool(guests.stream().map(g -> (Callable<Void>)() ->
        {
            leaked.addAndGet(g.disconnect());
            inUse.addAndGet(g.grantsInUse());
            final String problem = g.verifyDisk();
            if (null != problem)
            {
                diskProblems.add(problem);
            }
            g.destroy();
            Files.delete(g.disk());
            return null;
        }).toList(), "teardown");
        grantsInUse = inUse.get();
        leakedGrants = leaked.get();
        assertThat(diskProblems).as("every block of every disk as the workload last wrote it").isEmpty();
    }

    private static void runOnPool(final List<Callable<Void>> tasks, final String what) throws Exception
    {
        final AtomicInteger n = new AtomicInteger();
        final ExecutorService pool = Executors.newFixedThreadPool(CONNECTORS, r ->
        {
            final Thread t = new Thread(r, "scale-" + what + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try
        {
            final List<Future<Void>> futures = pool.invokeAll(tasks);
            for (final Future<Void> f : futures)
            {
                f.get();
            }
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    private String firstProblem()
    {
        for (final ScaleGuest g : guests)
        {
            final String p = g.problem;
            if (null != p)
            {
                return p;
            }
        }
        return null;
    }

    private String waiting()
    {
        return guests.stream().filter(g -> g.diskOps == 0).count() + " disks, " +
            guests.stream().filter(g -> g.netBytes == 0).count() + " streams, " +
            guests.stream().filter(g -> g.pingReplies == 0).count() + " pings";
    }

    private String idle()
    {
        final List<String> out = new ArrayList<>();
        for (final ScaleGuest g : guests)
        {
            if (g.diskOps == 0 || g.netBytes == 0 || g.pingReplies == 0)
            {
                out.add(g.domid + " (disk " + g.diskOps + ", stream " + g.netBytes + ", pings " + g.pingReplies + ")");
            }
        }
        return out.toString();
    }

    private long[] snapshot(final ToLongFunction<ScaleGuest> value)
    {
        return guests.stream().mapToLong(value).toArray();
    }

    private List<Integer> withNone(final long[] progress)
    {
        final List<Integer> stalled = new ArrayList<>();
        for (int i = 0; i < progress.length; i++)
        {
            if (progress[i] <= 0)
            {
                stalled.add(guests.get(i).domid);
            }
        }
        return stalled;
    }

    private static long[] minus(final long[] a, final long[] b)
    {
        final long[] d = new long[a.length];
        for (int i = 0; i < a.length; i++)
        {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    private static String spread(final long[] values, final long unit)
    {
        final long[] sorted = values.clone();
        Arrays.sort(sorted);
        return (sorted[0] / unit) + "/" + (sorted[sorted.length / 2] / unit) + "/" + (sorted[sorted.length - 1] / unit);
    }

    /**
     * @return threads grouped by what their name begins with (letters), e.g. blkback, vif, console.
     */
    private static Map<String, Integer> kinds(final Map<String, Integer> names)
    {
        final Map<String, Integer> kinds = new TreeMap<>();
        names.forEach((name, count) ->
        {
            int end = 0;
            while (end < name.length() && Character.isLetter(name.charAt(end)))
            {
                end++;
            }
            // A console's socket acceptor, console-<domid>-<devid>-accept, beside its ring agent, ...-<queue>.
            final String kind = name.matches("console-\\d+-\\d+-a.*") ? "console-accept" : name.substring(0, end);
            kinds.merge(kind, count, Integer::sum);
        });
        // The kinds that grow with the guests; the JVM's own and the service's fixed threads are left out.
        kinds.values().removeIf(n -> n < 10);
        return kinds;
    }

    private List<String> guestMemoryMaps(final ServiceProbe probe) throws InterruptedException
    {
        final String domains = dir.resolve("domains").toString() + "/";
        final List<String> maps = new ArrayList<>();
        Await.until(() ->
        {
            maps.clear();
            probe.mapsOf(domains).stream().filter(l -> !l.contains(domains + "0/")).forEach(maps::add);
            return maps.isEmpty();
        }, 10_000);
        return maps;
    }

    private int allocatedCounters()
    {
        final int[] n = new int[1];
        try (CountersFile counters = CountersFile.openForReading(dir.resolve("counters")))
        {
            counters.reader().forEach((value, id, label) -> n[0]++);
        }
        return n[0];
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
        }
        catch (final IOException ex)
        {
            return "";
        }
    }
}
