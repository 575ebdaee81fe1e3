package org.dom0j.sim.guest;

import org.dom0j.sim.SimMachine;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

import static org.dom0j.sim.guest.NetFrames.L4_OFFSET;
import static org.dom0j.sim.guest.NetFrames.TCP_FRAME_HEADERS;
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
 * over the receiver's queues too (source ports 40000 + 5f: see {@code NetBenchFrames.PORT_STRIDE}).
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
 * The sender ({@code NetBenchSender}) runs on the caller's thread, the receiver ({@code NetBenchReceiver}) on a thread
 * of its own; both build and stamp frames through {@code NetBenchFrames}. One {@code run} at a time per pair of
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

    private static final int GUEST_PAGES = 4096;
    private static final long READY_TIMEOUT_SECONDS = 30;

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

        /**
         * @return where the payload starts in the frame.
         */
        int payloadOffset()
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
        final NetBenchReceiver receiver = new NetBenchReceiver(shape, queues == 1 ? 1 : queues * FLOWS_PER_QUEUE);
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
                front -> new NetBenchSender(front, shape, NetFrames.parseMac(rxMac), receiver, receiverThread)
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
}
