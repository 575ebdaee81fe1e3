package org.dom0j.console;

import org.dom0j.test.Await;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Waits with deadlines for the console tests: each either sees what it waits for or fails at its deadline saying
 * what it waited for, instead of hanging until Surefire gives up. A deadline only bounds a wait; it never decides
 * what a test asserts.
 */
final class Waits
{
    private Waits()
    {
    }

    /**
     * @param what      what is awaited, for the failure message.
     * @param condition when it has happened.
     * @param timeoutMs how long at most.
     * @throws InterruptedException when interrupted.
     * @throws AssertionError       when it did not happen in time.
     */
    static void until(final String what, final BooleanSupplier condition, final long timeoutMs)
        throws InterruptedException
    {
        if (!Await.until(condition, timeoutMs))
        {
            throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
        }
    }

    /**
     * Runs something that blocks without a deadline of its own (a read on a tty) on a daemon thread of its own, and
     * waits for it at most {@code timeoutMs}; on a timeout the thread is interrupted and left to end when what it
     * blocks on goes away (the test's clean-up closes it).
     *
     * @param what      what is awaited, for the failure message.
     * @param task      the blocking work.
     * @param timeoutMs how long at most.
     * @param <T>       its result.
     * @return its result.
     * @throws Exception what the task threw.
     */
    static <T> T within(final String what, final Callable<T> task, final long timeoutMs) throws Exception
    {
        final FutureTask<T> future = new FutureTask<>(task);
        final Thread thread = new Thread(future, "test-wait");
        thread.setDaemon(true);
        thread.start();
        try
        {
            return future.get(timeoutMs, TimeUnit.MILLISECONDS);
        }
        catch (final TimeoutException ex)
        {
            thread.interrupt();
            throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what, ex);
        }
        catch (final ExecutionException ex)
        {
            throw ex.getCause() instanceof Exception cause ? cause : ex;
        }
    }
}
