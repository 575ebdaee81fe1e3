package org.dom0j.ring;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The Java half of the differential conformance test: runs the same line commands as {@code ringpeer.c} on a
 * {@link FrontRing} and a {@link BackRing}, and answers with the same line the C program prints, so two transcripts
 * can be compared word for word. The request and response contents are the same functions of the ring index as in
 * the C program; sums are FNV-1a over the bytes each side copied out.
 * <p>
 * Test code; one thread.
 */
final class JavaRingPeer
{
    /** The blkif-like protocol: x86_64 blkif_request and blkif_response sizes. */
    static final int BLK_REQUEST_LENGTH = 112;
    static final int BLK_RESPONSE_LENGTH = 16;
    /** The small protocol. */
    static final int SMALL_REQUEST_LENGTH = 12;
    static final int SMALL_RESPONSE_LENGTH = 4;

    private static final ByteOrder ORDER = LITTLE_ENDIAN;
    private static final int PENDING = 16384;

    private final boolean blk;
    private final FrontRing front;
    private final BackRing back;
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[BLK_REQUEST_LENGTH]);
    private final UnsafeBuffer response = new UnsafeBuffer(new byte[BLK_RESPONSE_LENGTH]);
    private final long[] pendingId = new long[PENDING];
    private final byte[] pendingOperation = new byte[PENDING];
    private final short[] pendingStatus = new short[PENDING];
    private final UnsafeBuffer expected = new UnsafeBuffer(new byte[BLK_REQUEST_LENGTH]);
    private int pendHead;
    private int pendTail;
    private int sum;
    private long bad;

    JavaRingPeer(final String kind, final int pages, final AtomicBuffer ring)
    {
        blk = "blk".equals(kind);
        final RingLayout layout = blk ?
            RingLayout.of(BLK_REQUEST_LENGTH, BLK_RESPONSE_LENGTH, pages) :
            RingLayout.of(SMALL_REQUEST_LENGTH, SMALL_RESPONSE_LENGTH, pages);
        front = new FrontRing(layout, ring);
        back = new BackRing(layout, ring);
    }

    FrontRing front()
    {
        return front;
    }

    BackRing back()
    {
        return back;
    }

    String execute(final String line)
    {
        final String[] words = line.trim().split(" ");
        final String op = words[0];
        final int n = words.length > 1 ? (int)Long.parseLong(words[1]) : 0;
        switch (op)
        {
            case "init":
                front.init(n);
                return "init size=" + front.size();

            case "attach":
                back.attach(n);
                pendHead = 0;
                pendTail = 0;
                return "attach size=" + back.size();

            case "fproduce":
            {
                int k = 0;
                while (k < n && !front.isFull())
                {
                    final int index = front.reqProdPvt();
                    final int offset = front.claimRequest();
                    writeRequest(front.buffer(), offset, index);
                    front.commitRequest();
                    k++;
                }
                return "fproduce n=" + k;
            }

            case "fpush":
            {
                final boolean notify = front.pushRequestsAndCheckNotify();
                return "fpush notify=" + (notify ? 1 : 0) + " req_prod=" +
                    Integer.toUnsignedString(front.buffer().getIntVolatile(SharedRingDescriptor.REQ_PROD_OFFSET));
            }

            case "bconsume":
            {
                sum = 0x811c9dc5;
                final int k = back.consumeRequests(this::onRequest, copy, 0, n);
                if (k == BackRing.PROTOCOL_VIOLATION)
                {
                    return "bconsume overflow";
                }
                return "bconsume n=" + k + " sum=" + hex(sum);
            }

            case "brespond":
            {
                int k = 0;
                while (k < n && pendHead != pendTail)
                {
                    final int p = pendHead++ % PENDING;
                    if (blk)
                    {
                        final int offset = back.claimResponse();
                        back.buffer().putLong(offset, pendingId[p], ORDER);
                        back.buffer().putByte(offset + 8, pendingOperation[p]);
                        back.buffer().putShort(offset + 10, pendingStatus[p], ORDER);
                        back.commitResponse();
                    }
                    else
                    {
                        response.putInt(0, (int)pendingId[p], ORDER);
                        back.putResponse(response, 0, SMALL_RESPONSE_LENGTH);
                    }
                    k++;
                }
                return "brespond n=" + k;
            }

            case "bpush":
            {
                final boolean notify = back.pushResponsesAndCheckNotify();
                return "bpush notify=" + (notify ? 1 : 0) + " rsp_prod=" +
                    Integer.toUnsignedString(back.buffer().getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET));
            }

            case "bfinal":
            {
                final boolean work = back.finalCheckForRequests();
                return "bfinal work=" + (work ? 1 : 0) + " req_event=" +
                    Integer.toUnsignedString(back.buffer().getIntVolatile(SharedRingDescriptor.REQ_EVENT_OFFSET));
            }

            case "fconsume":
            {
                sum = 0x811c9dc5;
                final int k = front.consumeResponses(this::onResponse, copy, 0, n);
                if (k == FrontRing.PROTOCOL_VIOLATION)
                {
                    return "fconsume overflow";
                }
                return "fconsume n=" + k + " sum=" + hex(sum);
            }

            case "ffinal":
            {
                final boolean work = front.finalCheckForResponses();
                return "ffinal work=" + (work ? 1 : 0) + " rsp_event=" +
                    Integer.toUnsignedString(front.buffer().getIntVolatile(SharedRingDescriptor.RSP_EVENT_OFFSET));
            }

            default:
                return "error unknown command " + op;
        }
    }

    /**
     * @return entries taken (by either end) whose bytes differ from what the other end must have written.
     */
    long bad()
    {
        return bad;
    }

    /**
     * One free-running backend pass: take every request, answer each at once, push.
     *
     * @return requests taken.
     */
    int backStep()
    {
        final int taken = back.consumeRequests(this::onRequest, copy, 0, Integer.MAX_VALUE);
        if (taken < 0)
        {
            throw new AssertionError(back.violation());
        }
        execute("brespond " + taken);
        back.pushResponsesAndCheckNotify();
        return taken;
    }

    /**
     * One free-running frontend pass: post up to {@code toProduce} requests, push, take every response.
     *
     * @param toProduce requests still to post.
     * @return {@code produced << 32 | responses taken}.
     */
    long frontStep(final int toProduce)
    {
        int produced = 0;
        while (produced < toProduce && !front.isFull())
        {
            final int index = front.reqProdPvt();
            writeRequest(front.buffer(), front.claimRequest(), index);
            front.commitRequest();
            produced++;
        }
        front.pushRequestsAndCheckNotify();
        final int taken = front.consumeResponses(this::onResponse, copy, 0, Integer.MAX_VALUE);
        if (taken < 0)
        {
            throw new AssertionError(front.violation());
        }
        return ((long)produced << 32) | taken;
    }

    private void onRequest(final MutableDirectBuffer buffer, final int offset, final int index)
    {
        final int length = blk ? BLK_REQUEST_LENGTH : SMALL_REQUEST_LENGTH;
        expected.setMemory(0, length, (byte)0);
        writeRequest(expected, 0, index);
        if (!sameBytes(buffer, offset, expected, length))
        {
            bad++;
        }
        sum = fnv(sum, buffer, offset, length);
        final int p = pendTail++ % PENDING;
        if (blk)
        {
            pendingId[p] = buffer.getLong(offset + 8, ORDER);
            pendingOperation[p] = buffer.getByte(offset);
            pendingStatus[p] = (short)((buffer.getByte(offset + 1) & 0xFF) > 8 ? -1 : 0);
        }
        else
        {
            pendingId[p] = (buffer.getInt(offset, ORDER) ^ buffer.getInt(offset + 4, ORDER) ^
                buffer.getInt(offset + 8, ORDER)) & 0xFFFF_FFFFL;
        }
    }

    private static boolean sameBytes(
        final MutableDirectBuffer a, final int offset, final MutableDirectBuffer b, final int length)
    {
        for (int i = 0; i < length; i++)
        {
            if (a.getByte(offset + i) != b.getByte(i))
            {
                return false;
            }
        }
        return true;
    }

    private void onResponse(final MutableDirectBuffer buffer, final int offset, final int index)
    {
        expected.setMemory(0, BLK_REQUEST_LENGTH, (byte)0);
        writeRequest(expected, 0, index);
        if (blk)
        {
            final boolean ok = buffer.getLong(offset, ORDER) == expected.getLong(8, ORDER) &&
                buffer.getByte(offset + 8) == expected.getByte(0) && buffer.getByte(offset + 9) == 0 &&
                buffer.getShort(offset + 10, ORDER) == ((expected.getByte(1) & 0xFF) > 8 ? -1 : 0) &&
                buffer.getInt(offset + 12, ORDER) == 0;
            bad += ok ? 0 : 1;
        }
        else
        {
            final int id = expected.getInt(0, ORDER) ^ expected.getInt(4, ORDER) ^ expected.getInt(8, ORDER);
            bad += buffer.getInt(offset, ORDER) == id ? 0 : 1;
        }
        sum = fnv(sum, buffer, offset, blk ? BLK_RESPONSE_LENGTH : SMALL_RESPONSE_LENGTH);
    }

    /**
     * The request the C program's {@code make_blk_req} / {@code make_small_req} builds for ring index {@code i}.
     */
    void writeRequest(final MutableDirectBuffer buffer, final int offset, final int i)
    {
        if (blk)
        {
            final int nr = Integer.remainderUnsigned(i, 12);
            buffer.putByte(offset, (byte)(i & 3));
            buffer.putByte(offset + 1, (byte)nr);
            buffer.putShort(offset + 2, (short)(i >>> 8), ORDER);
            buffer.putLong(offset + 8, ((long)i << 32) | (~i & 0xFFFF_FFFFL), ORDER);
            buffer.putLong(offset + 16, (i & 0xFFFF_FFFFL) * 8, ORDER);
            for (int k = 0; k < nr; k++)
            {
                final int seg = offset + 24 + k * 8;
                buffer.putInt(seg, i + k, ORDER);
                buffer.putByte(seg + 4, (byte)k);
                buffer.putByte(seg + 5, (byte)7);
            }
        }
        else
        {
            buffer.putInt(offset, i, ORDER);
            buffer.putInt(offset + 4, i * 3, ORDER);
            buffer.putInt(offset + 8, ~i, ORDER);
        }
    }

    static int fnv(final int seed, final MutableDirectBuffer buffer, final int offset, final int length)
    {
        int h = seed;
        for (int i = 0; i < length; i++)
        {
            h ^= buffer.getByte(offset + i) & 0xFF;
            h *= 16777619;
        }
        return h;
    }

    private static String hex(final int value)
    {
        final String s = Integer.toHexString(value);
        return "0".repeat(8 - s.length()) + s;
    }
}
