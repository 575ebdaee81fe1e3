package org.dom0j.xenstore;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A client's watches and the thread that calls their listeners.
 * <p>
 * The reader thread {@link #offer offers} each WATCH_EVENT; it waits in a bounded queue for the watch thread
 * ({@code xenstore-watch-N}), which finds the event's watch by the id in its wire token
 * ("&lt;id&gt;:&lt;caller's token&gt;", so that callers may reuse tokens), checks the watch's depth, and calls its
 * listener, one event at a time in arrival order. Events are never dropped: when the queue is full the reader
 * waits, unless the watch thread itself waits for a reply (a listener making a request), which would deadlock; then
 * {@link #offer} says {@link Offer#OVERFLOW} and the connection is closed.
 * <p>
 * Threads: {@link #offer} on the reader thread; the rest on any thread.
 */
final class XsWatchDispatcher
{
    /** What became of an offered event. */
    enum Offer
    {
        /** Queued for the watch thread, or dropped as malformed. */
        QUEUED,
        /** The dispatcher was closed while the reader waited for room. */
        CLOSED,
        /** The queue is full while the watch thread waits for a reply: the connection must close. */
        OVERFLOW
    }

    /** Sends a watch's UNWATCH when its handle is closed. */
    @FunctionalInterface
    interface Unwatch
    {
        /**
         * @param path      the watched path.
         * @param wireToken the token the WATCH was sent with.
         */
        void send(String path, String wireToken);
    }

    private static final Logger LOG = Logger.getLogger(XsWatchDispatcher.class.getName());
    /** The watch thread's longest sleep. */
    private static final long IDLE_POLL_SECONDS = 60;
    /** Queued by a close, so that an idle watch thread leaves at once rather than polling for the close. */
    private static final Event CLOSED_WAKE_UP = new Event("", "");

    private final ConcurrentHashMap<Long, Watch> watches = new ConcurrentHashMap<>();
    private final AtomicLong nextWatchId = new AtomicLong(1);
    private final BlockingQueue<Event> events;
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean awaitingReply;

    /**
     * @param capacity   events that may wait for the watch thread.
     * @param threadName the watch thread's name.
     */
    XsWatchDispatcher(final int capacity, final String threadName)
    {
        this.events = new ArrayBlockingQueue<>(capacity);
        this.thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
    }

    void start()
    {
        thread.start();
    }

    /**
     * Registers a watch before its WATCH is sent, so that no event for it is missed.
     *
     * @param path     the watched path.
     * @param token    the caller's token.
     * @param depth    levels below the path whose events are wanted; negative for all.
     * @param listener called on the watch thread.
     * @param unwatch  sends the UNWATCH when the handle is closed.
     * @return the handle; its {@link Watch#wireToken()} goes in the WATCH.
     */
    Watch add(final String path, final String token, final int depth, final XsWatchListener listener,
        final Unwatch unwatch)
    {
        final Watch watch = new Watch(nextWatchId.getAndIncrement(), path, token, depth, listener, unwatch);
        watches.put(watch.id, watch);
        return watch;
    }

    /**
     * @param watch a watch whose WATCH failed.
     */
    void remove(final Watch watch)
    {
        watch.removed = true;
        watches.remove(watch.id);
    }

    /** Forgets every watch (after RESET_WATCHES). */
    void clear()
    {
        watches.clear();
    }

    /**
     * @return whether the caller is the watch thread.
     */
    boolean isWatchThread()
    {
        return Thread.currentThread() == thread;
    }

    /**
     * @param waiting whether the watch thread now waits for a reply.
     */
    void awaitingReply(final boolean waiting)
    {
        awaitingReply = waiting;
    }

    /**
     * @return the watch thread's name.
     */
    String threadName()
    {
        return thread.getName();
    }

    /**
     * Queues a WATCH_EVENT for the watch thread, waiting while the queue is full.
     *
     * @param payload the event's payload: path, then wire token.
     * @return what became of it.
     * @throws InterruptedException when the reader is interrupted.
     */
    Offer offer(final byte[] payload) throws InterruptedException
    {
        final List<String> parts = XsPayloads.splitStrings(payload);
        if (parts.size() < 2)
        {
            LOG.warning("malformed watch event ignored: " + parts);
            return Offer.QUEUED;
        }
        final Event event = new Event(parts.get(0), parts.get(1));
        while (!events.offer(event, 20, TimeUnit.MILLISECONDS))
        {
            if (closed)
            {
                return Offer.CLOSED;
            }
            if (awaitingReply)
            {
                return Offer.OVERFLOW;
            }
        }
        return Offer.QUEUED;
    }

    /**
     * @return the queue's capacity, for the overflow's message.
     */
    int capacity()
    {
        return events.size() + events.remainingCapacity();
    }

    /**
     * The watch thread delivers what is queued and leaves (a full queue: once it has taken what is queued).
     */
    void close()
    {
        closed = true;
        events.offer(CLOSED_WAKE_UP);
    }

    /**
     * @param millis how long to wait for the watch thread to leave.
     * @throws InterruptedException when interrupted.
     */
    void join(final long millis) throws InterruptedException
    {
        thread.join(millis);
    }

    private void run()
    {
        while (true)
        {
            if (closed && events.isEmpty())
            {
                // a close that found the queue full queued no wake-up: the queue emptied since, so leave now
                return;
            }
            final Event event;
            try
            {
                // Woken by an event or by CLOSED_WAKE_UP, which a close queues unless the queue is full (and then the
                // check above ends it), so an idle client's thread sleeps: it used to wake every second to look for
                // that close, a wake-up through the hypervisor in a PV dom0. The timeout bounds nothing but a bug.
                event = events.poll(IDLE_POLL_SECONDS, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                return;
            }
            if (null == event || CLOSED_WAKE_UP == event)
            {
                if (closed)
                {
                    return;
                }
                continue;
            }
            deliver(event);
        }
    }

    private void deliver(final Event event)
    {
        final int colon = event.token.indexOf(':');
        final Watch watch;
        try
        {
            watch = colon < 0 ? null : watches.get(Long.parseLong(event.token.substring(0, colon)));
        }
        catch (final NumberFormatException ex)
        {
            return;
        }
        if (null == watch || !watch.wanted(event.path))
        {
            return;
        }
        try
        {
            watch.listener.onWatchEvent(event.path, watch.token);
        }
        catch (final RuntimeException ex)
        {
            LOG.log(Level.WARNING, "watch listener for " + watch.path + " threw", ex);
        }
    }

    private record Event(String path, String token)
    {
    }

    /**
     * One watch: its wire token is "&lt;id&gt;:&lt;caller's token&gt;".
     */
    final class Watch implements XsWatch
    {
        private final long id;
        private final String path;
        private final String token;
        private final String wireToken;
        private final int depth;
        private final XsWatchListener listener;
        private final Unwatch unwatch;
        private volatile boolean removed;

        private Watch(final long id, final String path, final String token, final int depth,
            final XsWatchListener listener, final Unwatch unwatch)
        {
            this.id = id;
            this.path = path;
            this.token = token;
            this.wireToken = id + ":" + token;
            this.depth = depth;
            this.listener = listener;
            this.unwatch = unwatch;
        }

        String wireToken()
        {
            return wireToken;
        }

        boolean wanted(final String eventPath)
        {
            if (removed)
            {
                return false;
            }
            if (depth < 0 || eventPath.charAt(0) == '@')
            {
                return true;
            }
            return XsPaths.isAtOrBelow(eventPath, path) && XsPaths.depthBelow(eventPath, path) <= depth;
        }

        @Override
        public String path()
        {
            return path;
        }

        @Override
        public String token()
        {
            return token;
        }

        @Override
        public void close()
        {
            if (removed)
            {
                return;
            }
            removed = true;
            if (null == watches.remove(id) || closed)
            {
                return;
            }
            unwatch.send(path, wireToken);
        }
    }
}
