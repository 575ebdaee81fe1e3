package org.dom0j.test.fuzz;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A seeded, reproducible fuzz run: a sequence of cases, each with a seed of its own derived from the run's base
 * seed and its number, run one after another until the run's budget is spent. A failing case stops the run with an
 * {@link AssertionError} that names the case's seed and how to replay it.
 * <p>
 * What a run does is chosen with system properties (Maven passes {@code -D} options to the test JVM):
 * <ul>
 *   <li>{@code dom0j.fuzz.seed=S}: run exactly the one case whose seed is S (as printed by a failure);</li>
 *   <li>{@code dom0j.fuzz.iterations=N}: run N cases (no time limit unless {@code dom0j.fuzz.seconds} is given);</li>
 *   <li>{@code dom0j.fuzz.seconds=T}: run cases for T seconds (no case limit unless {@code dom0j.fuzz.iterations}
 *       is given);</li>
 *   <li>{@code dom0j.fuzz.base=B}: the base seed of the sequence. CI's default run uses each target's fixed base,
 *       so it is the same run every time; a long run ({@code iterations} or {@code seconds} given) picks a new base
 *       and prints it, unless one is given;</li>
 *   <li>{@code dom0j.fuzz.caseSeconds=C}: a case running longer than C seconds (default 60) is a stall: the run
 *       fails with the threads' stacks.</li>
 * </ul>
 * Without any of them a target runs its default number of cases, stopping early (and saying so) if its default
 * time budget runs out first, which bounds the CI run on a slow machine. Seeds are printed in hex and read in hex
 * ({@code 0x...}) or decimal.
 * <p>
 * A failing case also prints every thread's stack (not in the error's message): what the service was doing when a
 * wait timed out, say.
 * <p>
 * A case is independent of the cases before it only as far as its target makes it so (a fresh device per case on a
 * service that keeps running); a failure therefore also prints how to replay the run up to it.
 * <p>
 * Not thread safe: one test thread.
 */
public final class FuzzRun
{
    /** Replay one case. */
    public static final String SEED = "dom0j.fuzz.seed";
    /** Cases to run. */
    public static final String ITERATIONS = "dom0j.fuzz.iterations";
    /** Seconds to run. */
    public static final String SECONDS = "dom0j.fuzz.seconds";
    /** Base seed of the sequence. */
    public static final String BASE = "dom0j.fuzz.base";
    /** Longest a case may take before it counts as a stall. */
    public static final String CASE_SECONDS = "dom0j.fuzz.caseSeconds";

    private static final long GOLDEN_GAMMA = 0x9E37_79B9_7F4A_7C15L;

    /**
     * One case of a run.
     */
    @FunctionalInterface
    public interface Case
    {
        /**
         * @param in        the case's generator, seeded with the case's seed.
         * @param iteration the case's number in the run, from 0.
         * @throws Exception when a property does not hold (or anything else goes wrong).
         */
        void run(Hostile in, long iteration) throws Exception;
    }

    /**
     * What a run did.
     *
     * @param name       the target.
     * @param base       its base seed.
     * @param cases      cases run.
     * @param nanos      how long they took.
     * @param budgetHit  whether the time budget ended it before its case count.
     * @param slowestSeed  the seed of its slowest case.
     * @param slowestNanos how long that case took.
     */
    public record Summary(String name, long base, long cases, long nanos, boolean budgetHit, long slowestSeed,
        long slowestNanos)
    {
        @Override
        public String toString()
        {
            return "fuzz " + name + ": " + cases + " cases in " + String.format("%.1f", nanos / 1e9) + " s, base " +
                hex(base) + (budgetHit ? " (time budget reached first)" : "") + "; slowest case " +
                TimeUnit.NANOSECONDS.toMillis(slowestNanos) + " ms (seed " + hex(slowestSeed) + ")";
        }
    }

    private final String name;
    private final long base;
    private final long iterations;
    private final long budgetNanos;
    private final Long replaySeed;
    private final long caseNanos;

