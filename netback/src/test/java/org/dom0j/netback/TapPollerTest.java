package org.dom0j.netback;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
class TapPollerTest
{
    @Test
    void closeWakesThePollerThatSleepsUntilATapHasFrames()
    {
        final TapPoller poller = new TapPoller();
        final long start = System.nanoTime();
        poller.close();
        // it waits in epoll with no timeout: only the close's eventfd ends the wait (the close gives up after 5 s)
        assertThat(System.nanoTime() - start).as("closing an idle poller").isLessThan(TimeUnit.SECONDS.toNanos(4));
    }
}
