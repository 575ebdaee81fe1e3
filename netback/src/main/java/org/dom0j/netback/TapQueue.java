package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.linux.TapDevice;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One vif queue's share of its TAP interface in drop-in mode: the guest's packets are written into the TAP (the
 * stack receives them as if they had arrived on {@code vif<domid>.<handle>}), and frames the stack sends out of the
 * TAP are read for the guest, each with its virtio-net header so that checksum offload and GSO cross intact. A vif
 * queue reads the TAP queues whose number is its own modulo the vif's queues, so every TAP queue is read whatever
 * number of queues the frontend chose.
 * <p>
 * {@link #readable} is set by the {@link TapPoller} (any thread); everything else runs on the vif queue's agent.
 * No allocation per frame.
 */
final class TapQueue implements TxPath.Sink
{
    private final TapDevice tap;
    private final Vif vif;
    private final int[] tapQueues;
    private final NetbackCounters counters;
    private final UnsafeBuffer txHeader = new UnsafeBuffer(ByteBuffer.allocateDirect(VirtioNetHeader.LENGTH));
    private final UnsafeBuffer rxHeader = new UnsafeBuffer(ByteBuffer.allocateDirect(VirtioNetHeader.LENGTH));
    private final UnsafeBuffer txIov = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
    private final UnsafeBuffer rxIov = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
    private final PacketHeaders headers = new PacketHeaders();
    private final AtomicBoolean readable = new AtomicBoolean(true);
    private int next;

    /**
     * @param tap       the vif's TAP.
     * @param vif       the vif (for captures).
     * @param queue     this vif queue's number.
     * @param vifQueues how many queues the frontend chose.
     * @param counters  the vif queue's counters.
     */
    TapQueue(final TapDevice tap, final Vif vif, final int queue, final int vifQueues,
        final NetbackCounters counters)
    {
        this.tap = tap;
        this.vif = vif;
        this.counters = counters;
        int n = 0;
        for (int q = queue; q < tap.queues(); q += vifQueues)
        {
            n++;
        }
        tapQueues = new int[Math.max(n, 1)];
        for (int i = 0, q = queue; i < tapQueues.length; i++, q += vifQueues)
        {
            tapQueues[i] = q % tap.queues();
        }
        txIov.putLong(0, txHeader.addressOffset());
        txIov.putLong(8, VirtioNetHeader.LENGTH);
        rxIov.putLong(0, rxHeader.addressOffset());
        rxIov.putLong(8, VirtioNetHeader.LENGTH);
    }

    /**
     * @return the TAP queues this vif queue reads.
     */
    int[] tapQueues()
    {
        return tapQueues.clone();
    }

    TapDevice tap()
    {
        return tap;
    }

    /**
     * @return set when the poller saw one of this queue's TAP descriptors become readable.
     */
    AtomicBoolean readable()
    {
        return readable;
    }

    @Override
    public int send(final Frame frame)
    {
        vif.captured(frame, CaptureRing.FROM_GUEST);
        headers.parse(frame.localView(), 0, frame.localLength());
        if (frame.gsoType() != 0 && frame.csum() != Frame.CSUM_PARTIAL && headers.hasTransport())
        {
            // The TAP takes a GSO frame only with a partial checksum (as Linux's netback sets it, checksum_setup).
            Checksums.partial(frame.localView(), 0, frame.length(), headers);
            frame.csum(Frame.CSUM_PARTIAL);
        }
        if (!VirtioNetHeader.encode(txHeader, frame, headers))
        {
            return 0;
        }
        txIov.putLong(16, frame.localAddress());
        txIov.putLong(24, frame.length());
        final long written = tap.writev(tapQueues[0], txIov.addressOffset(), 2);
        return written == VirtioNetHeader.LENGTH + frame.length() ? 1 : 0;
    }

    /**
     * Reads one frame from this queue's TAP queues, in turn.
     *
     * @param address where the frame goes.
     * @param room    how many bytes fit there.
     * @param frame   set to the frame read (its offload state from the virtio-net header).
     * @return the frame's length, 0 when no TAP queue has a frame, or -1 for a frame to drop (its header asked for
     *         what netif cannot carry).
     */
    int read(final long address, final int room, final Frame frame)
    {
        rxIov.putLong(16, address);
        rxIov.putLong(24, room);
        for (int tried = 0; tried < tapQueues.length; tried++)
        {
            final int q = tapQueues[next];
            next = next + 1 == tapQueues.length ? 0 : next + 1;
            final long n = tap.readv(q, rxIov.addressOffset(), 2);
            if (n == -Errno.EAGAIN.number())
            {
                continue;
            }
            if (n < VirtioNetHeader.LENGTH + PacketHeaders.ETH_HLEN)
            {
                counters.rxErrors.incrementRelease();
                return -1;
            }
            final int length = (int)n - VirtioNetHeader.LENGTH;
            frame.local(address, length);
            return VirtioNetHeader.decode(rxHeader, frame) ? length : -1;
        }
        return 0;
    }
}
