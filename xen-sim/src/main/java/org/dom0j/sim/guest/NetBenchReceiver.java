package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

import static org.dom0j.protocol.netif.NetifConstants.NETRXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;
import static org.dom0j.sim.guest.NetBench.AWAIT_NANOS;
import static org.dom0j.sim.guest.NetBench.MSS;
import static org.dom0j.sim.guest.NetBench.SAMPLE_EVERY;
import static org.dom0j.sim.guest.NetBenchFrames.PORT_STRIDE;
import static org.dom0j.sim.guest.NetBenchFrames.RECEIVER_IP;
import static org.dom0j.sim.guest.NetBenchFrames.SENDER_IP;
import static org.dom0j.sim.guest.NetBenchFrames.SEQ_OFFSET;
import static org.dom0j.sim.guest.NetBenchFrames.SRC_PORT_BASE;
import static org.dom0j.sim.guest.NetBenchFrames.TAG_OFFSET;
import static org.dom0j.sim.guest.NetFrames.L4_OFFSET;
import static org.dom0j.sim.guest.NetFrames.PROTO_TCP;
import static org.dom0j.sim.guest.NetFrames.PROTO_UDP;
import static org.dom0j.sim.guest.NetFrames.TCP_CHECKSUM;
import static org.dom0j.sim.guest.NetFrames.UDP_CHECKSUM;

/**
 * {@link NetBench}'s receiver guest: counts the frames its netfront takes and checks them, so that a broken path
 * cannot look fast: every frame's length, flow, tag and sequence number (a gap counts its frames as lost, a sequence
 * number going back counts as an error), its GSO type and size; every {@link NetBench#SAMPLE_EVERY}th frame of a flow
 * in full against the template ({@link NetBenchFrames}; the checksum field against the partial sum when the frame came
 * with NETRXF_csum_blank, else the full checksum is verified). It publishes, per flow, the next sequence number it
 * expects, as the TCP flows' acknowledgment.
 * <p>
 * Its loop runs on a thread of its own; the counters it publishes (the volatile fields, {@link #framesPerQueue},
 * {@link #acked}) are for the sender's thread to read. The other accessors are for the thread that feeds it frames.
 */
final class NetBenchReceiver implements SimNetfront.FrameHandler
{
    final CountDownLatch ready = new CountDownLatch(1);
    final int flows;
    volatile boolean stop;
    volatile long publishedFrames;
    volatile long publishedBytes;
    volatile long publishedLost;
    volatile long publishedErrors;
    private final NetBench.Shape shape;
    private final int payloadOffset;
    private final int checksumOffset;
    private final int[] expected;
    private final UnsafeBuffer[] templates;
    private final long[] perQueue = new long[SimNetfront.MAX_QUEUES];
    private final AtomicLongArray publishedPerQueue = new AtomicLongArray(SimNetfront.MAX_QUEUES);
    final AtomicIntegerArray acked;
    private long frames;
    private long bytes;
    private long lost;
    private long errors;
    private volatile String firstError;
    private long rxErrorsSeen;

    NetBenchReceiver(final NetBench.Shape shape, final int flows)
    {
        this.shape = shape;
        this.flows = flows;
        this.payloadOffset = shape.payloadOffset();
        this.checksumOffset = L4_OFFSET + (shape.gso() ? TCP_CHECKSUM : UDP_CHECKSUM);
        this.expected = new int[flows];
        this.templates = new UnsafeBuffer[flows];
        this.acked = new AtomicIntegerArray(flows);
    }

    long framesPerQueue(final int q)
    {
        return publishedPerQueue.get(q);
    }

    String firstError(final SimNetfront senderFront)
    {
        if (null != firstError)
        {
            return firstError;
        }
        if (senderFront.txErrors() + senderFront.txDropped() > 0)
        {
            return "the backend answered " + senderFront.txErrors() + " TX requests with an error and dropped " +
                senderFront.txDropped();
        }
        return rxErrorsSeen > 0 ? rxErrorsSeen + " frames marked in error by the backend" : null;
    }

    /**
     * Builds the templates the samples are compared with.
     *
     * @param mac the receiver's MAC (the frames' destination).
     */
    void prepare(final long mac)
    {
        for (int f = 0; f < flows; f++)
        {
            templates[f] = NetBenchFrames.template(shape, f, 0, mac);
        }
    }

    long frames()
    {
        return frames;
    }

    long lost()
    {
        return lost;
    }

    long errors()
    {
        return errors;
    }

    String firstError()
    {
        return firstError;
    }

