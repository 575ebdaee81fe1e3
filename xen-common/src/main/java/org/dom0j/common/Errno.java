package org.dom0j.common;

/**
 * The Linux errno values that Xen's C libraries, the kernel's Xen devices and xenstored report, with their
 * symbolic names. xenstored sends errors as these names on the wire ("ENOENT"); the C libraries return -1 and
 * set errno. Both become a {@link XenException} that carries the number.
 * <p>
 * Immutable; any thread.
 */
public enum Errno
{
    EPERM(1, "Operation not permitted"),
    ENOENT(2, "No such file or directory"),
    ESRCH(3, "No such process"),
    EINTR(4, "Interrupted system call"),
    EIO(5, "Input/output error"),
    ENXIO(6, "No such device or address"),
    E2BIG(7, "Argument list too long"),
    EBADF(9, "Bad file descriptor"),
    EAGAIN(11, "Resource temporarily unavailable"),
    ENOMEM(12, "Cannot allocate memory"),
    EACCES(13, "Permission denied"),
    EFAULT(14, "Bad address"),
    EBUSY(16, "Device or resource busy"),
    EEXIST(17, "File exists"),
    ENODEV(19, "No such device"),
    ENOTDIR(20, "Not a directory"),
    EISDIR(21, "Is a directory"),
    EINVAL(22, "Invalid argument"),
    ENFILE(23, "Too many open files in system"),
    EMFILE(24, "Too many open files"),
    ENOSPC(28, "No space left on device"),
    EROFS(30, "Read-only file system"),
    EPIPE(32, "Broken pipe"),
    ERANGE(34, "Numerical result out of range"),
    EDEADLK(35, "Resource deadlock avoided"),
    ENAMETOOLONG(36, "File name too long"),
    ENOSYS(38, "Function not implemented"),
    ENOTEMPTY(39, "Directory not empty"),
    ENODATA(61, "No data available"),
    ETIME(62, "Timer expired"),
    EPROTO(71, "Protocol error"),
    EBADMSG(74, "Bad message"),
    EOVERFLOW(75, "Value too large for defined data type"),
    EOPNOTSUPP(95, "Operation not supported"),
    ECONNRESET(104, "Connection reset by peer"),
    EISCONN(106, "Transport endpoint is already connected"),
    ENOTCONN(107, "Transport endpoint is not connected"),
    ETIMEDOUT(110, "Connection timed out"),
    ECONNREFUSED(111, "Connection refused"),
    EALREADY(114, "Operation already in progress"),
    /** Not a Linux errno: xenstored's name for a quota that a domain has used up. */
    EQUOTA(122, "Quota exceeded");

    private static final Errno[] BY_NUMBER = new Errno[256];

    static
    {
        for (final Errno e : values())
        {
            BY_NUMBER[e.number] = e;
        }
    }

    private final int number;
    private final String description;

    Errno(final int number, final String description)
    {
        this.number = number;
        this.description = description;
    }

    /**
     * @return the positive errno number.
     */
    public int number()
    {
        return number;
    }

    /**
     * @return what strerror(3) says of it.
     */
    public String description()
    {
        return description;
    }

    /**
     * @param number a positive errno value.
     * @return the constant, or null when it is not one that dom0j names.
     */
    public static Errno of(final int number)
    {
        return number > 0 && number < BY_NUMBER.length ? BY_NUMBER[number] : null;
    }

    /**
     * @param name a symbolic name as xenstored sends it, e.g. "ENOENT".
     * @return the constant, or null when the name is unknown.
     */
    public static Errno ofName(final String name)
    {
        for (final Errno e : values())
        {
            if (e.name().equals(name))
            {
                return e;
            }
        }
        return null;
    }

    /**
     * @param number a positive errno value.
     * @return "ENOENT (No such file or directory)", or "errno 1234" for one dom0j does not name.
     */
    public static String describe(final int number)
    {
        final Errno e = of(number);
        return null == e ? "errno " + number : e.name() + " (" + e.description + ")";
    }
}
