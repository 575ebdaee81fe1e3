package org.dom0j.netback;

import org.dom0j.backend.InvalidFrontendException;
import org.dom0j.backend.QueueConfig;
import org.dom0j.backend.XenbusValues;
import org.dom0j.protocol.netif.NetifDescriptor;
import org.dom0j.ring.RingLayout;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads and bounds-checks what a vif's frontend chose, as Linux's {@code xen-netback/xenbus.c} does
 * ({@code connect_data_rings}, {@code read_xenbus_vif_flags}, {@code connect_ctrl_ring}): rx-copy (required), the
 * number of queues (at most what the backend offered), per-queue TX and RX ring grants with one or two event channels,
 * the offloads and flags it asked for, the XDP headroom (bounded), and the control ring. Every value the guest wrote is
 * checked; a bad one fails the device with its path, value and reason.
 */
final class VifFrontendReader
{
    private static final RingLayout TX_LAYOUT =
        RingLayout.of(NetifDescriptor.TX_REQUEST_LENGTH, NetifDescriptor.TX_RESPONSE_LENGTH, 1);
    private static final RingLayout RX_LAYOUT =
        RingLayout.of(NetifDescriptor.RX_REQUEST_LENGTH, NetifDescriptor.RX_RESPONSE_LENGTH, 1);

    private final XenbusValues values;
    private final String fe;
    private final NetbackConfiguration configuration;
    private VifFeatures features;
    private int dataQueues;

    /**
     * @param values        the device's xenstore values.
     * @param fe            the frontend's path.
     * @param configuration what the backend offered.
     */
    VifFrontendReader(final XenbusValues values, final String fe, final NetbackConfiguration configuration)
    {
        this.values = values;
        this.fe = fe;
        this.configuration = configuration;
    }

    /**
     * @return what the frontend asked for (after {@link #read}).
     */
    VifFeatures features()
    {
        return features;
    }

    /**
     * @return its number of data queues (after {@link #read}).
     */
    int dataQueues()
    {
        return dataQueues;
    }

    /**
     * Reads what the frontend chose.
     *
     * @return its data queues, then its control queue when there is one.
     * @throws InvalidFrontendException when a value is missing, malformed or out of bounds.
     */
    List<QueueConfig> read() throws InvalidFrontendException
    {
        if (!flag(values, fe + "/request-rx-copy"))
        {
            throw new InvalidFrontendException(fe + "/request-rx-copy", values.readOrNull(fe + "/request-rx-copy"),
                "the frontend must use rx-copy (rx-flip is not supported, as in Linux's netback)");
        }
        final int queues = (int)values.readUnsigned(fe + "/multi-queue-num-queues", 1, configuration.maxQueues(), 1);
        final int headroom = (int)Math.min(VifFeatures.MAX_XDP_HEADROOM,
            values.readUnsigned(fe + "/xdp-headroom", 0, 0xFFFF, 0));
        features = new VifFeatures(
            flag(values, fe + "/feature-rx-notify"),
            flag(values, fe + "/feature-sg"),
            flag(values, fe + "/feature-gso-tcpv4"),
            flag(values, fe + "/feature-gso-tcpv6"),
            !flag(values, fe + "/feature-no-csum-offload"),
            flag(values, fe + "/feature-ipv6-csum-offload"),
            flag(values, fe + "/request-multicast-control"),
            headroom);
        dataQueues = queues;
        final List<QueueConfig> configs = new ArrayList<>(queues);
        for (int q = 0; q < queues; q++)
        {
            final String dir = queues == 1 ? fe : fe + "/queue-" + q;
            final int txRef = values.readGrantRef(dir + "/tx-ring-ref");
            final int rxRef = values.readGrantRef(dir + "/rx-ring-ref");
            final int[] ports;
            if (values.readOrNull(dir + "/event-channel-tx") != null &&
                values.readOrNull(dir + "/event-channel-rx") != null)
            {
                ports = new int[]{ values.readEventChannel(dir + "/event-channel-tx"),
                    values.readEventChannel(dir + "/event-channel-rx") };
                if (ports[0] == ports[1])
                {
                    throw new InvalidFrontendException(dir + "/event-channel-rx", Integer.toString(ports[1]),
                        "the same port as event-channel-tx");
                }
            }
            else
            {
                ports = new int[]{ values.readEventChannel(dir + "/event-channel") };
            }
            configs.add(new QueueConfig(q, "q" + q, List.of(
                new QueueConfig.Ring(TX_LAYOUT, new int[]{ txRef }),
                new QueueConfig.Ring(RX_LAYOUT, new int[]{ rxRef })), ports));
        }
        final QueueConfig ctrl = readCtrlRing(queues, configs);
        if (ctrl != null)
        {
            configs.add(ctrl);
        }
        return configs;
    }

    /**
     * The control ring, when this backend offers one and the frontend wrote {@code ctrl-ring-ref} (Linux's
     * {@code connect_ctrl_ring}: no ref, no ring; a ref without {@code event-channel-ctrl} fails the device).
     *
     * @return the control queue (index = the number of data queues), or null.
     */
    private QueueConfig readCtrlRing(final int queues, final List<QueueConfig> configs) throws InvalidFrontendException
    {
        if (!configuration.ctrlRing() || values.readOrNull(fe + "/ctrl-ring-ref") == null)
        {
            return null;
        }
        final int ref = values.readGrantRef(fe + "/ctrl-ring-ref");
        final int port = values.readEventChannel(fe + "/event-channel-ctrl");
        for (final QueueConfig data : configs)
        {
            for (int p = 0; p < data.portCount(); p++)
            {
                if (data.remotePort(p) == port)
                {
                    throw new InvalidFrontendException(fe + "/event-channel-ctrl", Integer.toString(port),
                        "the same port as queue " + data.name() + "'s");
                }
            }
        }
        return new QueueConfig(queues, CtrlRingHandler.QUEUE_NAME,
            List.of(new QueueConfig.Ring(CtrlRingHandler.LAYOUT, new int[]{ ref })), new int[]{ port });
    }

    /**
     * A frontend flag read as Linux's {@code xenbus_read_unsigned} reads it: missing is 0, any other number counts
     * as set, anything not a number is refused.
     */
    static boolean flag(final XenbusValues values, final String path) throws InvalidFrontendException
    {
        return values.readUnsigned(path, 0, 0xFFFF_FFFFL, 0) != 0;
    }
}
