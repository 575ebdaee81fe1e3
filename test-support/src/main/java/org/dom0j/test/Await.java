package org.dom0j.test;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Waiting, in tests, for something another thread or process does: polls a condition until it holds or a
 * deadline passes. The deadline only bounds a wait; it never decides what a test asserts. Called from the test's
 * thread; the condition must be safe to read from it.
 */
public final class Await
{
    private Await()
    {
    }

    /**
     * @param condition what to wait for.
     * @param timeoutMs how long at most.
     * @return whether it held in time (checked once more at the deadline).
     * @throws InterruptedException when interrupted.
     */
    public static boolean until(final BooleanSupplier condition, final long timeoutMs) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (System.nanoTime() < deadline)
        {
            if (condition.getAsBoolean())
            {
                return true;
            }
            Thread.sleep(5);
        }
        return condition.getAsBoolean();
    }

    /**
     * Waits for a condition, or fails the test saying what did not happen.
     *
     * @param what      what is awaited, in words for the failure: {@code "the guest asleep in its wait"}.
     * @param timeoutMs how long at most; generous, since it only bounds a failing test.
     * @param condition what to wait for.
     * @throws AssertionError       when the condition did not hold in time.
     * @throws InterruptedException when interrupted.
     */
    public static void until(final String what, final long timeoutMs, final BooleanSupplier condition)
        throws InterruptedException
    {
        if (!until(condition, timeoutMs))
        {
            throw new AssertionError("not within " + timeoutMs + " ms: " + what);
        }
    }
}
