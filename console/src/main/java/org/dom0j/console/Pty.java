package org.dom0j.console;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A pseudo-terminal for a console, as xenconsoled gives each guest: the service holds the master (non-blocking) and
 * keeps the slave open itself in raw mode, so the master never sees a hang-up when a viewer such as
 * {@code xl console} (which opens the slave named in xenstore's {@code console/tty}) comes and goes.
 * <p>
 * <b>Threads</b>: one reader thread may call {@link #read}, one writer thread {@link #write}, at the same time;
 * {@link #close} once both have stopped.
 */
final class Pty implements AutoCloseable
{
    private static final int O_RDWR = 2;
    private static final int O_NOCTTY = 0x100;
    private static final int O_NONBLOCK = 0x800;
    private static final int O_CLOEXEC = 0x80000;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int TCSANOW = 0;
    private static final int POLLIN = 0x1;
    private static final int POLLOUT = 0x4;
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;
    /** sizeof(struct termios) is 60 on Linux (glibc); room to spare. */
    private static final int TERMIOS_BYTES = 128;

    static
    {
        Native.register(Pty.class, NativeLibrary.getInstance("c"));
    }

    private final int master;
    private final int slave;
    private final String slavePath;
    private final int[] pollRead = new int[2];
    private final int[] pollWrite = new int[2];

    private Pty(final int master, final int slave, final String slavePath)
    {
        this.master = master;
        this.slave = slave;
        this.slavePath = slavePath;
        pollRead[0] = master;
        pollRead[1] = POLLIN;
        pollWrite[0] = master;
        pollWrite[1] = POLLOUT;
    }

    /**
     * Opens a new pseudo-terminal: master non-blocking, slave raw and held open.
     *
     * @return the pty.
     * @throws IOException when the system has no pty to give (no /dev/ptmx, or the limit is reached).
     */
    static Pty open() throws IOException
    {
        int master = -1;
        int slave = -1;
        try
        {
            master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
            grantpt(master);
            unlockpt(master);
            final byte[] name = new byte[128];
            ptsname_r(master, name, name.length);
            int length = 0;
            while (length < name.length && name[length] != 0)
            {
                length++;
            }
            final String path = new String(name, 0, length, StandardCharsets.US_ASCII);
            slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
            final byte[] termios = new byte[TERMIOS_BYTES];
            tcgetattr(slave, termios);
            cfmakeraw(termios);
            tcsetattr(slave, TCSANOW, termios);
            fcntl(master, F_SETFL, fcntl(master, F_GETFL, 0) | O_NONBLOCK);
            return new Pty(master, slave, path);
        }
        catch (final LastErrorException ex)
        {
            closeQuietly(slave);
            closeQuietly(master);
            throw new IOException("cannot open a pseudo-terminal: " + ex.getMessage(), ex);
        }
    }

    /**
     * @return the slave's path, e.g. /dev/pts/3: what {@code xl console} opens.
     */
    String slavePath()
    {
        return slavePath;
    }

    /**
     * Reads what a viewer typed.
     *
     * @param buffer       where to.
     * @param timeoutMillis how long to wait for input.
     * @return bytes read, 0 when nothing came in time.
     * @throws IOException when the pty failed.
     */
    int read(final byte[] buffer, final int timeoutMillis) throws IOException
    {
        try
        {
            if (poll(pollRead, 1, timeoutMillis) <= 0)
            {
                return 0;
            }
            return (int)Math.max(0, read(master, buffer, buffer.length));
        }
        catch (final LastErrorException ex)
        {
            if (ex.getErrorCode() == EAGAIN || ex.getErrorCode() == EINTR)
            {
                return 0;
            }
            throw new IOException("pty " + slavePath + ": " + ex.getMessage(), ex);
        }
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
            try
            {
                final byte[] rest = done == 0 ? data : Arrays.copyOfRange(data, done, data.length);
                done += (int)write(master, rest, rest.length);
            }
            catch (final LastErrorException ex)
            {
                if (ex.getErrorCode() != EAGAIN && ex.getErrorCode() != EINTR)
                {
                    throw new IOException("pty " + slavePath + ": " + ex.getMessage(), ex);
                }
                if (poll(pollWrite, 1, timeoutMillis) <= 0)
                {
                    return data.length - done;
                }
            }
        }
        return 0;
    }

    @Override
    public void close()
    {
        closeQuietly(slave);
        closeQuietly(master);
    }

    private static void closeQuietly(final int fd)
    {
        if (fd >= 0)
        {
            try
            {
                close(fd);
            }
            catch (final LastErrorException ex)
            {
                // Closing anyway.
            }
        }
    }

    private static native int posix_openpt(int flags) throws LastErrorException;

    private static native int grantpt(int fd) throws LastErrorException;

    private static native int unlockpt(int fd) throws LastErrorException;

    private static native int ptsname_r(int fd, byte[] buf, long length) throws LastErrorException;

    private static native int open(String path, int flags, int mode) throws LastErrorException;

    private static native int close(int fd) throws LastErrorException;

    private static native int tcgetattr(int fd, byte[] termios) throws LastErrorException;

    private static native void cfmakeraw(byte[] termios);

    private static native int tcsetattr(int fd, int actions, byte[] termios) throws LastErrorException;

    private static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

    private static native int poll(int[] fds, long count, int timeoutMillis) throws LastErrorException;

    private static native long read(int fd, byte[] buf, long count) throws LastErrorException;

    private static native long write(int fd, byte[] buf, long count) throws LastErrorException;
}
