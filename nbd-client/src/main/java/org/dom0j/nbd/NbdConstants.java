package org.dom0j.nbd;

/**
 * The NBD protocol's numbers, as {@code doc/proto.md} of the NetworkBlockDevice/nbd repository defines them, and the
 * errno values this client reports. Every number on the wire is big-endian.
 * <p>
 * The NBD error values were chosen to equal Linux's errno values for the same conditions, so an NBD error maps to
 * the errno of the same number; a value the protocol does not define is reported as {@link #EINVAL}, as the
 * specification asks of clients.
 * <p>
 * Constants only; any thread.
 */
public final class NbdConstants
{
    /** The IANA port for NBD over TCP. */
    public static final int DEFAULT_PORT = 10809;

    /** {@code NBDMAGIC} ({@code INIT_PASSWD}), the first 8 bytes a server sends. */
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    /** {@code IHAVEOPT}: the second 8 bytes of a newstyle server, and the start of every option a client sends. */
    public static final long IHAVEOPT = 0x49484156454F5054L;
    /** {@code cliserv_magic}: the second 8 bytes of an oldstyle server, which this client does not speak. */
    public static final long CLISERV_MAGIC = 0x00420281861253L;
    /** Magic of a fixed newstyle option reply. */
    public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;

    /** Handshake flag {@code NBD_FLAG_FIXED_NEWSTYLE}. */
    public static final int NBD_FLAG_FIXED_NEWSTYLE = 1;
    /** Handshake flag {@code NBD_FLAG_NO_ZEROES}: the server can leave out the 124 zeroes after EXPORT_NAME. */
    public static final int NBD_FLAG_NO_ZEROES = 1 << 1;
    /** Client flag {@code NBD_FLAG_C_FIXED_NEWSTYLE}. */
    public static final int NBD_FLAG_C_FIXED_NEWSTYLE = 1;
    /** Client flag {@code NBD_FLAG_C_NO_ZEROES}; only sent when the server offered {@link #NBD_FLAG_NO_ZEROES}. */
    public static final int NBD_FLAG_C_NO_ZEROES = 1 << 1;

    /** Option {@code NBD_OPT_EXPORT_NAME}: chooses the export and ends the handshake; errors are a hang-up. */
    public static final int NBD_OPT_EXPORT_NAME = 1;
    /** Option {@code NBD_OPT_ABORT}: the client's soft disconnect during the handshake. */
    public static final int NBD_OPT_ABORT = 2;
    /** Option {@code NBD_OPT_GO}: chooses the export with information requests and error replies. */
    public static final int NBD_OPT_GO = 7;
    /** Option {@code NBD_OPT_STRUCTURED_REPLY}. */
    public static final int NBD_OPT_STRUCTURED_REPLY = 8;

    /** Option reply {@code NBD_REP_ACK}. */
    public static final int NBD_REP_ACK = 1;
    /** Option reply {@code NBD_REP_INFO}: one item of information about the export. */
    public static final int NBD_REP_INFO = 3;
    /** Bit 31 marks an option reply as an error. */
    public static final int NBD_REP_FLAG_ERROR = 1 << 31;
    /** {@code NBD_REP_ERR_UNSUP}: the server does not know the option. */
    public static final int NBD_REP_ERR_UNSUP = NBD_REP_FLAG_ERROR | 1;
    /** {@code NBD_REP_ERR_POLICY}. */
    public static final int NBD_REP_ERR_POLICY = NBD_REP_FLAG_ERROR | 2;
    /** {@code NBD_REP_ERR_INVALID}. */
    public static final int NBD_REP_ERR_INVALID = NBD_REP_FLAG_ERROR | 3;
    /** {@code NBD_REP_ERR_PLATFORM}. */
    public static final int NBD_REP_ERR_PLATFORM = NBD_REP_FLAG_ERROR | 4;
    /** {@code NBD_REP_ERR_TLS_REQD}. */
    public static final int NBD_REP_ERR_TLS_REQD = NBD_REP_FLAG_ERROR | 5;
    /** {@code NBD_REP_ERR_UNKNOWN}: the export does not exist. */
    public static final int NBD_REP_ERR_UNKNOWN = NBD_REP_FLAG_ERROR | 6;
    /** {@code NBD_REP_ERR_SHUTDOWN}. */
    public static final int NBD_REP_ERR_SHUTDOWN = NBD_REP_FLAG_ERROR | 7;
    /** {@code NBD_REP_ERR_BLOCK_SIZE_REQD}. */
    public static final int NBD_REP_ERR_BLOCK_SIZE_REQD = NBD_REP_FLAG_ERROR | 8;
    /** {@code NBD_REP_ERR_TOO_BIG}. */
    public static final int NBD_REP_ERR_TOO_BIG = NBD_REP_FLAG_ERROR | 9;

