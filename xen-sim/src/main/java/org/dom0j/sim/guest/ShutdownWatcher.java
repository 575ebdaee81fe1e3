package org.dom0j.sim.guest;

import org.dom0j.common.XenException;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsWatch;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A simulated guest's answer to the toolstack's shutdown requests, as Linux's {@code drivers/xen/manage.c} does:
 * it advertises {@code control/feature-poweroff} and {@code control/feature-reboot}, watches
 * {@code control/shutdown}, and when the toolstack writes a word it handles ({@code poweroff}, {@code halt},
 * {@code reboot}) acknowledges by writing the key empty in the same transaction that read it, then lets the guest
 * know. What the guest then does (stop its workload, close its devices, SCHEDOP_shutdown with the reason, and, as
 * the process that created the domain, destroy or build it again) is up to its owner: {@code dom0j sim guest}.
 * Words it does not handle ({@code suspend}: not modelled) are left unacknowledged, as Linux leaves them.
 * <p>
 * Threads: the xenstore client's watch thread acknowledges; any thread may ask for the request.
 */
public final class ShutdownWatcher implements AutoCloseable
{
    /** SHUTDOWN_poweroff. */
    public static final int SHUTDOWN_POWEROFF = 0;
    /** SHUTDOWN_reboot. */
    public static final int SHUTDOWN_REBOOT = 1;

    private static final List<String> HANDLED = List.of("poweroff", "halt", "reboot");

    private final XenStore xs;
    private final CountDownLatch requested = new CountDownLatch(1);
    private final XsWatch watch;
    private volatile String command;

    private ShutdownWatcher(final XenStore xs)
    {
        this.xs = xs;
        for (final String feature : List.of("feature-poweroff", "feature-reboot"))
        {
            try
            {
                xs.write("control/" + feature, "1");
            }
            catch (final XenException ex)
            {
                // A toolstack that made no control/ keys for the guest: advertising is optional.
            }
        }
        this.watch = xs.watch("control/shutdown", "shutdown", 0, (path, token) -> onRequest());
    }

    /**
     * @param guestStore the guest's own xenstore connection (relative paths under its domain path); it stays the
     *                   caller's to close, after this.
     * @return the watcher, watching.
     */
    public static ShutdownWatcher start(final XenStore guestStore)
    {
        return new ShutdownWatcher(guestStore);
    }

    private void onRequest()
    {
        if (null != command)
        {
            return;
        }
        final String word = xs.transaction(tx ->
        {
            final String value = tx.readOrNull("control/shutdown");
            if (null == value || !HANDLED.contains(value))
            {
                return null;
            }
            tx.write("control/shutdown", "");
            return value;
        });
        if (null != word)
        {
            command = word;
            requested.countDown();
        }
    }

    /**
     * @return the acknowledged request ("poweroff", "halt", "reboot"), or null.
     */
    public String request()
    {
        return command;
    }

    /**
     * @return the SHUTDOWN_* reason the acknowledged request asks for, or -1 when there is none.
     */
    public int reason()
    {
        final String c = command;
        return null == c ? -1 : "reboot".equals(c) ? SHUTDOWN_REBOOT : SHUTDOWN_POWEROFF;
    }

    /**
     * @param timeoutNanos how long to wait.
     * @return whether a request was acknowledged in time.
     * @throws InterruptedException when interrupted.
     */
    public boolean awaitRequest(final long timeoutNanos) throws InterruptedException
    {
        return requested.await(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void close()
    {
        watch.close();
    }
}
