package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.function.LongSupplier;

import static org.dom0j.protocol.netif.NetifConstants.NETTXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;
import static org.dom0j.sim.guest.NetBench.AWAIT_NANOS;
import static org.dom0j.sim.guest.NetBench.FLOWS_PER_QUEUE;
import static org.dom0j.sim.guest.NetBench.GSO_WINDOW_FRAMES;
import static org.dom0j.sim.guest.NetBench.MSS;
import static org.dom0j.sim.guest.NetBench.RTO_NANOS;

/**
 * {@link NetBench}'s sender guest: blasts frames of one shape on every queue of its netfront, flow {@code f} on queue
 * {@code f % queues}, stamping each flow's template ({@link NetBenchFrames}); holds each TCP flow to its window of
 * {@link NetBench#GSO_WINDOW_FRAMES} by the receiver's acknowledgments; runs the warm-up and the measured interval and
 * reads the receiver's published counters at both ends of it.
 * <p>
 * Runs on the caller's thread of {@link NetBench#run}; the receiver runs on its own.
 */
final class NetBenchSender implements SimNetfront.FrameHandler
{
    private static final int BATCH = 64;

    private final SimNetfront front;
    private final NetBench.Shape shape;
    private final NetBenchReceiver receiver;
    private final Thread receiverThread;
    private final int queues;
    private final int flows;
    private final UnsafeBuffer[] templates;
    private final int[] seqs;
    private final int[] nextFlow;
    private final int[] base;
    private final long[] fullSince;
    private final int gsoType;
    private final int gsoSize;
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    /**
     * @return bytes both guests' threads allocated so far, or -1 when the JVM cannot tell.
     */
    private long allocated()
    {
        if (threads instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported())
        {
            return t.getThreadAllocatedBytes(Thread.currentThread().getId()) +
                t.getThreadAllocatedBytes(receiverThread.getId());
        }
        return -1;
    }

    NetBenchSender(
        final SimNetfront front, final NetBench.Shape shape, final long dstMac, final NetBenchReceiver receiver,
        final Thread receiverThread)
    {
        this.front = front;
        this.shape = shape;
        this.receiver = receiver;
        this.receiverThread = receiverThread;
        this.queues = front.queueCount();
        this.flows = receiver.flows;
        if (queues * (queues == 1 ? 1 : FLOWS_PER_QUEUE) != flows)
        {
            throw new IllegalStateException("the sender negotiated " + queues + " queues, the receiver expects " +
                flows + " flows");
        }
        if (shape.gso() && !front.canGso(XEN_NETIF_GSO_TYPE_TCPV4))
        {
            throw new IllegalStateException("the backend takes no TCPv4 GSO frames from the sender");
        }
        this.templates = new UnsafeBuffer[flows];
        for (int f = 0; f < flows; f++)
        {
            templates[f] = NetBenchFrames.template(shape, f, front.mac(), dstMac);
        }
        this.seqs = new int[flows];
        this.nextFlow = new int[queues];
        this.base = new int[flows];
        this.fullSince = new long[flows];
        for (int q = 0; q < queues; q++)
        {
            nextFlow[q] = q;
        }
        this.gsoType = shape.gso() ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_NONE;
        this.gsoSize = shape.gso() ? MSS : 0;
    }

    @Override
    public void onFrame(
        final int queue, final DirectBuffer frame, final int length, final int rxFlags, final int gsoType,
        final int gsoSize)
    {
        // Nothing is sent to the sender; whatever comes (a flood) is ignored.
    }

    /**
     * Sends up to a batch on each queue.
     *
     * @return frames sent.
     */
    private int sendBatch(final long now)
    {
        int sent = 0;
        for (int q = 0; q < queues; q++)
        {
            int n = 0;
            int flow = nextFlow[q];
            int closed = 0;
            while (n < BATCH && front.canSend(q, shape.length(), shape.gso()))
            {
                if (shape.gso() && !windowOpen(flow, now))
                {
                    // Try the queue's other flows; stop when every one of them is held back.
                    if (++closed * queues >= flows)
                    {
                        break;
                    }
                    flow += queues;
                    if (flow >= flows)
                    {
                        flow = q;
                    }
                    continue;
                }
                closed = 0;
                final UnsafeBuffer t = templates[flow];
                final int seq = seqs[flow];
                NetBenchFrames.stamp(t, shape, flow, seq);
                if (!front.send(q, t, 0, shape.length(), NETTXF_CSUM_BLANK | NETTXF_DATA_VALIDATED, gsoType,
                    gsoSize))
                {
                    break;
                }
                seqs[flow] = seq + 1;
                n++;
                flow += queues;
                if (flow >= flows)
                {
                    flow = q;
                }
            }
            nextFlow[q] = flow;
            sent += n;
        }
        return sent;
    }

