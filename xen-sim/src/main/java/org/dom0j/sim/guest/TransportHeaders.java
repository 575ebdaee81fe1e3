package org.dom0j.sim.guest;

import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

import static org.dom0j.sim.guest.NetFrames.*;

/**
 * The layer 4 header writers of {@link NetFrames}: ICMP echo, UDP and TCP with the timestamp option, each with its
 * checksum over the header and the payload already in the frame, UDP and TCP in full or left partial (the
 * pseudo-header sum, for checksum offload).
 * <p>
 * Stateless: any thread.
 */
final class TransportHeaders
{
    private TransportHeaders()
    {
    }

    /** See {@link NetFrames#icmpEcho}. */
    static void icmpEcho(
        final MutableDirectBuffer buffer,
        final int type,
        final int identifier,
        final int sequence,
        final int payloadLength)
    {
        buffer.putByte(L4_OFFSET, (byte)type);
        buffer.putByte(L4_OFFSET + 1, (byte)0);
        buffer.putShort(L4_OFFSET + ICMP_CHECKSUM, (short)0);
        buffer.putShort(L4_OFFSET + ICMP_ID, (short)identifier, ByteOrder.BIG_ENDIAN);
        buffer.putShort(L4_OFFSET + ICMP_SEQ, (short)sequence, ByteOrder.BIG_ENDIAN);
        buffer.putShort(L4_OFFSET + ICMP_CHECKSUM,
            (short)InternetChecksum.checksum(buffer, L4_OFFSET, ICMP_HLEN + payloadLength), ByteOrder.BIG_ENDIAN);
    }

    /** See {@link NetFrames#udp}. */
    static void udp(
        final MutableDirectBuffer buffer,
        final int srcPort,
        final int dstPort,
        final int udpLength,
        final boolean partial)
    {
        buffer.putShort(L4_OFFSET, (short)srcPort, ByteOrder.BIG_ENDIAN);
        buffer.putShort(L4_OFFSET + 2, (short)dstPort, ByteOrder.BIG_ENDIAN);
        buffer.putShort(L4_OFFSET + UDP_LENGTH, (short)udpLength, ByteOrder.BIG_ENDIAN);
        finishL4(buffer, PROTO_UDP, UDP_CHECKSUM, udpLength, partial);
    }

    /** See {@link NetFrames#tcp}. */
    static void tcp(
        final MutableDirectBuffer buffer,
        final int srcPort,
        final int dstPort,
        final int seq,
        final int ack,
        final int flags,
        final int tsval,
        final int tcpLength,
        final boolean partial)
    {
        buffer.putShort(L4_OFFSET, (short)srcPort, ByteOrder.BIG_ENDIAN);
        buffer.putShort(L4_OFFSET + 2, (short)dstPort, ByteOrder.BIG_ENDIAN);
        buffer.putInt(L4_OFFSET + TCP_SEQ, seq, ByteOrder.BIG_ENDIAN);
        buffer.putInt(L4_OFFSET + TCP_ACK, ack, ByteOrder.BIG_ENDIAN);
        buffer.putByte(L4_OFFSET + TCP_DATA_OFFSET, (byte)((TCP_HLEN / 4) << 4));
        buffer.putByte(L4_OFFSET + TCP_FLAGS, (byte)flags);
        buffer.putShort(L4_OFFSET + TCP_WINDOW, (short)0xFFFF, ByteOrder.BIG_ENDIAN);
        buffer.putInt(L4_OFFSET + TCP_CHECKSUM, 0);
        // NOP, NOP, timestamp (kind 8, length 10): what Linux puts on every segment.
        buffer.putInt(L4_OFFSET + TCP_OPTIONS, 0x0101080A, ByteOrder.BIG_ENDIAN);
        buffer.putInt(L4_OFFSET + TCP_OPTIONS + 4, tsval, ByteOrder.BIG_ENDIAN);
        buffer.putInt(L4_OFFSET + TCP_OPTIONS + 8, 0);
        finishL4(buffer, PROTO_TCP, TCP_CHECKSUM, tcpLength, partial);
    }

    /**
     * Writes a UDP or TCP checksum over the header and its payload: in full (a UDP checksum that comes out 0 is
     * sent as 0xFFFF), or only the pseudo-header sum when {@code partial}.
     *
     * @param buffer         the frame, with its IPv4 header and layer 4 header and payload written.
     * @param protocol       {@link NetFrames#PROTO_UDP} or {@link NetFrames#PROTO_TCP}.
     * @param checksumOffset where the checksum field is, relative to {@link NetFrames#L4_OFFSET}.
     * @param length         layer 4 header and payload.
     * @param partial        leave the pseudo-header sum (checksum offload).
     */
    static void finishL4(
        final MutableDirectBuffer buffer, final int protocol, final int checksumOffset, final int length,
        final boolean partial)
    {
        final int src = buffer.getInt(IP_OFFSET + IP_SRC, ByteOrder.BIG_ENDIAN);
        final int dst = buffer.getInt(IP_OFFSET + IP_DST, ByteOrder.BIG_ENDIAN);
        buffer.putShort(L4_OFFSET + checksumOffset, (short)0);
        int checksum;
        if (partial)
        {
            checksum = InternetChecksum.partial(src, dst, protocol, length);
        }
        else
        {
            checksum = InternetChecksum.checksum(InternetChecksum.add(
                InternetChecksum.pseudoHeader(src, dst, protocol, length), buffer, L4_OFFSET, length));
            if (protocol == PROTO_UDP && checksum == 0)
            {
                checksum = 0xFFFF;
            }
        }
        buffer.putShort(L4_OFFSET + checksumOffset, (short)checksum, ByteOrder.BIG_ENDIAN);
    }
}
