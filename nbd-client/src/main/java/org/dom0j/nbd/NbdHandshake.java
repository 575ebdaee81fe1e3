package org.dom0j.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.dom0j.nbd.NbdConstants.CLISERV_MAGIC;
import static org.dom0j.nbd.NbdConstants.DEFAULT_MINIMUM_BLOCK_SIZE;
import static org.dom0j.nbd.NbdConstants.DEFAULT_PREFERRED_BLOCK_SIZE;
import static org.dom0j.nbd.NbdConstants.IHAVEOPT;
import static org.dom0j.nbd.NbdConstants.MAX_MINIMUM_BLOCK_SIZE;
import static org.dom0j.nbd.NbdConstants.MAX_PAYLOAD_LIMIT;
import static org.dom0j.nbd.NbdConstants.MAX_STRING_LENGTH;
import static org.dom0j.nbd.NbdConstants.NBDMAGIC;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_C_FIXED_NEWSTYLE;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_C_NO_ZEROES;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_FIXED_NEWSTYLE;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_HAS_FLAGS;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_NO_ZEROES;
import static org.dom0j.nbd.NbdConstants.NBD_INFO_BLOCK_SIZE;
import static org.dom0j.nbd.NbdConstants.NBD_INFO_EXPORT;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_ABORT;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_EXPORT_NAME;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_GO;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_STRUCTURED_REPLY;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ACK;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_POLICY;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_SHUTDOWN;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_TLS_REQD;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_UNKNOWN;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_UNSUP;
import static org.dom0j.nbd.NbdConstants.NBD_REP_FLAG_ERROR;
import static org.dom0j.nbd.NbdConstants.NBD_REP_INFO;
import static org.dom0j.nbd.NbdConstants.OPTION_REPLY_MAGIC;
import static org.dom0j.nbd.NbdConstants.optionReplyName;

/**
 * The client's side of the fixed newstyle handshake (NBD {@code doc/proto.md}, "Handshake"):
 * <ol>
 *   <li>The server greets with {@code NBDMAGIC}, {@code IHAVEOPT} and 16 handshake flags; this client needs
 *       {@code NBD_FLAG_FIXED_NEWSTYLE} (oldstyle and plain newstyle servers are refused by name) and answers with
 *       {@code NBD_FLAG_C_FIXED_NEWSTYLE}, plus {@code NBD_FLAG_C_NO_ZEROES} when the server offered it.</li>
 *   <li>{@code NBD_OPT_STRUCTURED_REPLY}: {@code NBD_REP_ACK} turns structured replies on; an error reply
 *       ({@code NBD_REP_ERR_UNSUP} from older servers) leaves simple replies.</li>
 *   <li>{@code NBD_OPT_GO} with the export name and two information requests, {@code NBD_INFO_EXPORT} and
 *       {@code NBD_INFO_BLOCK_SIZE}; the server answers with {@code NBD_REP_INFO}s and then {@code NBD_REP_ACK}
 *       (transmission starts) or an error: {@code NBD_REP_ERR_UNKNOWN} (no such export) and the others end the
 *       attempt with an {@link NbdException} quoting the server's message, after a polite {@code NBD_OPT_ABORT};
 *       {@code NBD_REP_ERR_UNSUP} (a server without GO) falls back to {@code NBD_OPT_EXPORT_NAME}, whose only way
 *       to refuse is to hang up, and which gives no block sizes (the specification's defaults apply).</li>
 * </ol>
 * Every option reply is checked: its magic, that it answers the option sent, a length of at most 64 KiB. The block
 * sizes must be what the specification allows (minimum a power of two up to 64 KiB, preferred a power of two not
 * below it, maximum not below the preferred). Runs once per connection, on the caller's thread; allocates freely.
 */
final class NbdHandshake
{
    private static final int OPTION_HEADER_LENGTH = 16;
    private static final int OPTION_REPLY_HEADER_LENGTH = 20;
    private static final int MAX_OPTION_REPLY_LENGTH = 64 * 1024;
    private static final int EXPORT_NAME_REPLY_LENGTH = 10;
    private static final int EXPORT_NAME_ZEROES = 124;
    private static final int INFO_EXPORT_LENGTH = 12;
    private static final int INFO_BLOCK_SIZE_LENGTH = 14;

