package org.dom0j.backend;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.ring.RingEntryHandler;
import org.dom0j.ring.RingLayout;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A minimal device type for the conductor's tests (and the example in docs/writing-a-backend.md): requests
 * {u32 id, u32 value}, responses {u32 id, i32 result}; the result is value + 1, or -22 (EINVAL) for the value
 * 0xBAD, which counts as a bad request. Single or multi queue ({@code multi-queue-num-queues}), rings of up to 4
 * pages.
 */
final class EchoDeviceType implements DeviceType
{
    static final int REQUEST_LENGTH = 8;
    static final int RESPONSE_LENGTH = 8;
    static final int MAX_RING_PAGE_ORDER = 2;
    static final int MAX_QUEUES = 4;
    static final int BAD_VALUE = 0xBAD;

    int disconnects;
    int removes;
    /** Handlers made by {@link #connect}, and those of them not yet closed ({@link QueueHandler#onClose}). */
    int handlersMade;
    int handlersOpen;
    /** What each queue's handler answers to {@link QueueHandler#idleWaitNanos}: negative for the scheduler's. */
    long idleWaitNanos = -1;
    RuntimeException advertiseFailure;

    @Override
    public String name()
    {
        return "echo";
    }

    @Override
    public Map<String, String> advertise(final DeviceContext device)
    {
        if (advertiseFailure != null)
        {
            throw advertiseFailure;
        }
        return Map.of(
            "max-ring-page-order", Integer.toString(MAX_RING_PAGE_ORDER),
            "multi-queue-max-queues", Integer.toString(MAX_QUEUES));
    }

    @Override
    public List<QueueConfig> readFrontend(final DeviceContext device) throws InvalidFrontendException
    {
        final XenbusValues values = device.values();
        final String dir = device.frontendPath();
        values.readProtocol(dir, RingProtocol.X86_64);
        final int queues = (int)values.readUnsigned(dir + "/multi-queue-num-queues", 1, MAX_QUEUES, 1);
        final List<QueueConfig> configs = new ArrayList<>();
        for (int q = 0; q < queues; q++)
        {
            final String queueDir = queues == 1 ? dir : dir + "/queue-" + q;
            final int[] refs = values.readRingRefs(queueDir, MAX_RING_PAGE_ORDER);
            final int port = values.readEventChannel(queueDir + "/event-channel");
            configs.add(new QueueConfig(q, RingLayout.of(REQUEST_LENGTH, RESPONSE_LENGTH, refs.length), refs, port));
        }
        return configs;
    }

    @Override
    public QueueHandler connect(final DeviceContext device, final ConnectedQueue queue)
    {
        handlersMade++;
        handlersOpen++;
        return new Handler(this, queue, idleWaitNanos);
    }

    @Override
    public void disconnect(final DeviceContext device)
    {
        disconnects++;
    }

    @Override
    public void remove(final DeviceContext device)
    {
        removes++;
    }

    private static final class Handler implements QueueHandler, RingEntryHandler
    {
        private final UnsafeBuffer copy = new UnsafeBuffer(new byte[REQUEST_LENGTH]);
        private final UnsafeBuffer response = new UnsafeBuffer(new byte[RESPONSE_LENGTH]);
        private final EchoDeviceType type;
        private final ConnectedQueue queue;
        private final long idleWaitNanos;

        Handler(final EchoDeviceType type, final ConnectedQueue queue, final long idleWaitNanos)
        {
            this.type = type;
            this.queue = queue;
            this.idleWaitNanos = idleWaitNanos;
        }

        @Override
        public void onClose(final ConnectedQueue queue)
        {
            type.handlersOpen--;
        }

        @Override
        public long idleWaitNanos(final ConnectedQueue queue, final long nowNanos)
        {
            return idleWaitNanos;
        }

        @Override
        public int doWork(final ConnectedQueue queue)
        {
            final int taken = queue.ring().consumeRequests(this, copy, 0, 32);
            if (taken > 0)
            {
                queue.pushResponsesAndNotify();
            }
            return Math.max(taken, 0);
        }

        @Override
        public void onEntry(final MutableDirectBuffer buffer, final int offset, final int index)
        {
            final int id = buffer.getInt(offset, ByteOrder.LITTLE_ENDIAN);
            final int value = buffer.getInt(offset + 4, ByteOrder.LITTLE_ENDIAN);
            response.putInt(0, id, ByteOrder.LITTLE_ENDIAN);
            if (value == BAD_VALUE)
            {
                queue.counters().errors().incrementRelease();
                response.putInt(4, -22, ByteOrder.LITTLE_ENDIAN);
            }
            else
            {
                response.putInt(4, value + 1, ByteOrder.LITTLE_ENDIAN);
            }
            queue.ring().putResponse(response, 0, RESPONSE_LENGTH);
        }
    }
}
