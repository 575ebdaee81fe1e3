package org.dom0j.evtchn;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The idle strategy spins, yields, then blocks on the handle for as long as the agent says it may, and starts over
 * after work.
 */
class EventChannelIdleStrategyTest
{
    private static final long DEFAULT_PARK = 1_000_000L;

    private final RecordingEventChannels evtchn = new RecordingEventChannels();

    @Test
    void shouldBlockForTheDefaultWaitAfterItsSpinsAndYields()
    {
        final EventChannelIdleStrategy idle = new EventChannelIdleStrategy(evtchn, 3, 2, DEFAULT_PARK);
        for (int i = 0; i < 5; i++)
        {
            idle.idle(0);
        }
        assertThat(evtchn.waits).as("3 spins and 2 yields first").isEmpty();
        idle.idle(0);
        idle.idle(0);
        assertThat(evtchn.waits).containsExactly(DEFAULT_PARK, DEFAULT_PARK);
    }

    @Test
    void shouldBlockForWhatTheAgentSaysItMayWaitGivenTheDefault()
    {
        final List<Long> asked = new ArrayList<>();
        final long[] answer = { 60_000_000_000L };
        final EventChannelIdleStrategy idle = new EventChannelIdleStrategy(evtchn, 0, 0, DEFAULT_PARK, (max) ->
        {
            asked.add(max);
            return answer[0];
        });
        idle.idle(0);
        answer[0] = 250_000L;
        idle.idle(0);
        answer[0] = 0;
        idle.idle(0);
        assertThat(asked).containsExactly(DEFAULT_PARK, DEFAULT_PARK, DEFAULT_PARK);
        assertThat(evtchn.waits).as("a wait of 0 does not block").containsExactly(60_000_000_000L, 250_000L);
    }

    @Test
    void shouldSpinAgainAfterWork()
    {
        final EventChannelIdleStrategy idle = new EventChannelIdleStrategy(evtchn, 1, 0, DEFAULT_PARK);
        idle.idle(0);
        idle.idle(0);
        assertThat(evtchn.waits).hasSize(1);
        idle.idle(1);
        idle.idle(0);
        assertThat(evtchn.waits).as("the spin after work does not block").hasSize(1);
    }

    @Test
    void anAdaptiveStrategyBlocksAtOnceUntilWorkComesSoonAfterGoingIdle()
    {
        final long[] now = { 1_000_000L };
        final EventChannelIdleStrategy idle = EventChannelIdleStrategy.adaptive(evtchn, 40_000, DEFAULT_PARK,
            (max, at) -> max, () -> now[0]);
        idle.idle(0);
        assertThat(evtchn.waits).as("no window yet: it blocks at once").hasSize(1);
        now[0] += 5_000;
        idle.idle(1);
        assertThat(idle.pollNanos()).as("work 5 us after going idle")
            .isEqualTo(EventChannelIdleStrategy.POLL_START_NANOS);

        // within the window it polls: no block
        idle.idle(0);
        now[0] += 9_000;
        idle.idle(0);
        assertThat(evtchn.waits).hasSize(1);
        idle.idle(1);
        assertThat(idle.pollNanos()).as("the poll caught it: the window stays").isEqualTo(10_000);

        // work 25 us after going idle: it blocked after 10 us, and the window doubles, up to the bound
        idle.idle(0);
        now[0] += 25_000;
        idle.idle(0);
        assertThat(evtchn.waits).hasSize(2);
        idle.idle(1);
        assertThat(idle.pollNanos()).isEqualTo(20_000);
        for (int i = 0; i < 3; i++)
        {
            idle.idle(0);
            now[0] += 39_000;
            idle.idle(0);
            idle.idle(1);
        }
        assertThat(idle.pollNanos()).as("no longer than the bound").isEqualTo(40_000);
    }

    @Test
    void anAdaptiveStrategyStopsPollingWhenWorkComesLate()
    {
        final long[] now = { 1_000_000L };
        final EventChannelIdleStrategy idle = EventChannelIdleStrategy.adaptive(evtchn, 40_000, DEFAULT_PARK,
            (max, at) -> max, () -> now[0]);
        for (int i = 0; i < 3; i++)
        {
            idle.idle(0);
            now[0] += 30_000;
            idle.idle(0);
            idle.idle(1);
        }
        assertThat(idle.pollNanos()).isEqualTo(40_000);
        // spells of a millisecond (the guest busy elsewhere): halved each time, then none
        final List<Long> windows = new ArrayList<>();
        for (int i = 0; i < 4; i++)
        {
            idle.idle(0);
            now[0] += 1_000_000;
            idle.idle(0);
            idle.idle(1);
            windows.add(idle.pollNanos());
        }
        assertThat(windows).containsExactly(20_000L, 10_000L, 0L, 0L);
        final int blocks = evtchn.waits.size();
        idle.idle(0);
        assertThat(evtchn.waits).as("no window: it blocks at once").hasSize(blocks + 1);
    }

