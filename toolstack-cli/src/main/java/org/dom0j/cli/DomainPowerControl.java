package org.dom0j.cli;

import org.dom0j.common.Errno;
import org.dom0j.domctl.DomainControlException;
import org.dom0j.domctl.DomainInfo;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsPaths;
import org.dom0j.xenstore.XsPermission;
import org.dom0j.xenstore.XsWatch;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Asks PV guests to shut down or reboot as {@code xl} does and waits for them on xenstore watches, each wait with
 * a deadline.
 * <ul>
 * <li>The request is the word ({@code poweroff}, {@code reboot}) written to
 *     {@code /local/domain/<domid>/control/shutdown}. A guest with PV drivers (Linux's {@code drivers/xen/manage.c})
 *     watches that key, acknowledges by writing it empty, then shuts down and reports the reason to Xen
 *     (SCHEDOP_shutdown). A key still holding the word after the acknowledgement timeout means the guest has no PV
 *     shutdown support (or is not running its drivers yet).</li>
 * <li>Xen's xenstored fires {@code @releaseDomain} when a domain shuts down and when it is destroyed, and
 *     {@code @introduceDomain} when a new one is introduced: the waits look at the hypervisor's view after each
 *     event. A domain that shut down is destroyed (poweroff) or built again (reboot) by the toolstack process that
 *     owns it ({@code dom0j serve} for domains {@code dom0j create} made, {@link ShutdownActions};
 *     {@code xl}'s per-domain daemon for xl's; {@code dom0j sim guest} for its own); a domain nobody restarts
 *     stays shut down, and the outcome says so.</li>
 * </ul>
 * The guest's key is only compared with the empty string; nothing else a guest wrote is used.
 * <p>
 * Runs on the CLI's thread; watch events arrive on the xenstore client's watch thread and only wake the waits.
 */
final class DomainPowerControl implements AutoCloseable
{
    /** SHUTDOWN_* reasons (xen/include/public/sched.h), by code. */
    static final List<String> REASONS = List.of("poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset");

    private final DomainSession session;
    private final XenStore xs;
    private final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final List<XsWatch> watches = new ArrayList<>();

    /**
     * What became of a domain asked to shut down or reboot.
     *
     * @param result   "acknowledged" (no wait), "gone", "shutdown" (still there, shut down), "rebooted", or
     *                 "timeout".
     * @param reason   the shutdown reason the hypervisor reported, or null.
     * @param newDomid the domain built again after a reboot, or -1.
     */
    record Outcome(String result, String reason, int newDomid)
    {
    }

    DomainPowerControl(final DomainSession session)
    {
        this.session = session;
        this.xs = session.xenStore();
    }

    /**
     * @param code a SHUTDOWN_* code.
     * @return its name, or the number.
     */
    static String reasonName(final int code)
    {
        return code >= 0 && code < REASONS.size() ? REASONS.get(code) : Integer.toString(code);
    }

    /**
     * Writes {@code command} to the domain's {@code control/shutdown}, creating the key writable by the guest when the
     * toolstack that built the domain did not (libxl creates it so).
     */
    void request(final DomainSession.Domain domain, final String command)
    {
        final int domid = domain.domid();
        if (domid == 0 || domid == session.platform().localDomid())
        {
            throw new DomainControlException(Errno.EINVAL.number(), command + " domain " + domid + ": dom0j does " +
                "not shut down the domain it runs in");
        }
        if (domain.info().shutdown() || domain.info().dying())
        {
            throw new DomainControlException(Errno.EINVAL.number(), command + " domain " + domid + ": it has " +
                "already shut down (" + reasonName(domain.info().shutdownReason()) + ")");
        }
        final String path = "/local/domain/" + domid;
        xs.transaction(tx ->
        {
            if (!tx.exists(path))
            {
                throw new DomainControlException(Errno.ESRCH.number(), command + " domain " + domid + ": it has " +
                    "no " + path + " in xenstore");
            }
            final boolean created = !tx.exists(path + "/control/shutdown");
            tx.write(path + "/control/shutdown", command);
            if (created)
            {
                tx.setPermissions(path + "/control/shutdown", List.of(
                    new XsPermission(XsPermission.Access.NONE, domid), new XsPermission(XsPermission.Access.READ, 0)));
            }
            return null;
        });
    }

    /**
     * Waits until the guest has cleared {@code control/shutdown}, or is gone or shut down.
     *
     * @return whether it acknowledged before the deadline.
     */
    boolean awaitAcknowledgement(final int domid, final long deadlineNanos) throws InterruptedException
    {
        final String key = "/local/domain/" + domid + "/control/shutdown";
        watch(key);
        while (true)
        {
            final String value = xs.readOrNull(key);
            if (null == value || value.isEmpty() || finished(domid))
            {
                return true;
            }
            if (!awaitEvent(deadlineNanos))
            {
                return false;
            }
        }
    }

    /**
     * Waits until the domain is gone, or has shut down and was not destroyed within {@code graceNanos} after.
     */
    Outcome awaitShutdown(final int domid, final long deadlineNanos, final long graceNanos)
        throws InterruptedException
    {
        watch(XsPaths.RELEASE_DOMAIN);
        long graceEnd = 0;
        String reason = null;
        while (true)
        {
            final DomainInfo info = session.info(domid);
            if (null == info)
            {
                return new Outcome("gone", reason, -1);
            }
            if (info.shutdown() && null == reason)
            {
                reason = reasonName(info.shutdownReason());
                graceEnd = Math.min(deadlineNanos, System.nanoTime() + graceNanos);
            }
            if (!awaitEvent(null != reason ? graceEnd : deadlineNanos))
            {
                return new Outcome(null != reason ? "shutdown" : "timeout", reason, -1);
            }
        }
    }

    /**
     * Waits until the domain has shut down and a domain with the same name is back under another domid, as
     * {@code xl}'s daemon (or {@code dom0j serve}) builds it again after a reboot. The old domain is either gone
     * ({@code restart}) or kept under another name ({@code rename-restart}); while it still has its name and is
     * only shut down, its toolstack has {@code graceNanos} to act.
     */
    Outcome awaitReboot(final DomainSession.Domain domain, final long deadlineNanos, final long graceNanos)
        throws InterruptedException
    {
        watch(XsPaths.RELEASE_DOMAIN);
        watch(XsPaths.INTRODUCE_DOMAIN);
        final int domid = domain.domid();
        String reason = null;
        long graceEnd = deadlineNanos;
        boolean released = false;
        while (true)
        {
            if (!released)
            {
                final DomainInfo info = session.info(domid);
                released = null == info || !domain.name().equals(session.name(domid));
                if (null != info && info.shutdown() && null == reason)
                {
                    reason = reasonName(info.shutdownReason());
                    graceEnd = Math.min(deadlineNanos, System.nanoTime() + graceNanos);
                }
            }
            if ((released || null != reason) && !domain.name().isEmpty())
            {
                for (final DomainSession.Domain d : session.domains())
                {
                    if (d.domid() != domid && d.name().equals(domain.name()))
                    {
                        return new Outcome("rebooted", reason, d.domid());
                    }
                }
            }
            if (!awaitEvent(released ? deadlineNanos : graceEnd))
            {
                return new Outcome(released ? "gone" : null != reason ? "shutdown" : "timeout", reason, -1);
            }
        }
    }

    private boolean finished(final int domid)
    {
        final DomainInfo info = session.info(domid);
        return null == info || info.shutdown() || info.dying();
    }

    private void watch(final String path)
    {
        for (final XsWatch w : watches)
        {
            if (w.path().equals(path))
            {
                return;
            }
        }
        watches.add(xs.watch(path, "dom0j-power-" + watches.size(), (p, token) -> events.offer(p)));
    }

    /**
     * @return false when the deadline passed with no event.
     */
    private boolean awaitEvent(final long deadlineNanos) throws InterruptedException
    {
        final long left = deadlineNanos - System.nanoTime();
        if (left <= 0 || null == events.poll(left, TimeUnit.NANOSECONDS))
        {
            return false;
        }
        events.clear();
        return true;
    }

    @Override
    public void close()
    {
        for (final XsWatch w : watches)
        {
            w.close();
        }
        watches.clear();
    }
}
