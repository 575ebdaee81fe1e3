package org.dom0j.sim.guest;

import org.agrona.DirectBuffer;

import java.util.concurrent.TimeUnit;

import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;

/**
 * What a guest does with its network in a test or demo: pings its peer (every 10 ms by default) and moves verified
 * bulk streams (TCP, with GSO when negotiated, and UDP) to it, while checking the peer's streams to it, for a given
 * time; then stops sending and drains. Two guests each running one against the other give pings and streams both
 * ways; a guest whose peer address is its own talks to itself through a loopback backend.
 * <p>
 * The stack is configured from the negotiation: the frontend's MTU, checksum offload as its options say, GSO when
 * the backend takes TCPv4 GSO. Flows are spread over the queues ({@code flow % queues}).
 * <p>
 * The workload runs on the caller's thread; {@link #stats()} is published on every pass and may be read from any
 * thread (a progress line).
 */
public final class NetWorkload implements SimNetfront.FrameHandler
{
    private static final long DRAIN_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(300);
    private static final long REPORT_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    /**
     * Told about progress about four times a second.
     */
    @FunctionalInterface
    public interface Progress
    {
        /**
         * @param elapsedNanos time since the workload started.
         * @param stats        the live counters.
         */
        void onProgress(long elapsedNanos, Stats stats);
    }

    /**
     * Live counters: written by the workload's thread on every pass, readable from any thread.
     */
    public static final class Stats
    {
        /** Frames sent by the frontend. */
        public volatile long txFrames;
        /** Bytes sent. */
        public volatile long txBytes;
        /** Frames received. */
        public volatile long rxFrames;
        /** Bytes received. */
        public volatile long rxBytes;
        /** Errors: checksum and malformed frames, RX packets the backend marked in error, TX errors and drops. */
        public volatile long errors;
        /** Stream segments and ping replies whose bytes were wrong. */
        public volatile long mismatches;
        /** Pings sent. */
        public volatile long pingsSent;
        /** Pings answered. */
        public volatile long pingReplies;
        /** Last round trip, ns. */
        public volatile long rttLastNanos;
        /** Smallest round trip, ns (0 before the first). */
        public volatile long rttMinNanos;
        /** Mean round trip, ns. */
        public volatile long rttMeanNanos;
        /** Largest round trip, ns. */
        public volatile long rttMaxNanos;
        /** Stream bytes received and verified, TCP and UDP. */
        public volatile long verifiedBytes;
        /** Bytes of the peer's TCP stream received without a hole. */
        public volatile long tcpContiguous;
        /** Bytes of our TCP stream the peer acknowledged. */
        public volatile long tcpAcked;
        /** Stream bytes received again (after retransmissions). */
        public volatile long duplicateBytes;
        /** Retransmission timeouts. */
        public volatile long retransmits;
        /** GSO frames sent. */
        public volatile long gsoSent;
        /** GSO frames received. */
        public volatile long gsoReceived;
        /** Why the frontend stopped a queue, or null. */
        public volatile String violation;

        /**
         * @param elapsedNanos time the counters cover.
         * @return a one-line summary: frames, verified MB/s, errors, mismatches, round trips.
         */
        public String line(final long elapsedNanos)
        {
            final double seconds = Math.max(1, elapsedNanos) / 1e9;
            return String.format("%6.1fs tx %d frames, rx %d frames, verified %.1f MB (%.1f MB/s), errors %d, " +
                "mismatches %d, ping %d/%d rtt %.0f/%.0f/%.0f us", seconds, txFrames, rxFrames, verifiedBytes / 1e6,
                verifiedBytes / 1e6 / seconds, errors, mismatches, pingReplies, pingsSent, rttMinNanos / 1e3,
                rttMeanNanos / 1e3, rttMaxNanos / 1e3);
        }
    }

    /**
     * The outcome.
     *
     * @param stats        final counters.
     * @param elapsedNanos how long it ran, drain included.
     * @param problem      what went wrong (a violation, a mismatch, nothing received), or null.
     * @param seed         the seed.
     * @param queues       queues in use.
     * @param gso          whether GSO frames were sent.
     */
    public record Result(Stats stats, long elapsedNanos, String problem, long seed, int queues, boolean gso)
    {
        /**
         * @return verified stream bytes received per second, in MB/s (10^6 bytes).
         */
        public double megabytesPerSecond()
        {
            return stats.verifiedBytes * 1e3 / Math.max(1, elapsedNanos);
        }
    }

    private final SimNetfront front;
    private final SimNetStack stack;
    private final int peerIp;
    private final long seed;
    private final long pingIntervalNanos;
    private final Stats stats = new Stats();

    /**
     * @param front          a connected frontend.
     * @param ip             this guest's IPv4 address.
     * @param peerIp         the peer's (this guest's own for a loopback).
     * @param seed           the workload seed; both peers must use the same one.
     * @param pingIntervalMs time between pings.
     */
    public NetWorkload(
        final SimNetfront front, final int ip, final int peerIp, final long seed, final long pingIntervalMs)
    {
        this.front = front;
        this.peerIp = peerIp;
        this.seed = seed;
        this.pingIntervalNanos = TimeUnit.MILLISECONDS.toNanos(pingIntervalMs);
        final int queues = front.queueCount();
        this.stack = new SimNetStack(front.mac(), ip, seed, stackConfig(front),
            (flow, frame, length, flags, gsoType, gsoSize) ->
                front.send(flow % queues, frame, 0, length, flags, gsoType, gsoSize));
    }

