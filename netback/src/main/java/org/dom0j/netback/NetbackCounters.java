package org.dom0j.netback;

import org.agrona.CloseHelper;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;

/**
 * The statistics of one vif queue, from the guest's side: TX is what the guest sent, RX what it received (the
 * opposite of what {@code ip -s link show vifN.M} prints for Linux's netback, which counts from dom0's side), plus
 * what netback counts on its own. Agrona counters in a {@link CountersManager} so that
 * {@code dom0j top} reads them from another process. Allocated when the queue connects, freed when it disconnects.
 * <p>
 * Each counter has one writer, the queue's agent; readable from anywhere.
 */
public final class NetbackCounters implements AutoCloseable
{
    /** Counter type id for netback counters. */
    public static final int TYPE_ID = 0x6E657400;

    final AtomicCounter txPackets;
    final AtomicCounter txBytes;
    final AtomicCounter txErrors;
    final AtomicCounter txDropped;
    final AtomicCounter rxPackets;
    final AtomicCounter rxBytes;
    final AtomicCounter rxErrors;
    final AtomicCounter rxDropped;
    final AtomicCounter rxStalls;
    final AtomicCounter checksumFixups;
    final AtomicCounter segmented;

    /**
     * @param counters where to allocate them.
     * @param name     the queue's name, e.g. "vif 3/0 q0", the prefix of every label.
     */
    public NetbackCounters(final CountersManager counters, final String name)
    {
        txPackets = counters.newCounter(name + " tx_packets", TYPE_ID);
        txBytes = counters.newCounter(name + " tx_bytes", TYPE_ID);
        txErrors = counters.newCounter(name + " tx_errors", TYPE_ID);
        txDropped = counters.newCounter(name + " tx_dropped", TYPE_ID);
        rxPackets = counters.newCounter(name + " rx_packets", TYPE_ID);
        rxBytes = counters.newCounter(name + " rx_bytes", TYPE_ID);
        rxErrors = counters.newCounter(name + " rx_errors", TYPE_ID);
        rxDropped = counters.newCounter(name + " rx_dropped", TYPE_ID);
        rxStalls = counters.newCounter(name + " rx_stalls", TYPE_ID);
        checksumFixups = counters.newCounter(name + " checksum_fixups", TYPE_ID);
        segmented = counters.newCounter(name + " gso_segmented", TYPE_ID);
    }

    /**
     * @return frames the guest sent that were accepted.
     */
    public long txPackets()
    {
        return txPackets.get();
    }

    /**
     * @return their bytes.
     */
    public long txBytes()
    {
        return txBytes.get();
    }

    /**
     * @return packets the guest sent that were answered with an error (malformed, or a grant that could not be read).
     */
    public long txErrors()
    {
        return txErrors.get();
    }

    /**
     * @return packets accepted from the guest and then dropped (no way out, spoofed source, bad offload headers).
     */
    public long txDropped()
    {
        return txDropped.get();
    }

    /**
     * @return frames delivered into the guest.
     */
    public long rxPackets()
    {
        return rxPackets.get();
    }

    /**
     * @return their bytes.
     */
    public long rxBytes()
    {
        return rxBytes.get();
    }

    /**
     * @return frames whose copy into the guest failed (a bad receive grant).
     */
    public long rxErrors()
    {
        return rxErrors.get();
    }

    /**
     * @return frames for the guest that were dropped: its queue was full, or they waited longer than the drain
     *         timeout for receive buffers, or the multicast filter refused them.
     */
    public long rxDropped()
    {
        return rxDropped.get();
    }

    /**
     * @return times the queue was found stalled (the guest posted too few receive buffers for the stall timeout).
     */
    public long rxStalls()
    {
        return rxStalls.get();
    }

    /**
     * @return partial checksums completed in software for a guest that did not ask for checksum offload.
     */
    public long checksumFixups()
    {
        return checksumFixups.get();
    }

    /**
     * @return large (GSO) frames cut into segments in software for a guest that did not ask for GSO.
     */
    public long segmented()
    {
        return segmented.get();
    }

    @Override
    public void close()
    {
        CloseHelper.closeAll(txPackets, txBytes, txErrors, txDropped, rxPackets, rxBytes, rxErrors, rxDropped,
            rxStalls, checksumFixups, segmented);
    }
}
