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
        serve(choice, 1, 5, 2 * WINDOW);
        assertThat(choice.useMapping()).isTrue();
        assertThat(choice.switches()).isZero();
    }

    @Test
    void shouldTryTheOtherWayAfterTheHoldAndHoldLongerWhenConfirmed()
    {
        final PageCacheChoice choice = PageCacheChoice.measured(WINDOW, HOLD);
        serve(choice, 5, 1, 2 * WINDOW);
        assertThat(choice.useMapping()).isFalse();
        assertThat(choice.holdNanos()).isEqualTo(HOLD);
        now += HOLD;
        serve(choice, 5, 1, 10);
        assertThat(choice.useMapping()).as("a trial of the mapping after the hold").isTrue();
        serve(choice, 5, 1, WINDOW);
        assertThat(choice.useMapping()).as("the trial lost").isFalse();
        assertThat(choice.holdNanos()).as("confirmed: held twice as long").isEqualTo(2 * HOLD);
        assertThat(choice.switches()).isZero();
    }

    @Test
    void shouldFollowAWorkloadWhoseCostsChange()
    {
        final PageCacheChoice choice = PageCacheChoice.measured(WINDOW, HOLD);
        serve(choice, 5, 1, 2 * WINDOW);
        assertThat(choice.useMapping()).isFalse();
        // The disk is covered: populates are over and the mapping is now the cheaper way.
        now += HOLD;
        serve(choice, 1, 3, WINDOW + 10);
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
        assertThat(choice.useMapping()).as("ended by busy time, bounce pages tried").isFalse();
        assertThat(choice.mappedNanosPerPage()).isEqualTo(1_000.0);
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