    /**
     * @param front a connected frontend.
     * @return the stack settings its negotiation allows.
     */
    public static SimNetStack.Config stackConfig(final SimNetfront front)
    {
        final boolean offload = front.options().csumOffload();
        final boolean gso = offload && front.canGso(XEN_NETIF_GSO_TYPE_TCPV4);
        final SimNetStack.Config defaults = SimNetStack.Config.defaults();
        return new SimNetStack.Config(Math.min(front.mtu(), 9000), offload, gso, defaults.windowBytes(),
            defaults.maxGsoSegments(), defaults.udp());
    }

    /**
     * @return the stack, e.g. to read its verifiers.
     */
    public SimNetStack stack()
    {
        return stack;
    }

    /**
     * @return the live counters.
     */
    public Stats stats()
    {
        return stats;
    }

    @Override
    public void onFrame(
        final int queue, final DirectBuffer frame, final int length, final int rxFlags, final int gsoType,
        final int gsoSize)
    {
        stack.receive(frame, length, rxFlags, gsoType, gsoSize);
    }

    /**
     * Runs for {@code seconds}, then stops sending and drains (until everything sent is acknowledged and nothing
     * arrived for 300 ms, at most 5 s). Stops early when the frontend stops a queue.
     *
     * @param seconds  how long to send.
     * @param progress told about progress, or null.
     * @return what happened.
     */
    public Result run(final double seconds, final Progress progress)
    {
        stack.openStream(peerIp);
        final long start = System.nanoTime();
        final long end = start + (long)(seconds * 1e9);
        long nextPing = start;
        long nextReport = start + REPORT_NANOS;
        int seq = 0;
        long now = start;
        while (now - end < 0 && null == front.violation())
        {
            int work = front.poll(this);
            if (now - nextPing >= 0)
            {
                if (stack.ping(peerIp, seq & 0xFFFF))
                {
                    seq++;
                }
                nextPing = now + pingIntervalNanos;
            }
            work += stack.pump();
            publish();
            if (work == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
            }
            now = System.nanoTime();
            if (null != progress && now - nextReport >= 0)
            {
                progress.onProgress(now - start, stats);
                nextReport = now + REPORT_NANOS;
            }
        }
        drain();
        publish();
        final long elapsed = System.nanoTime() - start;
        if (null != progress)
        {
            progress.onProgress(elapsed, stats);
        }
        return new Result(stats, elapsed, problem(), seed, front.queueCount(), stack.stats().gsoFramesSent > 0);
    }

    private void drain()
    {
        stack.stopSending();
        final long deadline = System.nanoTime() + DRAIN_NANOS;
        long lastRx = System.nanoTime();
        long rxBefore = stack.stats().rxFrames;
        while (null == front.violation())
        {
            int work = front.poll(this);
            work += stack.pump();
            final long now = System.nanoTime();
            if (stack.stats().rxFrames != rxBefore)
            {
                rxBefore = stack.stats().rxFrames;
                lastRx = now;
            }
            if (now - deadline >= 0 || (stack.drained() && now - lastRx >= QUIET_NANOS))
            {
                break;
            }
            if (work == 0)
            {
                front.awaitEvent(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
    }

    private void publish()
    {
        final NetStats s = stack.stats();
        final StreamVerifier tcp = stack.tcpReceiver();
        final StreamVerifier udp = stack.udpReceiver();
        stats.txFrames = s.txFrames;
        stats.txBytes = s.txBytes;
        stats.rxFrames = s.rxFrames;
        stats.rxBytes = s.rxBytes;
        stats.errors = s.checksumErrors + s.rxMalformed + front.rxErrors() + front.txErrors() + front.txDropped();
        stats.mismatches = s.pingMismatches + (null == tcp ? 0 : tcp.mismatches() + udp.mismatches());
        stats.pingsSent = s.pingsSent;
        stats.pingReplies = s.pingReplies;
        stats.rttLastNanos = s.rttLastNanos;
        stats.rttMinNanos = s.pingReplies == 0 ? 0 : s.rttMinNanos;
        stats.rttMeanNanos = s.rttMeanNanos();
        stats.rttMaxNanos = s.rttMaxNanos;
        stats.verifiedBytes = null == tcp ? 0 : tcp.bytes() + udp.bytes();
        stats.tcpContiguous = null == tcp ? 0 : tcp.contiguous();
        stats.tcpAcked = s.tcpBytesAcked;
        stats.duplicateBytes = null == tcp ? 0 : tcp.duplicateBytes() + udp.duplicateBytes();
        stats.retransmits = s.retransmits;
        stats.gsoSent = s.gsoFramesSent;
        stats.gsoReceived = s.gsoFramesReceived;
        stats.violation = front.violation();
    }

    private String problem()
    {
        if (null != front.violation())
        {
            return "backend broke the protocol: " + front.violation();
        }
        final StreamVerifier tcp = stack.tcpReceiver();
        final StreamVerifier udp = stack.udpReceiver();
        if (null != tcp.firstMismatch())
        {
            return "TCP stream: " + tcp.firstMismatch();
        }
        if (null != udp.firstMismatch())
        {
            return "UDP stream: " + udp.firstMismatch();
        }
        if (stack.stats().pingMismatches > 0)
        {
            return stack.stats().pingMismatches + " ping replies with other bytes than sent";
        }
        if (!stack.drained())
        {
            return "the peer did not acknowledge " + (stack.stats().tcpBytesSent - stack.stats().tcpBytesResent -
                stack.stats().tcpBytesAcked) + " stream bytes";
        }
        if (tcp.bytes() == 0)
        {
            return "no stream data arrived";
        }
        if (stack.stats().pingReplies == 0)
        {
            return "no ping was answered";
        }
        return null;
    }
}
