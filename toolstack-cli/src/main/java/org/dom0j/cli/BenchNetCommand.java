package org.dom0j.cli;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.NetBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code dom0j bench net}: two simulated guests, a sender blasting frames and a receiver counting and checking them
 * ({@link NetBench}), through {@code dom0j serve}'s switch in its own process; against the kernel moving the same
 * frames between two network namespaces over a veth pair (iperf3: UDP datagrams sized so that frames are 64 and 1514
 * bytes, TCP with GSO and GRO for the 64 KiB case; one client and server pair per queue), and an in-process memcpy of
 * the same bytes as an upper bound, all in the same run.
 * <p>
 * The veth baseline needs root (network namespaces) and iperf3; without either the dom0j side still runs and the
 * bench says why there is no ratio.
 */
@Command(name = "net", description = "Guest-to-guest frames through dom0j's switch on the simulator against the " +
    "kernel over a veth pair between two network namespaces.",
    footer = { "", "Examples:", "  dom0j bench net --seconds 3",
        "  dom0j bench net --only \"64 B UDP, 1\" --only \"GSO TCP, 1\" --no-veth" })
final class BenchNetCommand implements Callable<Integer>
{
    private static final String IPERF3_PACKAGE = "iperf3";
    private static final int UDP_FRAME_OVERHEAD = 42;
    private static final int MEMCPY_SLOTS = 256;
    private static final double MEMCPY_SECONDS = 0.5;

    @Spec
    private CommandSpec spec;

    @Option(names = "--seconds", defaultValue = "3",
        description = "Measured time per case (the veth baseline rounds it up to whole seconds). " +
            "Default: ${DEFAULT-VALUE}.")
    private double seconds;

    @Option(names = "--warmup", defaultValue = "1",
        description = "Seconds each case runs before it is measured, dom0j and iperf3 (--omit) alike. " +
            "Default: ${DEFAULT-VALUE}.")
    private double warmup;

    @Option(names = "--only", paramLabel = "TEXT",
        description = "Run only the cases whose name contains TEXT, e.g. \"64 B\" or \"2 queues\"; repeat it for " +
            "the cases that contain any of them.")
    private List<String> only;

    @Option(names = { "-h", "--help" }, usageHelp = true, description = "Show this help and exit.")
    private boolean help;

    @Option(names = "--no-veth", description = "Skip the veth baseline (needs root and iperf3).")
    private boolean noVeth;

    /**
     * One case.
     *
     * @param label  its name in the table.
     * @param shape  what the guests send.
     * @param queues queues per vif (and iperf3 pairs).
     */
    record Case(String label, NetBench.Shape shape, int queues)
    {
        String unit()
        {
            return shape.length() < 512 ? "Mfps" : "Gbit/s";
        }

        /** @return the case's rate in its unit from frames per second. */
        double rate(final double framesPerSecond)
        {
            if (shape.length() < 512)
            {
                return framesPerSecond / 1e6;
            }
            return framesPerSecond * (shape.gso() ? shape.payload() : shape.length()) * 8 / 1e9;
        }
    }

    /**
     * What the kernel path did.
     *
     * @param framesPerSecond frames (GSO case: 64 KiB frames' worth of payload) received per second.
     * @param cpuPerFrameUs   iperf3's own CPU (client and server, user and system) per frame, in microseconds.
     * @param lostPercent     datagrams lost (UDP), else 0.
     */
    record VethResult(double framesPerSecond, double cpuPerFrameUs, double lostPercent)
    {
    }