    /**
     * @return whether the flow may send another frame: fewer than a window unacknowledged, or its window was
     *         given up on after {@link #RTO_NANOS}.
     */
    private boolean windowOpen(final int flow, final long now)
    {
        final int ack = receiver.acked.get(flow);
        if (ack - base[flow] > 0)
        {
            base[flow] = ack;
        }
        if (seqs[flow] - base[flow] < GSO_WINDOW_FRAMES)
        {
            fullSince[flow] = 0;
            return true;
        }
        if (fullSince[flow] == 0)
        {
            fullSince[flow] = now;
        }
        else if (now - fullSince[flow] > RTO_NANOS)
        {
            base[flow] = seqs[flow];
            fullSince[flow] = 0;
            return true;
        }
        return false;
    }

    /**
     * Sends through the warm-up and the measured interval, then stops the receiver.
     *
     * @param warmupNanos  how long to send before measuring.
     * @param measureNanos how long to measure.
     * @param externalCpu  CPU time of another party, read when measuring starts and ends.
     * @return what the measured interval saw.
     * @throws IllegalStateException when the backend broke the protocol.
     */
    NetBench.Result run(final long warmupNanos, final long measureNanos, final LongSupplier externalCpu)
    {
        final long start = System.nanoTime();
        long phaseEnd = start + warmupNanos;
        boolean measuring = false;
        long sentAtStart = 0;
        long rxFramesStart = 0;
        long rxBytesStart = 0;
        long lostStart = 0;
        long[] perQueueStart = new long[queues];
        long cpuStart = 0;
        long rxCpuStart = 0;
        long externalStart = 0;
        long allocatedStart = 0;
        long measureStart = start;
        long sent = 0;
        while (null == front.violation())
        {
            final long now = System.nanoTime();
            if (now - phaseEnd >= 0)
            {
                if (measuring)
                {
                    final long elapsed = now - measureStart;
                    final long allocatedEnd = allocated();
                    final long externalEnd = externalCpu.getAsLong();
                    final long rxCpuEnd = threads.getThreadCpuTime(receiverThread.getId());
                    final long cpuEnd = threads.getCurrentThreadCpuTime();
                    final long frames = receiver.publishedFrames - rxFramesStart;
                    final long bytes = receiver.publishedBytes - rxBytesStart;
                    final long lost = receiver.publishedLost - lostStart;
                    final long[] perQueue = new long[queues];
                    for (int q = 0; q < queues; q++)
                    {
                        perQueue[q] = receiver.framesPerQueue(q) - perQueueStart[q];
                    }
                    receiver.stop = true;
                    final long errors = receiver.publishedErrors + front.txErrors() + front.txDropped();
                    return new NetBench.Result(frames, bytes, frames * shape.payload(), sent - sentAtStart, lost,
                        errors, receiver.firstError(front), elapsed, cpuEnd - cpuStart, rxCpuEnd - rxCpuStart,
                        externalEnd - externalStart, queues, perQueue,
                        allocatedStart < 0 || allocatedEnd < 0 ? -1 : allocatedEnd - allocatedStart);
                }
                measuring = true;
                measureStart = now;
                phaseEnd = now + measureNanos;
                sentAtStart = sent;
                rxFramesStart = receiver.publishedFrames;
                rxBytesStart = receiver.publishedBytes;
                lostStart = receiver.publishedLost;
                for (int q = 0; q < queues; q++)
                {
                    perQueueStart[q] = receiver.framesPerQueue(q);
                }
                cpuStart = threads.getCurrentThreadCpuTime();
                rxCpuStart = threads.getThreadCpuTime(receiverThread.getId());
                externalStart = externalCpu.getAsLong();
                allocatedStart = allocated();
            }
            final int n = sendBatch(now);
            sent += n;
            final int responses = front.poll(this);
            if (n == 0 && responses == 0)
            {
                // The TX rings are full and nothing came back yet: sleep until the backend answers.
                front.awaitEvent(AWAIT_NANOS);
            }
        }
        receiver.stop = true;
        throw new IllegalStateException("the backend broke the protocol: " + front.violation());
    }
}
