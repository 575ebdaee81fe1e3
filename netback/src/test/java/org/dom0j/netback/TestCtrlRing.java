package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.protocol.netif.NetifCtrlRequestFlyweight;
import org.dom0j.protocol.netif.NetifCtrlResponseFlyweight;
import org.dom0j.protocol.netif.NetifDescriptor;
import org.dom0j.ring.FrontRing;
import org.dom0j.ring.SharedRingDescriptor;

import java.util.HashMap;
import java.util.Map;

/**
 * The control ring of a {@link TestNetfront}, written request by request: set up before the frontend goes Connected
 * ({@code ctrl-ring-ref}, {@code event-channel-ctrl}), then the test puts requests (or breaks the ring on purpose),
 * the harness runs the backend, and {@link #answer} finds each response by id. Also grants pages of data (a key, a
 * mapping table) for the requests to name. Not thread safe; the test's thread, between passes of the backend.
 */
final class TestCtrlRing
{
    /** One response. */
    record Response(int id, int type, int status, int data)
    {
    }

    private final TestNetfront front;
    private final FrontRing ring;
    private final UnsafeBuffer page;
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[NetifDescriptor.CTRL_REQUEST_LENGTH]);
    private final NetifCtrlRequestFlyweight request = new NetifCtrlRequestFlyweight();
    private final NetifCtrlResponseFlyweight response = new NetifCtrlResponseFlyweight();
    private final Map<Integer, Response> answers = new HashMap<>();
    final int ref;
    final int port;
    private int nextId = 0x100;

    /**
     * Grants a ring page and binds a port, and writes the keys (before {@link TestNetfront#connect()}).
     *
     * @param front the frontend.
     */
    TestCtrlRing(final TestNetfront front)
    {
        this.front = front;
        final int frame = front.guest.allocatePage();
        page = front.guest.page(frame);
        ring = new FrontRing(CtrlRingHandler.LAYOUT, page).init(0);
        ref = front.guest.grantAccess(0, frame, false);
        port = front.evtchn.bindUnboundPort(0);
        front.xs.write(front.frontendPath + "/ctrl-ring-ref", Integer.toString(ref));
        front.xs.write(front.frontendPath + "/event-channel-ctrl", Integer.toString(port));
    }

    /**
     * Puts one request, pushes it and notifies the backend.
     *
     * @return its id.
     */
    int request(final int type, final int data0, final int data1, final int data2)
    {
        final int id = nextId++ & 0xFFFF;
        request.wrap(page, ring.claimRequest()).id(id).type(type).data0(data0).data1(data1).data2(data2);
        ring.commitRequest();
        if (ring.pushRequestsAndCheckNotify())
        {
            front.evtchn.notify(port);
        }
        return id;
    }

    /**
     * Writes {@code req_prod} as a hostile frontend would and notifies.
     *
     * @param reqProd the value.
     */
    void writeReqProd(final int reqProd)
    {
        page.putIntRelease(SharedRingDescriptor.REQ_PROD_OFFSET, reqProd);
        front.evtchn.notify(port);
    }

    /**
     * @return the backend's {@code rsp_prod}.
     */
    int rspProd()
    {
        return page.getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET);
    }

    /**
     * Takes the responses produced so far.
     */
    void collect()
    {
        ring.consumeResponses((buffer, offset, index) ->
        {
            response.wrap(buffer, offset);
            answers.put(response.id(), new Response(response.id(), response.type(), response.status(),
                response.data()));
        }, copy, 0, ring.size());
    }

    /**
     * @param id a request's id.
     * @return its response, or null when none came yet.
     */
    Response answer(final int id)
    {
        collect();
        return answers.get(id);
    }

    /**
     * @param data bytes to put at the start of a new page.
     * @return a read-only grant of it to dom0.
     */
    int grant(final byte[] data)
    {
        return front.grantTxPage(data, 0);
    }

    /**
     * @param entries queue numbers.
     * @return a read-only grant of a page holding them as little-endian 32-bit words from offset 0.
     */
    int grantMapping(final int... entries)
    {
        final byte[] bytes = new byte[entries.length * 4];
        final UnsafeBuffer b = new UnsafeBuffer(bytes);
        for (int i = 0; i < entries.length; i++)
        {
            b.putInt(i * 4, entries[i], java.nio.ByteOrder.LITTLE_ENDIAN);
        }
        return grant(bytes);
    }
}
