package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.sim.SimMachine;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteOrder;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

import static org.dom0j.protocol.netif.NetifConstants.NETRXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_CSUM_BLANK;
import static org.dom0j.protocol.netif.NetifConstants.NETTXF_DATA_VALIDATED;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;
import static org.dom0j.sim.guest.NetFrames.IP_HLEN;
import static org.dom0j.sim.guest.NetFrames.L4_OFFSET;
import static org.dom0j.sim.guest.NetFrames.PROTO_TCP;
import static org.dom0j.sim.guest.NetFrames.PROTO_UDP;
import static org.dom0j.sim.guest.NetFrames.TCP_CHECKSUM;
import static org.dom0j.sim.guest.NetFrames.TCP_FRAME_HEADERS;
import static org.dom0j.sim.guest.NetFrames.TCP_SEQ;
import static org.dom0j.sim.guest.NetFrames.UDP_CHECKSUM;
import static org.dom0j.sim.guest.NetFrames.UDP_HLEN;

/**
 * A network benchmark between two simulated guests on one machine, through whatever backend serves their vifs
 * (in {@code dom0j bench net}, {@code dom0j serve}'s switch in its own process): a sender guest that blasts frames of
 * one size as fast as its netfront takes them, and a receiver guest that counts them; a warm-up, then a measured
 * interval.
 * <p>
 * <b>Frames</b>: UDP/IPv4 frames of exactly {@link Shape#length} bytes (64 or 1514), or for {@link Shape#gso} one
 * TCP/IPv4 frame of 45 MSS of 1448 bytes (65,226 bytes) with GSO TCPv4, as Linux sends with offloads; the L4 checksum
 * is always left partial (NETTXF_csum_blank and data_validated, as Linux's netfront marks a CHECKSUM_PARTIAL packet).
 * Each flow (a UDP or TCP source port) has a template frame built once; per frame the sender writes only a sequence
 * number and a tag derived from it (and for TCP the sequence number in the header), so nothing is allocated per frame
 * and the guest's own cost stays what a packet generator's is. Flow {@code f} goes out on queue {@code f % queues};
 * with several queues there are {@link #FLOWS_PER_QUEUE} flows per queue, so that the backend's flow hash spreads them
 * over the receiver's queues too (source ports 40000 + 2f: see {@code PORT_STRIDE}).
 * <p>
 * <b>Flow control</b>: UDP frames are blasted with nothing to hold them back, as {@code iperf3 -u -b 0} or a
 * packet generator does; what the path cannot carry is dropped on the way and shows as lost. A TCP flow keeps at most
 * {@link #GSO_WINDOW_FRAMES} frames unacknowledged, as TCP's window does: the receiver publishes the next sequence
 * number it expects per flow (its acknowledgment, without a frame on the wire), and a window that stays full for
 * {@link #RTO_NANOS} is given up on (the frames in it count as lost when a later one arrives).
 * <p>
 * <b>Checks</b>, so that a broken path cannot look fast: every frame's length, flow, tag and sequence number (a gap
 * counts its frames as lost, a sequence number going back counts as an error), its GSO type and size; every
 * {@link #SAMPLE_EVERY}th frame of a flow in full against the template (the checksum field against the partial sum
 * when the frame came with NETRXF_csum_blank, else the full checksum is verified).
 * <p>
 * <b>Waiting</b>: the sender sleeps on its event channel (at most {@link #AWAIT_NANOS}) when its TX rings are full
 * and no response came, rather than spinning; the receiver sleeps on its channels when nothing arrived.
 * <p>
 * The sender runs on the caller's thread, the receiver on a thread of its own; one {@code run} at a time per pair of
 * domids.
 */
