package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.protocol.netif.NetifExtraInfoFlyweight;
import org.dom0j.protocol.netif.NetifRxResponseFlyweight;
import org.dom0j.protocol.netif.NetifTxResponseFlyweight;
import org.dom0j.ring.BackRing;

import java.nio.ByteOrder;

/**
 * What a {@link LoopbackNetback.Raw} test hook writes with: it takes requests off one of queue 0's rings and writes
 * whatever responses a test wants, in ring order, well-formed or not; {@link LoopbackNetback} pushes them (and
 * moves rsp_prod on by {@link #bumpRspProd}) afterwards.
 * <p>
 * Used on the backend's loop thread only.
 */
final class LoopbackRawWriter
{
    private final BackRing ring;
    private final UnsafeBuffer copy = new UnsafeBuffer(new byte[16]);
    private final NetifRxResponseFlyweight rxResponse = new NetifRxResponseFlyweight();
    private final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight();
    private final NetifTxResponseFlyweight txResponse = new NetifTxResponseFlyweight();
    private int bump;

    LoopbackRawWriter(final BackRing ring)
    {
        this.ring = ring;
    }

    /**
     * @return requests posted and not taken.
     */
    int available()
    {
        return ring.unconsumedRequests();
    }

    /**
     * Takes the next request.
     *
     * @return its id.
     */
    int take()
    {
        ring.copyRequest(copy, 0);
        return copy.getShort(0, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * Takes the next RX request and answers it with a data response naming it.
     *
     * @param pageOffset offset.
     * @param flags      NETRXF_*.
     * @param status     size or negative status.
     */
    void rxData(final int pageOffset, final int flags, final int status)
    {
        writeRx(take(), pageOffset, flags, status);
    }

    /**
     * Takes the next RX request and answers it with any id.
     *
     * @param id         the id to write.
     * @param pageOffset offset.
     * @param flags      NETRXF_*.
     * @param status     size or negative status.
     */
    void rxResponse(final int id, final int pageOffset, final int flags, final int status)
    {
        take();
        writeRx(id, pageOffset, flags, status);
    }

    private void writeRx(final int id, final int pageOffset, final int flags, final int status)
    {
        rxResponse.wrap(ring.buffer(), ring.claimResponse()).id(id).pageOffset(pageOffset).flags(flags)
            .status(status);
        ring.commitResponse();
    }

    /**
     * Takes the next RX request and answers it with an extra info.
     *
     * @param type    extra type.
     * @param flags   XEN_NETIF_EXTRA_FLAG_*.
     * @param gsoSize for a GSO extra.
     * @param gsoType for a GSO extra.
     */
    void rxExtra(final int type, final int flags, final int gsoSize, final int gsoType)
    {
        take();
        extra.wrap(ring.buffer(), ring.claimResponse()).type(type).flags(flags).gsoSize(gsoSize)
            .gsoType(gsoType);
        ring.commitResponse();
    }

    /**
     * Answers a request already taken, with any id.
     *
     * @param id     the id to write.
     * @param status the status.
     */
    void txResponse(final int id, final int status)
    {
        txResponse.wrap(ring.buffer(), ring.claimResponse()).id(id).status(status);
        ring.commitResponse();
    }

    /**
     * Moves rsp_prod on without writing responses.
     *
     * @param by how far.
     */
    void bumpRspProd(final int by)
    {
        bump = by;
    }

    /**
     * @return how far to move rsp_prod on past the responses pushed.
     */
    int bump()
    {
        return bump;
    }
}