    @Test
    void anAdaptiveStrategyKeepsItsWindowWhenThePollCaughtTheWorkHoweverLongItsYieldsTook()
    {
        final long[] now = { 1_000_000L };
        final EventChannelIdleStrategy idle = EventChannelIdleStrategy.adaptive(evtchn, 40_000, DEFAULT_PARK,
            (max, at) -> max, () -> now[0]);
        idle.idle(0);
        now[0] += 20_000;
        idle.idle(1);
        assertThat(idle.pollNanos()).isEqualTo(10_000);
        final int blocks = evtchn.waits.size();
        // a yield handed the CPU to the thread that makes the work, for 5 ms: the work is there when it comes back
        idle.idle(0);
        now[0] += 5_000_000;
        idle.idle(1);
        assertThat(evtchn.waits).hasSize(blocks);
        assertThat(idle.pollNanos()).isEqualTo(10_000);
    }

    @Test
    void anAdaptiveStrategyWithNoWindowNeverPolls()
    {
        final long[] now = { 1_000_000L };
        final EventChannelIdleStrategy idle = EventChannelIdleStrategy.adaptive(evtchn, 0, DEFAULT_PARK,
            (max, at) -> max, () -> now[0]);
        for (int i = 0; i < 5; i++)
        {
            idle.idle(0);
            now[0] += 1_000;
            idle.idle(1);
        }
        assertThat(idle.pollNanos()).isZero();
        assertThat(evtchn.waits).hasSize(5);
    }

    @Test
    void aClosedWindowTimesOneSpellInSixteenAndGivesTheAgentTheCoarseClockOtherwise()
    {
        final long[] now = { 1_000_000L };
        final int[] fineReadings = { 0 };
        final List<Long> given = new ArrayList<>();
        final EventChannelIdleStrategy idle = EventChannelIdleStrategy.adaptive(evtchn, 40_000, DEFAULT_PARK,
            (max, at) ->
            {
                given.add(at);
                return max;
            },
            () ->
            {
                fineReadings[0]++;
                return now[0];
            },
            () -> now[0] - 3_000_000);
        // The first spell is timed; its work came 1 ms later: the window stays closed.
        idle.idle(0);
        now[0] += 1_000_000;
        idle.idle(1);
        assertThat(fineReadings[0]).as("before the block and after it").isEqualTo(2);
        assertThat(given).containsExactly(1_000_000L);

        // The next fifteen spells are not timed: each blocks at once on the coarse reading, however soon work came.
        for (int i = 0; i < EventChannelIdleStrategy.TIME_EVERY_CLOSED_SPELL - 1; i++)
        {
            idle.idle(0);
            idle.idle(0);
            now[0] += 5_000;
            idle.idle(1);
        }
        assertThat(fineReadings[0]).as("no fine reading in an untimed spell").isEqualTo(2);
        assertThat(evtchn.waits).hasSize(1 + 2 * (EventChannelIdleStrategy.TIME_EVERY_CLOSED_SPELL - 1));
        assertThat(given.get(1)).as("the coarse reading").isEqualTo(2_000_000L - 3_000_000L);
        assertThat(idle.pollNanos()).isZero();

        // The sixteenth is timed: its work came 5 us after it went idle, and the window opens.
        idle.idle(0);
        now[0] += 5_000;
        idle.idle(1);
        assertThat(fineReadings[0]).isEqualTo(4);
        assertThat(idle.pollNanos()).isEqualTo(EventChannelIdleStrategy.POLL_START_NANOS);

        // With the window open every spell is timed.
        idle.idle(0);
        now[0] += 2_000;
        idle.idle(1);
        assertThat(fineReadings[0]).as("one reading to poll; the poll caught the work: none after").isEqualTo(5);
    }

    /** Records the waits; no events ever come. */
    private static final class RecordingEventChannels implements EventChannels
    {
        final List<Long> waits = new ArrayList<>();

        @Override
        public int bindInterdomain(final int remoteDomid, final int remotePort)
        {
            throw new UnsupportedOperationException();
        }

        @Override
        public int bindUnboundPort(final int remoteDomid)
        {
            throw new UnsupportedOperationException();
        }

        @Override
        public void unbind(final int port)
        {
            throw new UnsupportedOperationException();
        }

        @Override
        public void notify(final int port)
        {
            throw new UnsupportedOperationException();
        }

        @Override
        public int pending()
        {
            return -1;
        }

        @Override
        public int pending(final long timeoutNanos)
        {
            return -1;
        }

        @Override
        public boolean awaitEvent(final long timeoutNanos)
        {
            waits.add(timeoutNanos);
            return false;
        }

        @Override
        public void wakeup()
        {
        }

        @Override
        public void unmask(final int port)
        {
        }

        @Override
        public void close()
        {
        }
    }
}
