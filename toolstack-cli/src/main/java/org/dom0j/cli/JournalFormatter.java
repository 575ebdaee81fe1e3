package org.dom0j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * Log lines for systemd's journal, used when {@code $JOURNAL_STREAM} says standard error goes there: one line per
 * record, no timestamp (the journal stamps each line), and a {@code <N>} prefix with the syslog priority, which
 * journald reads as the line's priority ({@code SyslogLevelPrefix=yes}, its default): SEVERE is err (3), WARNING
 * warning (4), INFO info (6), anything finer debug (7).
 * <p>
 * Stateless; any thread.
 */
final class JournalFormatter extends Formatter
{
    /** The variable systemd sets when standard output or error is connected to the journal. */
    static final String JOURNAL_STREAM_ENV = "JOURNAL_STREAM";

    @Override
    public String format(final LogRecord record)
    {
        final StringBuilder line = new StringBuilder(128);
        line.append('<').append(priority(record.getLevel())).append('>');
        final String logger = record.getLoggerName();
        if (null != logger)
        {
            line.append(logger.substring(logger.lastIndexOf('.') + 1)).append(": ");
        }
        line.append(formatMessage(record).replace('\n', ' '));
        if (null != record.getThrown())
        {
            final StringWriter trace = new StringWriter();
            record.getThrown().printStackTrace(new PrintWriter(trace));
            // Each line of the trace its own journal line, at the record's priority.
            for (final String traceLine : trace.toString().split("\n"))
            {
                line.append('\n').append('<').append(priority(record.getLevel())).append(">  ").append(traceLine);
            }
        }
        return line.append('\n').toString();
    }

    /**
     * @param level a java.util.logging level.
     * @return its syslog priority.
     */
    static int priority(final Level level)
    {
        final int value = level.intValue();
        if (value >= Level.SEVERE.intValue())
        {
            return 3;
        }
        if (value >= Level.WARNING.intValue())
        {
            return 4;
        }
        return value >= Level.INFO.intValue() ? 6 : 7;
    }
}
