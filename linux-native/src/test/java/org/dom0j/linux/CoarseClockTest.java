package org.dom0j.linux;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The coarse clock reads System.nanoTime()'s clock as of the last tick, and allocates nothing.
 */
class CoarseClockTest
{
    private final CoarseClock clock = new CoarseClock();

    @Test
    void shouldReadSystemNanoTimesClockAtMostAboutATickBehind()
    {
        final long tick = clock.resolutionNanos();
        // A tick on Linux (1 to 10 ms: HZ 1000 to 100); a sandbox's kernel (gVisor) may say less.
        assertThat(tick).isPositive().isLessThanOrEqualTo(10_000_000L);
        for (int i = 0; i < 1_000; i++)
        {
            final long before = System.nanoTime();
            final long coarse = clock.nanos();
            final long after = System.nanoTime();
            // Behind by at most a tick, and by up to another where a tick came late (a busy or virtual machine).
            assertThat(coarse).isLessThanOrEqualTo(after).isGreaterThanOrEqualTo(before - 2 * tick - 50_000_000L);
        }
    }

    @Test
    void shouldAdvance() throws Exception
    {
        final long first = clock.nanos();
        final long deadline = System.nanoTime() + 5_000_000_000L;
        while (clock.nanos() == first && System.nanoTime() < deadline)
        {
            Thread.onSpinWait();
        }
        assertThat(clock.nanos()).isGreaterThan(first);
    }

    @Test
    void shouldAllocateNothingPerReading()
    {
        final long[] leastAndSum = LinuxTest.leastAllocatedPerRound(20_000, clock::nanos);
        assertThat(leastAndSum[0]).isZero();
        assertThat(leastAndSum[1]).isPositive();
    }
}
