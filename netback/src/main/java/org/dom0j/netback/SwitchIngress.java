package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Where a guest's packets go in switch mode: checked against the guest's own address (a guest may send only from the
 * {@code mac} its toolstack gave it, unless spoofing is allowed), given a flow hash, and forwarded by the
 * {@link L2Switch} from the guest's port; by reference (only its headers copied out, the receivers copying the rest
 * straight from the guest's pages) when every port it reaches can take it that way.
 * <p>
 * One per vif queue, on its agent's thread.
 */
final class SwitchIngress implements TxPath.Sink
{
    private final L2Switch fabric;
    private final Vif vif;
    private final boolean allowSpoofing;
    private final PacketHeaders headers = new PacketHeaders();

    /**
     * @param fabric        the switch.
     * @param vif           the guest's vif, attached to the switch.
     * @param allowSpoofing let the guest send from other addresses.
     */
    SwitchIngress(final L2Switch fabric, final Vif vif, final boolean allowSpoofing)
    {
        this.fabric = fabric;
        this.vif = vif;
        this.allowSpoofing = allowSpoofing;
    }

    @Override
    public int send(final Frame frame)
    {
        final UnsafeBuffer bytes = frame.localView();
        if (!allowSpoofing && PacketHeaders.mac(bytes, 6) != vif.mac())
        {
            return 0;
        }
        vif.captured(frame, CaptureRing.FROM_GUEST);
        headers.parse(bytes, 0, frame.localLength());
        frame.flowHash(headers.flowHash(bytes, 0));
        return fabric.forward(frame, vif.switchPort(), System.nanoTime());
    }

    /**
     * A frame may go by reference when every port it will reach takes frames that way (other guests' vifs do;
     * uplinks need its bytes); a spoofed frame is dropped whole anyway.
     */
    @Override
    public boolean needsLocal(final Frame frame)
    {
        final UnsafeBuffer bytes = frame.localView();
        if (!allowSpoofing && PacketHeaders.mac(bytes, 6) != vif.mac())
        {
            return false;
        }
        return vif.isCaptured() || !fabric.acceptsReferences(frame, vif.switchPort(), System.nanoTime());
    }
}
