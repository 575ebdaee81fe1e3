package org.dom0j.blkback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.protocol.blkif.BlkifAbi;
import org.dom0j.protocol.blkif.BlkifConstants;
import org.dom0j.protocol.blkif.BlkifResponseFlyweight;
import org.dom0j.ring.FrontRing;
import org.dom0j.ring.RingLayout;
import org.dom0j.sim.SimDomain;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A bare frontend for unit tests of one queue: it writes request slots by hand (so tests can also write wrong
 * ones), grants its pages to dom0 in a simulated guest, and collects responses. The Linux-like simulated blkfront
 * lives in the simulator; this one exists to break rules on purpose.
 */
final class TestBlkfront implements AutoCloseable
{
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    record Response(long id, int operation, short status)
    {
    }

    final SimDomain guest;
    final BlkifAbi abi;
    final RingLayout layout;
    final int ringFrame;
    final int ringRef;
    final UnsafeBuffer ringPage;
    final FrontRing ring;
    final EventChannels evtchn;
    final int port;
    final List<Response> responses = new ArrayList<>();
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[128]);
    private final BlkifResponseFlyweight response = new BlkifResponseFlyweight();

    TestBlkfront(final SimDomain guest, final BlkifAbi abi)
    {
        this.guest = guest;
        this.abi = abi;
        layout = RingLayout.of(abi.requestSize(), abi.responseSize(), 1);
        ringFrame = guest.allocatePage();
        ringRef = guest.grantAccess(0, ringFrame, false);
        ringPage = guest.page(ringFrame);
        ring = new FrontRing(layout, ringPage).init(0);
        evtchn = guest.openEventChannels();
        port = evtchn.bindUnboundPort(0);
    }

    /**
     * @param readonly grant it read-only.
     * @return {frame, ref} of a fresh page granted to dom0.
     */
    int[] grantedPage(final boolean readonly)
    {
        final int frame = guest.allocatePage();
        return new int[]{ frame, guest.grantAccess(0, frame, readonly) };
    }

    int claim(final int op, final int nrSegments, final long id, final long sector)
    {
        final int at = ring.claimRequest();
        ringPage.putByte(at, (byte)op);
        ringPage.putByte(at + 1, (byte)nrSegments);
        ringPage.putShort(at + 2, (short)51712, LE);
        ringPage.putLong(at + abi.idOffset(), id, LE);
        ringPage.putLong(at + abi.sectorNumberOffset(), sector, LE);
        return at;
    }

    void segment(final int at, final int i, final int gref, final int first, final int last)
    {
        final int s = at + abi.segmentsOffset() + i * 8;
        ringPage.putInt(s, gref, LE);
        ringPage.putByte(s + 4, (byte)first);
        ringPage.putByte(s + 5, (byte)last);
    }

    int claimIndirect(final int indirectOp, final int nrSegments, final long id, final long sector, final int[] grefs)
    {
        final int at = ring.claimRequest();
        ringPage.putByte(at, (byte)BlkifConstants.BLKIF_OP_INDIRECT);
        ringPage.putByte(at + 1, (byte)indirectOp);
        ringPage.putShort(at + 2, (short)nrSegments, LE);
        ringPage.putLong(at + abi.idOffset(), id, LE);
        ringPage.putLong(at + abi.sectorNumberOffset(), sector, LE);
        ringPage.putShort(at + abi.indirectHandleOffset(), (short)51712, LE);
        for (int i = 0; i < grefs.length; i++)
        {
            ringPage.putInt(at + abi.indirectGrefsOffset() + i * 4, grefs[i], LE);
        }
        return at;
    }

    void push()
    {
        ring.commitRequest();
        if (ring.pushRequestsAndCheckNotify())
        {
            evtchn.notify(port);
        }
    }

    int collect()
    {
        final int n = ring.consumeResponses((buffer, offset, index) ->
        {
            response.wrap(buffer, offset);
            responses.add(new Response(response.id(), response.operation(), response.status()));
        }, copy, 0, Integer.MAX_VALUE);
        ring.finalCheckForResponses();
        return n;
    }

    /**
     * Takes the backend's events, as the guest's interrupt handler would.
     *
     * @return how many came: notifications sent since the last call, which the event channel coalesces (the backend
     *         notifies again only once {@link #collect} asked for it).
     */
    int takeEvents()
    {
        int events = 0;
        int fired;
        while ((fired = evtchn.pending()) >= 0)
        {
            evtchn.unmask(fired);
            events++;
        }
        return events;
    }

    @Override
    public void close()
    {
        evtchn.close();
    }
}
