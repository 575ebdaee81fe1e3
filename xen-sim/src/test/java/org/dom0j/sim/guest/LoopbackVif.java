package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.XenbusState;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.ring.BackRing;
import org.dom0j.ring.RingLayout;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsWatch;

import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_CTRL_STATUS_SUCCESS;
import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE;
import static org.dom0j.protocol.netif.NetifDescriptor.*;

/**
 * One vif a {@link LoopbackNetback} serves: its xenbus directories and the backend's state, its peer (itself
 * unless cross-connected), the multicast changes its frontend asked for, and once connected its queues and control
 * ring, mapped from what the frontend wrote and answered here (GET_HASH_MAPPING_SIZE succeeds with 128, every
 * other type is NOT_SUPPORTED).
 * <p>
 * The rings are touched by the backend's loop thread only; tests read the volatile fields and xenstore.
 */
final class LoopbackVif
{
    final int domid;
    final String devid;
    final String fe;
    final String be;
    final Map<String, String> features;
    final AtomicBoolean stateChanged = new AtomicBoolean(true);
    final List<String> multicast = new CopyOnWriteArrayList<>();
    volatile LoopbackVif peer = this;
    volatile XenbusState phase = XenbusState.INITIALISING;
    volatile String failure;
    XsWatch watch;
    LoopbackQueue[] queues = new LoopbackQueue[0];
    private final XenStore xs;
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[16]);
    private GrantMapping ctrlMap;
    private BackRing ctrlRing;
    private int ctrlPort = -1;

    LoopbackVif(final XenStore xs, final int domid, final String devid, final Map<String, String> features)
    {
        this.xs = xs;
        this.domid = domid;
        this.devid = devid;
        this.fe = XenbusDevices.frontendPath(domid, "vif", devid);
        this.be = XenbusDevices.backendPath(0, "vif", domid, devid);
        this.features = features;
    }

    /**
     * @return the backend's state as the loop last wrote it.
     */
    XenbusState phase()
    {
        return phase;
    }

    /**
     * @return the frontend's keys as they are now (relative names), for negotiation checks.
     */
    Map<String, String> frontendKeys()
    {
        final Map<String, String> keys = new HashMap<>();
        collect(fe, "", keys);
        return keys;
    }

    private void collect(final String dir, final String prefix, final Map<String, String> keys)
    {
        for (final String name : xs.directory(dir))
        {
            final String path = dir + "/" + name;
            final String value = xs.readOrNull(path);
            final List<String> children = xs.directory(path);
            if (children.isEmpty())
            {
                keys.put(prefix + name, value);
            }
            else
            {
                collect(path, prefix + name + "/", keys);
            }
        }
    }

    private long number(final String path, final long defaultValue)
    {
        return NetbackFeatures.readNumber(xs, path, defaultValue);
    }

    /**
     * Maps the rings and binds the event channels the frontend wrote: per queue at top level for one queue, else
     * under {@code queue-N/}, and the control ring when there is one.
     *
     * @param gnttab dom0's grant tables.
     * @param evtchn dom0's event channels.
     */
    void connect(final GrantTables gnttab, final EventChannels evtchn)
    {
        final int n = (int)number(fe + "/multi-queue-num-queues", 1);
        final LoopbackQueue[] mapped = new LoopbackQueue[n];
        for (int q = 0; q < n; q++)
        {
            final String dir = n == 1 ? fe : fe + "/queue-" + q;
            final int txRef = (int)number(dir + "/tx-ring-ref", -1);
            final int rxRef = (int)number(dir + "/rx-ring-ref", -1);
            int txPort = (int)number(dir + "/event-channel-tx", -1);
            int rxPort = (int)number(dir + "/event-channel-rx", -1);
            if (txPort < 0 || rxPort < 0)
            {
                txPort = (int)number(dir + "/event-channel", -1);
                rxPort = txPort;
            }
            mapped[q] = new LoopbackQueue(gnttab, evtchn, domid, txRef, rxRef, txPort, rxPort);
        }
        final int ctrlRef = (int)number(fe + "/ctrl-ring-ref", -1);
        if (ctrlRef >= 0)
        {
            ctrlMap = gnttab.mapOne(domid, ctrlRef, true);
            ctrlRing = new BackRing(RingLayout.of(CTRL_REQUEST_LENGTH, CTRL_RESPONSE_LENGTH, 1), ctrlMap.buffer())
                .attach(0);
            ctrlPort = evtchn.bindInterdomain(domid, (int)number(fe + "/event-channel-ctrl", -1));
        }
        queues = mapped;
    }

    /**
     * Unmaps the rings and unbinds the event channels.
     *
     * @param evtchn dom0's event channels.
     */
    void disconnect(final EventChannels evtchn)
    {
        for (final LoopbackQueue q : queues)
        {
            q.close();
        }
        queues = new LoopbackQueue[0];
        if (null != ctrlMap)
        {
            evtchn.unbind(ctrlPort);
            ctrlMap.close();
            ctrlMap = null;
        }
    }

    /**
     * Answers every control request waiting.
     *
     * @param evtchn dom0's event channels.
     * @return requests answered.
     */
    int serviceCtrl(final EventChannels evtchn)
    {
        if (null == ctrlRing)
        {
            return 0;
        }
        int n = 0;
        while (ctrlRing.unconsumedRequests() > 0)
        {
            ctrlRing.copyRequest(copy, 0);
            final int id = copy.getShort(CTRL_REQUEST_ID_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            final int type = copy.getShort(CTRL_REQUEST_TYPE_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            final UnsafeBuffer ring = (UnsafeBuffer)ctrlRing.buffer();
            final int at = ctrlRing.claimResponse();
            ring.putShort(at + CTRL_RESPONSE_ID_OFFSET, (short)id, ByteOrder.LITTLE_ENDIAN);
            ring.putShort(at + CTRL_RESPONSE_TYPE_OFFSET, (short)type, ByteOrder.LITTLE_ENDIAN);
            final boolean known = type == XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE;
            ring.putInt(at + CTRL_RESPONSE_STATUS_OFFSET,
                known ? XEN_NETIF_CTRL_STATUS_SUCCESS : XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED, ByteOrder.LITTLE_ENDIAN);
            ring.putInt(at + CTRL_RESPONSE_DATA_OFFSET, known ? 128 : 0, ByteOrder.LITTLE_ENDIAN);
            ctrlRing.commitResponse();
            n++;
        }
        if (n > 0 && ctrlRing.pushResponsesAndCheckNotify())
        {
            evtchn.notify(ctrlPort);
        }
        ctrlRing.finalCheckForRequests();
        return n;
    }
}
