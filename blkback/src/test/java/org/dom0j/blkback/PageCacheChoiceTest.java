package org.dom0j.blkback;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The measured choice between the page-cache mapping and bounce pages, driven with made-up costs and a made-up clock.
 */
@Timeout(10)
class PageCacheChoiceTest
{
    private static final long WINDOW = 100;
    private static final long HOLD = 1_000;
    /** A trial of the mapping at a steady cost: its first window, then the windows forgiven for not warming. */
    private static final long MAPPED_TRIAL = (1 + PageCacheChoice.WARM_MISSES) * WINDOW;

    private long now;

    /** Serves batches of 10 pages at the given costs until the choice has decided, returning the time it took. */
    private void serve(final PageCacheChoice choice, final long mappedNanosPerPage, final long bounceNanosPerPage,
        final long pages)
    {
        for (long served = 0; served < pages; served += 10)
        {
            final long cost = 10 * (choice.useMapping() ? mappedNanosPerPage : bounceNanosPerPage);
            now += cost;
            choice.record(10, cost, now);
        }
    }

    @Test
    void shouldStartThroughTheMappingAndTryBounceBeforeDeciding()
    {
        final PageCacheChoice choice = PageCacheChoice.measured(WINDOW, HOLD);
        assertThat(choice.useMapping()).isTrue();
        serve(choice, 5, 1, MAPPED_TRIAL - WINDOW);
        assertThat(choice.useMapping()).as("still measuring whether the mapping warms").isTrue();
        serve(choice, 5, 1, WINDOW);
        assertThat(choice.useMapping()).as("bounce pages tried second").isFalse();
        assertThat(choice.mappedNanosPerPage()).isEqualTo(5.0);
        serve(choice, 5, 1, WINDOW);
        assertThat(choice.bounceNanosPerPage()).isEqualTo(1.0);
        assertThat(choice.useMapping()).as("bounce pages were cheaper").isFalse();
    }

    @Test
    void shouldKeepTheMappingWhenItIsCheaper()
    {
        final PageCacheChoice choice = PageCacheChoice.measured(WINDOW, HOLD);
        serve(choice, 1, 5, MAPPED_TRIAL + WINDOW);
        assertThat(choice.useMapping()).isTrue();
        assertThat(choice.switches()).isZero();
    }

    @Test
    void shouldTryTheOtherWayAfterTheHoldAndHoldLongerWhenConfirmed()
    {
        final PageCacheChoice choice = PageCacheChoice.measured(WINDOW, HOLD);
        serve(choice, 5, 1, MAPPED_TRIAL + WINDOW);
        assertThat(choice.useMapping()).isFalse();
        assertThat(choice.holdNanos()).isEqualTo(HOLD);
        now += HOLD;
        serve(choice, 5, 1, 10);
        assertThat(choice.useMapping()).as("a trial of the mapping after the hold").isTrue();
        serve(choice, 5, 1, MAPPED_TRIAL);
        assertThat(choice.useMapping()).as("the trial lost").isFalse();
        assertThat(choice.holdNanos()).as("confirmed: held twice as long").isEqualTo(2 * HOLD);
        assertThat(choice.switches()).isZero();
    }

    @Test
    void shouldFollowAWorkloadWhoseCostsChange()
    {
        final PageCacheChoice choice = PageCacheChoice.measured(WINDOW, HOLD);
        serve(choice, 5, 1, MAPPED_TRIAL + WINDOW);
        assertThat(choice.useMapping()).isFalse();
        // The disk is covered: populates are over and the mapping is now the cheaper way.
        now += HOLD;
        serve(choice, 1, 3, MAPPED_TRIAL + 10);
        assertThat(choice.useMapping()).as("the trial overturned the hold").isTrue();
        assertThat(choice.switches()).isEqualTo(1);
        assertThat(choice.holdNanos()).as("hold starts again").isEqualTo(HOLD);
    }

    @Test
    void shouldEndTheTrialOfASlowWayAfterItsBusyTime()
    {
        // 1,000 ns a page through the mapping: 20 us of busy time end its window once it has the fewest pages a
        // window measures, long before its 100,000 pages.
        final PageCacheChoice choice = PageCacheChoice.measured(100_000, 20_000, HOLD);
        serve(choice, 1_000, 1, 10);
        assertThat(choice.useMapping()).as("10 pages: under the fewest a window measures").isTrue();
        serve(choice, 1_000, 1, PageCacheChoice.MIN_WINDOW_PAGES);
        assertThat(choice.useMapping()).as("a window ended by busy time; the mapping is not warming yet").isTrue();
        serve(choice, 1_000, 1, PageCacheChoice.WARM_MISSES * PageCacheChoice.MIN_WINDOW_PAGES);
        assertThat(choice.useMapping()).as("windows ended by busy time, bounce pages tried").isFalse();
        assertThat(choice.mappedNanosPerPage()).isEqualTo(1_000.0);
    }

    @Test
    void shouldKeepMeasuringTheMappingWhileItWarmsAndJudgeItByItsWarmCost()
    {
        // As measured on a 2-core KVM guest: the first touches of a mapped page cost tens of microseconds, falling
        // to under one as the disk is covered; bounce pages cost the same from the start.
        final PageCacheChoice choice = PageCacheChoice.measured(WINDOW, HOLD);
        for (final long cost : new long[] {400, 200, 100, 50, 20, 8})
        {
            serve(choice, cost, 1, WINDOW);
            assertThat(choice.useMapping()).as("warming at %d ns a page", cost).isTrue();
        }
        serve(choice, 8, 10, MAPPED_TRIAL - WINDOW);
        assertThat(choice.useMapping()).as("warm: bounce pages tried").isFalse();
        assertThat(choice.mappedNanosPerPage()).isEqualTo(8.0);
        serve(choice, 8, 10, WINDOW);
        assertThat(choice.useMapping()).as("the warm mapping is cheaper than bounce pages, the cold one was not")
            .isTrue();
    }

    @Test
    void shouldStopWarmingTheMappingAtItsBudget()
    {
        // Windows of 1 s of busy time: the first trial may warm for 2 s, then bounce pages are tried even though
        // each window was still cheaper than the one before.
        final long second = 1_000_000_000L;
        final PageCacheChoice choice = PageCacheChoice.measured(1_000_000, second, HOLD);
        serve(choice, 4_000_000, 1, 260);
        assertThat(choice.useMapping()).isTrue();
        serve(choice, 2_000_000, 1, 500);
        assertThat(choice.useMapping()).as("2 s spent warming").isFalse();
        assertThat(choice.mappedNanosPerPage()).isEqualTo(2_000_000.0);
    }

    @Test
    void shouldNeverLeaveTheMappingWhenToldToAlwaysMap()
    {
        final PageCacheChoice choice = PageCacheChoice.alwaysMapped();
        serve(choice, 100, 1, 100 * PageCacheChoice.WINDOW_PAGES);
        assertThat(choice.useMapping()).isTrue();
    }

    @Test
    void shouldMeasureNothingWhileIdle()
    {
        final PageCacheChoice choice = PageCacheChoice.measured(WINDOW, HOLD);
        for (int i = 0; i < 1000; i++)
        {
            now += 1_000_000;
            choice.record(0, 0, now);
        }
        assertThat(choice.useMapping()).isTrue();
        assertThat(choice.mappedNanosPerPage()).isNaN();
    }
}
