package org.dom0j.netback;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The transmit rate limit with Linux netback's semantics, on a clock the test moves.
 */
class CreditLimiterTest
{
    private static final long MS = 1_000_000L;

    @Test
    void shouldParseTheToolstacksRateAsLinuxDoesAndTreatGarbageAsUnlimited()
    {
        assertThat(CreditLimiter.parseRate("125000,50000")).containsExactly(125_000, 50_000);
        assertThat(CreditLimiter.parseRate(null)).containsExactly(-1, 0);
        assertThat(CreditLimiter.parseRate("125000")).containsExactly(-1, 0);
        assertThat(CreditLimiter.parseRate("12x,5")).containsExactly(-1, 0);
        assertThat(CreditLimiter.parseRate("0,50000")).containsExactly(-1, 0);
        assertThat(CreditLimiter.parseRate("-5,50000")).containsExactly(-1, 0);
        assertThat(CreditLimiter.parseRate("100,")).containsExactly(-1, 0);
    }

    @Test
    void shouldLetEverythingThroughWhenUnlimited()
    {
        final CreditLimiter credit = new CreditLimiter();
        for (int i = 0; i < 1000; i++)
        {
            assertThat(credit.tryTake(65535, i)).isTrue();
        }
    }

    @Test
    void shouldAllowTheRatesBytesPerWindowAndHoldThePacketThatDoesNotFit()
    {
        final CreditLimiter credit = new CreditLimiter();
        credit.set(200_000, 100_000); // 200 KB every 100 ms
        long now = 1_000 * MS;
        int sent = 0;
        while (credit.tryTake(10_000, now))
        {
            sent++;
        }
        assertThat(sent).isEqualTo(20);
        assertThat(credit.nanosUntilNextWindow(now)).isEqualTo(100 * MS);

        now += 50 * MS;
        assertThat(credit.tryTake(10_000, now)).as("still in the window").isFalse();
        now += 50 * MS;
        assertThat(credit.tryTake(10_000, now)).as("the next window").isTrue();
    }

    @Test
    void shouldAlwaysPassALargestPacketEvenWhenTheRateIsSmallerThanIt()
    {
        final CreditLimiter credit = new CreditLimiter();
        credit.set(1000, 10_000);
        // The cap is at least 128 KiB, so credit accumulates up to a 64 KiB packet over the windows.
        long now = 1_000 * MS;
        int windows = 0;
        // Bounded, so that a limiter that never lets it pass fails here instead of looping forever.
        while (!credit.tryTake(65535, now) && windows <= 1000)
        {
            now += 10 * MS;
            windows++;
        }
        assertThat(windows).as("10 ms windows until a 64 KiB packet passes").isBetween(65, 67);
    }
}
