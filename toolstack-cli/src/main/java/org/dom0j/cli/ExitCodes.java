package org.dom0j.cli;

/**
 * The exit codes of {@code dom0j}, listed in {@code dom0j --help}.
 */
public final class ExitCodes
{
    /** Done. */
    public static final int OK = 0;
    /** The command failed; the message says why. */
    public static final int FAILURE = 1;
    /** The command line was wrong; the usage is printed. */
    public static final int USAGE = 2;
    /** The platform asked for (or any, with auto) cannot run here. */
    public static final int PLATFORM_UNAVAILABLE = 3;
    /** Xen (or the simulator) refused an operation; the message carries the errno. */
    public static final int XEN_ERROR = 4;

    private ExitCodes()
    {
    }
}
