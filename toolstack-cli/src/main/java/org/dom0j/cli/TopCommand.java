package org.dom0j.cli;

import org.dom0j.backend.CountersFile;
import org.dom0j.common.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code dom0j top}: the domains as {@code xentop} shows them ({@link DomainTopSample}, {@link DomainTopScreen}):
 * full screen and live in a terminal, keys to sort and {@code q} to quit; a table every interval when the output is
 * not a terminal; {@code --once} one reading, {@code --json} JSON. {@code --queues} shows instead the live counters of
 * a running {@code dom0j serve}, read from its counters file (a memory mapping, so it costs serve nothing): per
 * queue, every counter's rate over the last interval, or with {@code --once} the totals. A counter's label is
 * "{@code <queue> <name>}"; queues whose counters have the same names (all blkback queues; every ring's framework
 * counters) share one table.
 * <p>
 * Runs on the CLI's thread; in a terminal, a daemon thread reads the keys.
 */
@Command(
    name = "top",
    description = "The domains like xentop (state, CPU, memory, vCPUs, NICs and disks with serve's traffic), or " +
        "with --queues the live counters of a running 'dom0j serve' per queue.",
    footer = {
        "",
        "Keys (in a terminal): n name, i id, c cpu, m mem, v vcpus, s next sort field, r reverse, space refresh, " +
            "q quit.",
        "",
        "Examples:",
        "  dom0j top                          full screen, refreshed every second, until q",
        "  dom0j top --once --json            every domain now, as JSON, for scripts",
        "  dom0j top --queues --once          serve's counters: the totals now",
        "  dom0j top --queues -n 3 -d 0.5 --json   three readings of rates, half a second apart, as JSON lines" })
final class TopCommand implements Callable<Integer>
{
    private static final String CLEAR_SCREEN = "\033[H\033[2J";

    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Option(names = "--counters", paramLabel = "FILE",
        description = "serve's counters file (default: the one serve uses: /dev/shm/dom0j-counters, or counters in " +
            "the simulator's directory).")
    private Path countersPath;

    @Option(names = { "-d", "--interval" }, paramLabel = "SECONDS", defaultValue = "1",
        description = "Seconds between readings. Default: ${DEFAULT-VALUE}.")
    private double interval;

    @Option(names = { "-n", "--iterations" }, paramLabel = "N", defaultValue = "0",
        description = "Readings before exiting; 0 means until Ctrl-C. Default: ${DEFAULT-VALUE}.")
    private int iterations;

    @Option(names = "--once", description = "Print one reading (with --queues: the totals) and exit.")
    private boolean once;

    @Option(names = "--queues", description = "serve's counters per queue instead of the domains.")
    private boolean queues;

    @Option(names = "--sort", paramLabel = "FIELD", defaultValue = "name",
        description = "Domains sorted by name, id, cpu, mem or vcpus. Default: ${DEFAULT-VALUE}.")
    private String sort;

    @Override
    public Integer call() throws InterruptedException
    {
        final PrintWriter err = spec.commandLine().getErr();
        if (!(interval > 0) || iterations < 0)
        {
            err.println("dom0j top: --interval must be above 0 and --iterations 0 or more");
            err.flush();
            return ExitCodes.USAGE;
        }
        return queues ? queues() : domains();
    }

