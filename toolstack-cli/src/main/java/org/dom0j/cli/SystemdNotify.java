package org.dom0j.cli;

import org.dom0j.linux.UnixDatagramSocket;
import org.dom0j.platform.PlatformEnvironment;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * sd_notify(3) without libsystemd: tells systemd how a {@code Type=notify} service is doing, by sending
 * {@code READY=1}, {@code RELOADING=1}, {@code STOPPING=1} and {@code STATUS=...} datagrams to the AF_UNIX socket
 * named in {@code $NOTIFY_SOCKET} (a path, or {@code @name} in the abstract namespace). Without that variable (not
 * started by systemd) it does nothing. A message that cannot be sent is reported once, on standard error, and never
 * stops the service.
 * <p>
 * <b>Threads</b>: any; sending is synchronised (serve's thread and the SIGHUP handler's both send).
 */
final class SystemdNotify implements AutoCloseable
{
    /** The variable systemd sets for a Type=notify service. */
    static final String NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET";

    private final String socketName;
    private UnixDatagramSocket socket;
    private boolean failureReported;

    private SystemdNotify(final String socketName)
    {
        this.socketName = socketName;
    }

    /**
     * @param environment where {@value #NOTIFY_SOCKET_ENV} is read.
     * @return a notifier, which does nothing when the variable is not set.
     */
    static SystemdNotify fromEnvironment(final PlatformEnvironment environment)
    {
        final String name = environment.getenv(NOTIFY_SOCKET_ENV, null);
        return new SystemdNotify(null == name || name.isEmpty() ? null : name);
    }

    /**
     * @return whether systemd is listening (the variable is set).
     */
    boolean enabled()
    {
        return null != socketName;
    }

    /**
     * @param status what {@code systemctl status} shows.
     * @return whether it was sent.
     */
    boolean ready(final String status)
    {
        return send("READY=1\nSTATUS=" + oneLine(status));
    }

    /**
     * Says a configuration reload began; {@link #ready} says it ended. MONOTONIC_USEC is CLOCK_MONOTONIC, as
     * {@link System#nanoTime()} reads it on Linux; systemd's notify-reload services need it, notify ones accept it.
     *
     * @return whether it was sent.
     */
    boolean reloading()
    {
        return send("RELOADING=1\nMONOTONIC_USEC=" + TimeUnit.NANOSECONDS.toMicros(System.nanoTime()));
    }

    /**
     * @param status what {@code systemctl status} shows while stopping.
     * @return whether it was sent.
     */
    boolean stopping(final String status)
    {
        return send("STOPPING=1\nSTATUS=" + oneLine(status));
    }

    /**
     * @param state newline-separated assignments, as sd_notify(3) takes them.
     * @return whether it was sent.
     */
    synchronized boolean send(final String state)
    {
        if (null == socketName)
        {
            return false;
        }
        long sent;
        try
        {
            if (null == socket)
            {
                socket = UnixDatagramSocket.open();
            }
            sent = socket.send(socketName, state.getBytes(StandardCharsets.UTF_8));
        }
        catch (final RuntimeException ex)
        {
            sent = -1;
        }
        if (sent < 0 && !failureReported)
        {
            failureReported = true;
            System.err.println("dom0j: cannot notify systemd on " + NOTIFY_SOCKET_ENV + "=" + socketName +
                (sent < -1 ? ": " + org.dom0j.common.Errno.describe((int)-sent) : ""));
        }
        return sent >= 0;
    }

    private static String oneLine(final String status)
    {
        return status.replace('\n', ' ');
    }

    @Override
    public synchronized void close()
    {
        if (null != socket)
        {
            socket.close();
            socket = null;
        }
    }
}