    /** Information type {@code NBD_INFO_EXPORT}: size (64 bits) and transmission flags (16 bits). */
    public static final int NBD_INFO_EXPORT = 0;
    /** Information type {@code NBD_INFO_BLOCK_SIZE}: minimum, preferred and maximum sizes (32 bits each). */
    public static final int NBD_INFO_BLOCK_SIZE = 3;

    /** Transmission flag {@code NBD_FLAG_HAS_FLAGS}: always set by a server. */
    public static final int NBD_FLAG_HAS_FLAGS = 1;
    /** Transmission flag {@code NBD_FLAG_READ_ONLY}. */
    public static final int NBD_FLAG_READ_ONLY = 1 << 1;
    /** Transmission flag {@code NBD_FLAG_SEND_FLUSH}. */
    public static final int NBD_FLAG_SEND_FLUSH = 1 << 2;
    /** Transmission flag {@code NBD_FLAG_SEND_FUA}. */
    public static final int NBD_FLAG_SEND_FUA = 1 << 3;
    /** Transmission flag {@code NBD_FLAG_ROTATIONAL}. */
    public static final int NBD_FLAG_ROTATIONAL = 1 << 4;
    /** Transmission flag {@code NBD_FLAG_SEND_TRIM}. */
    public static final int NBD_FLAG_SEND_TRIM = 1 << 5;
    /** Transmission flag {@code NBD_FLAG_SEND_WRITE_ZEROES} (and with it {@code NBD_CMD_FLAG_NO_HOLE}). */
    public static final int NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
    /** Transmission flag {@code NBD_FLAG_CAN_MULTI_CONN}: flush and FUA take effect across connections. */
    public static final int NBD_FLAG_CAN_MULTI_CONN = 1 << 8;

    /** Command {@code NBD_CMD_READ}. */
    public static final int NBD_CMD_READ = 0;
    /** Command {@code NBD_CMD_WRITE}. */
    public static final int NBD_CMD_WRITE = 1;
    /** Command {@code NBD_CMD_DISC}: the client's soft disconnect; it has no reply. */
    public static final int NBD_CMD_DISC = 2;
    /** Command {@code NBD_CMD_FLUSH}. */
    public static final int NBD_CMD_FLUSH = 3;
    /** Command {@code NBD_CMD_TRIM}. */
    public static final int NBD_CMD_TRIM = 4;
    /** Command {@code NBD_CMD_WRITE_ZEROES}. */
    public static final int NBD_CMD_WRITE_ZEROES = 6;

    /** Command flag {@code NBD_CMD_FLAG_FUA}. */
    public static final int NBD_CMD_FLAG_FUA = 1;
    /** Command flag {@code NBD_CMD_FLAG_NO_HOLE}, for WRITE_ZEROES. */
    public static final int NBD_CMD_FLAG_NO_HOLE = 1 << 1;

    /** Structured reply flag {@code NBD_REPLY_FLAG_DONE}: the last chunk of a reply. */
    public static final int NBD_REPLY_FLAG_DONE = 1;
    /** Structured reply type {@code NBD_REPLY_TYPE_NONE}: no payload, always with DONE. */
    public static final int NBD_REPLY_TYPE_NONE = 0;
    /** Structured reply type {@code NBD_REPLY_TYPE_OFFSET_DATA}: offset (64 bits) then data. */
    public static final int NBD_REPLY_TYPE_OFFSET_DATA = 1;
    /** Structured reply type {@code NBD_REPLY_TYPE_OFFSET_HOLE}: offset (64 bits), hole size (32 bits). */
    public static final int NBD_REPLY_TYPE_OFFSET_HOLE = 2;
    /** Bit 15 of a chunk type marks an error chunk. */
    public static final int NBD_REPLY_TYPE_ERROR_BIT = 1 << 15;
    /** Structured reply type {@code NBD_REPLY_TYPE_ERROR}: error, message length, message. */
    public static final int NBD_REPLY_TYPE_ERROR = NBD_REPLY_TYPE_ERROR_BIT | 1;
    /** Structured reply type {@code NBD_REPLY_TYPE_ERROR_OFFSET}: as ERROR, then the offset (64 bits). */
    public static final int NBD_REPLY_TYPE_ERROR_OFFSET = NBD_REPLY_TYPE_ERROR_BIT | 2;