    private FuzzRun(final String name, final long base, final long iterations, final long budgetNanos,
        final Long replaySeed, final long caseNanos)
    {
        this.name = name;
        this.base = base;
        this.iterations = iterations;
        this.budgetNanos = budgetNanos;
        this.replaySeed = replaySeed;
        this.caseNanos = caseNanos;
    }

    /**
     * A run configured from the system properties.
     *
     * @param name              the target, for messages.
     * @param defaultBase       the base seed of the default (CI) run.
     * @param defaultIterations cases of the default run.
     * @param defaultSeconds    time budget of the default run.
     * @return the run.
     */
    public static FuzzRun configure(
        final String name, final long defaultBase, final long defaultIterations, final long defaultSeconds)
    {
        return configure(name, defaultBase, defaultIterations, defaultSeconds, System.getProperties());
    }

    static FuzzRun configure(final String name, final long defaultBase, final long defaultIterations,
        final long defaultSeconds, final Map<Object, Object> properties)
    {
        final Long seed = parse(properties, SEED);
        final Long iterations = parse(properties, ITERATIONS);
        final Long seconds = parse(properties, SECONDS);
        final Long base = parse(properties, BASE);
        final Long caseSeconds = parse(properties, CASE_SECONDS);
        final long caseNanos = TimeUnit.SECONDS.toNanos(null == caseSeconds ? 60 : caseSeconds);
        if (null != seed)
        {
            return new FuzzRun(name, 0, 1, Long.MAX_VALUE, seed, caseNanos);
        }
        final boolean longRun = null != iterations || null != seconds;
        if (!longRun)
        {
            return new FuzzRun(name, null == base ? defaultBase : base, defaultIterations,
                TimeUnit.SECONDS.toNanos(defaultSeconds), null, caseNanos);
        }
        final long chosenBase = null != base ? base :
            mix(System.nanoTime() ^ System.currentTimeMillis() * GOLDEN_GAMMA);
        return new FuzzRun(name, chosenBase, null == iterations ? Long.MAX_VALUE : iterations,
            null == seconds ? Long.MAX_VALUE : TimeUnit.SECONDS.toNanos(seconds), null, caseNanos);
    }

    private static Long parse(final Map<Object, Object> properties, final String key)
    {
        final Object value = properties.get(key);
        if (null == value || value.toString().isBlank())
        {
            return null;
        }
        final String text = value.toString().trim().replace("_", "");
        try
        {
            return text.startsWith("0x") || text.startsWith("0X") ?
                Long.parseUnsignedLong(text.substring(2), 16) : Long.parseLong(text);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("-D" + key + "=" + value + " is not a number (decimal or 0x hex)", ex);
        }
    }

    /**
     * @param base      a run's base seed.
     * @param iteration a case's number.
     * @return the seed of that case.
     */
    public static long caseSeed(final long base, final long iteration)
    {
        return mix(base + (iteration + 1) * GOLDEN_GAMMA);
    }

