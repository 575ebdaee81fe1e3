package org.dom0j.test;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Waiting, in tests, for something another thread or process does: polls a condition until it holds or a
 * deadline passes. The deadline only bounds a wait; it never decides what a test asserts.
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
}