    private int domains() throws InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        final DomainTopScreen screen = new DomainTopScreen();
        final String field = sort.toLowerCase(java.util.Locale.ROOT);
        if (!java.util.List.of("name", "id", "cpu", "mem", "vcpus").contains(field))
        {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "--sort takes name, id, cpu, mem or vcpus, not '" + sort + "'");
        }
        screen.onKey(field.charAt(0));
        final boolean json = root.options().json();
        try (DomainSession session = DomainSession.open(root))
        {
            final String platform = session.platform().name();
            final Path counters = null != countersPath ? countersPath :
                ServeCommand.defaultCountersPath(platform, root.environment());
            DomainTopSample sample = DomainTopSample.read(session, counters, null);
            if (once)
            {
                print(out, screen, platform, sample, json, false);
                return ExitCodes.OK;
            }
            if (!json && null != System.console())
            {
                final String saved = ConsoleCommand.stty("-g");
                if (null != saved && null != ConsoleCommand.stty("-icanon -echo min 1"))
                {
                    return new DomainTopTerminal(session, counters, screen, platform, interval, iterations)
                        .run(out, saved);
                }
            }
            for (int i = 0; 0 == iterations || i < iterations; i++)
            {
                TimeUnit.NANOSECONDS.sleep((long)(interval * 1e9));
                sample = DomainTopSample.read(session, counters, sample);
                print(out, screen, platform, sample, json, true);
            }
            return ExitCodes.OK;
        }
    }

    private static void print(final PrintWriter out, final DomainTopScreen screen, final String platform,
        final DomainTopSample sample, final boolean json, final boolean blankLineBefore)
    {
        if (json)
        {
            out.println(Json.write(screen.json(platform, sample)));
            out.flush();
            return;
        }
        if (blankLineBefore)
        {
            out.println();
        }
        screen.render(out, platform, sample, false);
    }

    private int queues() throws InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        final Path path = null != countersPath ? countersPath :
            ServeCommand.defaultCountersPath(ConsolePaths.platformName(root), root.environment());
        if (!Files.isRegularFile(path))
        {
            err.println("dom0j top: no counters file at " + path + ": is 'dom0j serve' running? (--counters names " +
                "another file, --platform another platform's default)");
            err.flush();
            return ExitCodes.FAILURE;
        }
        final boolean json = root.options().json();
        final boolean terminal = null != System.console() && !json;
        try (CountersFile counters = CountersFile.openForReading(path))
        {
            Map<String, Map<String, Long>> previous = read(counters);
            long previousNanos = System.nanoTime();
            if (once)
            {
                print(out, path, previous, null, 0, json);
                return ExitCodes.OK;
            }
            for (int i = 0; 0 == iterations || i < iterations; i++)
            {
                TimeUnit.NANOSECONDS.sleep((long)(interval * 1e9));
                final Map<String, Map<String, Long>> now = read(counters);
                final long nowNanos = System.nanoTime();
                if (terminal)
                {
                    out.print(CLEAR_SCREEN);
                }
                print(out, path, now, previous, (nowNanos - previousNanos) / 1e9, json);
                previous = now;
                previousNanos = nowNanos;
            }
        }
        return ExitCodes.OK;
    }

    /**
     * @return queue -> counter name -> value, queues sorted, names in the order serve allocated them.
     */
    static Map<String, Map<String, Long>> read(final CountersFile counters)
    {
        final Map<String, Map<String, Long>> queues = new TreeMap<>();
        counters.reader().forEach((value, id, label) ->
        {
            final int space = label.lastIndexOf(' ');
            final String queue = space > 0 ? label.substring(0, space) : label;
            final String name = space > 0 ? label.substring(space + 1) : "value";
            queues.computeIfAbsent(queue, q -> new LinkedHashMap<>()).merge(name, value, Long::sum);
        });
        return queues;
    }

    private static void print(
        final PrintWriter out,
        final Path path,
        final Map<String, Map<String, Long>> now,
        final Map<String, Map<String, Long>> previous,
        final double seconds,
        final boolean json)
    {
        if (json)
        {
            final Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("file", path.toString());
            if (null != previous)
            {
                doc.put("intervalSeconds", seconds);
            }
            final Map<String, Object> queues = new LinkedHashMap<>();
            now.forEach((queue, values) ->
            {
                final Map<String, Object> counters = new LinkedHashMap<>();
                values.forEach((name, value) ->
                {
                    final Map<String, Object> c = new LinkedHashMap<>();
                    c.put("value", value);
                    if (null != previous)
                    {
                        c.put("perSecond", rate(previous, queue, name, value, seconds));
                    }
                    counters.put(name, c);
                });
                queues.put(queue, counters);
            });
            doc.put("queues", queues);
            out.println(Json.write(doc));
            out.flush();
            return;
        }
        out.printf(Locale.ROOT, "dom0j top: %s, %d queue(s); %s%n", path, now.size(),
            null == previous ? "totals" : String.format(Locale.ROOT, "per second over the last %.1f s", seconds));
        if (now.isEmpty())
        {
            out.println("(no counters: serve has no device connected)");
        }
        // One table per set of counter names.
        final Map<Set<String>, List<String>> tables = new LinkedHashMap<>();
        now.forEach((queue, values) ->
            tables.computeIfAbsent(new LinkedHashSet<>(values.keySet()), k -> new ArrayList<>()).add(queue));
        tables.forEach((names, queues) ->
        {
            final int first = Math.max(5, queues.stream().mapToInt(String::length).max().orElse(5));
            out.println();
            out.printf(Locale.ROOT, "%-" + first + "s", "queue");
            for (final String name : names)
            {
                out.printf(Locale.ROOT, " %" + width(name) + "s", name);
            }
            out.println();
            for (final String queue : queues)
            {
                out.printf(Locale.ROOT, "%-" + first + "s", queue);
                for (final String name : names)
                {
                    final long value = now.get(queue).get(name);
                    out.printf(Locale.ROOT, " %" + width(name) + "s", null == previous ? human(value) :
                        human(rate(previous, queue, name, value, seconds)));
                }
                out.println();
            }
        });
        out.flush();
    }

    private static int width(final String name)
    {
        return Math.max(8, name.length());
    }

    private static double rate(
        final Map<String, Map<String, Long>> previous,
        final String queue,
        final String name,
        final long value,
        final double seconds)
    {
        final Map<String, Long> before = previous.get(queue);
        // A queue that appeared during the interval counts from zero.
        final long then = null == before ? 0 : before.getOrDefault(name, 0L);
        return seconds > 0 ? (value - then) / seconds : 0;
    }

    /**
     * @return e.g. "812", "12.3K", "4.56M".
     */
    static String human(final double value)
    {
        final double magnitude = Math.abs(value);
        if (magnitude < 10_000)
        {
            return String.format(Locale.ROOT, "%.0f", value);
        }
        if (magnitude < 1_000_000)
        {
            return String.format(Locale.ROOT, "%.1fK", value / 1e3);
        }
        if (magnitude < 1_000_000_000)
        {
            return String.format(Locale.ROOT, "%.2fM", value / 1e6);
        }
        return String.format(Locale.ROOT, "%.2fG", value / 1e9);
    }
}