    /** The largest payload a client may count on a server to take: 2^25 bytes (32 MiB). */
    public static final int MAX_PAYLOAD_LIMIT = 1 << 25;
    /** Default minimum block size, when the server sends none. */
    public static final int DEFAULT_MINIMUM_BLOCK_SIZE = 1;
    /** Default preferred block size, when the server sends none. */
    public static final int DEFAULT_PREFERRED_BLOCK_SIZE = 4096;
    /** The largest minimum block size a server may advertise. */
    public static final int MAX_MINIMUM_BLOCK_SIZE = 1 << 16;
    /** The longest string (export name, error message) the protocol allows, in bytes. */
    public static final int MAX_STRING_LENGTH = 4096;

    /** Success. */
    public static final int OK = 0;
    /** errno {@code EPERM}, NBD_EPERM: e.g. a write to a read-only export. */
    public static final int EPERM = 1;
    /** errno {@code EIO}, NBD_EIO; also every request in flight when the connection breaks. */
    public static final int EIO = 5;
    /** errno {@code ENOMEM}, NBD_ENOMEM. */
    public static final int ENOMEM = 12;
    /** errno {@code EINVAL}, NBD_EINVAL; also a request this client refuses (out of range, too large). */
    public static final int EINVAL = 22;
    /** errno {@code ENOSPC}, NBD_ENOSPC. */
    public static final int ENOSPC = 28;
    /** errno {@code EOVERFLOW}, NBD_EOVERFLOW. */
    public static final int EOVERFLOW = 75;
    /** errno {@code ENOTSUP} ({@code EOPNOTSUPP} on Linux), NBD_ENOTSUP; also a command the export lacks. */
    public static final int ENOTSUP = 95;
    /** errno {@code ESHUTDOWN}, NBD_ESHUTDOWN: the server is shutting down. */
    public static final int ESHUTDOWN = 108;

    private NbdConstants()
    {
    }

    /**
     * @param nbdError an error value from a reply; not zero.
     * @return the errno it stands for; {@link #EINVAL} for a value the protocol does not define.
     */
    public static int errnoOf(final int nbdError)
    {
        switch (nbdError)
        {
            case EPERM:
            case EIO:
            case ENOMEM:
            case EINVAL:
            case ENOSPC:
            case EOVERFLOW:
            case ENOTSUP:
            case ESHUTDOWN:
                return nbdError;
            default:
                return EINVAL;
        }
    }

    /**
     * @param errno a value {@link NbdCompletionHandler#onCompletion} reports.
     * @return its symbolic name, e.g. {@code "EIO"}, or {@code "errno N"}.
     */
    public static String errnoName(final int errno)
    {
        switch (errno)
        {
            case OK:
                return "OK";
            case EPERM:
                return "EPERM";
            case EIO:
                return "EIO";
            case ENOMEM:
                return "ENOMEM";
            case EINVAL:
                return "EINVAL";
            case ENOSPC:
                return "ENOSPC";
            case EOVERFLOW:
                return "EOVERFLOW";
            case ENOTSUP:
                return "ENOTSUP";
            case ESHUTDOWN:
                return "ESHUTDOWN";
            default:
                return "errno " + errno;
        }
    }

    /**
     * @param replyType an option reply type.
     * @return its name in the specification, e.g. {@code "NBD_REP_ERR_UNKNOWN"}, or its number in hex.
     */
    public static String optionReplyName(final int replyType)
    {
        switch (replyType)
        {
            case NBD_REP_ACK:
                return "NBD_REP_ACK";
            case NBD_REP_INFO:
                return "NBD_REP_INFO";
            case NBD_REP_ERR_UNSUP:
                return "NBD_REP_ERR_UNSUP";
            case NBD_REP_ERR_POLICY:
                return "NBD_REP_ERR_POLICY";
            case NBD_REP_ERR_INVALID:
                return "NBD_REP_ERR_INVALID";
            case NBD_REP_ERR_PLATFORM:
                return "NBD_REP_ERR_PLATFORM";
            case NBD_REP_ERR_TLS_REQD:
                return "NBD_REP_ERR_TLS_REQD";
            case NBD_REP_ERR_UNKNOWN:
                return "NBD_REP_ERR_UNKNOWN";
            case NBD_REP_ERR_SHUTDOWN:
                return "NBD_REP_ERR_SHUTDOWN";
            case NBD_REP_ERR_BLOCK_SIZE_REQD:
                return "NBD_REP_ERR_BLOCK_SIZE_REQD";
            case NBD_REP_ERR_TOO_BIG:
                return "NBD_REP_ERR_TOO_BIG";
            default:
                return "option reply 0x" + Integer.toHexString(replyType);
        }
    }
}
