package org.dom0j.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import static org.dom0j.nbd.NbdConstants.ESHUTDOWN;
import static org.dom0j.nbd.NbdConstants.MAX_STRING_LENGTH;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_READ;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_FLAG_DONE;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_ERROR_BIT;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_ERROR_OFFSET;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_NONE;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_OFFSET_HOLE;
import static org.dom0j.nbd.NbdConstants.errnoOf;
import static org.dom0j.nbd.NbdDescriptor.CHUNK_COOKIE_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.CHUNK_FLAGS_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.CHUNK_HEADER_LENGTH;
import static org.dom0j.nbd.NbdDescriptor.CHUNK_LENGTH_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.CHUNK_OFFSET_LENGTH;
import static org.dom0j.nbd.NbdDescriptor.CHUNK_TYPE_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.ERROR_OFFSET_PAYLOAD_MIN;
import static org.dom0j.nbd.NbdDescriptor.ERROR_PAYLOAD_MIN;
import static org.dom0j.nbd.NbdDescriptor.HOLE_PAYLOAD_LENGTH;
import static org.dom0j.nbd.NbdDescriptor.SIMPLE_COOKIE_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.SIMPLE_ERROR_OFFSET;
import static org.dom0j.nbd.NbdDescriptor.SIMPLE_REPLY_LENGTH;
import static org.dom0j.nbd.NbdDescriptor.SIMPLE_REPLY_MAGIC;
import static org.dom0j.nbd.NbdDescriptor.STRUCTURED_REPLY_MAGIC;

/**
 * Reads the server's replies as they come, without blocking, and completes requests. A reply's header, and the
 * whole of a chunk that carries no data, are read into a receive buffer of its own; data goes to the request's
 * memory, copied out of the receive buffer for what came with a header, read straight into the memory for the rest
 * when that is {@value #DIRECT_READ_THRESHOLD} bytes or more.
 * <p>
 * Nothing the server sends is trusted (NBD {@code doc/proto.md}, "Structured reply chunk message", "Structured reply
 * types", "NBD_CMD_READ"): a magic other than the two reply magics; a cookie that answers no request the server has
 * in full; a simple reply with data to a read after structured replies were agreed, or a chunk when they were not;
 * a data or hole chunk to anything but a read, outside the request, overlapping an earlier one, or of a wrong
 * length; a NONE chunk without DONE or with a payload; an error chunk with error 0 or a message longer than the
 * chunk; a chunk type without the error bit that this client does not know; a read that ends (DONE) without error
 * and without every byte having come: each is a protocol violation, thrown as an {@link NbdException} for the
 * connection to break on. A request is only ever completed with 0 when all of it was answered as it should be.
 * <p>
 * Allocates nothing per reply. Not thread-safe: the connection's thread only.
 */
final class NbdReplyReader
{
    /** Data still to come of this many bytes or more is read straight into the request's memory. */
    static final int DIRECT_READ_THRESHOLD = 16 * 1024;
    /** The largest chunk without data that is accepted: an error's message (4096 bytes at most) and its fields. */
    static final int MAX_CONTROL_PAYLOAD = MAX_STRING_LENGTH + 64;
    private static final int RECEIVE_CAPACITY = 64 * 1024;
    private static final int KEPT_MESSAGE_LENGTH = 256;
    private static final int THEN_COMPLETE = 0;
    private static final int THEN_FINISH_REPLY = 1;
    private static final int THEN_NEXT_CHUNK = 2;

    private final NbdRequestTable table;
    private final ByteBuffer receive = ByteBuffer.allocateDirect(RECEIVE_CAPACITY);
    private final UnsafeBuffer receiveBuffer = new UnsafeBuffer(receive);
    private final ByteBuffer dataView = NativeBufferView.allocate();
    private final byte[] lastMessage = new byte[KEPT_MESSAGE_LENGTH];
    private int lastMessageLength;
    private int readIndex;
    private int writeIndex;

    private boolean structured;
    private int dataSlot = -1;
    private long dataAddress;
    private long dataRemaining;
    private int dataThen;

    private int completed;
    private boolean shutdownSeen;
    private long dataChunks;
    private long holeChunks;
    private long errorChunks;

    NbdReplyReader(final NbdRequestTable table)
    {
        this.table = table;
    }