public final class NetBench
{
    /** Flows per queue with several queues. */
    public static final int FLOWS_PER_QUEUE = 2;
    /** One frame in this many of a flow is compared byte by byte. */
    public static final int SAMPLE_EVERY = 1024;
    /** The TCP MSS of a 1500-byte MTU with timestamps, as Linux uses it. */
    public static final int MSS = 1448;
    /** MSS per GSO frame: 45 x 1448 = 65,160 bytes of payload, Linux's largest GSO frame at MTU 1500. */
    public static final int GSO_SEGMENTS = 45;
    /** GSO frames a TCP flow keeps unacknowledged: 512 KiB, a netback queue's inbox (and SimNetStack's window). */
    public static final int GSO_WINDOW_FRAMES = 8;
    /** A flow whose window stays full this long gives up on what is in flight (counted lost), as a TCP RTO would. */
    public static final long RTO_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /** The longest the sender or receiver sleeps on its event channel before looking again. */
    public static final long AWAIT_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

    private static final int SRC_PORT_BASE = 40000;
    /**
     * Flow f's source port is {@code SRC_PORT_BASE + PORT_STRIDE * f}. Adjacent ports would all land on one of two
     * receive queues under netback's flow hash today (40000..40003 all hash to queue 1); a stride of 2 spreads four
     * flows two and two. The bench prints the share each receive queue took, so a change of hash shows.
     */
    private static final int PORT_STRIDE = 2;
    private static final int DST_PORT = 5201;
    private static final int SEQ_OFFSET = 0;
    private static final int TAG_OFFSET = 4;
    private static final int BATCH = 64;
    private static final int GUEST_PAGES = 4096;
    private static final long READY_TIMEOUT_SECONDS = 30;
    private static final int SENDER_IP = NetFrames.parseIpv4("10.0.0.1");
    private static final int RECEIVER_IP = NetFrames.parseIpv4("10.0.0.2");

    /**
     * What to send.
     *
     * @param length the frame's length in bytes: 42 + payload for UDP (at least 50), or the GSO frame's.
     * @param gso    a TCP GSO frame (length is then {@link #gsoFrameLength()}).
     */
    public record Shape(int length, boolean gso)
    {
        /**
         * Checks the values.
         */
        public Shape
        {
            if (!gso && (length < L4_OFFSET + UDP_HLEN + 8 || length > 1514))
            {
                throw new IllegalArgumentException("UDP frames are 50..1514 bytes: " + length);
            }
        }

        /**
         * @param length the frame's length, e.g. 64 or 1514.
         * @return UDP frames of that length.
         */
        public static Shape udp(final int length)
        {
            return new Shape(length, false);
        }

        /**
         * @return a 64 KiB TCP GSO frame of {@link #GSO_SEGMENTS} MSS.
         */
        public static Shape gsoTcp()
        {
            return new Shape(gsoFrameLength(), true);
        }

        /**
         * @return bytes of TCP or UDP payload per frame.
         */
        public int payload()
        {
            return gso ? GSO_SEGMENTS * MSS : length - L4_OFFSET - UDP_HLEN;
        }

        private int payloadOffset()
        {
            return gso ? TCP_FRAME_HEADERS : L4_OFFSET + UDP_HLEN;
        }
    }

    /**
     * @return the GSO frame's length: Ethernet, IPv4 and TCP headers with timestamps, and 45 MSS.
     */
    public static int gsoFrameLength()
    {
        return TCP_FRAME_HEADERS + GSO_SEGMENTS * MSS;
    }