    /**
     * Compiles the raw AF_PACKET blaster into {@code dir}.
     *
     * @return its path, or null (and {@code problems} says why) when no C compiler is there.
     */
    private static Path buildNetblast(final Path dir, final List<String> problems) throws IOException,
        InterruptedException
    {
        if (!canRun("cc", "--version"))
        {
            problems.add("cc not found (Debian package gcc; scripts/install-deps.sh installs it): the UDP cases' " +
                "baseline falls back to iperf3 UDP, which is bound by a system call per datagram");
            return null;
        }
        final Path source = dir.resolve("netblast.c");
        try (var in = BenchNetCommand.class.getResourceAsStream("netblast.c"))
        {
            Files.write(source, in.readAllBytes());
        }
        final Path binary = dir.resolve("netblast");
        final Process p = new ProcessBuilder("cc", "-O2", "-o", binary.toString(), source.toString())
            .redirectErrorStream(true).start();
        final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0)
        {
            problems.add("building the AF_PACKET blaster failed (" + output.strip() + "): the UDP cases' baseline " +
                "falls back to iperf3 UDP");
            return null;
        }
        return binary;
    }

    private static String loadAverage()
    {
        try
        {
            final String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        }
        catch (final IOException | RuntimeException ex)
        {
            return "unknown";
        }
    }

    static List<Case> cases()
    {
        final List<Case> cases = new ArrayList<>();
        for (final int queues : new int[]{ 1, 2 })
        {
            final String q = queues == 1 ? "1 queue" : queues + " queues";
            cases.add(new Case("64 B UDP, " + q, NetBench.Shape.udp(64), queues));
            cases.add(new Case("1500 B UDP, " + q, NetBench.Shape.udp(1514), queues));
            cases.add(new Case("64 KiB GSO TCP, " + q, NetBench.Shape.gsoTcp(), queues));
        }
        return cases;
    }

    @Override
    public Integer call() throws Exception
    {
        final PrintWriter out = spec.commandLine().getOut();
        final Path dir = Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" :
            System.getProperty("java.io.tmpdir")).resolve("dom0j-bench-net-" + ProcessHandle.current().pid());
        final String vethProblem = noVeth ? "skipped (--no-veth)" : vethProblem();
        Files.createDirectories(dir);
        final List<String> problems = new ArrayList<>();
        final Path netblast = null == vethProblem ? buildNetblast(dir, problems) : null;
        out.printf(Locale.ROOT, "dom0j bench net: %.1f s per case after %.1f s of warm-up; sender and receiver " +
            "guests in this JVM, serve (switch) in its own; load average before: %s%n", seconds, warmup,
            loadAverage());
        out.println("baseline: " + (null != vethProblem ? "none: " + vethProblem : "the kernel between two network " +
            "namespaces over a veth pair: " + (null != netblast ? "UDP frames by a raw AF_PACKET sender and " +
            "receiver (sendmmsg/recvmmsg, 64 frames a call; one pair per queue, receivers in a fanout group)" :
            "UDP by iperf3 -u -l") + "; 64 KiB GSO by iperf3 TCP (GSO/GRO; one pair per queue)"));
        if (null != vethProblem && !noVeth)
        {
            problems.add("NO VETH BASELINE, NO RATIOS: " + vethProblem);
        }
        for (final String problem : problems)
        {
            spec.commandLine().getErr().println("dom0j bench net: " + problem);
            out.println("NOTE: " + problem);
        }
        spec.commandLine().getErr().flush();
        out.printf(Locale.ROOT, "%-22s %-6s %9s %9s %7s %9s %8s %8s %8s %7s%n", "case", "unit", "dom0j", "veth",
            "ratio", "memcpy", "serve", "dom0j", "veth", "lost");
        out.printf(Locale.ROOT, "%-22s %-6s %9s %9s %7s %9s %8s %8s %8s %7s%n", "", "", "", "", "", "",
            "us/frame", "us/frame", "us/frame", "");
        out.flush();
        final List<Double> ratios = new ArrayList<>();
        final List<String> notes = new ArrayList<>();
        // An interrupted bench (SIGTERM, Ctrl-C) stops what it started (serve, iperf3, the blaster), then removes the
        // network namespaces and the machine's directory, in that order.
        final AtomicReference<Veth> made = new AtomicReference<>();
        final Thread cleanup = new Thread(() ->
        {
            ProcessHandle.current().descendants().forEach(p ->
            {
                p.destroyForcibly();
                p.onExit().completeOnTimeout(p, 5, TimeUnit.SECONDS).join();
            });
            final Veth v = made.get();
            if (null != v)
            {
                v.close();
            }
            IoUtil.delete(dir.toFile(), true);
        }, "bench-net-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        Veth veth = null;
        try (SimMachine machine = SimMachine.start(dir))
        {
            if (null == vethProblem)
            {
                veth = Veth.create(ProcessHandle.current().pid());
                made.set(veth);
            }
            try (ServeProcess serve = ServeProcess.start(dir, dir.resolve("serve.log"), "--net-mode", "switch",
                "--net-max-queues", "2"))
            {
                int domid = 1;
                for (final Case c : cases())
                {
                    if (null != only && only.stream().noneMatch(c.label()::contains))
                    {
                        continue;
                    }
                    final NetBench.Result r = NetBench.run(machine, domid, domid + 1, c.shape(), c.queues(),
                        nanos(warmup), nanos(seconds), serve::cpuNanos);
                    domid += 2;
                    final VethResult v = null == veth ? null : null != netblast && !c.shape().gso() ?
                        veth.runRaw(c, seconds, warmup, netblast) : veth.run(c, seconds, warmup);
                    final double memcpy = memcpyFramesPerSecond(c);
                    final double dom0jRate = c.rate(r.framesPerSecond());
                    final double ratio = null == v ? Double.NaN : dom0jRate / c.rate(v.framesPerSecond());
                    if (null != v)
                    {
                        ratios.add(ratio);
                    }
                    final double frames = Math.max(1, r.frames());
                    final double lost = 100.0 * r.lostFrames() / Math.max(1, r.lostFrames() + r.frames());
                    out.printf(Locale.ROOT, "%-22s %-6s %9.3f %9s %7s %9.2f %8.2f %8.2f %8s %6.2f%%%n", c.label(),
                        c.unit(), dom0jRate, null == v ? "-" : fmt(c.rate(v.framesPerSecond())),
                        null == v ? "-" : String.format(Locale.ROOT, "%.2f", ratio), c.rate(memcpy),
                        r.externalCpuNanos() / 1e3 / frames,
                        (r.externalCpuNanos() + r.senderCpuNanos() + r.receiverCpuNanos()) / 1e3 / frames,
                        null == v ? "-" : String.format(Locale.ROOT, "%.2f", v.cpuPerFrameUs()), lost);
                    out.flush();
                    if (r.errors() > 0 || r.frames() == 0)
                    {
                        out.println("  WRONG: " + r.errors() + " frames failed the receiver's checks" +
                            (null == r.firstError() ? "" : "; first: " + r.firstError()) +
                            (r.frames() == 0 ? "; no frame arrived" : ""));
                    }
                    if (r.allocatedBytes() >= frames)
                    {
                        // A one-off allocation (some hundred bytes) is no concern; one per frame would be.
                        out.printf(Locale.ROOT, "  ALLOCATES: the guests' threads allocated %d bytes while measured " +
                            "(%.1f per frame)%n", r.allocatedBytes(), r.allocatedBytes() / frames);
                    }
                    if (c.queues() > 1)
                    {
                        notes.add(String.format(Locale.ROOT, "%s: receive queues took %s of the frames",
                            c.label(), shares(r.framesPerRxQueue())));
                    }
                    if (null != v && v.lostPercent() > 0)
                    {
                        notes.add(String.format(Locale.ROOT, "%s: the veth path lost %.2f%% of its frames", c.label(),
                            v.lostPercent()));
                    }
                }
                if (!serve.stop())
                {
                    out.println("dom0j bench net: serve did not stop cleanly; see " + serve.log());
                }
            }
        }
        finally
        {
            if (null != veth)
            {
                veth.close();
            }
            IoUtil.delete(dir.toFile(), true);
            try
            {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            }
            catch (final IllegalStateException ex)
            {
                // Shutting down already: the hook runs.
            }
        }
        if (!ratios.isEmpty())
        {
            out.printf(Locale.ROOT, "ratio = dom0j / veth, same frames, same run; geometric mean %.2f%n",
                Math.exp(ratios.stream().mapToDouble(Math::log).average().orElse(0)));
        }
        out.println("units: Mfps = million frames received per second; Gbit/s of whole frames (1514 B), of TCP " +
            "payload for 64 KiB GSO; memcpy = one thread per queue copying the same bytes frame by frame, an upper " +
            "bound");
        out.println("us/frame (GSO: per 64 KiB frame): serve = the serve process; dom0j = serve and both guests' " +
            "threads (on Xen the guests run on their own vCPUs); veth = the sending and receiving processes " +
            "(AF_PACKET: softirq time not included; iperf3: its own count); lost = frames missing from the " +
            "receiver's sequence");
        for (final String note : notes)
        {
            out.println(note);
        }
        out.flush();
        return ExitCodes.OK;
    }

    private static String fmt(final double v)
    {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String shares(final long[] perQueue)
    {
        long total = 0;
        for (final long n : perQueue)
        {
            total += n;
        }
        final StringBuilder s = new StringBuilder();
        for (int q = 0; q < perQueue.length; q++)
        {
            s.append(q == 0 ? "" : " / ").append(String.format(Locale.ROOT, "%.0f%%",
                100.0 * perQueue[q] / Math.max(1, total)));
        }
        return s.toString();
    }

    private static long nanos(final double s)
    {
        return (long)(s * 1e9);
    }

    /**
     * @return why there can be no veth baseline here, or null.
     */
    private static String vethProblem()
    {
        if (!isRoot())
        {
            return "not root (network namespaces and veth pairs need CAP_NET_ADMIN and CAP_SYS_ADMIN)";
        }
        if (!canRun("ip", "-V"))
        {
            return "ip not found (Debian package iproute2)";
        }
        if (!canRun("iperf3", "--version"))
        {
            return "iperf3 not found: install the Debian package " + IPERF3_PACKAGE + " (scripts/install-deps.sh " +
                "does)";
        }
        return null;
    }

    private static boolean isRoot()
    {
        try
        {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Uid:")).findFirst()
                .map(l -> "0".equals(l.split("\\s+")[2])).orElse(false);
        }
        catch (final IOException ex)
        {
            return false;
        }
    }

    static boolean canRun(final String... command)
    {
        try
        {
            final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        }
        catch (final IOException | InterruptedException ex)
        {
            return false;
        }
    }

    /**
     * Copies frame-sized chunks from one set of slots to another, one thread per queue, as the upper bound of one
     * copy of the same bytes.
     *
     * @return frames copied per second, all threads.
     */
    private static double memcpyFramesPerSecond(final Case c) throws InterruptedException
    {
        final int length = c.shape().length();
        final int stride = (length + 63) & ~63;
        final long[] copied = new long[c.queues()];
        final long[] elapsed = new long[c.queues()];
        final Thread[] threads = new Thread[c.queues()];
        for (int t = 0; t < threads.length; t++)
        {
            final int index = t;
            threads[t] = new Thread(() ->
            {
                final UnsafeBuffer from = new UnsafeBuffer(ByteBuffer.allocateDirect(stride * MEMCPY_SLOTS));
                final UnsafeBuffer to = new UnsafeBuffer(ByteBuffer.allocateDirect(stride * MEMCPY_SLOTS));
                from.setMemory(0, from.capacity(), (byte)0x5A);
                copy(from, to, length, stride, nanos(MEMCPY_SECONDS / 5));
                final long start = System.nanoTime();
                copied[index] = copy(from, to, length, stride, nanos(MEMCPY_SECONDS));
                elapsed[index] = System.nanoTime() - start;
            }, "bench-net-memcpy-" + t);
            threads[t].start();
        }
        double total = 0;
        for (int t = 0; t < threads.length; t++)
        {
            threads[t].join();
            total += copied[t] * 1e9 / Math.max(1, elapsed[t]);
        }
        return total;
    }

    private static long copy(
        final UnsafeBuffer from, final UnsafeBuffer to, final int length, final int stride, final long nanos)
    {
        final long end = System.nanoTime() + nanos;
        long frames = 0;
        while (System.nanoTime() - end < 0)
        {
            for (int slot = 0; slot < MEMCPY_SLOTS; slot++)
            {
                to.putBytes(slot * stride, from, slot * stride, length);
            }
            frames += MEMCPY_SLOTS;
        }
        return frames;
    }

    /**
     * Two network namespaces joined by a veth pair, made for one bench run and removed after it (or at JVM shutdown);
     * iperf3 and the AF_PACKET blaster run between them.
     * <p>
     * One thread uses it; {@link #close} may also run on the bench's shutdown hook.
     */
    static final class Veth implements AutoCloseable
    {
        private static final String CLIENT_IP = "10.199.0.1";
        private static final String SERVER_IP = "10.199.0.2";
        private static final int BASE_PORT = 5301;
        private final String clientNs;
        private final String serverNs;
        private final String clientDev;
        private final String serverDev;
        private String serverMac;
        private boolean closed;

        private Veth(final String clientNs, final String serverNs, final String clientDev, final String serverDev)
        {
            this.clientNs = clientNs;
            this.serverNs = serverNs;
            this.clientDev = clientDev;
            this.serverDev = serverDev;
        }

        /**
         * Makes the namespaces and the pair (two queues each way), addresses them and brings them up.
         *
         * @param id a number unique to this run, in the names.
         * @return the pair.
         * @throws IOException when a step fails.
         */
        static Veth create(final long id) throws IOException, InterruptedException
        {
            final String tag = Long.toString(id % 100_000);
            final String a = "d0jb" + tag + "a";
            final String b = "d0jb" + tag + "b";
            final Veth veth = new Veth("dom0j-bench-" + tag + "-a", "dom0j-bench-" + tag + "-b", a, b);
            try
            {
                ip("netns", "add", veth.clientNs);
                ip("netns", "add", veth.serverNs);
                ip("link", "add", a, "netns", veth.clientNs, "numtxqueues", "2", "numrxqueues", "2", "type", "veth",
                    "peer", "name", b, "netns", veth.serverNs, "numtxqueues", "2", "numrxqueues", "2");
                ip("-n", veth.clientNs, "addr", "add", CLIENT_IP + "/24", "dev", a);
                ip("-n", veth.serverNs, "addr", "add", SERVER_IP + "/24", "dev", b);
                for (final String[] nsDev : new String[][]{ { veth.clientNs, a }, { veth.serverNs, b },
                    { veth.clientNs, "lo" }, { veth.serverNs, "lo" } })
                {
                    ip("-n", nsDev[0], "link", "set", nsDev[1], "up");
                }
                final Matcher mac = Pattern.compile("link/ether ([0-9a-f:]{17})").matcher(
                    ip("-n", veth.serverNs, "link", "show", b));
                if (!mac.find())
                {
                    throw new IOException("no MAC address on " + b);
                }
                veth.serverMac = mac.group(1);
                return veth;
            }
            catch (final IOException | InterruptedException | RuntimeException ex)
            {
                veth.close();
                throw ex;
            }
        }

        /**
         * Runs iperf3 for one case: one server and one client per queue, in parallel.
         *
         * @param c       the case.
         * @param seconds measured time (rounded up to whole seconds, as iperf3 takes it).
         * @param warmup  omitted time before it (rounded).
         * @return the kernel path's rate.
         * @throws IOException when iperf3 fails.
         */
        VethResult run(final Case c, final double seconds, final double warmup)
            throws IOException, InterruptedException
        {
            final long time = Math.max(1, (long)Math.ceil(seconds));
            final long omit = Math.max(0, Math.round(warmup));
            final List<Process> servers = new ArrayList<>();
            final List<Process> clients = new ArrayList<>();
            try
            {
                for (int q = 0; q < c.queues(); q++)
                {
                    final Process server = new ProcessBuilder("ip", "netns", "exec", serverNs, "iperf3", "-s", "-1",
                        "--forceflush", "-p", Integer.toString(BASE_PORT + q)).redirectErrorStream(true).start();
                    servers.add(server);
                    awaitListening(server);
                }
                for (int q = 0; q < c.queues(); q++)
                {
                    final List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", clientNs, "iperf3",
                        "-c", SERVER_IP, "-p", Integer.toString(BASE_PORT + q), "-t", Long.toString(time), "-O",
                        Long.toString(omit), "-J"));
                    if (!c.shape().gso())
                    {
                        command.addAll(List.of("-u", "-b", "0", "-l",
                            Integer.toString(c.shape().length() - UDP_FRAME_OVERHEAD)));
                    }
                    clients.add(new ProcessBuilder(command).redirectErrorStream(true).start());
                }
                double framesPerSecond = 0;
                double cpuSeconds = 0;
                double frames = 0;
                double lost = 0;
                double sent = 0;
                for (final Process client : clients)
                {
                    final String json = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    if (!client.waitFor(time + omit + 30, TimeUnit.SECONDS) || client.exitValue() != 0)
                    {
                        throw new IOException("iperf3 failed: " + json.strip());
                    }
                    final String received = block(json, "sum_received");
                    final double bytes = number(received, "bytes");
                    final double secs = number(received, "seconds");
                    final double perFrame = c.shape().gso() ? c.shape().payload() :
                        c.shape().length() - UDP_FRAME_OVERHEAD;
                    framesPerSecond += bytes / perFrame / secs;
                    frames += bytes / perFrame;
                    final String cpu = block(json, "cpu_utilization_percent");
                    cpuSeconds += (number(cpu, "host_total") + number(cpu, "remote_total")) / 100 * secs;
                    if (!c.shape().gso())
                    {
                        final double datagrams = number(block(json, "sum_sent"), "packets");
                        lost += Math.max(0, datagrams - bytes / perFrame);
                        sent += datagrams;
                    }
                }
                for (final Process server : servers)
                {
                    server.waitFor(10, TimeUnit.SECONDS);
                }
                return new VethResult(framesPerSecond, cpuSeconds * 1e6 / Math.max(1, frames),
                    sent > 0 ? 100 * lost / sent : 0);
            }
            finally
            {
                for (final Process p : clients)
                {
                    p.destroyForcibly();
                }
                for (final Process p : servers)
                {
                    p.destroyForcibly();
                }
            }
        }

        private static void awaitListening(final Process server) throws IOException
        {
            // iperf3 prints this line once its socket listens; nothing else signals readiness.
            final StringBuilder seen = new StringBuilder();
            int ch;
            while ((ch = server.getInputStream().read()) >= 0)
            {
                seen.append((char)ch);
                if (seen.indexOf("Server listening") >= 0 && ch == '\n')
                {
                    return;
                }
            }
            throw new IOException("iperf3 -s exited: " + seen.toString().strip());
        }

        private static String block(final String json, final String name) throws IOException
        {
            final int at = json.indexOf("\"" + name + "\"");
            if (at < 0)
            {
                throw new IOException("iperf3 printed no " + name + ": " + json.strip());
            }
            final int end = json.indexOf('}', at);
            return json.substring(at, end < 0 ? json.length() : end);
        }

        private static double number(final String block, final String name) throws IOException
        {
            final Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*([-0-9.eE+]+)").matcher(block);
            if (!m.find())
            {
                throw new IOException("iperf3's " + block.lines().findFirst().orElse("") + " has no " + name);
            }
            return Double.parseDouble(m.group(1));
        }

        private static String ip(final String... args) throws IOException, InterruptedException
        {
            final List<String> command = new ArrayList<>();
            command.add("ip");
            command.addAll(List.of(args));
            final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0)
            {
                throw new IOException(String.join(" ", command) + " failed: " + output.strip());
            }
            return output;
        }

        /**
         * Runs the raw AF_PACKET blaster for a UDP case: one receiver per queue (a fanout group shares the frames by
         * flow), then one sender per queue, each its own flow.
         *
         * @param c        the case.
         * @param seconds  measured time.
         * @param warmup   time before it.
         * @param netblast the blaster.
         * @return the kernel path's rate.
         * @throws IOException when the blaster fails.
         */
        VethResult runRaw(final Case c, final double seconds, final double warmup, final Path netblast)
            throws IOException, InterruptedException
        {
            final String length = Integer.toString(c.shape().length());
            final List<Process> receivers = new ArrayList<>();
            final List<Process> senders = new ArrayList<>();
            try
            {
                final String group = c.queues() > 1 ? Long.toString(1 + ProcessHandle.current().pid() % 60_000) : "0";
                for (int q = 0; q < c.queues(); q++)
                {
                    final Process receiver = new ProcessBuilder("ip", "netns", "exec", serverNs, netblast.toString(),
                        "recv", serverDev, length, Double.toString(warmup), Double.toString(seconds), group)
                        .redirectErrorStream(true).start();
                    receivers.add(receiver);
                    final String first = readLine(receiver);
                    if (!"ready".equals(first))
                    {
                        throw new IOException("netblast recv: " + first);
                    }
                }
                for (int q = 0; q < c.queues(); q++)
                {
                    // Senders run a little past the receivers' window, so that it is full to its end.
                    senders.add(new ProcessBuilder("ip", "netns", "exec", clientNs, netblast.toString(), "send",
                        clientDev, serverMac, CLIENT_IP, SERVER_IP, length, Double.toString(warmup),
                        Double.toString(seconds + 0.3), Integer.toString(40_000 + q)).redirectErrorStream(true)
                        .start());
                }
                double framesPerSecond = 0;
                double frames = 0;
                double lost = 0;
                double cpuNanos = 0;
                double bad = 0;
                for (final Process p : receivers)
                {
                    final String line = finish(p, warmup + seconds + 30);
                    final double n = field(line, "frames");
                    framesPerSecond += n / field(line, "seconds");
                    frames += n;
                    lost += field(line, "lost");
                    bad += field(line, "bad");
                    cpuNanos += field(line, "cpu_ns");
                }
                double sent = 0;
                for (final Process p : senders)
                {
                    final String line = finish(p, warmup + seconds + 30);
                    // The sender's CPU covers its measured part, which is 0.3 s longer than the receivers'.
                    cpuNanos += field(line, "cpu_ns") * seconds / (seconds + 0.3);
                    sent += field(line, "sent");
                }
                if (bad > 0 || frames == 0)
                {
                    throw new IOException("netblast: " + (long)bad + " frames failed its checks, " + (long)frames +
                        " counted (" + (long)sent + " sent)");
                }
                return new VethResult(framesPerSecond, cpuNanos / 1e3 / frames, 100 * lost / (lost + frames));
            }
            finally
            {
                for (final Process p : senders)
                {
                    p.destroyForcibly();
                }
                for (final Process p : receivers)
                {
                    p.destroyForcibly();
                }
            }
        }

        private static String readLine(final Process p) throws IOException
        {
            final StringBuilder line = new StringBuilder();
            int ch;
            while ((ch = p.getInputStream().read()) >= 0 && ch != '\n')
            {
                line.append((char)ch);
            }
            return line.toString();
        }

        private static String finish(final Process p, final double timeoutSeconds)
            throws IOException, InterruptedException
        {
            final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor((long)timeoutSeconds, TimeUnit.SECONDS) || p.exitValue() != 0)
            {
                throw new IOException("netblast failed: " + output);
            }
            return output;
        }

        private static double field(final String line, final String name) throws IOException
        {
            final Matcher m = Pattern.compile("\\b" + name + " ([-0-9.]+)").matcher(line);
            if (!m.find())
            {
                throw new IOException("netblast printed no " + name + ": " + line);
            }
            return Double.parseDouble(m.group(1));
        }

        /**
         * Removes both namespaces (the pair goes with them). Idempotent; also run by the bench's shutdown hook.
         */
        @Override
        public synchronized void close()
        {
            if (closed)
            {
                return;
            }
            closed = true;
            for (final String ns : new String[]{ clientNs, serverNs })
            {
                try
                {
                    ip("netns", "del", ns);
                }
                catch (final IOException | InterruptedException ex)
                {
                    // Not made, or already gone.
                }
            }
        }
    }
}