    private final NbdTransport transport;
    private final String exportName;
    private final byte[] exportNameBytes;
    private final long deadlineNanos;
    private final String where;

    private boolean noZeroes;
    private int replyType;
    private ByteBuffer replyPayload;

    private NbdHandshake(final NbdTransport transport, final String exportName, final long deadlineNanos)
    {
        this.transport = transport;
        this.exportName = exportName;
        this.exportNameBytes = exportName.getBytes(StandardCharsets.UTF_8);
        this.deadlineNanos = deadlineNanos;
        this.where = transport.peer() + ": ";
    }

    /**
     * @param transport     a socket just connected to the server.
     * @param exportName    the export to ask for.
     * @param deadlineNanos {@link System#nanoTime()} by which the handshake must be over.
     * @return what was agreed; the socket is in the transmission phase.
     * @throws IOException when the server refuses, breaks the protocol, hangs up or is too slow. The caller closes
     *                     the socket.
     */
    static NbdExport negotiate(final NbdTransport transport, final String exportName, final long deadlineNanos)
        throws IOException
    {
        try
        {
            return new NbdHandshake(transport, exportName, deadlineNanos).run();
        }
        catch (final EOFException ex)
        {
            throw new NbdException(ex.getMessage(), 0, ex);
        }
    }

    private NbdExport run() throws IOException
    {
        final ByteBuffer greeting = ByteBuffer.allocate(18);
        transport.readFully(greeting, deadlineNanos, "reading the server's greeting");
        final long magic = greeting.getLong(0);
        if (magic != NBDMAGIC)
        {
            throw new NbdException(where + "not an NBD server: the greeting starts 0x" + Long.toHexString(magic) +
                ", not NBDMAGIC");
        }
        final long style = greeting.getLong(8);
        if (style == CLISERV_MAGIC)
        {
            throw new NbdException(where + "the server uses oldstyle negotiation, which this client does not support");
        }
        if (style != IHAVEOPT)
        {
            throw new NbdException(where + "bad magic 0x" + Long.toHexString(style) + " after NBDMAGIC (expected "
                + "IHAVEOPT)");
        }
        final int handshakeFlags = greeting.getShort(16) & 0xFFFF;
        if ((handshakeFlags & NBD_FLAG_FIXED_NEWSTYLE) == 0)
        {
            throw new NbdException(where + "the server does not offer fixed newstyle negotiation (handshake flags 0x" +
                Integer.toHexString(handshakeFlags) + "), which this client needs");
        }
        noZeroes = (handshakeFlags & NBD_FLAG_NO_ZEROES) != 0;
        final ByteBuffer clientFlags = ByteBuffer.allocate(4);
        clientFlags.putInt(0, NBD_FLAG_C_FIXED_NEWSTYLE | (noZeroes ? NBD_FLAG_C_NO_ZEROES : 0));
        transport.writeFully(clientFlags, deadlineNanos, "sending the client flags");

        final boolean structured = negotiateStructuredReplies();
        final NbdExport export = go(structured);
        return export != null ? export : exportNameFallback(structured);
    }

