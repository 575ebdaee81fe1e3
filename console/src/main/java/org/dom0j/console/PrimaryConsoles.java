package org.dom0j.console;

import org.agrona.concurrent.Agent;
import org.dom0j.backend.InvalidFrontendException;
import org.dom0j.backend.XenbusValues;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.platform.XenPlatform;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreException;
import org.dom0j.xenstore.XsWatch;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * Serves every domain's primary console, as xenconsoled does: no xenbus device and no state machine, just the keys
 * the toolstack wrote in the domain's directory, {@code /local/domain/<domid>/console/ring-ref} and
 * {@code console/port} ({@code console/type}, when present, must be "xenconsoled"; "ioemu" consoles are QEMU's).
 * Domains are found through the {@code @introduceDomain} and {@code @releaseDomain} watches and a watch on each
 * domain's {@code console} directory; a console is connected when both keys are there, reconnected when they change,
 * and let go when the domain goes. Each console gets a pseudo-terminal named in {@code console/tty}, as xenconsoled
 * gives one: libxl waits for that key when it creates a domain, and {@code xl console} opens it.
 * <p>
 * <b>The page</b>: on real Xen {@code ring-ref} is the guest frame number of a page the domain builder set aside,
 * which a console daemon maps as foreign memory; xenconsoled first maps grant ref 0
 * ({@code GNTTAB_RESERVED_CONSOLE}, which the toolstack fills in for that frame at build time) and falls back to
 * the frame. This class maps through the grant-table SPI only: with {@code ringRefIsGrant} (the simulator) the value
 * of {@code ring-ref} is the grant ref to map; without it (Xen) ref 0 is mapped and {@code ring-ref} is only checked
 * to be a number. There is no foreign-mapping fallback, so a guest whose builder did not fill in ref 0 is not served.
 * <p>
 * A bad value, a failed map or bind, or a protocol violation on the page is logged and that console is left alone
 * until its keys change; the other consoles go on. There is no xenbus error node for a primary console.
 * <p>
 * <b>Threads</b>: an {@link Agent}: everything runs on its thread; watch callbacks only raise a flag. One event
 * channel handle serves every primary console; each pass pumps every console (the number of domains is small), so
 * an idle strategy waiting on {@link #eventChannels()} with a short bound keeps input latency low.
 * <p>
 * <b>A flooding guest</b> costs only itself: its {@link ConsolePump} takes no more than the rate limit allows, and
 * while it has spent its allowance its pump reports no work and its port stays masked (as xenconsoled leaves a
 * domain over its allowance masked until the next period), so its events neither count as work nor wake the
 * thread, and the pass goes on to the other consoles.
 */
public final class PrimaryConsoles implements Agent
{
    /** GNTTAB_RESERVED_CONSOLE: the grant ref the toolstack sets up for the console page on Xen. */
    public static final int GNTTAB_RESERVED_CONSOLE = 0;
    private static final System.Logger LOG = System.getLogger(PrimaryConsoles.class.getName());
    private static final String TOKEN = "dom0j-primary-console";

    private final XenPlatform platform;
    private final XenStore xenStore;
    private final GrantTables grantTables;
    private final ConsoleHub hub;
    private final boolean ringRefIsGrant;
    private final XenbusValues values;
    private final EventChannels eventChannels;
    private final LongSupplier nanoClock;
    private final AtomicBoolean rescan = new AtomicBoolean(true);
    private volatile boolean stopping;
    /** The consoles served, for the duty cycle: made anew when one comes or goes, so a pass allocates nothing. */
    private Primary[] served = new Primary[0];
    private final Map<Integer, Primary> consoles = new HashMap<>();
    private final Map<Integer, Primary> byPort = new HashMap<>();
    private final Map<Integer, String> failed = new HashMap<>();
    private final Map<Integer, XsWatch> domainWatches = new HashMap<>();
    private final List<XsWatch> watches = new ArrayList<>();

    /** One connected primary console. */
    private static final class Primary
    {
        final int domid;
        final String keys;
        final GrantMapping mapping;
        final int localPort;
        final ConsolePump pump;
        boolean portHeld;

        Primary(final int domid, final String keys, final GrantMapping mapping, final int localPort,
            final ConsolePump pump)
        {
            this.domid = domid;
            this.keys = keys;
            this.mapping = mapping;
            this.localPort = localPort;
            this.pump = pump;
        }
    }

    /**
     * @param platform       the local domain, and the event channel handle.
     * @param xenStore       a privileged connection (not closed here).
     * @param grantTables    maps the pages (not closed here).
     * @param hub            where sessions are opened.
     * @param ringRefIsGrant true on the simulator (ring-ref is a grant ref); false on Xen (map ref 0).
     */
    public PrimaryConsoles(
        final XenPlatform platform,
        final XenStore xenStore,
        final GrantTables grantTables,
        final ConsoleHub hub,
        final boolean ringRefIsGrant)
    {
        this(platform, xenStore, grantTables, hub, ringRefIsGrant, System::nanoTime);
    }

    /**
     * @param platform       the local domain, and the event channel handle.
     * @param xenStore       a privileged connection (not closed here).
     * @param grantTables    maps the pages (not closed here).
     * @param hub            where sessions are opened.
     * @param ringRefIsGrant true on the simulator (ring-ref is a grant ref); false on Xen (map ref 0).
     * @param nanoClock      the time for the rate limits ({@link System#nanoTime()}; tests drive their own).
     */
    PrimaryConsoles(
        final XenPlatform platform,
        final XenStore xenStore,
        final GrantTables grantTables,
        final ConsoleHub hub,
        final boolean ringRefIsGrant,
        final LongSupplier nanoClock)
    {
        this.platform = platform;
        this.xenStore = xenStore;
        this.grantTables = grantTables;
        this.hub = hub;
        this.ringRefIsGrant = ringRefIsGrant;
        this.values = new XenbusValues(xenStore::readOrNull);
        this.nanoClock = nanoClock;
        this.eventChannels = platform.openEventChannels();
    }

    /**
     * @return the handle every primary console's port is bound on (for an idle strategy that waits on it).
     */
    public EventChannels eventChannels()
    {
        return eventChannels;
    }

    /**
     * @return the domains whose primary console is connected now; agent thread.
     */
    public Set<Integer> connectedDomains()
    {
        return new HashSet<>(consoles.keySet());
    }

    @Override
    public String roleName()
    {
        return "dom0j-primary-consoles";
    }

    @Override
    public void onStart()
    {
        watches.add(xenStore.watch("@introduceDomain", TOKEN, (path, token) -> rescanSoon()));
        watches.add(xenStore.watch("@releaseDomain", TOKEN, (path, token) -> rescanSoon()));
    }

    /**
     * How long the agent may sleep on its event channels now: until its next timed duty (a throttled console's next
     * period), at most {@code maxNanos}; output comes with the guests' events, typed input and domains that come or
     * go with a wake-up.
     *
     * @param maxNanos the longest sleep.
     * @return nanoseconds.
     */
    public long idleWaitNanos(final long maxNanos)
    {
        if (rescan.get() || stopping)
        {
            return 0;
        }
        final long now = nanoClock.getAsLong();
        long wait = maxNanos;
        for (final Primary console : served)
        {
            wait = Math.min(wait, console.pump.idleWaitNanos(null, now));
        }
        return wait;
    }

    /**
     * Its runner is about to close it (any thread): woken from its wait, and from now on it does not sleep, so that
     * it leaves as soon as the runner says so (its sleep, a poll(2) on its event channels, is not ended by the
     * interrupt a runner sends).
     */
    public void stopping()
    {
        stopping = true;
        wakeUp();
    }

    private void rescanSoon()
    {
        rescan.set(true);
        wakeUp();
    }

    private void wakeUp()
    {
        try
        {
            eventChannels.wakeup();
        }
        catch (final RuntimeException ex)
        {
            // Closing: nothing to wake.
        }
    }

    @Override
    public int doWork()
    {
        int work = 0;
        if (rescan.getAndSet(false))
        {
            scan();
            work++;
        }
        final long now = nanoClock.getAsLong();
        int port;
        while ((port = eventChannels.pending()) >= 0)
        {
            final Primary console = byPort.get(port);
            if (null != console && console.pump.throttled(now))
            {
                console.portHeld = true;
            }
            else
            {
                eventChannels.unmask(port);
                work++;
            }
        }
        // disconnect() below makes a new array: this pass goes on over the one it started with.
        for (final Primary console : served)
        {
            final int moved = console.pump.transfer(now);
            if (console.portHeld && !console.pump.throttled(now))
            {
                console.portHeld = false;
                eventChannels.unmask(console.localPort);
            }
            final String violation = console.pump.ring().violation();
            if (null != violation)
            {
                LOG.log(System.Logger.Level.WARNING, "primary console of domain " + console.domid +
                    ": protocol violation, console no longer served: " + violation);
                failed.put(console.domid, console.keys);
                disconnect(console.domid);
            }
            else if (moved > 0)
            {
                eventChannels.notify(console.localPort);
            }
            work += moved;
        }
        return work;
    }

    @Override
    public void onClose()
    {
        for (final XsWatch watch : watches)
        {
            closeQuietly(watch);
        }
        for (final XsWatch watch : domainWatches.values())
        {
            closeQuietly(watch);
        }
        watches.clear();
        domainWatches.clear();
        for (final Integer domid : new ArrayList<>(consoles.keySet()))
        {
            disconnect(domid);
        }
        eventChannels.close();
    }

    private void scan()
    {
        final Set<Integer> present = new HashSet<>();
        final List<String> entries;
        try
        {
            entries = xenStore.directory("/local/domain");
        }
        catch (final XenStoreException ex)
        {
            return;
        }
        for (final String entry : entries)
        {
            final int domid;
            try
            {
                domid = (int)XenbusValues.parseUnsigned("/local/domain/" + entry, entry, 0, 0x7FEF);
            }
            catch (final InvalidFrontendException ex)
            {
                continue;
            }
            if (domid == platform.localDomid())
            {
                continue;
            }
            present.add(domid);
            if (!domainWatches.containsKey(domid))
            {
                domainWatches.put(domid, xenStore.watch("/local/domain/" + domid + "/console", TOKEN,
                    (path, token) -> rescanSoon()));
            }
            reconcile(domid);
        }
        for (final Integer domid : new ArrayList<>(domainWatches.keySet()))
        {
            if (!present.contains(domid))
            {
                closeQuietly(domainWatches.remove(domid));
                disconnect(domid);
                failed.remove(domid);
            }
        }
    }

    private void reconcile(final int domid)
    {
        final String dir = "/local/domain/" + domid + "/console";
        final String type = xenStore.readOrNull(dir + "/type");
        final String ringRef = xenStore.readOrNull(dir + "/ring-ref");
        final String port = xenStore.readOrNull(dir + "/port");
        final String keys = ringRef + "/" + port;
        final Primary current = consoles.get(domid);
        if (null != current && current.keys.equals(keys))
        {
            return;
        }
        disconnect(domid);
        if ((null != type && !"xenconsoled".equals(type)) || null == ringRef || null == port ||
            keys.equals(failed.get(domid)))
        {
            return;
        }
        failed.remove(domid);
        GrantMapping mapping = null;
        int localPort = -1;
        try
        {
            final long frame = values.readUnsigned(dir + "/ring-ref", 0, ringRefIsGrant ? 0xFFFF_FFFFL : (1L << 40));
            final int remotePort = values.readEventChannel(dir + "/port");
            final int ref = ringRefIsGrant ? (int)frame : GNTTAB_RESERVED_CONSOLE;
            mapping = grantTables.map(domid, new int[]{ ref }, 1, true);
            localPort = eventChannels.bindInterdomain(domid, remotePort);
            final String name = xenStore.readOrNull("/local/domain/" + domid + "/name");
            final ConsoleSession session = hub.open(domid, null, name);
            final String tty = publishPty(domid, dir, session);
            final Primary console = new Primary(domid, keys, mapping, localPort,
                new ConsolePump(new ConsoleRing(mapping.buffer()), session));
            consoles.put(domid, console);
            byPort.put(localPort, console);
            served = consoles.values().toArray(new Primary[0]);
            session.onInput(this::wakeUp);
            LOG.log(System.Logger.Level.INFO, "primary console of domain " + domid + ": connected, log " +
                session.logPath() + ", socket " + session.socketPath() + (null == tty ? "" : ", tty " + tty));
        }
        catch (final InvalidFrontendException | IOException | RuntimeException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "primary console of domain " + domid + ": not served: " +
                (ex instanceof InvalidFrontendException ife ? ife.reason() : ex.toString()));
            failed.put(domid, keys);
            if (localPort >= 0)
            {
                unbindQuietly(localPort);
            }
            closeQuietly(mapping);
        }
    }

    /**
     * Gives the console a pty and names it in {@code console/tty}, as xenconsoled does: libxl waits for that key
     * when it creates a domain (and fails after 10 s without it), and {@code xl console} opens it.
     *
     * @return the pty's path, or null when there is none (logged; the console is served without it).
     */
    private String publishPty(final int domid, final String dir, final ConsoleSession session)
    {
        try
        {
            final String tty = session.openPty();
            xenStore.write(dir + "/tty", tty);
            return tty;
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "primary console of domain " + domid + ": no tty for xl console " +
                "(and xl create waits for one): " + ex.getMessage());
            return null;
        }
    }

    private void disconnect(final int domid)
    {
        final Primary console = consoles.remove(domid);
        if (null == console)
        {
            return;
        }
        served = consoles.values().toArray(new Primary[0]);
        byPort.remove(console.localPort);
        console.pump.drainOutput();
        final String tty = console.pump.session().ptyPath();
        final String ttyKey = "/local/domain/" + domid + "/console/tty";
        if (null != tty && tty.equals(xenStore.readOrNull(ttyKey)))
        {
            try
            {
                xenStore.rm(ttyKey);
            }
            catch (final XenStoreException ex)
            {
                LOG.log(System.Logger.Level.DEBUG, "rm " + ttyKey, ex);
            }
        }
        hub.close(domid, null);
        unbindQuietly(console.localPort);
        closeQuietly(console.mapping);
        LOG.log(System.Logger.Level.INFO, "primary console of domain " + domid + ": disconnected");
    }

    private void unbindQuietly(final int port)
    {
        try
        {
            eventChannels.unbind(port);
        }
        catch (final RuntimeException ex)
        {
            LOG.log(System.Logger.Level.DEBUG, "unbind " + port, ex);
        }
    }

    private static void closeQuietly(final AutoCloseable closeable)
    {
        if (null != closeable)
        {
            try
            {
                closeable.close();
            }
            catch (final Exception ex)
            {
                LOG.log(System.Logger.Level.DEBUG, "close " + closeable, ex);
            }
        }
    }
}
