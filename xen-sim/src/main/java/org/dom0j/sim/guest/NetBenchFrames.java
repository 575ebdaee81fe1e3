package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;

import static org.dom0j.sim.guest.NetFrames.IP_HLEN;
import static org.dom0j.sim.guest.NetFrames.L4_OFFSET;
import static org.dom0j.sim.guest.NetFrames.PROTO_TCP;
import static org.dom0j.sim.guest.NetFrames.PROTO_UDP;
import static org.dom0j.sim.guest.NetFrames.TCP_SEQ;

/**
 * The frames {@link NetBench} sends, as its sender writes them and its receiver checks them: a template per flow,
 * built once, into which each frame's sequence number and a tag derived from it are stamped.
 * <pre>
 *   0                     L4_OFFSET                   payload
 *   +---------------------+---------------------------+-------+-------+------------------------------
 *   | Ethernet, IPv4 (34) | UDP (8) / TCP + opts (32) | seq   | tag   | pattern (flow and offset)
 *   +---------------------+---------------------------+-------+-------+------------------------------
 *                                                      +0 (4)  +4 (4)
 * </pre>
 * Flow {@code f} is the one whose source port is {@code SRC_PORT_BASE + PORT_STRIDE * f}; for TCP the header's
 * sequence number is the frame's first payload byte's. Multi-byte fields are big-endian.
 * <p>
 * Stateless: any thread; a template belongs to the thread that stamps it.
 */
final class NetBenchFrames
{
    /** Flow 0's source port. */
    static final int SRC_PORT_BASE = 40000;
    /**
     * Flow f's source port is {@code SRC_PORT_BASE + PORT_STRIDE * f}. A hash spreads four flows over two receive
     * queues two and two only 3 times in 8; with netback's flow hash (MurmurHash3's finaliser over addresses and
     * ports) a stride of 5 does (40000, 40005 to one queue, 40010, 40015 to the other; a stride of 2 gave 3 and 1),
     * so that the 2-queue cases measure the path rather than the hash's luck with four flows. The bench prints the
     * share each receive queue took, so a change of hash shows.
     */
    static final int PORT_STRIDE = 5;
    /** Every flow's destination port. */
    static final int DST_PORT = 5201;
    /** The frame's sequence number in its flow, relative to the payload. */
    static final int SEQ_OFFSET = 0;
    /** The tag derived from flow and sequence number, relative to the payload. */
    static final int TAG_OFFSET = 4;
    /** The sender guest's IPv4 address. */
    static final int SENDER_IP = NetFrames.parseIpv4("10.0.0.1");
    /** The receiver guest's IPv4 address. */
    static final int RECEIVER_IP = NetFrames.parseIpv4("10.0.0.2");

    private NetBenchFrames()
    {
    }

    /**
     * Writes flow {@code flow}'s frame number {@code seq} into its template: the sequence number and its tag in the
     * payload, and for TCP the byte sequence number in the header.
     */
    static void stamp(final UnsafeBuffer frame, final NetBench.Shape shape, final int flow, final int seq)
    {
        final int payloadOffset = shape.payloadOffset();
        frame.putInt(payloadOffset + SEQ_OFFSET, seq, ByteOrder.BIG_ENDIAN);
        frame.putInt(payloadOffset + TAG_OFFSET, tag(flow, seq), ByteOrder.BIG_ENDIAN);
        if (shape.gso())
        {
            frame.putInt(L4_OFFSET + TCP_SEQ, (int)((long)seq * shape.payload()), ByteOrder.BIG_ENDIAN);
        }
    }

    /**
     * @return the tag of flow {@code flow}'s frame number {@code seq}: a hash of both, so that a frame whose sequence
     *         number was rewritten over another frame's bytes shows.
     */
    static int tag(final int flow, final int seq)
    {
        int h = (flow + 1) * 0x9E3779B1 ^ seq * 0x85EBCA6B;
        h ^= h >>> 15;
        return h * 0xC2B2AE35;
    }

    /**
     * Builds flow {@code flow}'s template frame.
     */
    static UnsafeBuffer template(final NetBench.Shape shape, final int flow, final long srcMac, final long dstMac)
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
}