    /**
     * Forgets all partial state, for a new socket.
     *
     * @param structured whether structured replies were agreed on it.
     */
    void reset(final boolean structured)
    {
        this.structured = structured;
        readIndex = 0;
        writeIndex = 0;
        dataSlot = -1;
        dataRemaining = 0;
        shutdownSeen = false;
    }

    /**
     * Reads what the socket has and completes what it answers.
     *
     * @throws IOException at a protocol violation ({@link NbdException}), the end of the stream
     *                     ({@link EOFException}) or a failed socket; completions made before it count.
     */
    void poll(final NbdTransport transport, final NbdCompletionHandler handler) throws IOException
    {
        while (true)
        {
            if (dataRemaining > 0)
            {
                if (!moveData(transport))
                {
                    return;
                }
                if (dataRemaining == 0 && dataThen == THEN_COMPLETE)
                {
                    complete(dataSlot, 0, handler);
                }
                else if (dataRemaining == 0 && dataThen == THEN_FINISH_REPLY)
                {
                    finishReply(dataSlot, handler);
                }
                continue;
            }
            if (!fill(transport, 4))
            {
                return;
            }
            final int magic = receiveBuffer.getInt(readIndex, ByteOrder.BIG_ENDIAN);
            if (magic == SIMPLE_REPLY_MAGIC)
            {
                if (!fill(transport, SIMPLE_REPLY_LENGTH))
                {
                    return;
                }
                onSimpleReply(handler);
            }
            else if (magic == STRUCTURED_REPLY_MAGIC)
            {
                if (!fill(transport, CHUNK_HEADER_LENGTH) || !onChunk(transport, handler))
                {
                    return;
                }
            }
            else
            {
                throw violation("bad reply magic 0x" + Integer.toHexString(magic));
            }
        }
    }

    /**
     * @return completions made since the last call, and resets the count.
     */
    int takeCompleted()
    {
        final int count = completed;
        completed = 0;
        return count;
    }

    boolean shutdownSeen()
    {
        return shutdownSeen;
    }

    long dataChunks()
    {
        return dataChunks;
    }

    long holeChunks()
    {
        return holeChunks;
    }

    long errorChunks()
    {
        return errorChunks;
    }

    String lastErrorMessage()
    {
        return errorChunks == 0 ? null : new String(lastMessage, 0, lastMessageLength, StandardCharsets.UTF_8);
    }

    private void onSimpleReply(final NbdCompletionHandler handler) throws NbdException
    {
        final int error = receiveBuffer.getInt(readIndex + SIMPLE_ERROR_OFFSET, ByteOrder.BIG_ENDIAN);
        final int slot = slotOf(receiveBuffer.getLong(readIndex + SIMPLE_COOKIE_OFFSET, ByteOrder.BIG_ENDIAN));
        if (table.chunked[slot])
        {
            throw violation("a simple reply to a request already answered in part by structured chunks");
        }
        readIndex += SIMPLE_REPLY_LENGTH;
        if (table.command[slot] == NBD_CMD_READ && error == 0)
        {
            if (structured)
            {
                throw violation("a simple reply with data to a read, after structured replies were agreed");
            }
            startData(slot, table.address[slot], table.length[slot], THEN_COMPLETE);
            return;
        }
        complete(slot, error == 0 ? 0 : errno(error), handler);
    }

