package org.dom0j.linux;

import org.dom0j.common.Errno;
import org.dom0j.test.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * futex wait and wake on an int in native memory.
 */
@Timeout(60)
class FutexTest
{
    /** Bounds each wait for the other thread; generous, since only a failing test waits it out. */
    private static final long WAIT_MS = 10_000;

    private final ByteBuffer word = LibC.allocate(4);
    private final long address = LibC.address(word);

    @Test
    void shouldNotSleepWhenTheValueHasAlreadyChanged()
    {
        word.putInt(0, 7);

        assertThat(new Futex().await(address, 6, TimeUnit.SECONDS.toNanos(10))).isEqualTo(-Errno.EAGAIN.number());
    }

    @Test
    void shouldTimeOutWhenNobodyWakes()
    {
        word.putInt(0, 7);

        assertThat(new Futex().await(address, 7, TimeUnit.MILLISECONDS.toNanos(20)))
            .isEqualTo(-Errno.ETIMEDOUT.number());
    }

    @Test
    void shouldWakeAWaiterInAnotherThread() throws Exception
    {
        word.putInt(0, 0);
        final List<Integer> results = new CopyOnWriteArrayList<>();
        // Each wait is up to 60 s, longer than the test may run: only a wake ends one in time.
        final Thread waiter = new Thread(() ->
        {
            final Futex futex = new Futex();
            while (word.getInt(0) == 0)
            {
                results.add(futex.await(address, 0, TimeUnit.SECONDS.toNanos(60)));
            }
        }, "futex-waiter");
        waiter.setDaemon(true);
        waiter.start();

        // futex wake answers how many it woke: 1 only once the waiter sleeps in the kernel, so that wake is what
        // ends its wait. Before that each try wakes nobody and changes nothing.
        Await.until("a wake that finds the waiter asleep", WAIT_MS, () -> Futex.wake(address, 1) == 1);
        Await.until("the woken wait to return 0", WAIT_MS, () -> results.contains(0));

        word.putInt(0, 1);
        Futex.wake(address, Integer.MAX_VALUE);
        waiter.join(WAIT_MS);
        assertThat(waiter.isAlive()).as("waiter ended once the word changed; its waits returned %s", results)
            .isFalse();
        assertThat(Futex.wake(address, Integer.MAX_VALUE)).as("waiters left").isZero();
    }
}
