package org.dom0j.ring;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * A backend killed at any point of its work and replaced by one that {@link BackRing#adopt adopts} the ring from its
 * {@link RingJournal}: the frontend gets exactly one answer for every request it posted, no answer it did not ask
 * for, and its ring never breaks. The backend answers out of order, as blkback does.
 * <p>
 * Seeded: each run replays one random schedule up to every kill point in turn ({@code -Ddom0j.journal.seeds=N} runs
 * more schedules). A failure names the seed and the kill point.
 */
@Timeout(120)
class RingJournalTest
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int STEPS = 400;

    @TempDir
    Path dir;

    /** A frontend that posts numbered requests and checks every answer. */
    private static final class Frontend
    {
        final FrontRing ring;
        final UnsafeBuffer scratch = new UnsafeBuffer(new byte[64]);
        final UnsafeBuffer copy = new UnsafeBuffer(new byte[64]);
        final Set<Integer> outstanding = new HashSet<>();
        final Set<Integer> answered = new HashSet<>();
        int next = 1;
        String error;

        Frontend(final FrontRing ring)
        {
            this.ring = ring;
        }

        void post(final int count)
        {
            for (int i = 0; i < count && !ring.isFull(); i++)
            {
                final int id = next++;
                scratch.putInt(0, id, LE);
                scratch.putInt(4, ~id, LE);
                scratch.putInt(8, id * 31, LE);
                ring.putRequest(scratch, 0, 12);
                outstanding.add(id);
            }
            ring.pushRequests();
        }

        void reap()
        {
            final int taken = ring.consumeResponses(this::onResponse, copy, 0, Integer.MAX_VALUE);
            if (taken == FrontRing.PROTOCOL_VIOLATION && null == error)
            {
                error = ring.violation();
            }
        }

        private void onResponse(final MutableDirectBuffer buffer, final int offset, final int index)
        {
            final int id = buffer.getInt(offset, LE);
            if (!outstanding.remove(id) && null == error)
            {
                error = "answer for request " + id + (answered.contains(id) ? ", answered before" : ", never posted");
            }
            answered.add(id);
        }
    }

    /** A backend that takes requests, answers them in a random order, and pushes now and then. */
    private static final class Backend
    {
        final BackRing ring;
        final UnsafeBuffer copy = new UnsafeBuffer(new byte[64]);
        final List<int[]> taken = new ArrayList<>();
        final Map<Integer, Integer> seenIds = new HashMap<>();

        Backend(final BackRing ring)
        {
            this.ring = ring;
        }

        void take(final int limit)
        {
            take(limit, 0);
        }

        /** Mode 0: consumeRequests; 1: copyRequest; 2: peekRequest then takePeekedRequest (netback's ways). */
        void take(final int limit, final int mode)
        {
            if (mode == 0)
            {
                ring.consumeRequests(this::onRequest, copy, 0, limit);
                return;
            }
            for (int n = 0; n < limit && ring.unconsumedRequests() > 0; n++)
            {
                if (mode == 1)
                {
                    final int index = ring.copyRequest(copy, 0);
                    onRequest(copy, 0, index);
                }
                else
                {
                    final int peeked = ring.peekRequest(copy, 0);
                    final int index = ring.takePeekedRequest();
                    assertThat(index).isEqualTo(peeked);
                    onRequest(copy, 0, index);
                }
            }
        }

        private void onRequest(final MutableDirectBuffer buffer, final int offset, final int index)
        {
            final int id = buffer.getInt(offset, LE);
            if (buffer.getInt(offset + 4, LE) != ~id || buffer.getInt(offset + 8, LE) != id * 31)
            {
                throw new AssertionError("request " + id + " at " + index + " is not what was posted");
            }
            taken.add(new int[]{ id, ring.lastJournalEntry() });
        }

        /** Answers the taken request at position {@code which}; {@code write} false stops after the claim. */
        void answer(final int which, final boolean write)
        {
            final int[] request = taken.get(which);
            final int at = ring.claimResponse(request[1]);
            if (!write)
            {
                return;
            }
            taken.remove(which);
            ring.buffer().putInt(at, request[0], LE);
            ring.commitResponse();
        }
    }

    @Test
    void shouldAnswerEveryRequestExactlyOnceWhateverTheKillPoint()
    {
        final int seeds = Integer.getInteger("dom0j.journal.seeds", 3);
        final long base = Long.getLong("dom0j.journal.seed", 0x5EED_0001L);
        int killPoints = 0;
        for (int s = 0; s < seeds; s++)
        {
            final long seed = base + s;
            for (int kill = 0; kill <= STEPS; kill += 1)
            {
                runTo(seed, kill);
                killPoints++;
            }
        }
        assertThat(killPoints).isEqualTo(seeds * (STEPS + 1));
    }

    @Test
    void shouldFallBackToRspProdWhenTheJournalIsForAnotherRing() throws Exception
    {
        final RingLayout layout = RingLayout.of(12, 4, 1);
        final UnsafeBuffer page = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final Frontend front = new Frontend(new FrontRing(layout, page).init(0));
        final Path file = dir.resolve("other.journal");
        final Backend back = new Backend(new BackRing(layout, page).attach(0)
            .journal(RingJournal.create(file, layout, 1L, 0)));
        front.post(3);
        back.take(3);

        final RingJournal other = RingJournal.openExisting(file, layout, 2L);

        assertThat(other).isNull();
        assertThat(new BackRing(layout, page).adopt(null)).isEqualTo(-1);
    }

    @Test
    void shouldGiveTheJournalUpWhenItsReqConsCannotBe() throws Exception
    {
        final RingLayout layout = RingLayout.of(12, 4, 1);
        final UnsafeBuffer page = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final Frontend front = new Frontend(new FrontRing(layout, page).init(0));
        final Path file = dir.resolve("stale.journal");
        final Backend back = new Backend(new BackRing(layout, page).attach(0)
            .journal(RingJournal.create(file, layout, 7L, 0)));
        front.post(5);
        back.take(5);
        // The frontend started again on a fresh ring page with the same grants: its indices are back at 0.
        page.setMemory(0, 4096, (byte)0);

        final BackRing adopted = new BackRing(layout, page);
        final int replayed = adopted.adopt(RingJournal.openExisting(file, layout, 7L));

        assertThat(replayed).isEqualTo(-1);
        assertThat(adopted.reqCons()).isZero();
        assertThat(adopted.journal()).isNull();
    }

    private void runTo(final long seed, final int kill)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final RingLayout layout = RingLayout.of(12, 4, 1);
        final UnsafeBuffer page = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final Frontend front = new Frontend(new FrontRing(layout, page).init(0xFFFF_FF00));
        final Path file = dir.resolve("q-" + seed + "-" + kill + ".journal");
        Backend back = new Backend(new BackRing(layout, page).attach(0xFFFF_FF00)
            .journal(RingJournal.create(file, layout, seed, 0xFFFF_FF00)));
        final String where = "seed " + seed + " (-Ddom0j.journal.seed=" + seed + " -Ddom0j.journal.seeds=1), kill " +
            "point " + kill;
        try
        {
            for (int step = 0; step < kill; step++)
            {
                final int action = random.nextInt(10);
                if (action < 3)
                {
                    front.post(1 + random.nextInt(40));
                }
                else if (action < 5)
                {
                    final int limit = 1 + random.nextInt(16);
                    back.take(limit, random.nextInt(3));
                }
                else if (action < 8 && !back.taken.isEmpty())
                {
                    // Out of order: any request taken may be answered next; a kill may come between claiming the
                    // response slot and writing it.
                    final int which = random.nextInt(back.taken.size());
                    final boolean whole = random.nextBoolean();
                    back.answer(which, step != kill - 1 || whole);
                }
                else if (action < 9)
                {
                    if (random.nextBoolean())
                    {
                        back.ring.pushResponses();
                    }
                    else
                    {
                        back.ring.pushResponsesAndCheckNotify();
                    }
                }
                else
                {
                    front.reap();
                }
            }
            // Killed: everything the old backend held in its memory is gone; the ring page and the file stay.
            back.ring.journal().close();
            back = new Backend(new BackRing(layout, page));
            final int replayed = back.ring.adopt(RingJournal.openExisting(file, layout, seed));
            if (replayed < 0)
            {
                fail("no usable journal at " + where);
            }
            for (int round = 0; round < 1000 && (!front.outstanding.isEmpty() || !back.taken.isEmpty()); round++)
            {
                back.take(16, round % 3);
                while (!back.taken.isEmpty())
                {
                    back.answer(random.nextInt(back.taken.size()), true);
                }
                back.ring.pushResponses();
                front.reap();
                if (round % 3 == 0)
                {
                    front.post(random.nextInt(8));
                }
            }
            assertThat(front.error).as(where).isNull();
            assertThat(front.outstanding).as("requests never answered, " + where).isEmpty();
            back.ring.journal().delete();
            assertThat(Files.exists(file)).isFalse();
        }
        catch (final AssertionError | RuntimeException ex)
        {
            throw new AssertionError(where + ": " + ex.getMessage(), ex);
        }
    }
}
