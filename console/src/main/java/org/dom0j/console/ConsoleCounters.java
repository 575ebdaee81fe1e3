package org.dom0j.console;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;

import java.nio.ByteBuffer;

/**
 * The counters of one console, labelled {@code "console <domid> <name>"} for a primary console and
 * {@code "console <domid>/<devid> <name>"} for a secondary one, so that {@code dom0j top} shows them next to the
 * queue counters ({@code "console <domid>/<devid> q0 ..."}). Allocated when the session opens, freed when it closes.
 * <p>
 * <b>Threads</b>: the console's agent writes all but {@link #droppedOutput}, which the pty's writer thread also
 * increments (atomically); readable from anywhere.
 */
public final class ConsoleCounters implements AutoCloseable
{
    /** Type id of the console counters. */
    public static final int TYPE_ID = 0x636F6E00;
    private static final int COUNT = 4;

    private final AtomicCounter outputBytes;
    private final AtomicCounter throttled;
    private final AtomicCounter logRotations;
    private final AtomicCounter droppedOutput;

    /**
     * @param manager where to allocate them (shared with other threads' allocations only if it is a
     *                {@link org.agrona.concurrent.status.ConcurrentCountersManager}, as a CountersFile's is).
     * @param prefix  e.g. "console 7" or "console 7/1".
     */
    public ConsoleCounters(final CountersManager manager, final String prefix)
    {
        outputBytes = manager.newCounter(prefix + " output-bytes", TYPE_ID);
        throttled = manager.newCounter(prefix + " throttled", TYPE_ID);
        logRotations = manager.newCounter(prefix + " log-rotations", TYPE_ID);
        droppedOutput = manager.newCounter(prefix + " dropped-output", TYPE_ID);
    }

    /**
     * @param prefix the labels' prefix.
     * @return counters in a small manager of their own, for a console with no counters file (tests, embedding).
     */
    public static ConsoleCounters detached(final String prefix)
    {
        return new ConsoleCounters(new CountersManager(
            new UnsafeBuffer(ByteBuffer.allocateDirect(COUNT * CountersReader.METADATA_LENGTH)),
            new UnsafeBuffer(ByteBuffer.allocateDirect(COUNT * CountersReader.COUNTER_LENGTH))), prefix);
    }

    /**
     * @return bytes of guest output taken off the page (logged, and offered to clients).
     */
    public AtomicCounter outputBytes()
    {
        return outputBytes;
    }

    /**
     * @return periods in which the guest had spent its allowance and had more output waiting, which was left on
     *         its page until the next period (the guest was throttled).
     */
    public AtomicCounter throttled()
    {
        return throttled;
    }

    /**
     * @return times the log reached its cap and was renamed {@code <log>.1}.
     */
    public AtomicCounter logRotations()
    {
        return logRotations;
    }

    /**
     * @return output chunks not delivered to a client or pty that did not keep up.
     */
    public AtomicCounter droppedOutput()
    {
        return droppedOutput;
    }

    /**
     * Frees the counters (idempotent).
     */
    @Override
    public void close()
    {
        outputBytes.close();
        throttled.close();
        logRotations.close();
        droppedOutput.close();
    }
}
