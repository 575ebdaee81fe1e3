package org.dom0j.backend;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(120)
class WakeableIdleStrategyTest
{
    private static final long HOUR_NANOS = TimeUnit.HOURS.toNanos(1);

    @Test
    void aWakeEndsAParkThatWouldLastAnHour() throws InterruptedException
    {
        final WakeableIdleStrategy idle = new WakeableIdleStrategy(0, 0, HOUR_NANOS);
        final CountDownLatch parking = new CountDownLatch(1);
        final CountDownLatch returned = new CountDownLatch(1);
        final Thread agent = new Thread(() ->
        {
            parking.countDown();
            idle.idle(0);
            returned.countDown();
        });
        agent.setDaemon(true);
        agent.start();
        assertThat(parking.await(10, TimeUnit.SECONDS)).isTrue();
        // woken whether the agent is already parked or only about to park
        idle.wake();
        assertThat(returned.await(30, TimeUnit.SECONDS)).as("the idle call returned after wake()").isTrue();
    }

    @Test
    void aWakeBeforeIdlingIsNotLost()
    {
        final WakeableIdleStrategy idle = new WakeableIdleStrategy(0, 0, HOUR_NANOS);
        idle.wake();
        // returns at once: a missed wake would park this thread for an hour and time the test out
        idle.idle(0);
        idle.wake();
        idle.idle(0);
    }

    @Test
    void afterStoppingNoParkLastsLong()
    {
        final WakeableIdleStrategy idle = new WakeableIdleStrategy(0, 0, HOUR_NANOS);
        idle.stopping();
        // the first call takes the wake-up stopping() made; each later one parks for a millisecond at most, where
        // without stopping() it would park for an hour and time the test out
        for (int i = 0; i < 100; i++)
        {
            idle.idle(0);
        }
    }

    @Test
    void refusesNonsense()
    {
        assertThatThrownBy(() -> new WakeableIdleStrategy(-1, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new WakeableIdleStrategy(0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
