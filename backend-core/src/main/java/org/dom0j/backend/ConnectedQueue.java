package org.dom0j.backend;

import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.ring.BackRing;

/**
 * One connected queue of a device: its mapped rings, a {@link BackRing} over each that has a layout, and its event
 * channels, all bound on one handle. Built by the conductor when the frontend connects; handed to the device type's
 * {@link QueueHandler}. Rings and ports keep the order of the {@link QueueConfig}; the first of each is the one the
 * single-ring accessors ({@link #ring()}, {@link #localPort()}) name.
 * <p>
 * Owned by the queue's {@link RingAgent} thread while connected; the conductor releases it only after the agent
 * has stopped (so nothing is unmapped under I/O).
 */
public final class ConnectedQueue
{
    private final DeviceContext device;
    private final QueueConfig config;
    private final GrantMapping[] mappings;
    private final BackRing[] rings;
    private final EventChannels eventChannels;
    private final int[] localPorts;
    private final QueueCounters counters;
    private String violation;

    ConnectedQueue(
        final DeviceContext device,
        final QueueConfig config,
        final GrantMapping[] mappings,
        final BackRing[] rings,
        final EventChannels eventChannels,
        final int[] localPorts,
        final QueueCounters counters)
    {
        this.device = device;
        this.config = config;
        this.mappings = mappings.clone();
        this.rings = rings.clone();
        this.eventChannels = eventChannels;
        this.localPorts = localPorts.clone();
        this.counters = counters;
    }

    /**
     * A queue of one ring and one port that no conductor connected: for a device type's tests and tools that serve a
     * ring they mapped themselves with a {@link RingAgent} of their own, so that the handler pushes, notifies and
     * counts exactly as it does under the conductor. It has no {@link #device()} (null).
     *
     * @param config        what the frontend offered: one ring, one port.
     * @param mapping       the ring's mapped pages (the caller keeps and releases them).
     * @param ring          the back end of the ring over those pages.
     * @param eventChannels the handle {@code localPort} is bound on (the caller closes it).
     * @param localPort     the local port bound to the frontend's.
     * @param counters      the queue's counters (the caller closes them).
     * @return the queue.
     */
    public static ConnectedQueue ofRing(
        final QueueConfig config,
        final GrantMapping mapping,
        final BackRing ring,
        final EventChannels eventChannels,
        final int localPort,
        final QueueCounters counters)
    {
        if (config.ringCount() != 1 || config.portCount() != 1)
        {
            throw new IllegalArgumentException("one ring and one port: " + config);
        }
        return new ConnectedQueue(null, config, new GrantMapping[]{ mapping }, new BackRing[]{ ring }, eventChannels,
            new int[]{ localPort }, counters);
    }

    /**
     * @return the device this queue belongs to (null for a queue made with {@link #ofRing}).
     */
    public DeviceContext device()
    {
        return device;
    }

    /**
     * @return what the frontend offered.
     */
    public QueueConfig config()
    {
        return config;
    }

    /**
     * @return queue number.
     */
    public int index()
    {
        return config.index();
    }

    /**
     * @return the back end of the first ring, or null for a raw-page queue ({@link QueueConfig#rawPages}).
     */
    public BackRing ring()
    {
        return rings[0];
    }

    /**
     * @param i ring number, in {@link QueueConfig} order.
     * @return the back end of that ring, or null when it has no layout.
     */
    public BackRing ring(final int i)
    {
        return rings[i];
    }

    /**
     * @return how many rings the queue has.
     */
    public int ringCount()
    {
        return rings.length;
    }

    /**
     * @return the first ring's mapped pages.
     */
    public GrantMapping mapping()
    {
        return mappings[0];
    }

    /**
     * @param i ring number.
     * @return that ring's mapped pages.
     */
    public GrantMapping mapping(final int i)
    {
        return mappings[i];
    }

    /**
     * @return the local port bound to the frontend's first.
     */
    public int localPort()
    {
        return localPorts[0];
    }

    /**
     * @param i port number, in {@link QueueConfig} order.
     * @return the local port bound to that frontend port.
     */
    public int localPort(final int i)
    {
        return localPorts[i];
    }

    /**
     * @return how many ports the queue has bound to the frontend.
     */
    public int portCount()
    {
        return localPorts.length;
    }

    /**
     * @return the queue's counters.
     */
    public QueueCounters counters()
    {
        return counters;
    }

    /**
     * @return the event channel handle the ports are bound on (used by this queue's agent only).
     */
    public EventChannels eventChannels()
    {
        return eventChannels;
    }

    /**
     * Stops the queue for a protocol violation, the way {@link BackRing#disable} stops a ring: the
     * {@link RingAgent} stops calling the handler and the conductor fails the device with the reason. The first
     * reason stays. Agent thread only.
     *
     * @param reason what the frontend did wrong.
     */
    public void disable(final String reason)
    {
        if (rings[0] != null)
        {
            rings[0].disable(reason);
        }
        else if (violation == null)
        {
            violation = reason;
        }
    }

    /**
     * @return why the queue was disabled (the first disabled ring's violation, or the reason given to
     *         {@link #disable}), or null.
     */
    public String violation()
    {
        for (final BackRing ring : rings)
        {
            if (ring != null && ring.violation() != null)
            {
                return ring.violation();
            }
        }
        return violation;
    }

    /**
     * Sends an event to the frontend on the first port.
     */
    public void notifyFrontend()
    {
        notifyFrontend(0);
    }

    /**
     * Sends an event to the frontend.
     *
     * @param port port number, in {@link QueueConfig} order.
     */
    public void notifyFrontend(final int port)
    {
        eventChannels.notify(localPorts[port]);
        counters.notificationsSent().incrementRelease();
    }

    /**
     * {@code RING_PUSH_RESPONSES_AND_CHECK_NOTIFY} on the first ring, then notifies the first port when the
     * frontend asked for it.
     *
     * @return whether a notification was sent.
     */
    public boolean pushResponsesAndNotify()
    {
        return pushResponsesAndNotify(0, 0);
    }

    /**
     * {@code RING_PUSH_RESPONSES_AND_CHECK_NOTIFY} on one ring, then notifies a port when the frontend asked.
     *
     * @param ring ring number.
     * @param port port number to notify.
     * @return whether a notification was sent.
     */
    public boolean pushResponsesAndNotify(final int ring, final int port)
    {
        final BackRing r = rings[ring];
        if (r == null)
        {
            throw new IllegalStateException("a raw-page ring has no responses to push");
        }
        if (r.pushResponsesAndCheckNotify())
        {
            notifyFrontend(port);
            return true;
        }
        return false;
    }
}
