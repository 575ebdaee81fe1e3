package org.dom0j.ring;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;

/**
 * A rough single-thread measurement, not a unit test: the cost of one request/response round trip through a
 * FrontRing and a BackRing on a blkif-sized one-page ring (batches of 32, both ends on one thread, so no cache
 * traffic between cores), against a baseline measured in the same run that only copies the same bytes (request
 * in, request out, response in, response out). Prints ns per request for both and the ratio.
 * <p>
 * Run: {@code java -cp shared-ring/target/classes:shared-ring/target/test-classes:<agrona.jar>
 * --add-exports java.base/jdk.internal.misc=ALL-UNNAMED org.dom0j.ring.RingThroughput}
 */
public final class RingThroughput
{
    private static long sink;

    private RingThroughput()
    {
    }

    /**
     * @param args ignored.
     */
    public static void main(final String[] args)
    {
        final RingLayout layout = RingLayout.of(112, 16, 1);
        final UnsafeBuffer memory = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final UnsafeBuffer other = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final FrontRing front = new FrontRing(layout, memory).init(-7);
        final BackRing back = new BackRing(layout, memory).attach(-7);
        final UnsafeBuffer request = new UnsafeBuffer(new byte[112]);
        final UnsafeBuffer copy = new UnsafeBuffer(new byte[112]);
        final UnsafeBuffer response = new UnsafeBuffer(new byte[16]);
        final RingEntryHandler onRequest = new RingEntryHandler()
        {
            @Override
            public void onEntry(final MutableDirectBuffer buffer, final int offset, final int index)
            {
                response.putLong(0, buffer.getLong(offset + 8));
                back.putResponse(response, 0, 16);
            }
        };
        final RingEntryHandler onResponse = (buffer, offset, index) -> sink += buffer.getLong(offset);
        final int n = 5_000_000;
        for (int round = 0; round < 5; round++)
        {
            long start = System.nanoTime();
            for (int i = 0; i < n; i += 32)
            {
                for (int k = 0; k < 32; k++)
                {
                    request.putLong(8, i + k);
                    other.putBytes(64 + k * 112, request, 0, 112);
                }
                for (int k = 0; k < 32; k++)
                {
                    other.getBytes(64 + k * 112, copy, 0, 112);
                    response.putLong(0, copy.getLong(8));
                    other.putBytes(64 + k * 112, response, 0, 16);
                }
                for (int k = 0; k < 32; k++)
                {
                    other.getBytes(64 + k * 112, copy, 0, 16);
                    sink += copy.getLong(0);
                }
            }
            final long baseline = System.nanoTime() - start;

            start = System.nanoTime();
            for (int i = 0; i < n; i += 32)
            {
                for (int k = 0; k < 32; k++)
                {
                    request.putLong(8, i + k);
                    front.putRequest(request, 0, 112);
                }
                front.pushRequestsAndCheckNotify();
                back.consumeRequests(onRequest, copy, 0, 32);
                back.pushResponsesAndCheckNotify();
                front.consumeResponses(onResponse, copy, 0, 32);
                back.finalCheckForRequests();
                front.finalCheckForResponses();
            }
            final long ring = System.nanoTime() - start;
            System.out.printf("round %d: baseline copy %.1f ns/request, ring round trip %.1f ns/request, ratio %.2f%n",
                round, baseline / (double)n, ring / (double)n, ring / (double)baseline);
        }
        System.out.println(sink == 42 ? "" : "done");
    }
}