    /** SplitMix64's finaliser: spreads consecutive inputs over the whole range. */
    private static long mix(final long value)
    {
        long z = value;
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    /**
     * @param value a seed.
     * @return it as {@code 0x} and 16 hex digits.
     */
    public static String hex(final long value)
    {
        return String.format("0x%016x", value);
    }

    /**
     * @return whether this run replays one case ({@code dom0j.fuzz.seed}).
     */
    public boolean isReplay()
    {
        return null != replaySeed;
    }

    /**
     * @return the run's time budget in nanoseconds ({@code Long.MAX_VALUE} when only a case count bounds it).
     */
    public long budgetNanos()
    {
        return budgetNanos;
    }

    /**
     * Runs the cases.
     *
     * @param body one case.
     * @return what was run.
     * @throws AssertionError naming the failing case's seed, when one fails or stalls.
     */
    public Summary run(final Case body)
    {
        final long start = System.nanoTime();
        if (isReplay())
        {
            System.out.println("fuzz " + name + ": replaying the case with seed " + hex(replaySeed));
            runCase(body, replaySeed, 0);
            final long took = System.nanoTime() - start;
            final Summary summary = new Summary(name, replaySeed, 1, took, false, replaySeed, took);
            System.out.println(summary);
            return summary;
        }
        System.out.println("fuzz " + name + ": base " + hex(base) + ", " +
            (iterations == Long.MAX_VALUE ? "unlimited cases" : iterations + " cases") + ", " +
            (budgetNanos == Long.MAX_VALUE ? "no time limit" : TimeUnit.NANOSECONDS.toSeconds(budgetNanos) + " s"));
        long done = 0;
        boolean budgetHit = false;
        long slowestSeed = 0;
        long slowestNanos = 0;
        while (done < iterations)
        {
            final long caseStart = System.nanoTime();
            if (caseStart - start >= budgetNanos)
            {
                budgetHit = iterations != Long.MAX_VALUE;
                break;
            }
            final long seed = caseSeed(base, done);
            runCase(body, seed, done);
            final long took = System.nanoTime() - caseStart;
            if (took > slowestNanos)
            {
                slowestNanos = took;
                slowestSeed = seed;
            }
            done++;
        }
        final Summary summary = new Summary(name, base, done, System.nanoTime() - start, budgetHit, slowestSeed,
            slowestNanos);
        System.out.println(summary);
        return summary;
    }

    private void runCase(final Case body, final long seed, final long iteration)
    {
        final Thread runner = Thread.currentThread();
        final AtomicReference<String> stall = new AtomicReference<>();
        final Thread watchdog = new Thread(() ->
        {
            try
            {
                TimeUnit.NANOSECONDS.sleep(caseNanos);
            }
            catch (final InterruptedException ex)
            {
                return;
            }
            stall.set(threadDump());
            runner.interrupt();
        }, "fuzz-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        Throwable failure = null;
        try
        {
            body.run(new Hostile(seed), iteration);
        }
        catch (final Throwable ex)
        {
            failure = ex;
        }
        finally
        {
            watchdog.interrupt();
            try
            {
                watchdog.join();
            }
            catch (final InterruptedException ex)
            {
                failure = null == failure ? ex : failure;
            }
            // The watchdog may have interrupted us just as the case ended.
            Thread.interrupted();
        }
        if (null == failure && null == stall.get())
        {
            return;
        }
        final StringBuilder message = new StringBuilder()
            .append("fuzz ").append(name).append(": case ").append(iteration).append(" (seed ").append(hex(seed))
            .append(") failed");
        if (null != stall.get())
        {
            message.append(": it stalled (no end in ").append(TimeUnit.NANOSECONDS.toSeconds(caseNanos))
                .append(" s)");
        }
        if (null != failure)
        {
            message.append(": ").append(failure);
        }
        message.append("\n  replay this case:        -D").append(SEED).append('=').append(hex(seed));
        if (!isReplay())
        {
            message.append("\n  replay the run up to it: -D").append(BASE).append('=').append(hex(base))
                .append(" -D").append(ITERATIONS).append('=').append(iteration + 1);
        }
        if (null != stall.get())
        {
            message.append("\n").append(stall.get());
        }
        System.out.println(message);
        if (null == stall.get())
        {
            // What the service's threads were doing when the property broke (a wait that timed out, say).
            System.out.println(threadDump().replace("threads at the stall:", "threads when it failed:"));
        }
        throw new AssertionError(message.toString(), failure);
    }

    private static String threadDump()
    {
        final StringBuilder dump = new StringBuilder("threads at the stall:");
        for (final Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet())
        {
            dump.append("\n  \"").append(e.getKey().getName()).append("\" ").append(e.getKey().getState());
            final StackTraceElement[] stack = e.getValue();
            for (int i = 0; i < Math.min(stack.length, 24); i++)
            {
                dump.append("\n      at ").append(stack[i]);
            }
        }
        return dump.toString();
    }
}
