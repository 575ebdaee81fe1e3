package org.dom0j.sim.guest;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.protocol.netif.NetifCtrlRequestFlyweight;
import org.dom0j.protocol.netif.NetifCtrlResponseFlyweight;
import org.dom0j.ring.FrontRing;
import org.dom0j.ring.RingEntryHandler;
import org.dom0j.ring.RingLayout;
import org.dom0j.sim.SimDomain;

import java.util.Arrays;

import static org.dom0j.protocol.netif.NetifDescriptor.CTRL_REQUEST_LENGTH;
import static org.dom0j.protocol.netif.NetifDescriptor.CTRL_RESPONSE_LENGTH;

/**
 * The control ring of a {@link SimNetfront} (netif.h, "Control ring"): one page, 128 slots of 16 bytes, requests
 * with an id, a type and three data words, answered in any order. A response whose id is not outstanding or whose
 * type is not the request's stops the ring.
 * <p>
 * Not thread safe: the guest's one thread.
 */
final class NetfrontCtrl implements RingEntryHandler
{
    private final EventChannels evtchn;
    private final int port;
    private final GrantedRingPage ringPage;
    private final UnsafeBuffer ringBuffer;
    private final FrontRing ring;
    private final int[] types;
    private final boolean[] answered;
    private final int[] statuses;
    private final int[] data;
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[CTRL_RESPONSE_LENGTH]);
    private final NetifCtrlRequestFlyweight request = new NetifCtrlRequestFlyweight();
    private final NetifCtrlResponseFlyweight response = new NetifCtrlResponseFlyweight();
    private int nextId;
    private String violation;

    NetfrontCtrl(final SimDomain guest, final int backendDomid, final EventChannels evtchn, final int port)
    {
        this.evtchn = evtchn;
        this.port = port;
        ringPage = new GrantedRingPage(guest, backendDomid);
        ringBuffer = ringPage.buffer();
        ring = new FrontRing(RingLayout.of(CTRL_REQUEST_LENGTH, CTRL_RESPONSE_LENGTH, 1), ringBuffer).init(0);
        types = new int[ring.size()];
        answered = new boolean[ring.size()];
        statuses = new int[ring.size()];
        data = new int[ring.size()];
        Arrays.fill(types, -1);
    }

    int ringRef()
    {
        return ringPage.ref();
    }

    int port()
    {
        return port;
    }

    int ringSize()
    {
        return ring.size();
    }

    String violation()
    {
        return violation;
    }

    int request(final int type, final int data0, final int data1, final int data2)
    {
        if (null != violation || ring.isFull())
        {
            return -1;
        }
        int id = -1;
        for (int i = 0; i < types.length; i++)
        {
            final int candidate = (nextId + i) % types.length;
            if (types[candidate] < 0)
            {
                id = candidate;
                break;
            }
        }
        if (id < 0)
        {
            return -1;
        }
        nextId = id + 1;
        types[id] = type;
        answered[id] = false;
        request.wrap(ringBuffer, ring.claimRequest()).id(id).type(type).data0(data0).data1(data1).data2(data2);
        ring.commitRequest();
        if (ring.pushRequestsAndCheckNotify())
        {
            evtchn.notify(port);
        }
        return id;
    }

    boolean isAnswered(final int id)
    {
        return answered[id];
    }

    int status(final int id)
    {
        return statuses[id];
    }

    int data(final int id)
    {
        return data[id];
    }

    void forget(final int id)
    {
        if (answered[id])
        {
            types[id] = -1;
            answered[id] = false;
        }
    }

    int poll()
    {
        int taken = 0;
        while (null == violation)
        {
            final int n = ring.consumeResponses(this, copy, 0, Integer.MAX_VALUE);
            if (n < 0)
            {
                violation = "ctrl: " + ring.violation();
                break;
            }
            taken += n;
            if (!ring.finalCheckForResponses())
            {
                break;
            }
        }
        return taken;
    }

    @Override
    public void onEntry(final MutableDirectBuffer buffer, final int offset, final int index)
    {
        if (null != violation)
        {
            return;
        }
        response.wrap(buffer, offset);
        final int id = response.id();
        if (id >= types.length || types[id] < 0 || answered[id])
        {
            violation = "ctrl: response for request id " + id + " that is not outstanding";
            return;
        }
        if (response.type() != types[id])
        {
            violation = "ctrl: response of type " + response.type() + " to request " + id + " of type " + types[id];
            return;
        }
        statuses[id] = response.status();
        data[id] = response.data();
        answered[id] = true;
    }

    int release()
    {
        return ringPage.release();
    }
}
