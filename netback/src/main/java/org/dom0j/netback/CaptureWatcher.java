package org.dom0j.netback;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Serve's side of {@code dom0j capture}: watches the capture directory for rings the capture command creates, named
 * after a vif ({@code vif3.0}), hands each to its vif (whose agents then write its frames there) and takes it back
 * when the command's heartbeat stops or its file goes away.
 * <p>
 * <b>Threads</b>: its own ({@code netback-capture}), woken by the directory's inotify events (a new ring is taken at
 * once) and, while it has rings handed out or a ring it could not take yet (its vif not there, its heartbeat not
 * started), every {@link #SCAN_MILLIS} ms for them. Otherwise it sleeps until the directory changes: an idle service
 * spends no wake-ups on it (it used to look every second, which under the real-Xen tier's TCG cost an idle serve
 * 0.06 s of dom0's CPU per 10 s).
 */
final class CaptureWatcher implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(CaptureWatcher.class.getName());
    /** How often it checks the heartbeats of the rings it has handed out (at most a second apart, as they beat). */
    static final long SCAN_MILLIS = 1_000;
    /** How often it looks for new rings when the directory cannot be watched. */
    static final long FALLBACK_SCAN_MILLIS = 200;

    private final Path directory;
    private final Function<String, Vif> vifs;
    private final Map<String, Attached> attached = new HashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    /** A ring handed to a vif. */
    private record Attached(Vif vif, CaptureRing ring, Path file)
    {
    }

    /**
     * @param directory where capture rings appear (created if missing).
     * @param vifs      finds a vif by its name, or null.
     */
    CaptureWatcher(final Path directory, final Function<String, Vif> vifs)
    {
        this.directory = directory;
        this.vifs = vifs;
        try
        {
            Files.createDirectories(directory);
        }
        catch (final IOException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "cannot create the capture directory " + directory, ex);
        }
        thread = new Thread(this::run, "netback-capture");
        thread.setDaemon(true);
        thread.start();
    }

    private void run()
    {
        try (WatchService files = directory.getFileSystem().newWatchService())
        {
            directory.register(files, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE);
            while (running)
            {
                // a ring appearing or going wakes it at once; the timeout is the heartbeats' check
                final WatchKey key = scan() ? files.poll(SCAN_MILLIS, TimeUnit.MILLISECONDS) : files.take();
                if (null != key)
                {
                    key.pollEvents();
                    key.reset();
                }
            }
        }
        catch (final InterruptedException | ClosedWatchServiceException ex)
        {
            return;
        }
        catch (final IOException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "cannot watch the capture directory " + directory + " (" + ex +
                "); looking every " + FALLBACK_SCAN_MILLIS + " ms instead");
        }
        while (running)
        {
            scan();
            try
            {
                Thread.sleep(FALLBACK_SCAN_MILLIS);
            }
            catch (final InterruptedException ex)
            {
                return;
            }
        }
    }

    /**
     * @return whether something is to be looked at again in {@link #SCAN_MILLIS} ms: a ring handed out (its
     *         heartbeat), or one not taken yet.
     */
    private boolean scan()
    {
        boolean again = false;
        final long now = System.currentTimeMillis();
        for (final Iterator<Map.Entry<String, Attached>> it = attached.entrySet().iterator(); it.hasNext(); )
        {
            final Attached a = it.next().getValue();
            if (!Files.exists(a.file()) || !a.ring().isAlive(now) || vifs.apply(a.vif().name()) != a.vif())
            {
                a.vif().capture(null);
                a.ring().close();
                it.remove();
                LOG.log(System.Logger.Level.INFO, a.vif().name() + ": capture ended");
            }
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "vif*"))
        {
            for (final Path file : files)
            {
                final String name = file.getFileName().toString();
                if (attached.containsKey(name) || name.endsWith(".new"))
                {
                    continue;
                }
                again = true;
                final Vif vif = vifs.apply(name);
                final CaptureRing ring = null == vif ? null : CaptureRing.open(file);
                if (null != ring)
                {
                    if (ring.isAlive(now))
                    {
                        attached.put(name, new Attached(vif, ring, file));
                        vif.capture(ring);
                        LOG.log(System.Logger.Level.INFO, name + ": capture started");
                    }
                    else
                    {
                        ring.close();
                    }
                }
            }
        }
        catch (final IOException ex)
        {
            LOG.log(System.Logger.Level.DEBUG, "scan " + directory, ex);
            again = true;
        }
        return again || !attached.isEmpty();
    }

    @Override
    public void close()
    {
        running = false;
        thread.interrupt();
        try
        {
            thread.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        for (final Attached a : attached.values())
        {
            a.vif().capture(null);
            a.ring().close();
        }
        attached.clear();
    }
}
