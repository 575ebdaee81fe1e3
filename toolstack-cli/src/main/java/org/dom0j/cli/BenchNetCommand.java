package org.dom0j.cli;

import org.agrona.IoUtil;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.NetBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code dom0j bench net}: two simulated guests, a sender blasting frames and a receiver counting and checking them
 * ({@link NetBench}), through {@code dom0j serve}'s switch in its own process; against the kernel moving the same
 * frames between two network namespaces over a veth pair (iperf3: UDP datagrams sized so that frames are 64 and 1514
 * bytes, TCP with GSO and GRO for the 64 KiB case; one client and server pair per queue), and an in-process memcpy of
 * the same bytes as an upper bound, all in the same run.
 * <p>
 * The veth baseline needs root (network namespaces) and iperf3; without either the dom0j side still runs and the
 * bench says why there is no ratio.
 * <p>
 * This class keeps the options and the order of things; {@link VethPair}, {@link NetblastBaseline},
 * {@link Iperf3Baseline} and {@link MemcpyBaseline} measure the baselines, {@link BenchNetTable} prints the report.
 */
@Command(name = "net", description = "Guest-to-guest frames through dom0j's switch on the simulator against the " +
    "kernel over a veth pair between two network namespaces.",
    footer = { "", "Examples:", "  dom0j bench net --seconds 3",
        "  dom0j bench net --only \"64 B UDP, 1\" --only \"GSO TCP, 1\" --no-veth" })
final class BenchNetCommand implements Callable<Integer>
{
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

    /**
     * @return every case, in the order they run: 64 B UDP, 1500 B UDP and 64 KiB GSO TCP, with 1 queue, then 2.
     */
    static List<BenchNetCase> cases()
    {
        final List<BenchNetCase> cases = new ArrayList<>();
        for (final int queues : new int[]{ 1, 2 })
        {
            final String q = queues == 1 ? "1 queue" : queues + " queues";
            cases.add(new BenchNetCase("64 B UDP, " + q, NetBench.Shape.udp(64), queues));
            cases.add(new BenchNetCase("1500 B UDP, " + q, NetBench.Shape.udp(1514), queues));
            cases.add(new BenchNetCase("64 KiB GSO TCP, " + q, NetBench.Shape.gsoTcp(), queues));
        }
        return cases;
    }

    @Override
    public Integer call() throws Exception
    {
        final PrintWriter out = spec.commandLine().getOut();
        final Path dir = Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" :
            System.getProperty("java.io.tmpdir")).resolve("dom0j-bench-net-" + ProcessHandle.current().pid());
        final String vethProblem = noVeth ? "skipped (--no-veth)" : VethPair.problem();
        Files.createDirectories(dir);
        final List<String> problems = new ArrayList<>();
        final NetblastBaseline netblast = null == vethProblem ? NetblastBaseline.build(dir, problems) : null;
        final BenchNetTable table = new BenchNetTable(out);
        table.printHeading(seconds, warmup, loadAverage(), vethProblem, null != netblast);
        if (null != vethProblem && !noVeth)
        {
            problems.add("NO VETH BASELINE, NO RATIOS: " + vethProblem);
        }
        for (final String problem : problems)
        {
            spec.commandLine().getErr().println("dom0j bench net: " + problem);
            table.printNote(problem);
        }
        spec.commandLine().getErr().flush();
        table.printColumns();
        // An interrupted bench (SIGTERM, Ctrl-C) stops what it started (serve, iperf3, the blaster), then removes the
        // network namespaces and the machine's directory, in that order.
        final AtomicReference<VethPair> made = new AtomicReference<>();
        final Thread cleanup = new Thread(() ->
        {
            ProcessHandle.current().descendants().forEach(p ->
            {
                p.destroyForcibly();
                p.onExit().completeOnTimeout(p, 5, TimeUnit.SECONDS).join();
            });
            final VethPair v = made.get();
            if (null != v)
            {
                v.close();
            }
            IoUtil.delete(dir.toFile(), true);
        }, "bench-net-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        VethPair veth = null;
        try (SimMachine machine = SimMachine.start(dir))
        {
            if (null == vethProblem)
            {
                veth = VethPair.create(ProcessHandle.current().pid());
                made.set(veth);
            }
            try (ServeProcess serve = ServeProcess.start(dir, dir.resolve("serve.log"), "--net-mode", "switch",
                "--net-max-queues", "2"))
            {
                int domid = 1;
                for (final BenchNetCase c : cases())
                {
                    if (null != only && only.stream().noneMatch(c.label()::contains))
                    {
                        continue;
                    }
                    final NetBench.Result r = NetBench.run(machine, domid, domid + 1, c.shape(), c.queues(),
                        nanos(warmup), nanos(seconds), serve::cpuNanos);
                    domid += 2;
                    final VethResult v = null == veth ? null : null != netblast && !c.shape().gso() ?
                        netblast.run(veth, c, seconds, warmup) : Iperf3Baseline.run(veth, c, seconds, warmup);
                    final double memcpy = MemcpyBaseline.framesPerSecond(c);
                    table.printRow(c, r, v, memcpy);
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
        table.printSummary();
        return ExitCodes.OK;
    }

    private static long nanos(final double s)
    {
        return (long)(s * 1e9);
    }
}
