package org.dom0j.nbd;

/**
 * The layouts of the transmission phase's three messages (NBD {@code doc/proto.md}, "Request message", "Simple reply
 * message", "Structured reply chunk message"). All fields are big-endian.
 * <pre>
 *  request (client to server), 28 bytes, then length bytes of data for NBD_CMD_WRITE
 *  +----------------+--------+--------+--------------------------------+-------------------------------+--------+
 *  | magic 25609513 | flags  | type   | cookie (64)                    | offset (64)                   | length |
 *  +----------------+--------+--------+--------------------------------+-------------------------------+--------+
 *  0                4        6        8                                16                              24       28
 *
 *  simple reply, 16 bytes, then the request's length bytes of data for a successful NBD_CMD_READ
 *  +----------------+----------------+--------------------------------+
 *  | magic 67446698 | error          | cookie (64)                    |
 *  +----------------+----------------+--------------------------------+
 *  0                4                8                                16
 *
 *  structured reply chunk, 20 bytes, then length bytes of payload
 *  +----------------+--------+--------+--------------------------------+----------------+
 *  | magic 668e33ef | flags  | type   | cookie (64)                    | length         |
 *  +----------------+--------+--------+--------------------------------+----------------+
 *  0                4        6        8                                16               20
 * </pre>
 * Constants only; any thread.
 */
public final class NbdDescriptor
{
    /** {@code NBD_REQUEST_MAGIC}. */
    public static final int REQUEST_MAGIC = 0x25609513;
    /** {@code NBD_SIMPLE_REPLY_MAGIC}. */
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    /** {@code NBD_STRUCTURED_REPLY_MAGIC}. */
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    /** Offset of every message's magic. */
    public static final int MAGIC_OFFSET = 0;

    /** Offset of a request's command flags. */
    public static final int REQUEST_FLAGS_OFFSET = 4;
    /** Offset of a request's type. */
    public static final int REQUEST_TYPE_OFFSET = 6;
    /** Offset of a request's cookie. */
    public static final int REQUEST_COOKIE_OFFSET = 8;
    /** Offset of a request's offset. */
    public static final int REQUEST_OFFSET_OFFSET = 16;
    /** Offset of a request's length. */
    public static final int REQUEST_LENGTH_OFFSET = 24;
    /** Size of a request header. */
    public static final int REQUEST_LENGTH = 28;

    /** Offset of a simple reply's error. */
    public static final int SIMPLE_ERROR_OFFSET = 4;
    /** Offset of a simple reply's cookie. */
    public static final int SIMPLE_COOKIE_OFFSET = 8;
    /** Size of a simple reply header. */
    public static final int SIMPLE_REPLY_LENGTH = 16;

    /** Offset of a chunk's flags. */
    public static final int CHUNK_FLAGS_OFFSET = 4;
    /** Offset of a chunk's type. */
    public static final int CHUNK_TYPE_OFFSET = 6;
    /** Offset of a chunk's cookie. */
    public static final int CHUNK_COOKIE_OFFSET = 8;
    /** Offset of a chunk's payload length. */
    public static final int CHUNK_LENGTH_OFFSET = 16;
    /** Size of a chunk header. */
    public static final int CHUNK_HEADER_LENGTH = 20;

    /** OFFSET_DATA and OFFSET_HOLE payloads start with the offset in the export, 64 bits. */
    public static final int CHUNK_OFFSET_LENGTH = 8;
    /** The payload of an OFFSET_HOLE chunk: offset (64 bits), hole size (32 bits). */
    public static final int HOLE_PAYLOAD_LENGTH = 12;
    /** An error chunk's payload starts with the error (32 bits) and the message length (16 bits). */
    public static final int ERROR_PAYLOAD_MIN = 6;
    /** ERROR_OFFSET's payload: error, message length, message, then the offset (64 bits). */
    public static final int ERROR_OFFSET_PAYLOAD_MIN = 14;

    private NbdDescriptor()
    {
    }
}
