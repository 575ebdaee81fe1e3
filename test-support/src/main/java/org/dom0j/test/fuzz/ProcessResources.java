package org.dom0j.test.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

/**
 * What this process holds that a leak would grow: open file descriptors ({@code /proc/self/fd}: disks, io_uring,
 * sockets, eventfds), live threads (agents, console clients) and the heap in use after a full collection. A fuzz
 * target takes one before its run and compares after each hostile device is gone.
 * <p>
 * One kind of descriptor is not counted: the simulator keeps the memory file of a destroyed domain open (and
 * mapped) while something in the process still uses its view, and a fuzz target's hostile guests live in the test's
 * own process, whose {@code SimDomain} handle of each keeps such a use. That is the test's bookkeeping, bounded by
 * the guests it creates, not a leak of the service under test.
 *
 * @param fds       open descriptors, or -1 where {@code /proc} is missing.
 * @param threads   live threads.
 * @param heapBytes heap in use after {@link System#gc()} (0 unless asked for: a collection costs tens of ms).
 */
public record ProcessResources(int fds, int threads, long heapBytes)
{
    private static final Path FDS = Path.of("/proc/self/fd");
    private static final String RETIRED_SIM_DOMAIN = "/domains/.dead-";

    /**
     * @return descriptors and threads now (heap not measured).
     */
    public static ProcessResources now()
    {
        return new ProcessResources(openFds(), ManagementFactory.getThreadMXBean().getThreadCount(), 0);
    }

    /**
     * @return descriptors, threads and the heap in use after two full collections.
     */
    public static ProcessResources withHeap()
    {
        System.gc();
        System.gc();
        final long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        return new ProcessResources(openFds(), ManagementFactory.getThreadMXBean().getThreadCount(), heap);
    }

    private static int openFds()
    {
        return Files.isDirectory(FDS) ? openFdTargets().size() : -1;
    }

    /**
     * @return what each counted descriptor is ({@code /proc/self/fd} link targets, sorted), for a message when the
     *         count does not come back.
     */
    public static List<String> openFdTargets()
    {
        if (!Files.isDirectory(FDS))
        {
            return List.of();
        }
        try (Stream<Path> list = Files.list(FDS))
        {
            final List<String> targets = new ArrayList<>();
            for (final Path fd : (Iterable<Path>)list::iterator)
            {
                try
                {
                    final String target = Files.readSymbolicLink(fd).toString();
                    if (!target.contains(RETIRED_SIM_DOMAIN))
                    {
                        targets.add(target);
                    }
                }
                catch (final IOException ex)
                {
                    // Closed meanwhile (the listing's own descriptor among them).
                }
            }
            Collections.sort(targets);
            return targets;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * @param before descriptor targets taken earlier ({@link #openFdTargets()}).
     * @return the targets open now that were not then (each as often as it is open more).
     */
    public static List<String> newFdTargets(final List<String> before)
    {
        final List<String> now = new ArrayList<>(openFdTargets());
        for (final String target : before)
        {
            now.remove(target);
        }
        return now;
    }

    /**
     * @param baseline an earlier snapshot.
     * @return whether descriptors and threads are back to (or below) the baseline's.
     */
    public boolean backTo(final ProcessResources baseline)
    {
        return fds <= baseline.fds && threads <= baseline.threads;
    }

    @Override
    public String toString()
    {
        return fds + " fds, " + threads + " threads" + (heapBytes > 0 ? ", heap " + (heapBytes >> 10) + " KiB" : "");
    }
}
