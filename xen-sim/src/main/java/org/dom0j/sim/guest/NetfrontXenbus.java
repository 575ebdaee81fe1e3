package org.dom0j.sim.guest;

import org.dom0j.backend.XenbusState;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreTransaction;

import java.util.concurrent.TimeoutException;

/**
 * The xenbus side of a {@link SimNetfront}: waits for the backend's state through a {@link XenbusWaiter}, writes
 * what the frontend chose in one transaction (talk_to_netback), goes to Connected and waits for the backend's
 * Connected, and at close walks Closing and Closed with the backend (xennet_bus_close), waiting at most the
 * timeout at each step.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class NetfrontXenbus
{
    private final XenStore xs;
    private final String frontendPath;
    private final XenbusWaiter backendState;
    private final long timeoutMs;

    /**
     * @param xs           the guest's own xenstore connection.
     * @param frontendPath the frontend directory.
     * @param backendPath  the backend directory, whose {@code state} is watched.
     * @param token        the watch token, unique on the connection.
     * @param timeoutMs    how long to wait for the backend at each step.
     */
    NetfrontXenbus(
        final XenStore xs, final String frontendPath, final String backendPath, final String token,
        final long timeoutMs)
    {
        this.xs = xs;
        this.frontendPath = frontendPath;
        this.backendState = new XenbusWaiter(xs, backendPath + "/state", token);
        this.timeoutMs = timeoutMs;
    }

    /**
     * @param state the state to wait for.
     * @throws TimeoutException     when the backend does not reach it in time.
     * @throws InterruptedException when interrupted.
     */
    void awaitBackend(final XenbusState state) throws TimeoutException, InterruptedException
    {
        backendState.await(s -> s == state, timeoutMs);
    }

    /**
     * Writes, in one transaction, the queues' rings and event channels, the control ring and the features asked
     * for (see {@link SimNetfront}'s negotiation).
     *
     * @param options            what was asked for.
     * @param backend            what the backend offered.
     * @param queues             the queues set up.
     * @param ctrl               the control ring, or null.
     * @param split              whether split event channels are in use.
     * @param multicastRequested whether to write request-multicast-control.
     */
    void publish(
        final SimNetfront.Options options,
        final NetbackFeatures backend,
        final NetfrontQueues queues,
        final NetfrontCtrl ctrl,
        final boolean split,
        final boolean multicastRequested)
    {
        xs.transaction(t ->
        {
            if (backend.maxQueues() > 0)
            {
                t.write(frontendPath + "/multi-queue-num-queues", Integer.toString(queues.count()));
            }
            if (queues.count() == 1)
            {
                writeQueue(t, frontendPath, queues, 0, split);
            }
            else
            {
                for (int q = 0; q < queues.count(); q++)
                {
                    writeQueue(t, frontendPath + "/queue-" + q, queues, q, split);
                }
            }
            t.write(frontendPath + "/request-rx-copy", "1");
            t.write(frontendPath + "/feature-rx-notify", "1");
            t.write(frontendPath + "/feature-sg", bit(options.sg()));
            t.write(frontendPath + "/feature-gso-tcpv4", bit(options.gsoTcpv4()));
            t.write(frontendPath + "/feature-gso-tcpv6", bit(options.gsoTcpv6()));
            t.write(frontendPath + "/feature-ipv6-csum-offload", bit(options.ipv6CsumOffload()));
            if (!options.csumOffload())
            {
                t.write(frontendPath + "/feature-no-csum-offload", "1");
            }
            if (null != ctrl)
            {
                t.write(frontendPath + "/ctrl-ring-ref", Integer.toString(ctrl.ringRef()));
                t.write(frontendPath + "/event-channel-ctrl", Integer.toString(ctrl.port()));
            }
            if (multicastRequested)
            {
                t.write(frontendPath + "/request-multicast-control", "1");
            }
            if (backend.xdpHeadroom())
            {
                t.write(frontendPath + "/xdp-headroom", "0");
            }
            return null;
        });
    }

    private static void writeQueue(
        final XenStoreTransaction t, final String dir, final NetfrontQueues queues, final int q, final boolean split)
    {
        t.write(dir + "/tx-ring-ref", Integer.toString(queues.tx(q).ringRef()));
        t.write(dir + "/rx-ring-ref", Integer.toString(queues.rx(q).ringRef()));
        if (split)
        {
            t.write(dir + "/event-channel-tx", Integer.toString(queues.tx(q).port()));
            t.write(dir + "/event-channel-rx", Integer.toString(queues.rx(q).port()));
        }
        else
        {
            t.write(dir + "/event-channel", Integer.toString(queues.tx(q).port()));
        }
    }

    private static String bit(final boolean on)
    {
        return on ? "1" : "0";
    }

    /**
     * Writes Connected and waits for the backend's Connected.
     *
     * @throws TimeoutException     when the backend does not connect in time.
     * @throws InterruptedException when interrupted.
     */
    void connect() throws TimeoutException, InterruptedException
    {
        xs.write(frontendPath + "/state", XenbusState.CONNECTED.wireValue());
        awaitBackend(XenbusState.CONNECTED);
    }

    /**
     * Closing, wait for the backend to close, Closed, wait for the backend's Closed. A backend that does not
     * answer in time, or xenstore going away, ends the handshake early; the caller tears down anyway.
     */
    void disconnect()
    {
        try
        {
            if (xs.exists(frontendPath))
            {
                xs.write(frontendPath + "/state", XenbusState.CLOSING.wireValue());
                backendState.await(s -> s == XenbusState.CLOSING || s == XenbusState.CLOSED ||
                    s == XenbusState.UNKNOWN, timeoutMs);
                xs.write(frontendPath + "/state", XenbusState.CLOSED.wireValue());
                backendState.await(s -> s == XenbusState.CLOSED || s == XenbusState.UNKNOWN, timeoutMs);
            }
        }
        catch (final TimeoutException ex)
        {
            // The backend did not answer: tear down anyway, as netfront gives up after its timeout.
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        catch (final RuntimeException ex)
        {
            // xenstore went away under us (the toolstack removed the device, or the connection closed): the
            // handshake cannot finish, the teardown still must.
        }
    }

    /**
     * Removes the watch on the backend's state.
     */
    void close()
    {
        backendState.close();
    }
}