    Integer run(final SimNetfront front)
    {
        prepare(front.mac());
        ready.countDown();
        while (!stop && null == front.violation())
        {
            final int n = front.poll(this);
            if (n == 0)
            {
                front.awaitEvent(AWAIT_NANOS);
                continue;
            }
            rxErrorsSeen = front.rxErrors();
            for (int q = 0; q < front.queueCount(); q++)
            {
                publishedPerQueue.lazySet(q, perQueue[q]);
            }
            for (int f = 0; f < flows; f++)
            {
                acked.lazySet(f, expected[f]);
            }
            publishedLost = lost;
            publishedErrors = errors + rxErrorsSeen;
            publishedBytes = bytes;
            publishedFrames = frames;
        }
        if (null != front.violation())
        {
            fail("the backend broke the protocol: " + front.violation());
        }
        return 0;
    }

    private void fail(final String what)
    {
        errors++;
        if (null == firstError)
        {
            firstError = what;
        }
    }

    @Override
    public void onFrame(
        final int queue, final DirectBuffer frame, final int length, final int rxFlags, final int gsoType,
        final int gsoSize)
    {
        if (length != shape.length())
        {
            fail("a frame of " + length + " bytes, " + shape.length() + " sent");
            return;
        }
        final int port = frame.getShort(L4_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        final int flow = (port - SRC_PORT_BASE) / PORT_STRIDE;
        if (port < SRC_PORT_BASE || flow >= flows || (port - SRC_PORT_BASE) % PORT_STRIDE != 0)
        {
            fail("a frame of an unknown flow (source port " + port + ")");
            return;
        }
        final int seq = frame.getInt(payloadOffset + SEQ_OFFSET, ByteOrder.BIG_ENDIAN);
        if (frame.getInt(payloadOffset + TAG_OFFSET, ByteOrder.BIG_ENDIAN) != NetBenchFrames.tag(flow, seq))
        {
            fail("flow " + flow + ": a frame whose tag does not match its sequence number " + seq);
            return;
        }
        if (shape.gso() && (gsoType != XEN_NETIF_GSO_TYPE_TCPV4 || gsoSize != MSS))
        {
            fail("flow " + flow + ": GSO type " + gsoType + " size " + gsoSize + " received, TCPv4/" + MSS +
                " sent");
            return;
        }
        final int want = expected[flow];
        if (seq - want < 0)
        {
            fail("flow " + flow + ": sequence number " + seq + " after " + (want - 1));
            return;
        }
        lost += seq - want;
        expected[flow] = seq + 1;
        if ((seq & (SAMPLE_EVERY - 1)) == 0 && !checkSample(flow, seq, frame, length, rxFlags))
        {
            return;
        }
        frames++;
        bytes += length;
        perQueue[queue]++;
    }

    /**
     * @return whether the frame is byte for byte what was sent (else it is counted wrong).
     */
    private boolean checkSample(
        final int flow, final int seq, final DirectBuffer frame, final int length, final int rxFlags)
    {
        final UnsafeBuffer t = templates[flow];
        NetBenchFrames.stamp(t, shape, flow, seq);
        // The source MAC is the sender's: take it from the frame (the template does not know it).
        for (int i = 6; i < 12; i++)
        {
            t.putByte(i, frame.getByte(i));
        }
        for (int i = 0; i < length; i++)
        {
            if (i == checksumOffset || i == checksumOffset + 1)
            {
                continue;
            }
            if (frame.getByte(i) != t.getByte(i))
            {
                fail("flow " + flow + " frame " + seq + ": byte " + i + " is " + (frame.getByte(i) & 0xFF) +
                    ", " + (t.getByte(i) & 0xFF) + " sent");
                return false;
            }
        }
        final int l4Length = length - L4_OFFSET;
        final int protocol = shape.gso() ? PROTO_TCP : PROTO_UDP;
        final int field = frame.getShort(checksumOffset, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        final boolean good = (rxFlags & NETRXF_CSUM_BLANK) != 0 ?
            field == InternetChecksum.partial(SENDER_IP, RECEIVER_IP, protocol, l4Length) :
            InternetChecksum.verify(frame, L4_OFFSET, l4Length,
                InternetChecksum.pseudoHeader(SENDER_IP, RECEIVER_IP, protocol, l4Length));
        if (!good)
        {
            fail("flow " + flow + " frame " + seq + ": wrong " + (shape.gso() ? "TCP" : "UDP") + " checksum");
        }
        return good;
    }
}
