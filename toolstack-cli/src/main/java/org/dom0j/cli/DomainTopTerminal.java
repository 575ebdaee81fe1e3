package org.dom0j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code dom0j top} in a terminal, as {@code xentop}: the screen redrawn every interval and at each key, until
 * {@code q} (or the end of input). The terminal is in cbreak mode ({@code stty -icanon -echo}, so Ctrl-C still
 * interrupts) while it runs, and put back as it was on the way out, also when the JVM is stopped by a signal.
 * <p>
 * Runs on the CLI's thread; a daemon thread reads standard input and hands the keys over through a queue.
 */
final class DomainTopTerminal
{
    private static final String CLEAR_SCREEN = "\033[H\033[2J";
    private static final int END_OF_INPUT = -1;

    private final DomainSession session;
    private final Path counters;
    private final DomainTopScreen screen;
    private final String platform;
    private final double interval;
    private final int iterations;
    private final LinkedBlockingQueue<Integer> keys = new LinkedBlockingQueue<>();

    DomainTopTerminal(final DomainSession session, final Path counters, final DomainTopScreen screen,
        final String platform, final double interval, final int iterations)
    {
        this.session = session;
        this.counters = counters;
        this.screen = screen;
        this.platform = platform;
        this.interval = interval;
        this.iterations = iterations;
    }

    /**
     * @param out   the terminal.
     * @param saved the terminal's settings before ({@code stty -g}), put back at the end.
     * @return the exit code.
     * @throws InterruptedException when interrupted.
     */
    int run(final PrintWriter out, final String saved) throws InterruptedException
    {
        final Thread restore = new Thread(() -> ConsoleCommand.stty(saved), "dom0j-top-stty");
        Runtime.getRuntime().addShutdownHook(restore);
        final Thread reader = new Thread(() -> readKeys(System.in), "dom0j-top-keys");
        reader.setDaemon(true);
        reader.start();
        try
        {
            DomainTopSample sample = DomainTopSample.read(session, counters, null);
            final long intervalNanos = (long)(interval * 1e9);
            long nextReading = System.nanoTime() + intervalNanos;
            int readings = 1;
            while (true)
            {
                out.print(CLEAR_SCREEN);
                screen.render(out, platform, sample, true);
                final Integer key = keys.poll(Math.max(0, nextReading - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (null != key && (END_OF_INPUT == key || !screen.onKey(key)))
                {
                    return ExitCodes.OK;
                }
                if (null == key || ' ' == key)
                {
                    if (iterations > 0 && readings >= iterations)
                    {
                        return ExitCodes.OK;
                    }
                    sample = DomainTopSample.read(session, counters, sample);
                    readings++;
                    nextReading = System.nanoTime() + intervalNanos;
                }
            }
        }
        finally
        {
            out.println();
            out.flush();
            ConsoleCommand.stty(saved);
            try
            {
                Runtime.getRuntime().removeShutdownHook(restore);
            }
            catch (final IllegalStateException ex)
            {
                // The JVM is already shutting down: the hook puts the terminal back.
            }
        }
    }

    private void readKeys(final InputStream in)
    {
        try
        {
            int b;
            while ((b = in.read()) >= 0)
            {
                if (0x1b == b)
                {
                    // An escape sequence (arrow keys: ESC [ A): dropped whole, so its letters are not taken as keys.
                    b = in.read();
                    while ((b == '[' || b == 'O' || (b >= 0x20 && b < 0x40)) && b >= 0)
                    {
                        b = in.read();
                    }
                    continue;
                }
                keys.offer(b);
            }
        }
        catch (final IOException ex)
        {
            // Input went away: as at its end.
        }
        keys.offer(END_OF_INPUT);
    }
}
