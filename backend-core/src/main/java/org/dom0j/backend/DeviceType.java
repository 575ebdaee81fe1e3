package org.dom0j.backend;

import java.util.List;
import java.util.Map;

/**
 * The SPI of a kind of device (vbd, vif, console, your own): what to advertise, how to read the frontend's rings,
 * how to serve a connected queue, how to disconnect. The {@link BackendConductor} does everything else: xenstore
 * watches, the xenbus state machine, bounds-checking, grant mapping, event channel binding, agents, counters and
 * idempotent teardown. See docs/writing-a-backend.md.
 * <p>
 * <b>Threads</b>: {@link #advertise}, {@link #readFrontend}, {@link #connect} and {@link #disconnect} are called on
 * the conductor's thread; the returned {@link QueueHandler}s run on ring agent threads.
 */
public interface DeviceType
{
    /**
     * @return the xenstore device type served under {@code backend/<name>}, e.g. "vbd", "vif", "console".
     */
    String name();

    /**
     * Whether a backend directory whose {@code frontend} is this path is this service's to serve. Some devices under
     * {@code backend/<name>} belong to another daemon: libxl writes {@code backend/console/<domid>/0} for the primary
     * console, whose frontend is {@code /local/domain/<domid>/console}, and xenconsoled (not xenbus) serves it. The
     * conductor leaves such devices alone (no state, no error node).
     *
     * @param frontendPath the value of the backend's {@code frontend} node (not yet checked; may be null).
     * @return false to leave the device alone; true by default.
     */
    default boolean servesFrontend(final String frontendPath)
    {
        return true;
    }

    /**
     * The keys to write into the backend directory before it goes to InitWait (feature flags,
     * {@code max-ring-page-order}, {@code multi-queue-max-queues}, ...). Advertise only what the platform supports
     * ({@link DeviceContext#features()}).
     *
     * @param device the new device.
     * @return key to value, relative to the backend directory.
     * @throws InvalidFrontendException when the toolstack's configuration of the device is unusable (the device
     *                                  fails with the reason).
     */
    Map<String, String> advertise(DeviceContext device) throws InvalidFrontendException;

    /**
     * Reads the rings the frontend offered (with {@link DeviceContext#values()}, which bounds-checks every value),
     * when the frontend says Initialised or Connected.
     *
     * @param device the device.
     * @return one entry per queue, at least one.
     * @throws InvalidFrontendException when a value is missing, malformed or out of bounds.
     */
    List<QueueConfig> readFrontend(DeviceContext device) throws InvalidFrontendException;

    /**
     * Called once per queue after its ring is mapped and its event channel bound, before Connected is written; may
     * write backend keys (e.g. {@code sectors}) through the device.
     *
     * @param device the device.
     * @param queue  the connected queue.
     * @return the work to run in the queue's agent.
     * @throws InvalidFrontendException when the frontend's choices cannot be served (the device fails with it).
     */
    QueueHandler connect(DeviceContext device, ConnectedQueue queue) throws InvalidFrontendException;

    /**
     * Called after every agent of the device has stopped and before its rings are unmapped; also after a failed
     * connect. Must be idempotent.
     *
     * @param device the device.
     */
    void disconnect(DeviceContext device);

    /**
     * Whether the type's queues answer each request through {@code BackRing.claimResponse(int)}, naming the journal
     * record {@code BackRing.lastJournalEntry()} gave when the request was taken. The conductor then keeps a ring
     * journal for each ring (when it has a state directory), so that a later process of the service adopts a
     * connected device without losing or repeating an answer. False by default: an adopted ring then rejoins at its
     * shared {@code rsp_prod}, right for a type that answers in ring order and pushes at once.
     *
     * @return true when requests are answered by journal record.
     */
    default boolean journalsRequests()
    {
        return false;
    }

    /**
     * Called once when the conductor forgets the device (its backend directory went away, it closed while offline,
     * or the service stops), after {@link #disconnect}: release what {@link #advertise} set up for the device's whole
     * life (netback's vif interface in dom0), also when {@link #advertise} failed part way. Nothing by default.
     *
     * @param device the device.
     */
    default void remove(final DeviceContext device)
    {
    }
}