    private boolean negotiateStructuredReplies() throws IOException
    {
        sendOption(NBD_OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
        readOptionReply(NBD_OPT_STRUCTURED_REPLY);
        if (replyType == NBD_REP_ACK)
        {
            if (replyPayload.capacity() != 0)
            {
                throw new NbdException(where + "NBD_REP_ACK to NBD_OPT_STRUCTURED_REPLY carries " +
                    replyPayload.capacity() + " bytes; it has none");
            }
            return true;
        }
        if ((replyType & NBD_REP_FLAG_ERROR) == 0)
        {
            throw new NbdException(where + "unexpected " + optionReplyName(replyType) + " to NBD_OPT_STRUCTURED_REPLY");
        }
        if (replyType == NBD_REP_ERR_TLS_REQD || replyType == NBD_REP_ERR_SHUTDOWN)
        {
            throw refused("NBD_OPT_STRUCTURED_REPLY");
        }
        return false;
    }

    private NbdExport go(final boolean structured) throws IOException
    {
        final ByteBuffer data = ByteBuffer.allocate(4 + exportNameBytes.length + 2 + 2 * 2);
        data.putInt(exportNameBytes.length).put(exportNameBytes).putShort((short)2)
            .putShort((short)NBD_INFO_EXPORT).putShort((short)NBD_INFO_BLOCK_SIZE).flip();
        sendOption(NBD_OPT_GO, data);

        boolean exportInfo = false;
        long size = 0;
        int flags = 0;
        int minimum = DEFAULT_MINIMUM_BLOCK_SIZE;
        int preferred = DEFAULT_PREFERRED_BLOCK_SIZE;
        long maximum = MAX_PAYLOAD_LIMIT;
        while (true)
        {
            readOptionReply(NBD_OPT_GO);
            if (replyType == NBD_REP_INFO)
            {
                final int length = replyPayload.capacity();
                if (length < 2)
                {
                    throw new NbdException(where + "NBD_REP_INFO of " + length + " bytes (at least 2)");
                }
                final int info = replyPayload.getShort(0) & 0xFFFF;
                if (info == NBD_INFO_EXPORT)
                {
                    checkInfoLength("NBD_INFO_EXPORT", length, INFO_EXPORT_LENGTH);
                    exportInfo = true;
                    size = replyPayload.getLong(2);
                    flags = replyPayload.getShort(10) & 0xFFFF;
                }
                else if (info == NBD_INFO_BLOCK_SIZE)
                {
                    checkInfoLength("NBD_INFO_BLOCK_SIZE", length, INFO_BLOCK_SIZE_LENGTH);
                    minimum = replyPayload.getInt(2);
                    preferred = replyPayload.getInt(6);
                    maximum = replyPayload.getInt(10) & 0xFFFF_FFFFL;
                }
                // Other information (NBD_INFO_NAME, NBD_INFO_DESCRIPTION, ...) is not needed; the spec says ignore.
            }
            else if (replyType == NBD_REP_ACK)
            {
                if (!exportInfo)
                {
                    throw new NbdException(where + "NBD_REP_ACK to NBD_OPT_GO without NBD_INFO_EXPORT for export '" +
                        exportName + "'");
                }
                return export(size, flags, minimum, preferred, maximum, structured, true);
            }
            else if (replyType == NBD_REP_ERR_UNSUP)
            {
                return null;
            }
            else if ((replyType & NBD_REP_FLAG_ERROR) != 0)
            {
                throw refused("NBD_OPT_GO");
            }
            else
            {
                throw new NbdException(where + "unexpected " + optionReplyName(replyType) + " to NBD_OPT_GO");
            }
        }
    }

    private NbdExport exportNameFallback(final boolean structured) throws IOException
    {
        sendOption(NBD_OPT_EXPORT_NAME, ByteBuffer.wrap(exportNameBytes));
        final ByteBuffer reply = ByteBuffer.allocate(EXPORT_NAME_REPLY_LENGTH + (noZeroes ? 0 : EXPORT_NAME_ZEROES));
        try
        {
            transport.readFully(reply, deadlineNanos, "waiting for the answer to NBD_OPT_EXPORT_NAME");
        }
        catch (final EOFException ex)
        {
            throw new NbdException(where + "export '" + exportName + "' does not exist or was refused: the server " +
                "closed the connection after NBD_OPT_EXPORT_NAME (it knows no NBD_OPT_GO to say why)", 0, ex);
        }
        return export(reply.getLong(0), reply.getShort(8) & 0xFFFF, DEFAULT_MINIMUM_BLOCK_SIZE,
            DEFAULT_PREFERRED_BLOCK_SIZE, MAX_PAYLOAD_LIMIT, structured, false);
    }

    private NbdExport export(
        final long size,
        final int flags,
        final int minimum,
        final int preferred,
        final long maximum,
        final boolean structured,
        final boolean go) throws NbdException
    {
        if (size < 0)
        {
            throw new NbdException(where + "export '" + exportName + "' has a size of 2^63 bytes or more");
        }
        if (minimum < 1 || minimum > MAX_MINIMUM_BLOCK_SIZE || Integer.bitCount(minimum) != 1 ||
            preferred < minimum || Integer.bitCount(preferred) != 1 || maximum < preferred)
        {
            throw new NbdException(where + "export '" + exportName + "': block sizes minimum " + minimum +
                ", preferred " + preferred + ", maximum " + maximum + " break the NBD specification's rules");
        }
        // Capped at 2^25, the most a client may count on; kept a multiple of the minimum so it is usable whole.
        final int payload = (int)Math.min(maximum, MAX_PAYLOAD_LIMIT) & -minimum;
        // Without NBD_FLAG_HAS_FLAGS the other bits mean nothing: no optional command is used.
        final int transmissionFlags = (flags & NBD_FLAG_HAS_FLAGS) != 0 ? flags : 0;
        return new NbdExport(exportName, size, transmissionFlags, minimum, preferred, payload, structured, go);
    }

    private void checkInfoLength(final String info, final int length, final int expected) throws NbdException
    {
        if (length != expected)
        {
            throw new NbdException(where + info + " of " + length + " bytes (must be " + expected + ")");
        }
    }

    private NbdException refused(final String option)
    {
        final String message = replyPayload.capacity() == 0 ? "" : " (server says: '" + message() + "')";
        final String what;
        switch (replyType)
        {
            case NBD_REP_ERR_UNKNOWN:
                what = "export '" + exportName + "' does not exist on the server";
                break;
            case NBD_REP_ERR_TLS_REQD:
                what = "the server requires TLS (for export '" + exportName + "', or it hides that the export does " +
                    "not exist), which this client does not support";
                break;
            case NBD_REP_ERR_POLICY:
                what = "the server's policy refuses export '" + exportName + "'";
                break;
            case NBD_REP_ERR_SHUTDOWN:
                what = "the server is shutting down";
                break;
            default:
                what = "the server refused " + option + " for export '" + exportName + "'";
                break;
        }
        abort();
        return new NbdException(where + what + ": " + optionReplyName(replyType) + message, replyType, null);
    }

    private String message()
    {
        final int length = Math.min(replyPayload.capacity(), MAX_STRING_LENGTH);
        final String text = new String(replyPayload.array(), 0, length, StandardCharsets.UTF_8);
        final StringBuilder printable = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            printable.append(Character.isISOControl(c) ? '?' : c);
        }
        return printable.toString();
    }