    private boolean onChunk(final NbdTransport transport, final NbdCompletionHandler handler) throws IOException
    {
        if (!structured)
        {
            throw violation("a structured reply chunk, though structured replies were not agreed");
        }
        final int flags = receiveBuffer.getShort(readIndex + CHUNK_FLAGS_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        final int type = receiveBuffer.getShort(readIndex + CHUNK_TYPE_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        final int slot = slotOf(receiveBuffer.getLong(readIndex + CHUNK_COOKIE_OFFSET, ByteOrder.BIG_ENDIAN));
        final long length = receiveBuffer.getInt(readIndex + CHUNK_LENGTH_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL;
        final boolean done = (flags & NBD_REPLY_FLAG_DONE) != 0;
        final boolean read = table.command[slot] == NBD_CMD_READ;
        final int payloadAt = readIndex + CHUNK_HEADER_LENGTH;

        if (type == NBD_REPLY_TYPE_OFFSET_DATA)
        {
            if (!read || length <= CHUNK_OFFSET_LENGTH)
            {
                throw violation(read ? "an OFFSET_DATA chunk of " + length + " bytes" : "an OFFSET_DATA chunk to a " +
                    "request that is not a read");
            }
            if (!fill(transport, CHUNK_HEADER_LENGTH + CHUNK_OFFSET_LENGTH))
            {
                return false;
            }
            final long relative = addPiece(slot, receiveBuffer.getLong(payloadAt, ByteOrder.BIG_ENDIAN),
                length - CHUNK_OFFSET_LENGTH);
            table.chunked[slot] = true;
            readIndex = payloadAt + CHUNK_OFFSET_LENGTH;
            dataChunks++;
            startData(slot, table.address[slot] + relative, length - CHUNK_OFFSET_LENGTH,
                done ? THEN_FINISH_REPLY : THEN_NEXT_CHUNK);
            return true;
        }
        if (type != NBD_REPLY_TYPE_NONE && type != NBD_REPLY_TYPE_OFFSET_HOLE &&
            (type & NBD_REPLY_TYPE_ERROR_BIT) == 0)
        {
            throw violation("unknown structured reply type " + type);
        }
        if (length > MAX_CONTROL_PAYLOAD)
        {
            throw violation("a chunk of type " + type + " with " + length + " bytes of payload");
        }
        if (!fill(transport, CHUNK_HEADER_LENGTH + (int)length))
        {
            return false;
        }
        table.chunked[slot] = true;
        if (type == NBD_REPLY_TYPE_NONE)
        {
            if (length != 0 || !done)
            {
                throw violation("a NONE chunk must have no payload and the DONE flag");
            }
        }
        else if (type == NBD_REPLY_TYPE_OFFSET_HOLE)
        {
            if (!read || length != HOLE_PAYLOAD_LENGTH)
            {
                throw violation(read ? "an OFFSET_HOLE chunk of " + length + " bytes" : "an OFFSET_HOLE chunk to a " +
                    "request that is not a read");
            }
            final long holeSize = receiveBuffer.getInt(payloadAt + 8, ByteOrder.BIG_ENDIAN) & 0xFFFF_FFFFL;
            final long relative = addPiece(slot, receiveBuffer.getLong(payloadAt, ByteOrder.BIG_ENDIAN), holeSize);
            UnsafeApi.setMemory(table.address[slot] + relative, holeSize, (byte)0);
            holeChunks++;
        }
        else
        {
            onErrorChunk(slot, type, (int)length, payloadAt);
        }
        readIndex = payloadAt + (int)length;
        if (done)
        {
            finishReply(slot, handler);
        }
        return true;
    }

    private void onErrorChunk(final int slot, final int type, final int length, final int payloadAt)
        throws NbdException
    {
        if (length < ERROR_PAYLOAD_MIN)
        {
            throw violation("an error chunk of " + length + " bytes");
        }
        final int error = receiveBuffer.getInt(payloadAt, ByteOrder.BIG_ENDIAN);
        final int messageLength = receiveBuffer.getShort(payloadAt + 4, ByteOrder.BIG_ENDIAN) & 0xFFFF;
        final int fixed = type == NBD_REPLY_TYPE_ERROR_OFFSET ? ERROR_OFFSET_PAYLOAD_MIN : ERROR_PAYLOAD_MIN;
        if (error == 0 || messageLength > length - fixed)
        {
            throw violation(error == 0 ? "an error chunk with error 0" : "an error chunk whose message (" +
                messageLength + " bytes) does not fit in it (" + length + " bytes)");
        }
        if (type == NBD_REPLY_TYPE_ERROR_OFFSET)
        {
            final long at = receiveBuffer.getLong(payloadAt + ERROR_PAYLOAD_MIN + messageLength, ByteOrder.BIG_ENDIAN);
            final long requestLength = table.length[slot];
            if (requestLength > 0 && (at < table.offset[slot] || at - table.offset[slot] >= requestLength))
            {
                throw violation("an ERROR_OFFSET chunk at " + Long.toUnsignedString(at) + ", outside its request");
            }
        }
        lastMessageLength = Math.min(messageLength, KEPT_MESSAGE_LENGTH);
        receiveBuffer.getBytes(payloadAt + ERROR_PAYLOAD_MIN, lastMessage, 0, lastMessageLength);
        errorChunks++;
        if (table.errno[slot] == 0)
        {
            // The first error decides; NBD_REPLY_TYPE_ERROR and unknown error types alike fail the whole request.
            table.errno[slot] = errno(error);
        }
    }

    /**
     * @return the piece's start relative to its request.
     */
    private long addPiece(final int slot, final long offset, final long pieceLength) throws NbdException
    {
        final long relative = offset - table.offset[slot];
        if (pieceLength <= 0 || offset < 0 || relative < 0 || relative > table.length[slot] - pieceLength)
        {
            throw violation("a chunk for bytes " + Long.toUnsignedString(offset) + "+" + pieceLength +
                ", outside its request (" + table.offset[slot] + "+" + table.length[slot] + ")");
        }
        final int added = table.addPiece(slot, relative, relative + pieceLength);
        if (added != NbdRequestTable.PIECE_ADDED)
        {
            throw violation(added == NbdRequestTable.PIECE_OVERLAPS ? "a chunk overlapping an earlier one of the " +
                "same reply" : "a read reply in more than " + NbdRequestTable.MAX_PIECES + " disjoint pieces at once");
        }
        return relative;
    }

    private void finishReply(final int slot, final NbdCompletionHandler handler) throws NbdException
    {
        final int errno = table.errno[slot];
        if (errno == 0 && table.command[slot] == NBD_CMD_READ && table.bytesCovered(slot) != table.length[slot])
        {
            throw violation("a read answered as done without error after " + table.bytesCovered(slot) + " of its " +
                table.length[slot] + " bytes");
        }
        complete(slot, errno, handler);
    }

    private void startData(final int slot, final long address, final long length, final int then)
    {
        dataSlot = slot;
        dataAddress = address;
        dataRemaining = length;
        dataThen = then;
    }

    /**
     * @return false when the socket has nothing more for now.
     */
    private boolean moveData(final NbdTransport transport) throws IOException
    {
        final int buffered = writeIndex - readIndex;
        if (buffered > 0)
        {
            final int copy = (int)Math.min(buffered, dataRemaining);
            UnsafeApi.copyMemory(receiveBuffer.addressOffset() + readIndex, dataAddress, copy);
            readIndex += copy;
            dataAddress += copy;
            dataRemaining -= copy;
            return true;
        }
        if (dataRemaining < DIRECT_READ_THRESHOLD)
        {
            return fill(transport, 1);
        }
        NativeBufferView.point(dataView, dataAddress, (int)Math.min(dataRemaining, Integer.MAX_VALUE));
        final int read = transport.read(dataView);
        if (read < 0)
        {
            throw new EOFException("the server closed the connection in the middle of a reply's data");
        }
        dataAddress += read;
        dataRemaining -= read;
        return read > 0;
    }

    /**
     * @return true when at least {@code bytes} are in the receive buffer; false when the socket has no more now.
     */
    private boolean fill(final NbdTransport transport, final int bytes) throws IOException
    {
        while (writeIndex - readIndex < bytes)
        {
            if (readIndex == writeIndex)
            {
                readIndex = 0;
                writeIndex = 0;
            }
            else if (readIndex + bytes > RECEIVE_CAPACITY)
            {
                final int buffered = writeIndex - readIndex;
                receiveBuffer.putBytes(0, receiveBuffer, readIndex, buffered);
                readIndex = 0;
                writeIndex = buffered;
            }
            receive.limit(RECEIVE_CAPACITY).position(writeIndex);
            final int read = transport.read(receive);
            if (read < 0)
            {
                throw new EOFException(readIndex == writeIndex && dataRemaining == 0 ? "the server closed the " +
                    "connection" : "the server closed the connection in the middle of a reply");
            }
            if (read == 0)
            {
                return false;
            }
            writeIndex += read;
        }
        return true;
    }

    private int slotOf(final long wireCookie) throws NbdException
    {
        final int slot = table.slotOf(wireCookie);
        if (slot < 0)
        {
            throw violation("a reply with cookie 0x" + Long.toHexString(wireCookie) + ", which answers no request " +
                "in flight");
        }
        return slot;
    }

    private int errno(final int nbdError)
    {
        final int errno = errnoOf(nbdError);
        if (errno == ESHUTDOWN)
        {
            shutdownSeen = true;
        }
        return errno;
    }

    private void complete(final int slot, final int errno, final NbdCompletionHandler handler)
    {
        dataSlot = -1;
        final long cookie = table.release(slot);
        completed++;
        handler.onCompletion(cookie, errno);
    }

    private static NbdException violation(final String what)
    {
        return new NbdException("protocol violation: " + what);
    }
}
