package org.dom0j.blkback;

import org.dom0j.protocol.blkif.BlkifConstants;
import org.dom0j.protocol.blkif.BlkifAbi;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_INDIRECT;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_RESERVED_1;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;

/**
 * Decoding from a slot copy and the checks Linux's blkback makes, one behaviour per test.
 */
@Timeout(10)
class RequestValidationTest
{
    private static final long CAPACITY = 2048;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final UnsafeBuffer slot = new UnsafeBuffer(new byte[112]);
    private final BlkifRequest request = new BlkifRequest(256);
    private final RequestValidator validator = new RequestValidator(CAPACITY, false, 256, true, true, true, false);
    private final RequestValidator readOnly = new RequestValidator(CAPACITY, true, 256, true, true, true, false);
    private final RequestValidator plain = new RequestValidator(CAPACITY, false, 0, false, false, false, false);

    @ParameterizedTest
    @EnumSource(BlkifAbi.class)
    void shouldDecodeAReadInEitherAbi(final BlkifAbi abi)
    {
        rw(abi, BLKIF_OP_READ, 2, 0x1122334455667788L, 100);
        segment(abi, 0, 77, 0, 7);
        segment(abi, 1, 78, 2, 3);

        request.decode(slot, 0, abi);

        assertThat(request.operation()).isEqualTo(BLKIF_OP_READ);
        assertThat(request.id()).isEqualTo(0x1122334455667788L);
        assertThat(request.sectorNumber()).isEqualTo(100);
        assertThat(request.handle()).isEqualTo(51712);
        assertThat(request.segmentsLoaded()).isEqualTo(2);
        assertThat(request.segmentGref(1)).isEqualTo(78);
        assertThat(request.segmentOffset(1)).isEqualTo(1024);
        assertThat(request.segmentLength(1)).isEqualTo(1024);
        assertThat(request.totalSectors()).isEqualTo(10);
        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.OK);
        assertThat(validator.checkSegments(request)).isEqualTo(RequestVerdict.OK);
    }

    @Test
    void shouldRejectRequestWithTwelveSegments()
    {
        rw(BlkifAbi.X86_64, BLKIF_OP_WRITE, 12, 1, 0);

        request.decode(slot, 0, BlkifAbi.X86_64);

        assertThat(request.segmentsLoaded()).as("clamped while copying").isEqualTo(11);
        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.BAD_SEGMENT_COUNT);
    }

    @Test
    void shouldRejectAReadWithNoSegments()
    {
        rw(BlkifAbi.X86_64, BLKIF_OP_READ, 0, 1, 0);
        request.decode(slot, 0, BlkifAbi.X86_64);

        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.BAD_SEGMENT_COUNT);
    }

    @Test
    void shouldAcceptABarrierOrFlushWithoutData()
    {
        rw(BlkifAbi.X86_64, BLKIF_OP_WRITE_BARRIER, 0, 1, 0);
        request.decode(slot, 0, BlkifAbi.X86_64);
        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.OK);
        assertThat(validator.checkSegments(request)).isEqualTo(RequestVerdict.OK);

        rw(BlkifAbi.X86_64, BLKIF_OP_FLUSH_DISKCACHE, 0, 1, 0);
        request.decode(slot, 0, BlkifAbi.X86_64);
        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.OK);
    }

    /**
     * Linux's block layer gives a flush with no data sector -1 (blk_rq_init), and blkfront passes it on as
     * sector_number 2^64-1. Linux's blkback checks the range only of requests that carry sectors; answering such a
     * flush with an error made blkfront turn flushes off for good ("empty flush op failed", seen on the real-Xen tier).
     */
    @Test
    void shouldAcceptAFlushWithoutDataWhateverItsSectorNumber()
    {
        for (final long sector : new long[]{ -1L, CAPACITY + 1, Long.MIN_VALUE })
        {
            rw(BlkifAbi.X86_64, BLKIF_OP_FLUSH_DISKCACHE, 0, 1, sector);
            request.decode(slot, 0, BlkifAbi.X86_64);
            assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.OK);
            assertThat(validator.checkSegments(request)).as("sector %d", sector).isEqualTo(RequestVerdict.OK);
        }
        rw(BlkifAbi.X86_64, BLKIF_OP_FLUSH_DISKCACHE, 1, 1, -1L);
        segment(BlkifAbi.X86_64, 0, 77, 0, 7);
        request.decode(slot, 0, BlkifAbi.X86_64);
        assertThat(validator.checkSegments(request)).as("a flush with data is checked").isEqualTo(
            RequestVerdict.BEYOND_END);
    }

    @Test
    void shouldRejectFirstSectAfterLastSect()
    {
        rw(BlkifAbi.X86_64, BLKIF_OP_READ, 1, 1, 0);
        segment(BlkifAbi.X86_64, 0, 5, 4, 3);
        request.decode(slot, 0, BlkifAbi.X86_64);

        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.OK);
        assertThat(validator.checkSegments(request)).isEqualTo(RequestVerdict.BAD_SEGMENT_SECTORS);
    }

    @Test
    void shouldRejectLastSectPastThePage()
    {
        rw(BlkifAbi.X86_64, BLKIF_OP_READ, 1, 1, 0);
        segment(BlkifAbi.X86_64, 0, 5, 0, 8);
        request.decode(slot, 0, BlkifAbi.X86_64);

        assertThat(validator.checkSegments(request)).isEqualTo(RequestVerdict.BAD_SEGMENT_SECTORS);
    }

    @Test
    void shouldRejectASectorRangePastTheEnd()
    {
        rw(BlkifAbi.X86_64, BLKIF_OP_READ, 1, 1, CAPACITY - 4);
        segment(BlkifAbi.X86_64, 0, 5, 0, 7);
        request.decode(slot, 0, BlkifAbi.X86_64);

        assertThat(validator.checkSegments(request)).isEqualTo(RequestVerdict.BEYOND_END);

        rw(BlkifAbi.X86_64, BLKIF_OP_READ, 1, 1, CAPACITY - 8);
        segment(BlkifAbi.X86_64, 0, 5, 0, 7);
        request.decode(slot, 0, BlkifAbi.X86_64);
        assertThat(validator.checkSegments(request)).as("the last 8 sectors").isEqualTo(RequestVerdict.OK);
    }

    @Test
    void shouldRejectASectorNumberThatWrapsAsUnsigned()
    {
        rw(BlkifAbi.X86_64, BLKIF_OP_READ, 1, 1, -1L);
        segment(BlkifAbi.X86_64, 0, 5, 0, 0);
        request.decode(slot, 0, BlkifAbi.X86_64);

        assertThat(validator.checkSegments(request)).isEqualTo(RequestVerdict.BEYOND_END);
    }

    @Test
    void shouldRefuseWritesToAReadOnlyDisk()
    {
        rw(BlkifAbi.X86_64, BLKIF_OP_WRITE, 1, 1, 0);
        request.decode(slot, 0, BlkifAbi.X86_64);

        assertThat(readOnly.checkHeader(request)).isEqualTo(RequestVerdict.READ_ONLY);
        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.OK);
    }

    @Test
    void shouldAnswerEopnotsuppToTheReservedAndUnknownOps()
    {
        for (final int op : new int[]{ BLKIF_OP_RESERVED_1, 7, 200, 255 })
        {
            slot.setMemory(0, slot.capacity(), (byte)0);
            slot.putByte(0, (byte)op);
            request.decode(slot, 0, BlkifAbi.X86_64);

            assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.UNSUPPORTED_OPERATION);
            assertThat(RequestVerdict.UNSUPPORTED_OPERATION.status()).isEqualTo(BlkifConstants.BLKIF_RSP_EOPNOTSUPP);
        }
    }

    @Test
    void shouldAnswerEopnotsuppToFeaturesNotAdvertised()
    {
        for (final int op : new int[]{ BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_DISCARD })
        {
            rw(BlkifAbi.X86_64, op, 0, 1, 0);
            request.decode(slot, 0, BlkifAbi.X86_64);

            assertThat(plain.checkHeader(request)).isEqualTo(RequestVerdict.FEATURE_NOT_ADVERTISED);
        }
        indirect(BlkifAbi.X86_64, BLKIF_OP_READ, 20);
        request.decode(slot, 0, BlkifAbi.X86_64);
        assertThat(plain.checkHeader(request)).isEqualTo(RequestVerdict.FEATURE_NOT_ADVERTISED);
    }

    @ParameterizedTest
    @EnumSource(BlkifAbi.class)
    void shouldDecodeADiscardAndCheckItsRange(final BlkifAbi abi)
    {
        slot.setMemory(0, slot.capacity(), (byte)0);
        slot.putByte(0, (byte)BLKIF_OP_DISCARD);
        slot.putByte(1, (byte)BlkifConstants.BLKIF_DISCARD_SECURE);
        slot.putLong(abi.idOffset(), 9, LE);
        slot.putLong(abi.sectorNumberOffset(), 1000, LE);
        slot.putLong(abi.discardNrSectorsOffset(), 1048, LE);

        request.decode(slot, 0, abi);

        assertThat(request.discardNrSectors()).isEqualTo(1048);
        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.SECURE_DISCARD_UNSUPPORTED);
        slot.putByte(1, (byte)0);
        request.decode(slot, 0, abi);
        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.OK);
        slot.putLong(abi.discardNrSectorsOffset(), 1049, LE);
        request.decode(slot, 0, abi);
        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.BEYOND_END);
        slot.putLong(abi.discardNrSectorsOffset(), Long.MAX_VALUE, LE);
        request.decode(slot, 0, abi);
        assertThat(validator.checkHeader(request)).as("no overflow in the range check")
            .isEqualTo(RequestVerdict.BEYOND_END);
    }

    @ParameterizedTest
    @EnumSource(BlkifAbi.class)
    void shouldDecodeAnIndirectRequestAndLoadItsSegmentsFromPages(final BlkifAbi abi)
    {
        indirect(abi, BLKIF_OP_WRITE, 600);
        request.decode(slot, 0, abi);

        assertThat(request.ioOperation()).isEqualTo(BLKIF_OP_WRITE);
        assertThat(request.indirectPageCount()).isEqualTo(2);
        assertThat(request.indirectGref(1)).isEqualTo(501);
        assertThat(validator.checkHeader(request)).as("600 > 256 advertised")
            .isEqualTo(RequestVerdict.BAD_SEGMENT_COUNT);

        indirect(abi, BLKIF_OP_WRITE, 200);
        request.decode(slot, 0, abi);
        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.OK);
        final UnsafeBuffer page = new UnsafeBuffer(new byte[4096]);
        for (int i = 0; i < 512; i++)
        {
            page.putInt(i * 8, 1000 + i, LE);
            page.putByte(i * 8 + 4, (byte)0);
            page.putByte(i * 8 + 5, (byte)7);
        }
        assertThat(validator.checkSegments(request)).as("segments not loaded yet")
            .isEqualTo(RequestVerdict.BAD_SEGMENT_COUNT);
        request.loadIndirectSegments(page, 0, 0);

        assertThat(request.segmentsLoaded()).isEqualTo(200);
        assertThat(request.segmentGref(199)).isEqualTo(1199);
        assertThat(request.totalSectors()).isEqualTo(1600);
        assertThat(validator.checkSegments(request)).isEqualTo(RequestVerdict.OK);
    }

    @Test
    void shouldRejectAnIndirectRequestWhoseOperationIsNotReadOrWrite()
    {
        indirect(BlkifAbi.X86_64, BLKIF_OP_DISCARD, 20);
        request.decode(slot, 0, BlkifAbi.X86_64);

        assertThat(validator.checkHeader(request)).isEqualTo(RequestVerdict.BAD_INDIRECT_OPERATION);
    }

    @Test
    void shouldNeverIndexPastItsArraysWhateverTheGuestCounts()
    {
        final BlkifRequest small = new BlkifRequest(11);
        indirect(BlkifAbi.X86_64, BLKIF_OP_READ, 0xFFFF);
        small.decode(slot, 0, BlkifAbi.X86_64);
        final UnsafeBuffer page = new UnsafeBuffer(new byte[4096]);
        for (int p = 0; p < 8; p++)
        {
            small.loadIndirectSegments(page, 0, p);
        }

        assertThat(small.segmentsLoaded()).isEqualTo(11);
        assertThat(validator.checkHeader(small)).isEqualTo(RequestVerdict.BAD_SEGMENT_COUNT);
    }

    private void rw(final BlkifAbi abi, final int op, final int nrSegments, final long id, final long sector)
    {
        slot.setMemory(0, slot.capacity(), (byte)0);
        slot.putByte(0, (byte)op);
        slot.putByte(1, (byte)nrSegments);
        slot.putShort(2, (short)51712, LE);
        slot.putLong(abi.idOffset(), id, LE);
        slot.putLong(abi.sectorNumberOffset(), sector, LE);
    }

    private void segment(final BlkifAbi abi, final int i, final int gref, final int first, final int last)
    {
        final int at = abi.segmentsOffset() + i * 8;
        slot.putInt(at, gref, LE);
        slot.putByte(at + 4, (byte)first);
        slot.putByte(at + 5, (byte)last);
    }

    private void indirect(final BlkifAbi abi, final int indirectOp, final int nrSegments)
    {
        slot.setMemory(0, slot.capacity(), (byte)0);
        slot.putByte(0, (byte)BLKIF_OP_INDIRECT);
        slot.putByte(1, (byte)indirectOp);
        slot.putShort(2, (short)nrSegments, LE);
        slot.putLong(abi.idOffset(), 5, LE);
        slot.putLong(abi.sectorNumberOffset(), 0, LE);
        slot.putShort(abi.indirectHandleOffset(), (short)51712, LE);
        for (int i = 0; i < 8; i++)
        {
            slot.putInt(abi.indirectGrefsOffset() + i * 4, 500 + i, LE);
        }
    }
}