    private void abort()
    {
        try
        {
            // NBD_OPT_ABORT is the soft disconnect the spec asks for; its reply is not awaited.
            sendOption(NBD_OPT_ABORT, ByteBuffer.allocate(0));
        }
        catch (final IOException ignore)
        {
            // The server may already be gone; the caller closes the socket either way.
        }
    }

    private void sendOption(final int option, final ByteBuffer data) throws IOException
    {
        final ByteBuffer header = ByteBuffer.allocate(OPTION_HEADER_LENGTH);
        header.putLong(IHAVEOPT).putInt(option).putInt(data.remaining()).flip();
        transport.writeFully(header, deadlineNanos, "sending an option");
        transport.writeFully(data, deadlineNanos, "sending an option");
    }

    private void readOptionReply(final int option) throws IOException
    {
        final ByteBuffer header = ByteBuffer.allocate(OPTION_REPLY_HEADER_LENGTH);
        final String what = "waiting for the reply to option " + option;
        transport.readFully(header, deadlineNanos, what);
        final long magic = header.getLong(0);
        if (magic != OPTION_REPLY_MAGIC)
        {
            throw new NbdException(where + "bad option reply magic 0x" + Long.toHexString(magic));
        }
        final int repliedTo = header.getInt(8);
        if (repliedTo != option)
        {
            throw new NbdException(where + "a reply to option " + repliedTo + " came when option " + option +
                " was asked");
        }
        replyType = header.getInt(12);
        final long length = header.getInt(16) & 0xFFFF_FFFFL;
        if (length > MAX_OPTION_REPLY_LENGTH)
        {
            throw new NbdException(where + optionReplyName(replyType) + " of " + length + " bytes (at most " +
                MAX_OPTION_REPLY_LENGTH + " are accepted)");
        }
        replyPayload = ByteBuffer.allocate((int)length);
        transport.readFully(replyPayload, deadlineNanos, what);
    }
}
