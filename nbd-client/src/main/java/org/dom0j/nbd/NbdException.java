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
    /** Whether a reconnection found the export with another size. */
    private final boolean exportChanged;

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
        this(message, optionReply, cause, false);
    }

    private NbdException(final String message, final int optionReply, final Throwable cause,
        final boolean exportChanged)
    {
        super(message, cause);
        this.optionReply = optionReply;
        this.exportChanged = exportChanged;
    }

    /**
     * @param message what changed, naming the server and the export.
     * @return the exception {@link NbdConnection#reconnect()} throws when the export no longer has the size it had:
     *         not a passing failure, unlike the others (trying again will not help).
     */
    static NbdException exportChanged(final String message)
    {
        return new NbdException(message, 0, null, true);
    }

    /**
     * @return the server's error reply during the handshake that caused this ({@code NBD_REP_ERR_UNKNOWN} when the
     * export does not exist), or 0 when the failure was not such a reply.
     */
    public int optionReply()
    {
        return optionReply;
    }

    /**
     * @return true when a reconnection found the export with another size than it had: the data behind it is not
     *         what the client was serving, so trying again will not help (unlike an unreachable or refusing server).
     */
    public boolean isExportChanged()
    {
        return exportChanged;
    }
}
