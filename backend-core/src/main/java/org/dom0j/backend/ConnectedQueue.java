package org.dom0j.backend;

import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.ring.BackRing;

/**
 * One connected ring queue of a device: the mapped ring, the {@link BackRing} over it, and the bound event
 * channel. Built by the conductor when the frontend connects; handed to the device type's {@link QueueHandler}.
 * <p>
 * Owned by the queue's {@link RingAgent} thread while connected; the conductor releases it only after the agent
 * has stopped (so nothing is unmapped under I/O).
 */
public final class ConnectedQueue
{
    private final DeviceContext device;
    private final QueueConfig config;
    private final GrantMapping mapping;
    private final BackRing ring;
    private final EventChannels eventChannels;
    private final int localPort;
    private final QueueCounters counters;
    private String violation;

    ConnectedQueue(
        final DeviceContext device,
        final QueueConfig config,
        final GrantMapping mapping,
        final BackRing ring,
        final EventChannels eventChannels,
        final int localPort,
        final QueueCounters counters)
    {
        this.device = device;
        this.config = config;
        this.mapping = mapping;
        this.ring = ring;
        this.eventChannels = eventChannels;
        this.localPort = localPort;
        this.counters = counters;
    }

    /**
     * @return the device this queue belongs to.
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
     * @return the back end of the ring, or null for a raw-page queue ({@link QueueConfig#rawPages}).
     */
    public BackRing ring()
    {
        return ring;
    }

    /**
     * @return the ring's mapped pages.
     */
    public GrantMapping mapping()
    {
        return mapping;
    }

    /**
     * @return the local port bound to the frontend's.
     */
    public int localPort()
    {
        return localPort;
    }

    /**
     * @return the queue's counters.
     */
    public QueueCounters counters()
    {
        return counters;
    }

    /**
     * @return the event channel handle the port is bound on (used by this queue's agent only).
     */
    public EventChannels eventChannels()
    {
        return eventChannels;
    }

    /**
     * Stops a raw-page queue ({@link QueueConfig#rawPages}) for a protocol violation, the way
     * {@link BackRing#disable} stops a ring: the {@link RingAgent} stops calling the handler and the conductor fails
     * the device with the reason. The first reason stays. Agent thread only.
     *
     * @param reason what the frontend did wrong.
     */
    public void disable(final String reason)
    {
        if (ring != null)
        {
            ring.disable(reason);
        }
        else if (violation == null)
        {
            violation = reason;
        }
    }

    /**
     * @return why the queue was disabled (its ring's violation, or the reason given to {@link #disable}), or null.
     */
    public String violation()
    {
        return ring != null ? ring.violation() : violation;
    }

    /**
     * Sends an event to the frontend.
     */
    public void notifyFrontend()
    {
        eventChannels.notify(localPort);
        counters.notificationsSent().incrementRelease();
    }

    /**
     * {@code RING_PUSH_RESPONSES_AND_CHECK_NOTIFY}, then notifies when the frontend asked for it.
     *
     * @return whether a notification was sent.
     */
    public boolean pushResponsesAndNotify()
    {
        if (ring == null)
        {
            throw new IllegalStateException("a raw-page queue has no ring to push");
        }
        if (ring.pushResponsesAndCheckNotify())
        {
            notifyFrontend();
            return true;
        }
        return false;
    }
}
