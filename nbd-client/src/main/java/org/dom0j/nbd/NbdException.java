package org.dom0j.nbd;

import java.io.IOException;

/**
 * A connection to an NBD server could not be made or made again: the server refused the export or the handshake
 * (the message names the export and quotes the server's own message when it sent one), broke the protocol, went
 * away, or no longer serves an export of the size it had. Errors of single requests are errno values given to an
 * {@link NbdCompletionHandler}, never this exception.
 */
public final class NbdException extends IOException
{
    private static final long serialVersionUID = 1L;

    /** The server's {@code NBD_REP_ERR_*} reply during the handshake, or 0. */
    private final int optionReply;

    /**
     * @param message what went wrong, naming the server and the export.
     */
    public NbdException(final String message)
    {
        this(message, 0, null);
    }

    /**
     * @param message     what went wrong, naming the server and the export.
     * @param optionReply the server's error reply during the handshake ({@code NBD_REP_ERR_*}), or 0.
     * @param cause       the I/O error underneath, or null.
     */
    public NbdException(final String message, final int optionReply, final Throwable cause)
    {
        super(message, cause);
        this.optionReply = optionReply;
    }

    /**
     * @return the server's error reply during the handshake that caused this ({@code NBD_REP_ERR_UNKNOWN} when the
     * export does not exist), or 0 when the failure was not such a reply.
     */
    public int optionReply()
    {
        return optionReply;
    }
}
