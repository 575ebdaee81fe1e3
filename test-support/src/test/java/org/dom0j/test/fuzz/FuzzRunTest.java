package org.dom0j.test.fuzz;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The fuzz runner's promises: the same base gives the same cases, a failure names the seed that replays it, and
 * that seed replays exactly that case.
 */
@Timeout(30)
class FuzzRunTest
{
    @Test
    void shouldRunTheSameCasesForTheSameBase()
    {
        final List<Long> first = draws(FuzzRun.configure("t", 42, 20, 60, Map.of()));
        final List<Long> second = draws(FuzzRun.configure("t", 42, 20, 60, Map.of()));
        final List<Long> other = draws(FuzzRun.configure("t", 43, 20, 60, Map.of()));

        assertThat(first).hasSize(20).isEqualTo(second).isNotEqualTo(other);
        assertThat(first).doesNotHaveDuplicates();
    }

    @Test
    void shouldNameTheSeedOfAFailingCaseAndReplayExactlyIt()
    {
        final List<Long> seen = new ArrayList<>();
        final FuzzRun run = FuzzRun.configure("t", 7, 50, 60, Map.of());
        final long failing = FuzzRun.caseSeed(7, 12);

        assertThatThrownBy(() -> run.run((in, i) ->
        {
            seen.add(in.seed());
            if (i == 12)
            {
                throw new IllegalStateException("boom " + in.nextLong());
            }
        }))
            .isInstanceOf(AssertionError.class)
            .hasMessageContaining("case 12 (seed " + FuzzRun.hex(failing) + ")")
            .hasMessageContaining("-Ddom0j.fuzz.seed=" + FuzzRun.hex(failing))
            .hasMessageContaining("-Ddom0j.fuzz.base=" + FuzzRun.hex(7) + " -Ddom0j.fuzz.iterations=13")
            .hasMessageContaining("boom " + new Hostile(failing).nextLong())
            .hasCauseInstanceOf(IllegalStateException.class);
        assertThat(seen).hasSize(13);

        final List<Long> replayed = new ArrayList<>();
        final FuzzRun replay = FuzzRun.configure("t", 7, 50, 60, Map.of(FuzzRun.SEED, FuzzRun.hex(failing)));
        final FuzzRun.Summary summary = replay.run((in, i) -> replayed.add(in.nextLong()));
        assertThat(replay.isReplay()).isTrue();
        assertThat(summary.cases()).isEqualTo(1);
        assertThat(replayed).containsExactly(new Hostile(failing).nextLong());
    }

    @Test
    void shouldRunALongRunByCountFromANewBaseUnlessGivenOne()
    {
        final FuzzRun byCount = FuzzRun.configure("t", 7, 5, 60, Map.of(FuzzRun.ITERATIONS, "30"));
        assertThat(byCount.run((in, i) -> { }).cases()).isEqualTo(30);
        assertThat(byCount.budgetNanos()).isEqualTo(Long.MAX_VALUE);

        final FuzzRun given = FuzzRun.configure("t", 7, 5, 60, Map.of(FuzzRun.ITERATIONS, "3", FuzzRun.BASE, "0x10"));
        assertThat(given.run((in, i) -> { }).base()).isEqualTo(16);
    }

    @Test
    void shouldStopAtItsTimeBudgetAndSaySo()
    {
        final FuzzRun run = FuzzRun.configure("t", 7, 1_000_000, 1, Map.of());
        final FuzzRun.Summary summary = run.run((in, i) -> Thread.sleep(10));
        assertThat(summary.budgetHit()).isTrue();
        assertThat(summary.cases()).isBetween(10L, 200L);
    }

    @Test
    void shouldFailACaseThatStallsWithTheThreadsStacks()
    {
        final FuzzRun run = FuzzRun.configure("t", 7, 3, 60, Map.of(FuzzRun.CASE_SECONDS, "1"));
        assertThatThrownBy(() -> run.run((in, i) -> Thread.sleep(60_000)))
            .hasMessageContaining("case 0")
            .hasMessageContaining("stalled")
            .hasMessageContaining("threads at the stall");
    }

    @Test
    void shouldKnowWhichIndicesCertainlyOverflowARing()
    {
        assertThat(Hostile.certainlyOverflows(100 + 2 * 32 + 1, 100, 32)).isTrue();
        assertThat(Hostile.certainlyOverflows(100 + 2 * 32, 100, 32)).isFalse();
        assertThat(Hostile.certainlyOverflows(99, 100, 32)).isTrue();
        assertThat(Hostile.certainlyOverflows(Integer.MIN_VALUE + 10, Integer.MAX_VALUE - 10, 32)).isFalse();
        assertThat(Hostile.certainlyOverflows(5, -100, 32)).isTrue();
    }

    @Test
    void shouldTellChunksOfAnOwnerFromAnythingElse()
    {
        final byte[] bytes = new byte[2 * Chunks.SIZE];
        Chunks.fill(bytes, 0, 11, 5);
        assertThat(Chunks.isChunkOf(bytes, 0, 11)).isTrue();
        assertThat(Chunks.label(bytes, 0)).isEqualTo(5);
        assertThat(Chunks.isChunkOf(bytes, 0, 12)).isFalse();
        assertThat(Chunks.isZero(bytes, Chunks.SIZE)).isTrue();
        bytes[300] ^= 1;
        assertThat(Chunks.isChunkOf(bytes, 0, 11)).isFalse();
    }

    private static List<Long> draws(final FuzzRun run)
    {
        final List<Long> draws = new ArrayList<>();
        run.run((in, i) -> draws.add(in.nextLong()));
        return draws;
    }
}
