package org.dom0j.backend;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.ring.FrontRing;
import org.dom0j.ring.RingLayout;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A well-behaved echo frontend in a test, written the way libxl and a Linux frontend do things: the toolstack
 * creates both directories, the frontend grants its ring, allocates an event channel, writes its keys and
 * Initialised, then Connected.
 */
final class EchoGuest
{
    final int domid;
    final String devid;
    final String backendPath;
    final String frontendPath;
    final List<FrontRing> rings = new ArrayList<>();
    final List<FakeHypervisor.Channel> channels = new ArrayList<>();
    private final InMemoryXenStore xs;
    private final FakeHypervisor hypervisor;
    private final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[8]);
    private int nextRef = 8;

    EchoGuest(final InMemoryXenStore xs, final FakeHypervisor hypervisor, final int domid, final String devid)
    {
        this.xs = xs;
        this.hypervisor = hypervisor;
        this.domid = domid;
        this.devid = devid;
        this.backendPath = "/local/domain/0/backend/echo/" + domid + "/" + devid;
        this.frontendPath = "/local/domain/" + domid + "/device/echo/" + devid;
    }

    /** What libxl writes to attach the device. */
    EchoGuest plug()
    {
        xs.write(frontendPath + "/backend", backendPath);
        xs.write(frontendPath + "/backend-id", "0");
        xs.write(frontendPath + "/state", "1");
        xs.write(backendPath + "/frontend", frontendPath);
        xs.write(backendPath + "/frontend-id", Integer.toString(domid));
        xs.write(backendPath + "/state", "1");
        xs.write(backendPath + "/online", "1");
        return this;
    }

    /** The frontend publishes {@code queues} rings of {@code pages} pages each and says Initialised. */
    EchoGuest offerRings(final int queues, final int pages)
    {
        rings.clear();
        channels.clear();
        for (int q = 0; q < queues; q++)
        {
            final String dir = queues == 1 ? frontendPath : frontendPath + "/queue-" + q;
            final int firstRef = nextRef;
            nextRef += pages;
            final UnsafeBuffer memory = hypervisor.grant(domid, firstRef, pages);
            rings.add(new FrontRing(RingLayout.of(8, 8, pages), memory).init(0));
            final FakeHypervisor.Channel channel = hypervisor.allocUnbound(domid);
            channels.add(channel);
            if (pages == 1)
            {
                xs.write(dir + "/ring-ref", Integer.toString(firstRef));
            }
            else
            {
                xs.write(dir + "/ring-page-order", Integer.toString(Integer.numberOfTrailingZeros(pages)));
                for (int i = 0; i < pages; i++)
                {
                    xs.write(dir + "/ring-ref" + i, Integer.toString(firstRef + i));
                }
            }
            xs.write(dir + "/event-channel", Integer.toString(channel.guestPort));
        }
        if (queues > 1)
        {
            xs.write(frontendPath + "/multi-queue-num-queues", Integer.toString(queues));
        }
        xs.write(frontendPath + "/protocol", "x86_64-abi");
        return this;
    }

    void state(final XenbusState state)
    {
        xs.write(frontendPath + "/state", state.wireValue());
    }

    String backendState()
    {
        return xs.readOrNull(backendPath + "/state");
    }

    /** Posts requests with the given values on queue {@code q}, notifying as the ring says. */
    void post(final int q, final int... values)
    {
        final FrontRing ring = rings.get(q);
        for (final int value : values)
        {
            request.putInt(0, ring.reqProdPvt(), ByteOrder.LITTLE_ENDIAN);
            request.putInt(4, value, ByteOrder.LITTLE_ENDIAN);
            ring.putRequest(request, 0, 8);
        }
        if (ring.pushRequestsAndCheckNotify())
        {
            channels.get(q).notifyBackend();
        }
    }

    /** Takes the responses waiting on queue {@code q}: their results in order. */
    List<Integer> responses(final int q)
    {
        final List<Integer> results = new ArrayList<>();
        rings.get(q).consumeResponses((buffer, offset, index) ->
            results.add(buffer.getInt(offset + 4, ByteOrder.LITTLE_ENDIAN)), copy, 0, 1000);
        return results;
    }
}
