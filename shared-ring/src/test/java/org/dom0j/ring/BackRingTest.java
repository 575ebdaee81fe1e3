package org.dom0j.ring;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.dom0j.ring.SharedRingDescriptor.REQ_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.REQ_PROD_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_EVENT_OFFSET;
import static org.dom0j.ring.SharedRingDescriptor.RSP_PROD_OFFSET;

/**
 * Byte-exact fixtures and hostile-frontend cases for {@link BackRing} and {@link FrontRing}.
 */
@Timeout(30)
class BackRingTest
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** 12-byte requests, 4-byte responses: 256 slots in one page. */
    private final RingLayout small = RingLayout.of(12, 4, 1);
    private final UnsafeBuffer page = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final FrontRing front = new FrontRing(small, page);
    private final BackRing back = new BackRing(small, page);
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[64]);
    private final UnsafeBuffer scratch = new UnsafeBuffer(new byte[64]);
    private final List<Integer> seen = new ArrayList<>();

    private void post(final int value)
    {
        scratch.putInt(0, value, LE);
        scratch.putInt(4, ~value, LE);
        scratch.putInt(8, value * 7, LE);
        front.putRequest(scratch, 0, 12);
    }

    private void record(final MutableDirectBuffer buffer, final int offset, final int index)
    {
        seen.add(buffer.getInt(offset, LE));
    }

    @Test
    void shouldInitialiseHeaderByteExactly()
    {
        page.setMemory(0, 4096, (byte)0xAA);

        front.init(0xFFFF_FFFE);

        final byte[] header = new byte[64];
        page.getBytes(0, header);
        final byte[] expected = new byte[64];
        final ByteBuffer e = ByteBuffer.wrap(expected).order(LE);
        e.putInt(0, 0xFFFF_FFFE).putInt(4, 0xFFFF_FFFF).putInt(8, 0xFFFF_FFFE).putInt(12, 0xFFFF_FFFF);
        assertThat(header).isEqualTo(expected);
        assertThat(page.getByte(64)).as("entries untouched").isEqualTo((byte)0xAA);
    }

    @Test
    void shouldPlaceEntriesInSlotsAcrossTheWrapByteExactly()
    {
        page.setMemory(0, 4096, (byte)0xAA);
        front.init(0xFFFF_FFFF);

        post(0x11223344);
        post(0x55667788);
        assertThat(front.pushRequestsAndCheckNotify()).isTrue();

        // index 0xFFFFFFFF is slot 255, index 0 (after the wrap) is slot 0; 0x11223344 * 7 = 0x77EF66DC
        final byte[] slot255 = new byte[12];
        page.getBytes(64 + 255 * 12, slot255);
        assertThat(slot255).containsExactly(
            0x44, 0x33, 0x22, 0x11, 0xBB - 256, 0xCC - 256, 0xDD - 256, 0xEE - 256, 0xDC - 256, 0x66, 0xEF - 256,
            0x77);
        final byte[] slot0 = new byte[12];
        page.getBytes(64, slot0);
        assertThat(ByteBuffer.wrap(slot0).order(LE).getInt(0)).isEqualTo(0x55667788);
        assertThat(page.getInt(REQ_PROD_OFFSET, LE)).as("req_prod wrapped to 1").isEqualTo(1);

        back.attach(0xFFFF_FFFF);
        assertThat(back.consumeRequests(this::record, copy, 0, 10)).isEqualTo(2);
        assertThat(seen).containsExactly(0x11223344, 0x55667788);
        assertThat(back.reqCons()).isEqualTo(1);
    }

    @Test
    void shouldHandTheHandlerACopyThatARacingFrontendCannotChange()
    {
        front.init(0);
        back.attach(0);
        post(42);
        front.pushRequests();
        final int[] afterRewrite = new int[2];

        back.consumeRequests((buffer, offset, index) ->
        {
            // the frontend rewrites the request after posting it
            page.putInt(small.slotOffset(index), 666, LE);
            page.putInt(small.slotOffset(index) + 4, 666, LE);
            afterRewrite[0] = buffer.getInt(offset, LE);
            afterRewrite[1] = buffer.getInt(offset + 4, LE);
        }, copy, 0, 1);

        assertThat(afterRewrite).containsExactly(42, ~42);
    }

    @Test
    void shouldPeekARequestWithoutTakingItAndTakeItWithoutReadingTheSlotAgain()
    {
        front.init(0);
        back.attach(0);
        post(7);
        front.pushRequests();

        assertThat(back.peekRequest(copy, 0)).isZero();
        assertThat(back.reqCons()).as("peeking takes nothing").isZero();
        assertThat(back.unconsumedRequests()).isEqualTo(1);
        page.putInt(small.slotOffset(0), 666, LE); // the frontend rewrites the slot after the peek
        assertThat(back.takePeekedRequest()).isZero();
        assertThat(copy.getInt(0, LE)).as("the peeked copy is the request").isEqualTo(7);
        assertThat(back.reqCons()).isEqualTo(1);
        assertThat(back.unconsumedRequests()).isZero();
    }

    @Test
    void shouldDisableTheRingWhenReqProdLeapsAhead()
    {
        front.init(0xFFFF_FFF0);
        back.attach(0xFFFF_FFF0);
        post(1);
        front.pushRequests();
        page.putIntVolatile(REQ_PROD_OFFSET, 0xFFFF_FFF0 + small.size() + 1);

        assertThat(back.consumeRequests(this::record, copy, 0, 1000)).isEqualTo(BackRing.PROTOCOL_VIOLATION);
        assertThat(seen).isEmpty();
        assertThat(back.isDisabled()).isTrue();
        assertThat(back.violation()).contains("RING_REQUEST_PROD_OVERFLOW");

        // putting req_prod back does not re-enable the ring: it stays halted, as Linux's blkback does
        page.putIntVolatile(REQ_PROD_OFFSET, 0xFFFF_FFF1);
        assertThat(back.consumeRequests(this::record, copy, 0, 1000)).isEqualTo(BackRing.PROTOCOL_VIOLATION);
        assertThat(back.finalCheckForRequests()).isFalse();
        assertThat(seen).isEmpty();
    }

    @Test
    void shouldAcceptAFrontendThatFillsTheRingExactly()
    {
        front.init(0xFFFF_FF80);
        back.attach(0xFFFF_FF80);
        for (int i = 0; i < small.size(); i++)
        {
            post(i);
        }
        assertThat(front.isFull()).isTrue();
        assertThatThrownBy(front::claimRequest).isInstanceOf(IllegalStateException.class);
        front.pushRequests();

        assertThat(back.unconsumedRequests()).isEqualTo(small.size());
        assertThat(back.consumeRequests(this::record, copy, 0, 1000)).isEqualTo(small.size());
        assertThat(seen).hasSize(small.size()).startsWith(0, 1, 2).endsWith(small.size() - 1);
    }

    @Test
    void shouldDisableTheRingWhenReqProdGoesBackwards()
    {
        front.init(5);
        back.attach(5);
        post(1);
        post(2);
        post(3);
        front.pushRequests();
        assertThat(back.consumeRequests(this::record, copy, 0, 3)).isEqualTo(3);
        back.putResponse(scratch, 0, 4);
        back.pushResponses();

        page.putIntVolatile(REQ_PROD_OFFSET, 7);

        assertThat(back.consumeRequests(this::record, copy, 0, 1000)).isEqualTo(BackRing.PROTOCOL_VIOLATION);
        assertThat(back.violation()).contains("backwards");
    }

    @Test
    void shouldCountUnconsumedRequestsNoMoreThanFreeResponseSlots()
    {
        back.attach(10);
        page.putIntVolatile(REQ_PROD_OFFSET, 10 + small.size());
        assertThat(back.unconsumedRequests()).isEqualTo(small.size());

        // a hostile req_prod far ahead still yields at most the free response slots
        page.putIntVolatile(REQ_PROD_OFFSET, 10 + small.size() * 4);
        assertThat(back.unconsumedRequests()).isEqualTo(small.size());
    }

    @Test
    void shouldApplyConsOverflowAtExactlyRingSizeAcrossTheWrap()
    {
        back.attach(0xFFFF_FFF0);

        assertThat(back.isRequestConsOverflow(0xFFFF_FFF0 + small.size() - 1)).isFalse();
        assertThat(back.isRequestConsOverflow(0xFFFF_FFF0 + small.size())).isTrue();
        assertThat(back.isRequestProdOverflow(0xFFFF_FFF0 + small.size())).isFalse();
        assertThat(back.isRequestProdOverflow(0xFFFF_FFF0 + small.size() + 1)).isTrue();
        assertThat(back.isRequestProdOverflow(0xFFFF_FFEF)).as("one behind is 2^32 - 1 ahead").isTrue();
    }

    @Test
    void shouldZeroTheResponseBeforeWritingIt()
    {
        page.setMemory(0, 4096, (byte)0xAA);
        front.init(0);
        back.attach(0);
        post(9);
        front.pushRequests();
        back.consumeRequests(this::record, copy, 0, 1);
        scratch.putByte(0, (byte)0x01);

        back.putResponse(scratch, 0, 1);

        final int slot = small.slotOffset(0);
        assertThat(page.getInt(slot, LE)).as("1 byte written, the rest of the response zeroed").isEqualTo(1);
        assertThat(page.getInt(slot + 4, LE)).as("request bytes past the response are the guest's").isEqualTo(~9);
    }

    @Test
    void shouldOfferAZeroedSlotForAFlyweight()
    {
        final RingLayout blk = RingLayout.of(112, 16, 1);
        final UnsafeBuffer ring = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        ring.setMemory(0, 4096, (byte)0x5A);
        final FrontRing f = new FrontRing(blk, ring).init(0);
        final BackRing b = new BackRing(blk, ring);
        f.claimRequest();
        f.commitRequest();
        f.pushRequests();
        b.consumeRequests((buffer, offset, index) -> { }, new UnsafeBuffer(new byte[112]), 0, 1);

        final int offset = b.claimResponse();
        b.buffer().putLong(offset, 77L, LE);
        b.buffer().putShort(offset + 10, (short)-1, LE);
        b.commitResponse();

        final byte[] rsp = new byte[16];
        ring.getBytes(offset, rsp);
        assertThat(rsp).containsExactly(77, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0);
    }

    @Test
    void shouldZeroEveryByteOfAResponseOfAnyLengthAndNoMore()
    {
        for (final int length : new int[]{ 1, 2, 3, 4, 5, 7, 8, 12, 13, 15, 16, 24 })
        {
            final RingLayout layout = RingLayout.of(32, length, 1);
            final UnsafeBuffer ring = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
            ring.setMemory(0, 4096, (byte)0x5A);
            final FrontRing f = new FrontRing(layout, ring).init(0);
            final BackRing b = new BackRing(layout, ring);
            for (int i = 0; i < 2; i++)
            {
                f.claimRequest();
                f.commitRequest();
            }
            f.pushRequests();
            b.consumeRequests((buffer, offset, index) -> { }, new UnsafeBuffer(new byte[32]), 0, 2);
            ring.setMemory(layout.slotOffset(0), 2 * layout.slotLength(), (byte)0x5A);

            final int offset = b.claimResponse();

            for (int i = 0; i < layout.slotLength(); i++)
            {
                assertThat(ring.getByte(offset + i)).as("length %d, byte %d", length, i)
                    .isEqualTo(i < length ? (byte)0 : (byte)0x5A);
            }
            assertThat(ring.getByte(offset + layout.slotLength())).as("the next slot").isEqualTo((byte)0x5A);
        }
    }

    @Test
    void shouldRefuseToAnswerMoreRequestsThanWereTaken()
    {
        back.attach(0);

        assertThatThrownBy(back::claimResponse).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> back.putResponse(scratch, 0, 4)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> back.putResponse(scratch, 0, 5)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldSetReqEventToReqConsPlusOneWhenIdle()
    {
        front.init(0xFFFF_FFFF);
        back.attach(0xFFFF_FFFF);
        page.putIntVolatile(REQ_EVENT_OFFSET, 12345);

        assertThat(back.finalCheckForRequests()).isFalse();
        assertThat(page.getInt(REQ_EVENT_OFFSET, LE)).isEqualTo(0);

        post(1);
        assertThat(front.pushRequestsAndCheckNotify()).as("the back asked for the next request").isTrue();
        page.putIntVolatile(REQ_EVENT_OFFSET, 99);
        assertThat(back.finalCheckForRequests()).as("work waiting, req_event left alone").isTrue();
        assertThat(page.getInt(REQ_EVENT_OFFSET, LE)).isEqualTo(99);
    }

    @Test
    void shouldNotNotifyAFrontendThatPutRspEventOutsideTheBatch()
    {
        front.init(0);
        back.attach(0);
        post(1);
        post(2);
        front.pushRequests();
        back.consumeRequests(this::record, copy, 0, 2);

        page.putIntVolatile(RSP_EVENT_OFFSET, 2);
        back.putResponse(scratch, 0, 4);
        assertThat(back.pushResponsesAndCheckNotify()).as("rsp_event 2 not in (0, 1]").isFalse();
        back.putResponse(scratch, 0, 4);
        assertThat(back.pushResponsesAndCheckNotify()).as("rsp_event 2 in (1, 2]").isTrue();
        assertThat(page.getInt(RSP_PROD_OFFSET, LE)).isEqualTo(2);
    }

    @Test
    void shouldDetectABackendOverflowingResponses()
    {
        front.init(0);
        back.attach(0);
        post(1);
        front.pushRequests();
        page.putIntVolatile(RSP_PROD_OFFSET, 2);

        assertThat(front.consumeResponses(this::record, copy, 0, 10)).isEqualTo(FrontRing.PROTOCOL_VIOLATION);
        assertThat(front.violation()).contains("RING_RESPONSE_PROD_OVERFLOW");
    }

    @Test
    void shouldRoundTripThroughASixteenPageRing()
    {
        final RingLayout blk = RingLayout.ofPageOrder(112, 16, 4);
        assertThat(blk.size()).isEqualTo(512);
        final UnsafeBuffer ring = new UnsafeBuffer(ByteBuffer.allocateDirect(blk.ringBytes()));
        final FrontRing f = new FrontRing(blk, ring).init(-100);
        final BackRing b = new BackRing(blk, ring).attach(-100);
        final UnsafeBuffer request = new UnsafeBuffer(new byte[112]);
        final UnsafeBuffer response = new UnsafeBuffer(new byte[16]);
        final long[] total = new long[1];

        for (int round = 0; round < 5; round++)
        {
            while (!f.isFull())
            {
                request.putLong(8, f.reqProdPvt(), LE);
                f.putRequest(request, 0, 112);
            }
            f.pushRequests();
            assertThat(b.consumeRequests((buffer, offset, index) ->
            {
                assertThat(buffer.getLong(offset + 8, LE)).isEqualTo(index);
                response.putLong(0, buffer.getLong(offset + 8, LE) * 3, LE);
                b.putResponse(response, 0, 16);
            }, request, 0, 1000)).isEqualTo(512);
            b.pushResponses();
            assertThat(f.consumeResponses((buffer, offset, index) ->
            {
                assertThat(buffer.getLong(offset, LE)).isEqualTo(index * 3L);
                total[0]++;
            }, response, 0, 1000)).isEqualTo(512);
        }
        assertThat(total[0]).isEqualTo(5 * 512);
        assertThat(f.reqProdPvt()).isEqualTo(-100 + 5 * 512);
    }

    @Test
    void shouldRejectLayoutsOutOfRange()
    {
        assertThatThrownBy(() -> RingLayout.ofPageOrder(112, 16, 5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RingLayout.of(112, 16, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RingLayout.of(0, 16, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RingLayout.of(3000, 16, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BackRing(RingLayout.of(112, 16, 2), page))
            .isInstanceOf(IllegalArgumentException.class);
        assertThat(SharedRingDescriptor.ringSize(4096, 112)).isEqualTo(32);
        assertThat(SharedRingDescriptor.ringSize(4096, 2016)).isEqualTo(2);
        assertThat(SharedRingDescriptor.ringSize(4096, 4033)).isEqualTo(0);
    }
}
