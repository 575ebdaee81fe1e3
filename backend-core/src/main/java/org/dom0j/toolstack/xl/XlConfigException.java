package org.dom0j.toolstack.xl;

/**
 * A config file that {@code xl} would refuse, or that dom0j cannot honour: where it is wrong (file, line, column,
 * all counted from 1) and why. The message reads like a compiler's: {@code guest.cfg:7:10: memory: expected a
 * number of MiB, got "lots"}.
 * <p>
 * Immutable; any thread.
 */
public final class XlConfigException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final String source;
    private final int line;
    private final int column;
    private final String reason;

    /**
     * @param source the file's name as the user gave it.
     * @param line   the line, from 1 (0 when the problem is the whole file).
     * @param column the column, from 1 (0 when not known).
     * @param reason what is wrong, and what was expected.
     */
    public XlConfigException(final String source, final int line, final int column, final String reason)
    {
        super(source + (line > 0 ? ":" + line + (column > 0 ? ":" + column : "") : "") + ": " + reason);
        this.source = source;
        this.line = line;
        this.column = column;
        this.reason = reason;
    }

    /**
     * @return the file's name.
     */
    public String source()
    {
        return source;
    }

    /**
     * @return the line, from 1; 0 for the whole file.
     */
    public int line()
    {
        return line;
    }

    /**
     * @return the column, from 1; 0 when not known.
     */
    public int column()
    {
        return column;
    }

    /**
     * @return what is wrong, without the position.
     */
    public String reason()
    {
        return reason;
    }
}
