package org.dom0j.ring;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Seeded random properties of a front and a back ring run by two threads, as a guest and a backend would: every
 * request is answered exactly once and in order, whatever the batch sizes, ring geometry and start index (near
 * 2^32); and no notification is ever lost (each side sleeps only after its final check and is woken only when the
 * other side's push says so, so a wrong notify decision or a missing fence shows as a side that is never woken).
 */
@Timeout(120)
class RingPropertyTest
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final long LOST_WAKEUP_SECONDS = 20;

    static LongStream seeds()
    {
        return LongStream.of(1, 2, 3, 42, 0xDEAD_BEEFL, 1_000_003, 7, 8);
    }

    /** An event channel between two threads: notify releases, wait consumes (spurious wake-ups are harmless). */
    private static final class Event
    {
        final Semaphore semaphore = new Semaphore(0);
        long notifications;

        void notifyPeer()
        {
            notifications++;
            semaphore.release();
        }

        void await(final String who) throws InterruptedException
        {
            if (!semaphore.tryAcquire(LOST_WAKEUP_SECONDS, TimeUnit.SECONDS))
            {
                throw new AssertionError(who + " was never notified: lost wake-up");
            }
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void shouldAnswerEveryRequestOnceInOrderWithoutLosingANotification(final long seed) throws Exception
    {
        final Random random = new Random(seed);
        final int requestLength = 8 + 4 * random.nextInt(28);
        final int responseLength = 8 + 4 * random.nextInt(4);
        final int pages = 1 << random.nextInt(SharedRingDescriptor.MAX_RING_PAGE_ORDER + 1);
        final RingLayout layout = RingLayout.of(requestLength, responseLength, pages);
        final int start = -1 - random.nextInt(4 * layout.size());
        final int total = 10_000;
        System.out.println("ring property seed " + seed + ": " + layout + " start " + Integer.toUnsignedString(start));

        final UnsafeBuffer memory = new UnsafeBuffer(ByteBuffer.allocateDirect(layout.ringBytes()));
        final FrontRing front = new FrontRing(layout, memory).init(start);
        final BackRing back = new BackRing(layout, memory).attach(start);
        final Event toBack = new Event();
        final Event toFront = new Event();
        final AtomicReference<Throwable> backFailure = new AtomicReference<>();
        final long backSeed = random.nextLong();

        final Thread backend = new Thread(() ->
        {
            try
            {
                runBack(back, new Random(backSeed), toBack, toFront, total);
            }
            catch (final Throwable t)
            {
                backFailure.set(t);
                toFront.notifyPeer();
            }
        }, "ring-property-back");
        backend.start();
        try
        {
            runFront(front, random, toBack, toFront, total, backFailure);
        }
        finally
        {
            backend.join(TimeUnit.SECONDS.toMillis(LOST_WAKEUP_SECONDS * 2));
        }
        if (backFailure.get() != null)
        {
            throw new AssertionError("seed " + seed + ": back failed", backFailure.get());
        }
        assertThat(front.reqProdPvt()).isEqualTo(start + total);
        assertThat(back.rspProdPvt()).isEqualTo(start + total);
        assertThat(front.isDisabled()).isFalse();
        assertThat(back.isDisabled()).isFalse();
    }

    private static void check(final boolean ok, final String what, final int expectedIndex)
    {
        if (!ok)
        {
            throw new AssertionError(what + " " + Integer.toUnsignedString(expectedIndex) + " lost, repeated or torn");
        }
    }

    private static void runFront(
        final FrontRing front,
        final Random random,
        final Event toBack,
        final Event toFront,
        final int total,
        final AtomicReference<Throwable> backFailure) throws InterruptedException
    {
        final int start = front.reqProdPvt();
        final UnsafeBuffer request = new UnsafeBuffer(new byte[front.layout().requestLength()]);
        final UnsafeBuffer copy = new UnsafeBuffer(new byte[front.layout().responseLength()]);
        final int[] answered = { 0 };
        final RingEntryHandler onResponse = (buffer, offset, index) ->
        {
            final int expected = start + answered[0];
            check(index == expected && buffer.getInt(offset, LE) == ~expected &&
                buffer.getInt(offset + 4, LE) == expected * 31, "response", expected);
            answered[0]++;
        };
        int sent = 0;
        while (answered[0] < total)
        {
            int batch = 1 + random.nextInt(front.size() + 1);
            boolean posted = false;
            while (batch-- > 0 && sent < total && !front.isFull())
            {
                request.putInt(0, start + sent, LE);
                request.putInt(request.capacity() - 4, (start + sent) * 31, LE);
                front.putRequest(request, 0, request.capacity());
                sent++;
                posted = true;
            }
            if (posted && front.pushRequestsAndCheckNotify())
            {
                toBack.notifyPeer();
            }
            final int taken = front.consumeResponses(onResponse, copy, 0, 1 + random.nextInt(front.size()));
            assertThat(taken).isNotEqualTo(FrontRing.PROTOCOL_VIOLATION);
            if (!posted && taken == 0 && answered[0] < total && !front.finalCheckForResponses())
            {
                if (backFailure.get() != null)
                {
                    return;
                }
                toFront.await("front");
            }
        }
    }

    private static void runBack(
        final BackRing back, final Random random, final Event toBack, final Event toFront, final int total)
        throws InterruptedException
    {
        final UnsafeBuffer copy = new UnsafeBuffer(new byte[back.layout().requestLength()]);
        final UnsafeBuffer response = new UnsafeBuffer(new byte[back.layout().responseLength()]);
        final int start = back.reqCons();
        final int[] next = { start };
        final RingEntryHandler onRequest = (buffer, offset, index) ->
        {
            final int tail = buffer.getInt(offset + back.layout().requestLength() - 4, LE);
            check(index == next[0] && buffer.getInt(offset, LE) == index && tail == index * 31, "request", next[0]);
            next[0]++;
        };
        while (back.rspProdPvt() != start + total)
        {
            final int taken = back.consumeRequests(onRequest, copy, 0, 1 + random.nextInt(back.size()));
            assertThat(taken).isNotEqualTo(BackRing.PROTOCOL_VIOLATION);
            int answer = back.outstandingRequests();
            if (answer > 0 && random.nextInt(4) == 0)
            {
                answer = 1 + random.nextInt(answer);
            }
            for (int i = 0; i < answer; i++)
            {
                final int index = back.rspProdPvt();
                response.putInt(0, ~index, LE);
                response.putInt(4, index * 31, LE);
                back.putResponse(response, 0, response.capacity());
            }
            if (answer > 0 && back.pushResponsesAndCheckNotify())
            {
                toFront.notifyPeer();
            }
            if (taken == 0 && back.outstandingRequests() == 0 && back.rspProdPvt() != start + total &&
                !back.finalCheckForRequests())
            {
                toBack.await("back");
            }
        }
    }

    @Test
    void shouldNotAllocatePerRequest()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "per-thread allocation counting unsupported");
        threads.setThreadAllocatedMemoryEnabled(true);
        final RingLayout layout = RingLayout.of(112, 16, 1);
        final UnsafeBuffer memory = new UnsafeBuffer(ByteBuffer.allocateDirect(layout.ringBytes()));
        final FrontRing front = new FrontRing(layout, memory).init(-1000);
        final BackRing back = new BackRing(layout, memory).attach(-1000);
        final UnsafeBuffer request = new UnsafeBuffer(new byte[112]);
        final UnsafeBuffer response = new UnsafeBuffer(new byte[16]);
        final Counter counter = new Counter(back, response);

        roundTrips(front, back, request, counter, 20_000);
        final long before = threads.getCurrentThreadAllocatedBytes();
        roundTrips(front, back, request, counter, 200_000);
        final long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertThat(counter.count).isEqualTo(220_000);
        assertThat(allocated).as("bytes allocated over 200,000 requests").isLessThan(200_000);
    }

    /** Handler held in a field, as an agent holds it. */
    private static final class Counter implements RingEntryHandler
    {
        final BackRing back;
        final UnsafeBuffer response;
        long count;

        Counter(final BackRing back, final UnsafeBuffer response)
        {
            this.back = back;
            this.response = response;
        }

        @Override
        public void onEntry(final MutableDirectBuffer buffer, final int offset, final int index)
        {
            response.putLong(0, buffer.getLong(offset, LE), LE);
            back.putResponse(response, 0, 16);
            count++;
        }
    }

    private static void roundTrips(
        final FrontRing front, final BackRing back, final UnsafeBuffer request, final Counter counter, final int n)
    {
        final RingEntryHandler ignore = (buffer, offset, index) -> { };
        for (int i = 0; i < n; i++)
        {
            request.putLong(0, i, LE);
            front.putRequest(request, 0, 112);
            if (front.pushRequestsAndCheckNotify() || front.isFull())
            {
                back.consumeRequests(counter, request, 0, 64);
                back.pushResponsesAndCheckNotify();
                front.consumeResponses(ignore, request, 0, 64);
                front.finalCheckForResponses();
                back.finalCheckForRequests();
            }
        }
        back.consumeRequests(counter, request, 0, 64);
        back.pushResponses();
        front.consumeResponses(ignore, request, 0, 64);
    }
}
