package org.dom0j.xenstore;

/**
 * The message types of {@code enum xsd_sockmsg_type} (Xen's {@code xs_wire.h}), with their wire codes. Types
 * 23 to 26 (GET/SET_FEATURE, GET/SET_QUOTA) arrived after Xen 4.17; a 4.17 xenstored answers ENOSYS to them.
 * Immutable; any thread.
 */
public enum XsMessageType
{
    /** Debug and control commands for the daemon (privileged). */
    CONTROL(0),
    /** The names of a node's children. */
    DIRECTORY(1),
    /** A node's value. */
    READ(2),
    /** A node's permission list. */
    GET_PERMS(3),
    /** Register a watch. */
    WATCH(4),
    /** Remove a watch. */
    UNWATCH(5),
    /** Begin a transaction. */
    TRANSACTION_START(6),
    /** Commit ("T") or abort ("F") a transaction. */
    TRANSACTION_END(7),
    /** Tell xenstored about a new domain's ring (privileged). */
    INTRODUCE(8),
    /** Forget a domain (privileged). */
    RELEASE(9),
    /** "/local/domain/N". */
    GET_DOMAIN_PATH(10),
    /** Write a node, creating it and its parents. */
    WRITE(11),
    /** Create a node. */
    MKDIR(12),
    /** Remove a node and its children. */
    RM(13),
    /** Replace a node's permission list. */
    SET_PERMS(14),
    /** Sent by xenstored when a watched path changes. */
    WATCH_EVENT(15),
    /** xenstored's error reply: the errno's name. */
    ERROR(16),
    /** "T" or "F" (privileged). */
    IS_DOMAIN_INTRODUCED(17),
    /** Clear a domain's shutdown flag (privileged). */
    RESUME(18),
    /** Give a domain the privileges of another over its nodes (privileged). */
    SET_TARGET(19),
    /** Remove all of this connection's watches and transactions. */
    RESET_WATCHES(21),
    /** Part of a long child list, from an offset. */
    DIRECTORY_PART(22),
    /** The server's (or a domain's) feature bits. */
    GET_FEATURE(23),
    /** A domain's feature bits (privileged). */
    SET_FEATURE(24),
    /** A quota value, or the list of quota names. */
    GET_QUOTA(25),
    /** Set a quota (privileged). */
    SET_QUOTA(26);

    private static final XsMessageType[] BY_CODE = new XsMessageType[32];

    static
    {
        for (final XsMessageType t : values())
        {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;

    XsMessageType(final int code)
    {
        this.code = code;
    }

    /**
     * @return the value of the header's {@code type} field.
     */
    public int code()
    {
        return code;
    }

    /**
     * @param code a header's {@code type} field (unsigned, so any int).
     * @return the type, or null for a code that is not one (20, 27 and up, negative).
     */
    public static XsMessageType of(final int code)
    {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