    /**
     * The measured interval.
     *
     * @param frames           frames the receiver took in the interval.
     * @param bytes            their bytes (whole frames).
     * @param payloadBytes     their TCP or UDP payload.
     * @param sentFrames       frames the sender's netfront took in the interval.
     * @param lostFrames       frames missing from the receiver's sequence in the interval.
     * @param errors           frames that were wrong (length, tag, sequence going back, sampled bytes, GSO metadata,
     *                         RX errors, TX errors or drops), over the whole run.
     * @param firstError       what the first wrong frame was, or null.
     * @param elapsedNanos     the interval's wall time.
     * @param senderCpuNanos   CPU time of the sender's thread.
     * @param receiverCpuNanos CPU time of the receiver's thread.
     * @param externalCpuNanos CPU time another party reported over the interval (serve's process), or 0.
     * @param queues           queues in use.
     * @param framesPerRxQueue frames taken per receive queue in the interval.
     * @param allocatedBytes   bytes both guests' threads allocated in the interval (-1 when the JVM cannot tell):
     *                         near 0, since nothing is allocated per frame.
     */
    public record Result(
        long frames,
        long bytes,
        long payloadBytes,
        long sentFrames,
        long lostFrames,
        long errors,
        String firstError,
        long elapsedNanos,
        long senderCpuNanos,
        long receiverCpuNanos,
        long externalCpuNanos,
        int queues,
        long[] framesPerRxQueue,
        long allocatedBytes)
    {
        /**
         * @return frames received per second.
         */
        public double framesPerSecond()
        {
            return frames * 1e9 / elapsedNanos;
        }

        /**
         * @return Gbit/s of whole frames received.
         */
        public double gigabitsPerSecond()
        {
            return bytes * 8.0 / elapsedNanos;
        }

        /**
         * @return Gbit/s of payload received.
         */
        public double payloadGigabitsPerSecond()
        {
            return payloadBytes * 8.0 / elapsedNanos;
        }
    }

    private NetBench()
    {
    }

    /**
     * Creates a sender and a receiver guest with one vif each (attached as libxl does; a backend must serve them),
     * runs the benchmark between them and destroys both.
     *
     * @param machine        the machine.
     * @param senderDomid    the sender's domid.
     * @param receiverDomid  the receiver's domid.
     * @param shape          what to send.
     * @param queues         queues asked of each netfront.
     * @param warmupNanos    how long to send before measuring.
     * @param measureNanos   how long to measure.
     * @param externalCpu    CPU time of another party (the backend's process), read when measuring starts and ends.
     * @return what the measured interval saw.
     * @throws TimeoutException     when a guest's backend did not connect in time.
     * @throws InterruptedException when interrupted.
     */
    public static Result run(
        final SimMachine machine,
        final int senderDomid,
        final int receiverDomid,
        final Shape shape,
        final int queues,
        final long warmupNanos,
        final long measureNanos,
        final LongSupplier externalCpu) throws TimeoutException, InterruptedException
    {
        final SimNetfront.Options options = SimNetfront.Options.linuxDefaults().withQueues(queues);
        final String rxMac = NetGuest.defaultMac(receiverDomid, "0");
        final Receiver receiver = new Receiver(shape, queues == 1 ? 1 : queues * FLOWS_PER_QUEUE);
        final AtomicReference<Throwable> receiverFailure = new AtomicReference<>();
        final Thread receiverThread = new Thread(() ->
        {
            try
            {
                NetGuest.withVif(machine, receiverDomid, "bench-rx-" + receiverDomid, GUEST_PAGES, "0", rxMac, options,
                    front -> receiver.run(front));
            }
            catch (final Throwable ex)
            {
                receiverFailure.set(ex);
            }
            finally
            {
                receiver.ready.countDown();
            }
        }, "bench-net-rx-" + receiverDomid);
        receiverThread.start();
        try
        {
            if (!receiver.ready.await(READY_TIMEOUT_SECONDS, TimeUnit.SECONDS))
            {
                throw new TimeoutException("the receiver guest did not connect in " + READY_TIMEOUT_SECONDS + " s");
            }
            if (null != receiverFailure.get())
            {
                throw new IllegalStateException("receiver guest failed", receiverFailure.get());
            }
            return NetGuest.withVif(machine, senderDomid, "bench-tx-" + senderDomid, GUEST_PAGES, "0",
                NetGuest.defaultMac(senderDomid, "0"), options,
                front -> new Sender(front, shape, NetFrames.parseMac(rxMac), receiver, receiverThread)
                    .run(warmupNanos, measureNanos, externalCpu));
        }
        finally
        {
            receiver.stop = true;
            receiverThread.join(TimeUnit.SECONDS.toMillis(60));
            if (null != receiverFailure.get() && !(receiverFailure.get() instanceof InterruptedException))
            {
                final Throwable t = receiverFailure.get();
                throw new IllegalStateException("receiver guest failed: " + t, t);
            }
        }
    }

