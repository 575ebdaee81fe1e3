package org.dom0j.backend;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A device type whose shared page is not a request/response ring (as the console's {@code xencons_interface}):
 * the conductor maps it and binds its port ("ring-ref" and "port", the console's key names) and the handler reads
 * and writes the page itself.
 */
@Timeout(30)
class RawPageQueueTest
{
    private static final String BACKEND = "/local/domain/0/backend/mirror/3/0";
    private static final String FRONTEND = "/local/domain/3/device/mirror/0";

    private final FakeBackend backend = new FakeBackend();
    private final InMemoryXenStore xs = backend.xs;
    private final FakeHypervisor hypervisor = backend.hypervisor;

    /** Doubles the u32 at offset 0 into offset 4 whenever it changes, and tells the guest. */
    private static final class MirrorType implements DeviceType
    {
        @Override
        public String name()
        {
            return "mirror";
        }

        @Override
        public Map<String, String> advertise(final DeviceContext device)
        {
            return Map.of();
        }

        @Override
        public List<QueueConfig> readFrontend(final DeviceContext device) throws InvalidFrontendException
        {
            final String dir = device.frontendPath();
            return List.of(QueueConfig.rawPages(0, new int[]{ device.values().readGrantRef(dir + "/ring-ref") },
                device.values().readEventChannel(dir + "/port")));
        }

        @Override
        public QueueHandler connect(final DeviceContext device, final ConnectedQueue queue)
        {
            return new QueueHandler()
            {
                private int last;

                @Override
                public int doWork(final ConnectedQueue q)
                {
                    final UnsafeBuffer page = q.mapping().buffer();
                    final int value = page.getIntVolatile(0);
                    if (value == last)
                    {
                        return 0;
                    }
                    last = value;
                    page.putIntRelease(4, value * 2);
                    q.notifyFrontend();
                    return 1;
                }
            };
        }

        @Override
        public void disconnect(final DeviceContext device)
        {
        }
    }

    private final BackendConductor conductor = backend.conductor(new MirrorType(), 1024);

    @AfterEach
    void stop()
    {
        backend.stop(conductor);
    }

    private void pump()
    {
        backend.pump(conductor);
    }

    /** The guest's page and its event channel, once the device is connected. */
    private record Mirror(UnsafeBuffer page, FakeHypervisor.Channel channel)
    {
    }

    /** Starts the conductor, and a guest whose device 0 shares the page of grant {@code ref}; waits for Connected. */
    private Mirror connect(final int ref)
    {
        conductor.onStart();
        xs.write(FRONTEND + "/state", "1");
        xs.write(BACKEND + "/frontend", FRONTEND);
        xs.write(BACKEND + "/frontend-id", "3");
        xs.write(BACKEND + "/online", "1");
        final UnsafeBuffer page = hypervisor.grant(3, ref, 1);
        final FakeHypervisor.Channel channel = hypervisor.allocUnbound(3);
        xs.write(FRONTEND + "/ring-ref", Integer.toString(ref));
        xs.write(FRONTEND + "/port", Integer.toString(channel.guestPort));
        xs.write(FRONTEND + "/state", "4");
        pump();
        assertThat(xs.readOrNull(BACKEND + "/state")).isEqualTo("4");
        return new Mirror(page, channel);
    }

    @Test
    void shouldMapAndBindARawPageAndLetTheHandlerServeIt()
    {
        final Mirror m = connect(77);
        final UnsafeBuffer page = m.page();
        final FakeHypervisor.Channel channel = m.channel();

        page.putIntRelease(0, 21);
        channel.notifyBackend();
        pump();

        assertThat(page.getIntVolatile(4)).isEqualTo(42);
        assertThat(channel.takeGuestEvents()).isEqualTo(1);
    }

    @Test
    void shouldLogAQueuesTotalsWhenItIsReleased()
    {
        // Its counters leave the counters file with the queue: what they came to stays in serve's log.
        final List<String> lines = new ArrayList<>();
        final Logger log = Logger.getLogger(QueueConnector.class.getName());
        final Handler handler = new Handler()
        {
            @Override
            public void publish(final LogRecord r)
            {
                lines.add(java.text.MessageFormat.format(r.getMessage(), r.getParameters()));
            }

            @Override
            public void flush()
            {
            }

            @Override
            public void close()
            {
            }
        };
        log.addHandler(handler);
        try
        {
            final Mirror m = connect(78);
            for (int i = 1; i <= 3; i++)
            {
                m.page().putIntRelease(0, i);
                m.channel().notifyBackend();
                pump();
            }
            assertThat(lines).noneMatch(l -> l.contains("released"));

            xs.rm(BACKEND);
            pump();

            assertThat(lines).containsExactly("mirror 3/0 q0: requests 0, responses 0, notifications-sent 3, " +
                "events-received 3, errors 0, protocol-violations 0, event-storms 0 (released; totals of this " +
                "connection)");
        }
        finally
        {
            log.removeHandler(handler);
        }
    }
}
