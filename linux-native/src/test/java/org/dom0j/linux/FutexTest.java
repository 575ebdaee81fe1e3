package org.dom0j.linux;

import org.dom0j.common.Errno;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * futex wait and wake on an int in native memory.
 */
@Timeout(60)
class FutexTest
{
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
        final CompletableFuture<Integer> waiter = CompletableFuture.supplyAsync(() ->
        {
            final Futex futex = new Futex();
            int result = 0;
            while (word.getInt(0) == 0)
            {
                result = futex.await(address, 0, TimeUnit.SECONDS.toNanos(30));
            }
            return result;
        });

        word.putInt(0, 1);
        Futex.wake(address, Integer.MAX_VALUE);

        // Woken (0), or the value changed before it slept (-EAGAIN); never the 30 s timeout.
        assertThat(waiter.get(20, TimeUnit.SECONDS)).isIn(0, -Errno.EAGAIN.number());
        assertThat(Futex.wake(address, Integer.MAX_VALUE)).isZero();
    }
}
