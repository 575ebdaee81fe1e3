package org.dom0j.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What Linux says about another process (the service under test): threads, open file descriptors, resident memory
 * and mappings from {@code /proc/<pid>}; and what its JVM says through {@code jcmd}: its live heap, and its native
 * memory by category when it runs with {@code -XX:NativeMemoryTracking=summary}.
 * <p>
 * Any thread.
 */
final class ServiceProbe
{
    /**
     * One reading.
     *
     * @param threads   threads of the process.
     * @param fds       open file descriptors.
     * @param rssKib    resident set, KiB.
     * @param anonKib   of which anonymous (heap, stacks, direct buffers, malloc), KiB.
     * @param fileKib   of which file-backed, KiB.
     * @param shmemKib  of which shared memory (tmpfs: guest memory it has touched, rings, counters), KiB.
     * @param heapBytes live Java heap after a full GC, or -1 when not asked or jcmd could not say.
     * @param nativeKib memory the JVM has committed, KiB, by Native Memory Tracking's category ("Java Heap",
     *                  "Thread" (stacks), "Other" (direct buffers and Unsafe allocations), ..., and "Total"); empty
     *                  when not asked or not tracked.
     */
    record Reading(
        int threads, int fds, long rssKib, long anonKib, long fileKib, long shmemKib, long heapBytes,
        Map<String, Long> nativeKib)
    {
        /**
         * @param category a Native Memory Tracking category.
         * @return its committed KiB, or -1.
         */
        long committedKib(final String category)
        {
            return nativeKib.getOrDefault(category, -1L);
        }
    }

    private static final Pattern NMT_LINE =
        Pattern.compile("^(?:-\\s+(.+?) \\(|(Total): )reserved=\\d+KB, committed=(\\d+)KB");

    private final long pid;
    private final Path proc;

    ServiceProbe(final long pid)
    {
        this.pid = pid;
        this.proc = Path.of("/proc", Long.toString(pid));
    }

    /**
     * @param deep also ask jcmd for the live heap (a full GC in the process) and the native memory summary (each a
     *             JVM started for jcmd).
     * @return the process now.
     */
    Reading read(final boolean deep)
    {
        // jcmd first: its first call starts the JVM's attach listener (a thread and a socket) for good.
        final long heap = deep ? liveHeapBytes() : -1;
        final Map<String, Long> nativeKib = deep ? nativeMemory(jcmd("VM.native_memory", "summary")) : Map.of();
        final Map<String, Long> status = status();
        return new Reading(status.getOrDefault("Threads", -1L).intValue(), fds(), status.getOrDefault("VmRSS", -1L),
            status.getOrDefault("RssAnon", -1L), status.getOrDefault("RssFile", -1L),
            status.getOrDefault("RssShmem", -1L), heap, nativeKib);
    }

    /**
     * @param summary what {@code jcmd PID VM.native_memory summary} printed.
     * @return committed KiB by category.
     */
    static Map<String, Long> nativeMemory(final String summary)
    {
        final Map<String, Long> committed = new TreeMap<>();
        for (final String line : summary.lines().toList())
        {
            final Matcher m = NMT_LINE.matcher(line.trim());
            if (m.find())
            {
                committed.put(null != m.group(1) ? m.group(1).trim() : m.group(2), Long.parseLong(m.group(3)));
            }
        }
        return committed;
    }

    /**
     * @return the numeric fields of /proc/PID/status (kB values in KiB).
     */
    Map<String, Long> status()
    {
        final Map<String, Long> fields = new TreeMap<>();
        for (final String line : lines(proc.resolve("status")))
        {
            final int colon = line.indexOf(':');
            if (colon < 0)
            {
                continue;
            }
            final String[] value = line.substring(colon + 1).trim().split("\\s+");
            try
            {
                fields.put(line.substring(0, colon), Long.parseLong(value[0]));
            }
            catch (final NumberFormatException ex)
            {
                // Not a number (Name, State, masks in hex).
            }
        }
        return fields;
    }

    /**
     * @return open file descriptors.
     */
    int fds()
    {
        return count(proc.resolve("fd"));
    }

    /**
     * @return what each open file descriptor refers to (readlink of /proc/PID/fd/N), by number.
     */
    Map<Integer, String> fdTargets()
    {
        final Map<Integer, String> targets = new TreeMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(proc.resolve("fd")))
        {
            for (final Path fd : entries)
            {
                try
                {
                    targets.put(Integer.parseInt(fd.getFileName().toString()), Files.readSymbolicLink(fd).toString());
                }
                catch (final IOException ex)
                {
                    // Closed meanwhile.
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return targets;
    }

    /**
     * @return CPU time (user and system) the process has used, in nanoseconds (from clock ticks of 10 ms).
     */
    long cpuNanos()
    {
        final String stat = lines(proc.resolve("stat")).get(0);
        final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // Fields 14 and 15 of proc(5)'s stat: utime and stime, in ticks of 1/100 s.
        return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000_000L;
    }

    /**
     * @return the names of its threads (as the kernel keeps them, 15 characters at most), with how many have each.
     */
    Map<String, Integer> threadNames()
    {
        final Map<String, Integer> names = new TreeMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(proc.resolve("task")))
        {
            for (final Path task : tasks)
            {
                try
                {
                    names.merge(Files.readString(task.resolve("comm"), StandardCharsets.UTF_8).strip(), 1,
                        Integer::sum);
                }
                catch (final NoSuchFileException ex)
                {
                    // The thread ended meanwhile.
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return names;
    }

    /**
     * @param fragment part of a path.
     * @return the lines of /proc/PID/maps that map a file whose path contains it.
     */
    List<String> mapsOf(final String fragment)
    {
        return lines(proc.resolve("maps")).stream().filter(l -> l.contains(fragment)).toList();
    }

    /**
     * @return the live heap after a full GC ({@code jcmd PID GC.class_histogram}'s total), or -1.
     */
    long liveHeapBytes()
    {
        final String out = jcmd("GC.class_histogram");
        for (final String line : out.lines().toList())
        {
            final String[] words = line.trim().split("\\s+");
            if (words.length == 3 && "Total".equals(words[0]))
            {
                try
                {
                    return Long.parseLong(words[2]);
                }
                catch (final NumberFormatException ex)
                {
                    return -1;
                }
            }
        }
        return -1;
    }

    /**
     * @param command a diagnostic command and its arguments, e.g. VM.native_memory summary.
     * @return what {@code jcmd PID command} printed, or an empty string when it could not run.
     */
    String jcmd(final String... command)
    {
        final Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        if (!Files.isExecutable(jcmd))
        {
            return "";
        }
        final List<String> args = new java.util.ArrayList<>(List.of(jcmd.toString(), Long.toString(pid)));
        args.addAll(List.of(command));
        try
        {
            final Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
            final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : "";
        }
        catch (final IOException ex)
        {
            return "";
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    private static int count(final Path directory)
    {
        int n = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory))
        {
            for (final Path ignored : entries)
            {
                n++;
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return n;
    }

    private static List<String> lines(final Path file)
    {
        try
        {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
