package org.dom0j.linux;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A new pseudo-terminal pair, as a console service holds one: the master non-blocking, the slave in raw mode and
 * held open by the owner too, so that the master never sees a hang-up when a viewer opens and closes the slave.
 * Both close on exec.
 * <p>
 * Not thread safe: opened and closed by the owner; the descriptors may be used from any thread until then.
 */
public final class PseudoTerminal implements AutoCloseable
{
    private static final int TCSANOW = 0;
    /** sizeof(struct termios) is 60 on Linux (glibc); room to spare. */
    private static final int TERMIOS_BYTES = 128;
    private static final int PATH_BYTES = 128;

    private final int master;
    private final int slave;
    private final String slavePath;
    private boolean closed;

    private PseudoTerminal(final int master, final int slave, final String slavePath)
    {
        this.master = master;
        this.slave = slave;
        this.slavePath = slavePath;
    }

    /**
     * posix_openpt, grantpt, unlockpt, ptsname_r; the slave opened and made raw (cfmakeraw); the master set
     * non-blocking.
     *
     * @return the pair.
     * @throws LinuxException when the system has no pty to give (no /dev/ptmx, or the limit is reached).
     */
    public static PseudoTerminal open()
    {
        final int master = LibC.posix_openpt(Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC);
        if (master < 0)
        {
            throw new LinuxException(LibC.errno(), "posix_openpt");
        }
        int slave = -1;
        try
        {
            check(LibC.grantpt(master), "grantpt");
            check(LibC.unlockpt(master), "unlockpt");
            final ByteBuffer name = LibC.allocate(PATH_BYTES);
            final int error = LibC.ptsname_r(master, LibC.address(name), PATH_BYTES);
            if (error != 0)
            {
                throw new LinuxException(error, "ptsname_r");
            }
            final String path = cString(name);
            slave = Linux.open(path, Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0);
            final ByteBuffer termios = LibC.allocate(TERMIOS_BYTES);
            final long termiosAddress = LibC.address(termios);
            check(LibC.tcgetattr(slave, termiosAddress), "tcgetattr " + path);
            LibC.cfmakeraw(termiosAddress);
            check(LibC.tcsetattr(slave, TCSANOW, termiosAddress), "tcsetattr " + path);
            Linux.setNonBlocking(master);
            return new PseudoTerminal(master, slave, path);
        }
        catch (final RuntimeException ex)
        {
            if (slave >= 0)
            {
                Linux.close(slave);
            }
            Linux.close(master);
            throw ex;
        }
    }

    private static void check(final int result, final String what)
    {
        if (result != 0)
        {
            throw new LinuxException(LibC.errno(), what);
        }
    }

    private static String cString(final ByteBuffer buffer)
    {
        int length = 0;
        while (length < buffer.capacity() && buffer.get(length) != 0)
        {
            length++;
        }
        final byte[] bytes = new byte[length];
        buffer.get(0, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    /**
     * @return the master's descriptor (non-blocking): what the service reads and writes.
     */
    public int master()
    {
        return master;
    }

    /**
     * @return the slave's descriptor, held open so the master sees no hang-up.
     */
    public int slave()
    {
        return slave;
    }

    /**
     * @return the slave's path, e.g. /dev/pts/3: what a viewer opens.
     */
    public String slavePath()
    {
        return slavePath;
    }

    /**
     * Closes both ends; a second call does nothing.
     */
    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            Linux.close(slave);
            Linux.close(master);
        }
    }
}