    /**
     * Writes flow {@code flow}'s frame number {@code seq} into its template: the sequence number and its tag in the
     * payload, and for TCP the byte sequence number in the header.
     */
    static void stamp(final UnsafeBuffer frame, final Shape shape, final int flow, final int seq)
    {
        final int payloadOffset = shape.payloadOffset();
        frame.putInt(payloadOffset + SEQ_OFFSET, seq, ByteOrder.BIG_ENDIAN);
        frame.putInt(payloadOffset + TAG_OFFSET, tag(flow, seq), ByteOrder.BIG_ENDIAN);
        if (shape.gso())
        {
            frame.putInt(L4_OFFSET + TCP_SEQ, (int)((long)seq * shape.payload()), ByteOrder.BIG_ENDIAN);
        }
    }

    private static int tag(final int flow, final int seq)
    {
        int h = (flow + 1) * 0x9E3779B1 ^ seq * 0x85EBCA6B;
        h ^= h >>> 15;
        return h * 0xC2B2AE35;
    }

    /**
     * Builds flow {@code flow}'s template frame.
     */
    static UnsafeBuffer template(final Shape shape, final int flow, final long srcMac, final long dstMac)
    {
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[shape.length()]);
        NetFrames.ethernet(frame, dstMac, srcMac, NetFrames.ETHERTYPE_IPV4);
        final int payloadOffset = shape.payloadOffset();
        for (int i = payloadOffset; i < shape.length(); i++)
        {
            // A pattern that differs between flows and offsets, so a misplaced or stale byte shows in the sample.
            frame.putByte(i, (byte)(i * 31 + flow * 7 + (i >>> 8)));
        }
        final int l4Length = shape.length() - L4_OFFSET;
        final int srcPort = SRC_PORT_BASE + PORT_STRIDE * flow;
        if (shape.gso())
        {
            NetFrames.ipv4(frame, IP_HLEN + l4Length, flow << 8, PROTO_TCP, SENDER_IP, RECEIVER_IP);
            NetFrames.tcp(frame, srcPort, DST_PORT, 0, 1, NetFrames.TCP_ACK_FLAG | NetFrames.TCP_PSH, 1, l4Length,
                true);
        }
        else
        {
            NetFrames.ipv4(frame, IP_HLEN + l4Length, flow << 8, PROTO_UDP, SENDER_IP, RECEIVER_IP);
            NetFrames.udp(frame, srcPort, DST_PORT, l4Length, true);
        }
        return frame;
    }

    /**
     * The sender guest's loop, on the caller's thread.
     */
    private static final class Sender implements SimNetfront.FrameHandler
    {
        private final SimNetfront front;
        private final Shape shape;
        private final Receiver receiver;
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

        private long allocated()
        {
            if (threads instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported())
            {
                return t.getThreadAllocatedBytes(Thread.currentThread().getId()) +
                    t.getThreadAllocatedBytes(receiverThread.getId());
            }
            return -1;
        }

        Sender(
            final SimNetfront front, final Shape shape, final long dstMac, final Receiver receiver,
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
                templates[f] = template(shape, f, front.mac(), dstMac);
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
                    stamp(t, shape, flow, seq);
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

        Result run(final long warmupNanos, final long measureNanos, final LongSupplier externalCpu)
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
                        return new Result(frames, bytes, frames * shape.payload(), sent - sentAtStart, lost,
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

    /**
     * The receiver guest's loop, on its own thread; counters published for the sender's thread to read.
     */
    static final class Receiver implements SimNetfront.FrameHandler
    {
        final CountDownLatch ready = new CountDownLatch(1);
        final int flows;
        volatile boolean stop;
        volatile long publishedFrames;
        volatile long publishedBytes;
        volatile long publishedLost;
        volatile long publishedErrors;
        private final Shape shape;
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

        Receiver(final Shape shape, final int flows)
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
                templates[f] = template(shape, f, 0, mac);
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
            if (frame.getInt(payloadOffset + TAG_OFFSET, ByteOrder.BIG_ENDIAN) != tag(flow, seq))
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
            stamp(t, shape, flow, seq);
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
}
