package org.dom0j.cli;

import org.dom0j.domctl.DomainInfo;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.toolstack.DomainBuilder;
import org.dom0j.toolstack.xl.XlConfig;
import org.dom0j.toolstack.xl.XlConfig.ShutdownAction;
import org.dom0j.toolstack.xl.XlConfig.ShutdownEvent;
import org.dom0j.toolstack.xl.XlConfigException;
import org.dom0j.xenstore.XsPaths;
import org.dom0j.xenstore.XsWatch;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * What xl's per-domain daemon does, done by {@code dom0j serve} for every domain {@code dom0j create} made
 * ({@link DomainRecords}): when one shuts down, the action its config names for the reason ({@code on_poweroff},
 * {@code on_reboot}, {@code on_watchdog}, {@code on_crash}, {@code on_soft_reset}, xl's defaults otherwise), as
 * xl's {@code handle_domain_death} does:
 * <ul>
 * <li>{@code destroy}: the domain and its toolstack entries go as {@code dom0j destroy} does it (on Xen
 *     {@code libxl_domain_destroy}, as xl's daemon), and so does its record.</li>
 * <li>{@code restart}: destroyed, then built again from the config it was created with, under the same UUID and a
 *     new domid, and let run. A guest that restarts {@value #MAX_RESTARTS} times within
 *     {@value #RESTART_WINDOW_SECONDS} s is left shut down instead, so that a guest rebooting in a loop cannot keep
 *     dom0 building domains; the log says so and what to do.</li>
 * <li>{@code rename-restart}: the old domain is kept under its name with a {@code -YYYYmmddTHHMMZ} suffix, as xl
 *     names it, and a new one is built under a new UUID (the kept one holds the old UUID's {@code /vm} entries).</li>
 * <li>{@code preserve}: left as it is, for an operator to look at; {@code dom0j destroy} removes it.</li>
 * <li>{@code coredump-destroy}, {@code coredump-restart}: on Xen libxl dumps the core to
 *     {@code /var/lib/xen/dump/<name>} first (a failed dump is logged and the action goes on, as in xl); the
 *     simulator has no core to dump.</li>
 * <li>{@code soft-reset} is not done: the domain is left as it is, and the log says so.</li>
 * </ul>
 * A suspended domain is left alone. Domains xl created are xl's daemon's, and have no record here.
 * <p>
 * It looks at the recorded domains when it starts (what shut down while no serve ran is done then) and after each
 * {@code @releaseDomain}, which xenstored fires when a domain shuts down or goes; a record whose domain is gone is
 * removed. Everything it reads comes from the hypervisor and from dom0's own files; nothing a guest wrote is used.
 * <p>
 * Threads: its own ({@code dom0j-shutdown-actions}) does everything; the watch only wakes it.
 */
final class ShutdownActions implements AutoCloseable
{
    /** Restarts within {@link #RESTART_WINDOW_SECONDS} after which a domain is left shut down. */
    static final int MAX_RESTARTS = 5;
    /** The window of {@link #MAX_RESTARTS}. */
    static final int RESTART_WINDOW_SECONDS = 60;
    /** Where libxl dumps a core (xl's XEN_DUMP_DIR). */
    static final String XEN_DUMP_DIRECTORY = "/var/lib/xen/dump";
    /** SHUTDOWN_suspend. */
    private static final int SUSPEND = 2;
    private static final DateTimeFormatter PRESERVED_SUFFIX = DateTimeFormatter.ofPattern("'-'yyyyMMdd'T'HHmm'Z'");
    private static final long BOOT_SECONDS = 60;

    private final Dom0j root;
    private final PrintWriter out;
    private final DomainRecords records;
    private final DomainSession session;
    private final LinkedBlockingQueue<String> wakeUps = new LinkedBlockingQueue<>();
    private final Set<Integer> leftAlone = new HashSet<>();
    private final XsWatch watch;
    private final Thread thread;
    private volatile boolean running = true;

    private ShutdownActions(final Dom0j root, final PrintWriter out, final DomainRecords records,
        final DomainSession session)
    {
        this.root = root;
        this.out = out;
        this.records = records;
        this.session = session;
        this.watch = session.xenStore().watch(XsPaths.RELEASE_DOMAIN, "dom0j-shutdown-actions",
            (path, token) -> wakeUps.offer(path));
        this.thread = new Thread(this::run, "dom0j-shutdown-actions");
        this.thread.setDaemon(true);
    }

    /**
     * Starts acting for the domains {@code dom0j create} made on this platform.
     *
     * @param root the command line's root (the platform, the environment, verbosity).
     * @param out  where what it does is said.
     * @return the running actions; close them to stop.
     */
    static ShutdownActions start(final Dom0j root, final PrintWriter out)
    {
        final DomainSession session = DomainSession.open(root);
        try
        {
            final ShutdownActions actions = new ShutdownActions(root, out,
                DomainRecords.of(session.platform().name(), root.environment()), session);
            actions.thread.start();
            return actions;
        }
        catch (final RuntimeException ex)
        {
            session.close();
            throw ex;
        }
    }

    DomainRecords records()
    {
        return records;
    }

    private void run()
    {
        wakeUps.offer("start");
        while (running)
        {
            try
            {
                final String first = wakeUps.poll(1, TimeUnit.DAYS);
                if (null == first || !running)
                {
                    continue;
                }
                wakeUps.clear();
                scan();
            }
            catch (final InterruptedException ex)
            {
                return;
            }
            catch (final RuntimeException ex)
            {
                say("shutdown actions: " + ex.getMessage() + "; trying again at the next domain event");
            }
        }
    }

    private void scan() throws InterruptedException
    {
        final java.util.List<Integer> recorded = records.domids();
        if (recorded.isEmpty())
        {
            // Nothing to look at: no listing (on the simulator a listing maps each domain's files into serve).
            return;
        }
        final Map<Integer, DomainInfo> live = new HashMap<>();
        for (final DomainInfo info : session.domctl().list())
        {
            live.put(info.domid(), info);
        }
        for (final int domid : recorded)
        {
            if (!running)
            {
                return;
            }
            final DomainInfo info = live.get(domid);
            if (null == info)
            {
                records.remove(domid);
                leftAlone.remove(domid);
                continue;
            }
            if (!info.shutdown() || info.dying() || leftAlone.contains(domid))
            {
                continue;
            }
            final DomainRecords.Record record = records.read(domid);
            if (null == record)
            {
                continue;
            }
            act(new DomainSession.Domain(info, session.name(domid)), record);
        }
    }

    private void act(final DomainSession.Domain domain, final DomainRecords.Record record)
        throws InterruptedException
    {
        final int domid = domain.domid();
        final String who = "domain " + domid + (domain.name().isEmpty() ? "" : " (" + domain.name() + ")");
        final int reason = domain.info().shutdownReason();
        final String reasonName = DomainPowerControl.reasonName(reason);
        if (reason == SUSPEND)
        {
            say(who + " has suspended: left as it is");
            leftAlone.add(domid);
            return;
        }
        XlConfig config;
        try
        {
            config = XlConfig.parse(record.source(), record.config());
            // As xl reloads the configuration before a restart: the name it has now ('dom0j rename').
            if (!domain.name().isEmpty() && !domain.name().equals(config.name()))
            {
                config = config.withName(domain.name());
            }
        }
        catch (final XlConfigException ex)
        {
            say(who + " shut down (" + reasonName + ") but its recorded config no longer reads (" + ex.getMessage() +
                "): left as it is; 'dom0j destroy " + domid + "' removes it");
            leftAlone.add(domid);
            return;
        }
        final ShutdownEvent event = event(reason);
        ShutdownAction action = null == event ? ShutdownAction.DESTROY : config.action(event);
        final String setting = null == event ? "unknown reason " + reason + ", as xl: destroy" :
            event.key() + "=" + action.configName();
        if (action == ShutdownAction.COREDUMP_DESTROY || action == ShutdownAction.COREDUMP_RESTART)
        {
            coreDump(who, domain);
            action = action == ShutdownAction.COREDUMP_DESTROY ? ShutdownAction.DESTROY : ShutdownAction.RESTART;
        }
        switch (action)
        {
            case DESTROY ->
            {
                DomainActions.destroy(session, domain);
                records.remove(domid);
                say(who + " shut down (" + reasonName + "): destroyed (" + setting + ")");
            }
            case RESTART -> restart(who, domain, record, config, setting, reasonName, false);
            case RENAME_RESTART -> restart(who, domain, record, config, setting, reasonName, true);
            case PRESERVE ->
            {
                leftAlone.add(domid);
                say(who + " shut down (" + reasonName + "): left as it is (" + setting + "); 'dom0j destroy " +
                    domid + "' removes it");
            }
            default ->
            {
                leftAlone.add(domid);
                say(who + " shut down (" + reasonName + "): " + setting + " is not done by dom0j; left as it " +
                    "is, 'dom0j destroy " + domid + "' removes it");
            }
        }
    }

    private void restart(final String who, final DomainSession.Domain domain, final DomainRecords.Record record,
        final XlConfig config, final String setting, final String reasonName, final boolean rename)
        throws InterruptedException
    {
        final int domid = domain.domid();
        final long now = System.currentTimeMillis();
        int recent = 0;
        for (final long t : record.restarts())
        {
            recent += now - t < TimeUnit.SECONDS.toMillis(RESTART_WINDOW_SECONDS) ? 1 : 0;
        }
        if (recent >= MAX_RESTARTS)
        {
            leftAlone.add(domid);
            say(who + " shut down (" + reasonName + ") after " + recent + " restarts within " +
                RESTART_WINDOW_SECONDS + " s: left shut down instead of restarted (" + setting + "); read its " +
                "console log, then 'dom0j destroy " + domid + "' and 'dom0j create " + record.source() + "'");
            return;
        }
        String uuid = record.uuid();
        if (rename)
        {
            final String kept = config.name() + ZonedDateTime.now(ZoneOffset.UTC).format(PRESERVED_SUFFIX);
            DomainActions.rename(session, domain, kept);
            uuid = UUID.randomUUID().toString();
            say(who + " shut down (" + reasonName + "): kept as " + kept + " (" + setting + ")");
        }
        else
        {
            DomainActions.destroy(session, domain);
        }
        records.remove(domid);
        leftAlone.remove(domid);
        final int newDomid;
        try (DomainBuilder builder = session.platform().openDomainBuilder(root.options().verbosity()))
        {
            newDomid = builder.create(config, uuid);
            try
            {
                records.write(record.restarted(newDomid, uuid, now, MAX_RESTARTS));
            }
            catch (final java.io.UncheckedIOException ex)
            {
                say("domain " + newDomid + " (" + config.name() + ") is not recorded, so its on_* settings will " +
                    "not be acted on: " + ex.getMessage());
            }
            builder.unpause(newDomid);
        }
        catch (final RuntimeException ex)
        {
            say(who + " shut down (" + reasonName + ") and could not be built again (" + setting + "): " +
                ex.getMessage() + "; 'dom0j create " + record.source() + "' starts it when that is fixed");
            return;
        }
        if (session.isSimulator())
        {
            try
            {
                GuestProcess.boot(SimPlatformProvider.hostDirectory(root.environment()), newDomid, (int)BOOT_SECONDS);
            }
            catch (final java.io.IOException ex)
            {
                say("domain " + newDomid + " (" + config.name() + "): its simulated guest did not start: " +
                    ex.getMessage());
            }
        }
        say(who + " shut down (" + reasonName + "): built again as domain " + newDomid + " (" + setting + ")");
    }

    private void coreDump(final String who, final DomainSession.Domain domain)
    {
        final Path file = Path.of(XEN_DUMP_DIRECTORY, domain.name().isEmpty() ?
            "domain-" + domain.domid() : domain.name());
        try (DomainBuilder builder = session.platform().openDomainBuilder(root.options().verbosity()))
        {
            if (!session.isSimulator())
            {
                Files.createDirectories(file.getParent());
            }
            builder.coreDump(domain.domid(), file);
            say(who + ": core dumped to " + file);
        }
        catch (final RuntimeException | java.io.IOException ex)
        {
            say(who + ": no core dump (" + ex.getMessage() + "); going on, as xl does");
        }
    }

    private static ShutdownEvent event(final int reason)
    {
        return switch (reason)
        {
            case 0 -> ShutdownEvent.POWEROFF;
            case 1 -> ShutdownEvent.REBOOT;
            case 3 -> ShutdownEvent.CRASH;
            case 4 -> ShutdownEvent.WATCHDOG;
            case 5 -> ShutdownEvent.SOFT_RESET;
            default -> null;
        };
    }

    private void say(final String message)
    {
        out.println("dom0j serve: " + message);
        out.flush();
    }

    @Override
    public void close()
    {
        running = false;
        watch.close();
        thread.interrupt();
        try
        {
            thread.join(TimeUnit.SECONDS.toMillis(BOOT_SECONDS + 10));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        session.close();
    }
}
