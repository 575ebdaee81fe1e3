package org.dom0j.console;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.linux.EventFd;
import org.dom0j.linux.Linux;
import org.dom0j.linux.LinuxException;
import org.dom0j.linux.PollFd;
import org.dom0j.linux.PseudoTerminal;

import java.io.IOException;

/**
 * A pseudo-terminal for a console, as xenconsoled gives each guest: the service holds the master (non-blocking) and
 * keeps the slave open itself in raw mode, so the master never sees a hang-up when a viewer such as
 * {@code xl console} (which opens the slave named in xenstore's {@code console/tty}) comes and goes. The system
 * calls are linux-native's.
 * <p>
 * <b>Threads</b>: one reader thread may call {@link #read}, one writer thread {@link #write}, at the same time (each
 * has its own native buffer and pollfd); any thread {@link #wakeReader}; {@link #close} once both have stopped.
 */
final class Pty implements AutoCloseable
{
    /** Bytes moved per read(2) or write(2). */
    private static final int IO_BYTES = 4096;
    private static final int EAGAIN = Errno.EAGAIN.number();
    private static final int EINTR = Errno.EINTR.number();

    private final PseudoTerminal terminal;
    private final int master;
    /** Ends a reader's wait for good: the session is closing (an eventfd polled beside the master). */
    private final EventFd closing;
    private final PollFd pollRead;
    private final PollFd pollWrite;
    private final UnsafeBuffer in = new UnsafeBuffer(BufferUtil.allocateDirectAligned(IO_BYTES, 64));
    private final UnsafeBuffer out = new UnsafeBuffer(BufferUtil.allocateDirectAligned(IO_BYTES, 64));

    private Pty(final PseudoTerminal terminal)
    {
        this.terminal = terminal;
        this.master = terminal.master();
        this.closing = EventFd.open();
        this.pollRead = new PollFd(new int[]{ master, closing.fd() }, Linux.POLLIN);
        this.pollWrite = new PollFd(master, Linux.POLLOUT);
    }

    /**
     * Opens a new pseudo-terminal: master non-blocking, slave raw and held open.
     *
     * @return the pty.
     * @throws IOException when the system has no pty to give (no /dev/ptmx, or the limit is reached).
     */
    static Pty open() throws IOException
    {
        try
        {
            return new Pty(PseudoTerminal.open());
        }
        catch (final LinuxException ex)
        {
            throw new IOException("cannot open a pseudo-terminal: " + ex.getMessage(), ex);
        }
    }

    /**
     * @return the slave's path, e.g. /dev/pts/3: what {@code xl console} opens.
     */
    String slavePath()
    {
        return terminal.slavePath();
    }

    /**
     * Reads what a viewer typed.
     *
     * @param buffer       where to.
     * @param timeoutMillis how long to wait for input: -1 until input comes or {@link #wakeReader}.
     * @return bytes read, 0 when nothing came in time or the reader was woken.
     * @throws IOException when the pty failed.
     */
    int read(final byte[] buffer, final int timeoutMillis) throws IOException
    {
        final int ready = pollRead.poll(timeoutMillis);
        if (ready <= 0)
        {
            return check(ready);
        }
        if ((pollRead.revents(0) & Linux.POLLIN) == 0)
        {
            // woken to close (a master whose slave this holds open never hangs up)
            return 0;
        }
        final long n = Linux.read(master, in.addressOffset(), Math.min(buffer.length, IO_BYTES));
        if (n <= 0)
        {
            return check((int)n);
        }
        in.getBytes(0, buffer, 0, (int)n);
        return (int)n;
    }

    /**
     * Writes guest output, waiting at most {@code timeoutMillis} whenever the pty is full (nobody reading).
     *
     * @param data          the bytes.
     * @param timeoutMillis the longest wait for room.
     * @return bytes that did not fit and were dropped.
     * @throws IOException when the pty failed.
     */
    int write(final byte[] data, final int timeoutMillis) throws IOException
    {
        int done = 0;
        while (done < data.length)
        {
            final int length = Math.min(data.length - done, IO_BYTES);
            out.putBytes(0, data, done, length);
            final long n = Linux.write(master, out.addressOffset(), length);
            if (n >= 0)
            {
                done += (int)n;
                continue;
            }
            check((int)n);
            final int ready = pollWrite.poll(timeoutMillis);
            if (ready == 0)
            {
                return data.length - done;
            }
            // Room now, or poll was interrupted: write again.
            check(ready);
        }
        return 0;
    }

    /**
     * @param result what a call returned: 0, or minus an errno.
     * @return 0 for nothing (0, EAGAIN, EINTR).
     * @throws IOException for any other errno.
     */
    private int check(final int result) throws IOException
    {
        if (result < 0 && result != -EAGAIN && result != -EINTR)
        {
            throw new IOException("pty " + terminal.slavePath() + ": " + Errno.describe(-result));
        }
        return 0;
    }

    /**
     * Ends the reader's wait, now and in every later {@link #read}: the session is closing (any thread).
     */
    void wakeReader()
    {
        closing.signal();
    }

    @Override
    public void close()
    {
        terminal.close();
        closing.close();
    }
}
