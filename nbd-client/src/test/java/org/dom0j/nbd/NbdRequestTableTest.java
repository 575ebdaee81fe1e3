package org.dom0j.nbd;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Slots, the cookies put on the wire, and the record of which bytes of a read have come.
 */
@Timeout(10)
class NbdRequestTableTest
{
    static long[] seeds()
    {
        final long[] seeds = new long[40];
        final Random random = new Random(0x6e6264L);
        for (int i = 0; i < seeds.length; i++)
        {
            seeds[i] = random.nextLong();
        }
        return seeds;
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void shouldAcceptAReadInPiecesInAnyOrderAndCountItCoveredOnlyWhenWhole(final long seed)
    {
        final Random random = new Random(seed);
        final NbdRequestTable table = new NbdRequestTable(2);
        final int length = 1 + random.nextInt(1 << 20);
        final int slot = table.acquire(7, NbdConstants.NBD_CMD_READ, 0, length, 0);
        final List<long[]> pieces = split(random, length, 1 + random.nextInt(NbdRequestTable.MAX_PIECES));
        Collections.shuffle(pieces, random);

        long covered = 0;
        for (final long[] piece : pieces)
        {
            assertThat(table.bytesCovered(slot)).as("seed %d", seed).isEqualTo(covered);
            assertThat(table.addPiece(slot, piece[0], piece[1])).as("seed %d", seed)
                .isEqualTo(NbdRequestTable.PIECE_ADDED);
            covered += piece[1] - piece[0];
        }

        assertThat(table.bytesCovered(slot)).as("seed %d", seed).isEqualTo(length);
        final long[] any = pieces.get(random.nextInt(pieces.size()));
        final long inside = any[0] + random.nextInt((int)(any[1] - any[0]));
        assertThat(table.addPiece(slot, inside, inside + 1)).as("seed %d", seed)
            .isEqualTo(NbdRequestTable.PIECE_OVERLAPS);
    }

    @Test
    void shouldRefuseAPieceOverlappingEitherNeighbourAndKeepTheRecordUnchanged()
    {
        final NbdRequestTable table = new NbdRequestTable(1);
        final int slot = table.acquire(0, NbdConstants.NBD_CMD_READ, 0, 100, 0);
        table.addPiece(slot, 10, 20);
        table.addPiece(slot, 40, 50);

        assertThat(table.addPiece(slot, 15, 25)).isEqualTo(NbdRequestTable.PIECE_OVERLAPS);
        assertThat(table.addPiece(slot, 35, 41)).isEqualTo(NbdRequestTable.PIECE_OVERLAPS);
        assertThat(table.addPiece(slot, 0, 100)).isEqualTo(NbdRequestTable.PIECE_OVERLAPS);
        assertThat(table.addPiece(slot, 19, 20)).isEqualTo(NbdRequestTable.PIECE_OVERLAPS);
        assertThat(table.bytesCovered(slot)).isEqualTo(20);
        assertThat(table.addPiece(slot, 20, 40)).isEqualTo(NbdRequestTable.PIECE_ADDED);
        assertThat(table.bytesCovered(slot)).isEqualTo(40);
    }

    @Test
    void shouldSayTooFragmentedWhenMorePiecesThanItKeepsAreApart()
    {
        final NbdRequestTable table = new NbdRequestTable(1);
        final int slot = table.acquire(0, NbdConstants.NBD_CMD_READ, 0, 1000, 0);
        for (int i = 0; i < NbdRequestTable.MAX_PIECES; i++)
        {
            assertThat(table.addPiece(slot, 2L * i * 10, 2L * i * 10 + 10)).isEqualTo(NbdRequestTable.PIECE_ADDED);
        }

        assertThat(table.addPiece(slot, 900, 910)).isEqualTo(NbdRequestTable.PIECE_TOO_FRAGMENTED);
        assertThat(table.addPiece(slot, 10, 20)).as("a piece joining two others still fits")
            .isEqualTo(NbdRequestTable.PIECE_ADDED);
    }

    @Test
    void shouldMatchAWireCookieOnlyWhileItsRequestIsSentAndNotAfterTheSlotIsReused()
    {
        final NbdRequestTable table = new NbdRequestTable(4);
        final int slot = table.acquire(42, NbdConstants.NBD_CMD_READ, 0, 512, 0);
        final long wire = table.wireCookie(slot);
        table.queueSend(slot);

        assertThat(table.slotOf(wire)).as("queued, not yet sent in full").isEqualTo(-1);
        table.popSent();
        assertThat(table.slotOf(wire)).isEqualTo(slot);
        assertThat(table.slotOf(wire ^ 1L << 40)).as("another generation").isEqualTo(-1);
        assertThat(table.slotOf(4)).as("no such slot").isEqualTo(-1);
        assertThat(table.release(slot)).isEqualTo(42);
        assertThat(table.slotOf(wire)).as("released").isEqualTo(-1);

        final int again = table.acquire(43, NbdConstants.NBD_CMD_READ, 0, 512, 0);
        table.queueSend(again);
        table.popSent();
        assertThat(again).isEqualTo(slot);
        assertThat(table.slotOf(wire)).as("the old cookie does not match the slot's new request").isEqualTo(-1);
        assertThat(table.slotOf(table.wireCookie(again))).isEqualTo(slot);
    }

    @Test
    void shouldRunOutOfSlotsAtItsCapacityAndFailEveryRemoteRequestAtOnce()
    {
        final NbdRequestTable table = new NbdRequestTable(3);
        final int sent = table.acquire(1, NbdConstants.NBD_CMD_READ, 0, 512, 0);
        table.queueSend(sent);
        table.popSent();
        final int queued = table.acquire(2, NbdConstants.NBD_CMD_WRITE, 0, 512, 0);
        table.queueSend(queued);
        final int local = table.acquire(3, NbdConstants.NBD_CMD_FLUSH, 0, 0, 0);
        table.queueLocal(local, NbdConstants.ENOTSUP);

        assertThat(table.acquire(4, NbdConstants.NBD_CMD_READ, 0, 512, 0)).isEqualTo(-1);
        assertThat(table.remote()).isEqualTo(2);
        table.failRemote(NbdConstants.EIO);

        assertThat(table.remote()).isZero();
        assertThat(table.sendCount()).isZero();
        assertThat(table.localCount()).isEqualTo(3);
        final List<Long> cookies = new ArrayList<>();
        while (table.localCount() > 0)
        {
            final int slot = table.popLocal();
            final int errno = table.errno[slot];
            final long cookie = table.release(slot);
            assertThat(errno).isEqualTo(cookie == 3 ? NbdConstants.ENOTSUP : NbdConstants.EIO);
            cookies.add(cookie);
        }
        assertThat(cookies).containsExactly(3L, 1L, 2L);
        assertThat(table.taken()).isZero();
    }

    private static List<long[]> split(final Random random, final int length, final int count)
    {
        final java.util.TreeSet<Integer> cuts = new java.util.TreeSet<>();
        while (cuts.size() < Math.min(count - 1, length - 1))
        {
            cuts.add(1 + random.nextInt(length - 1));
        }
        final List<long[]> pieces = new ArrayList<>();
        int start = 0;
        for (final int cut : cuts)
        {
            pieces.add(new long[]{ start, cut });
            start = cut;
        }
        pieces.add(new long[]{ start, length });
        return pieces;
    }
}
