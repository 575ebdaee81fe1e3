package org.dom0j.backend;

/**
 * A value the frontend wrote to xenstore is missing, malformed or out of bounds. Not a bug of ours: the device
 * fails with {@link #reason()} written to xenstore and the service goes on serving everyone else.
 */
public final class InvalidFrontendException extends Exception
{
    private static final long serialVersionUID = 1L;

    private final String path;
    private final String value;

    /**
     * @param path   the node read.
     * @param value  what it held (null when missing), for the message; truncated when long.
     * @param reason what is wrong with it.
     */
    public InvalidFrontendException(final String path, final String value, final String reason)
    {
        super(path + (value == null ? " missing" : " = \"" + printable(value) + "\"") + ": " + reason);
        this.path = path;
        this.value = value;
    }

    /**
     * @return the node read.
     */
    public String path()
    {
        return path;
    }

    /**
     * @return what it held, or null when missing.
     */
    public String value()
    {
        return value;
    }

    /**
     * @return the sentence written to xenstore and the log.
     */
    public String reason()
    {
        return getMessage();
    }

    private static String printable(final String value)
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < value.length() && i < 64; i++)
        {
            final char c = value.charAt(i);
            sb.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        if (value.length() > 64)
        {
            sb.append("...");
        }
        return sb.toString();
    }
}
