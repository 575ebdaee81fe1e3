package org.dom0j.backend;

import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;

/**
 * The counters of one ring queue, labelled {@code "<type> <domid>/<devid> q<N> <name>"}, in a {@link CountersFile}.
 * <p>
 * Allocated and freed by the conductor; updated only by the queue's {@link RingAgent} (each counter has one writer).
 */
public final class QueueCounters implements AutoCloseable
{
    /** Type id of requests taken off the ring. */
    public static final int REQUESTS_TYPE_ID = 1001;
    /** Type id of responses put on the ring. */
    public static final int RESPONSES_TYPE_ID = 1002;
    /** Type id of notifications sent to the frontend. */
    public static final int NOTIFICATIONS_SENT_TYPE_ID = 1003;
    /** Type id of events received from the frontend. */
    public static final int EVENTS_RECEIVED_TYPE_ID = 1004;
    /** Type id of bad requests answered with an error. */
    public static final int ERRORS_TYPE_ID = 1005;
    /** Type id of protocol violations (the ring was disabled). */
    public static final int PROTOCOL_VIOLATIONS_TYPE_ID = 1006;
    /** Type id of event storms: runs of events that brought no work, after which the queue's ports were held. */
    public static final int SPURIOUS_STORMS_TYPE_ID = 1007;

    private final AtomicCounter requests;
    private final AtomicCounter responses;
    private final AtomicCounter notificationsSent;
    private final AtomicCounter eventsReceived;
    private final AtomicCounter errors;
    private final AtomicCounter protocolViolations;
    private final AtomicCounter spuriousStorms;
    private final String prefix;

    /**
     * @param manager where to allocate.
     * @param prefix  e.g. "vbd 5/51712 q0".
     */
    public QueueCounters(final CountersManager manager, final String prefix)
    {
        this.prefix = prefix;
        requests = manager.newCounter(prefix + " requests", REQUESTS_TYPE_ID);
        responses = manager.newCounter(prefix + " responses", RESPONSES_TYPE_ID);
        notificationsSent = manager.newCounter(prefix + " notifications-sent", NOTIFICATIONS_SENT_TYPE_ID);
        eventsReceived = manager.newCounter(prefix + " events-received", EVENTS_RECEIVED_TYPE_ID);
        errors = manager.newCounter(prefix + " errors", ERRORS_TYPE_ID);
        protocolViolations = manager.newCounter(prefix + " protocol-violations", PROTOCOL_VIOLATIONS_TYPE_ID);
        spuriousStorms = manager.newCounter(prefix + " event-storms", SPURIOUS_STORMS_TYPE_ID);
    }

    /**
     * @return e.g. "vbd 5/51712 q0: requests 12, responses 12, notifications-sent 9, events-received 7, errors 0,
     *         protocol-violations 0, event-storms 0", the counters' labels and values as {@code dom0j top --queues}
     *         shows them (read at once, each with acquire semantics).
     */
    public String summary()
    {
        return prefix + ": requests " + requests.get() + ", responses " + responses.get() + ", notifications-sent " +
            notificationsSent.get() + ", events-received " + eventsReceived.get() + ", errors " + errors.get() +
            ", protocol-violations " + protocolViolations.get() + ", event-storms " + spuriousStorms.get();
    }

    /**
     * @return requests taken off the ring.
     */
    public AtomicCounter requests()
    {
        return requests;
    }

    /**
     * @return responses put on the ring.
     */
    public AtomicCounter responses()
    {
        return responses;
    }

    /**
     * @return notifications sent.
     */
    public AtomicCounter notificationsSent()
    {
        return notificationsSent;
    }

    /**
     * @return events received.
     */
    public AtomicCounter eventsReceived()
    {
        return eventsReceived;
    }

    /**
     * @return bad requests answered with an error.
     */
    public AtomicCounter errors()
    {
        return errors;
    }

    /**
     * @return protocol violations.
     */
    public AtomicCounter protocolViolations()
    {
        return protocolViolations;
    }

    /**
     * @return event storms: runs of {@link RingAgent#SPURIOUS_STREAK} passes whose events brought no work, after
     *         which the queue's ports were held masked for a while.
     */
    public AtomicCounter spuriousStorms()
    {
        return spuriousStorms;
    }

    /**
     * Frees the counters (idempotent).
     */
    @Override
    public void close()
    {
        requests.close();
        responses.close();
        notificationsSent.close();
        eventsReceived.close();
        errors.close();
        protocolViolations.close();
        spuriousStorms.close();
    }
}
