package org.dom0j.cli;

import org.dom0j.sim.guest.NetBench;

/**
 * One case of {@code dom0j bench net}: what the guests (and the veth baseline) send, on how many queues, and the unit
 * its rates are shown in.
 *
 * @param label  its name in the table.
 * @param shape  what the guests send.
 * @param queues queues per vif (and iperf3 pairs).
 */
record BenchNetCase(String label, NetBench.Shape shape, int queues)
{
    /**
     * @return the unit of the case's rates: Mfps for small frames, else Gbit/s.
     */
    String unit()
    {
        return shape.length() < 512 ? "Mfps" : "Gbit/s";
    }

    /** @return the case's rate in its unit from frames per second. */
    double rate(final double framesPerSecond)
    {
        if (shape.length() < 512)
        {
            return framesPerSecond / 1e6;
        }
        return framesPerSecond * (shape.gso() ? shape.payload() : shape.length()) * 8 / 1e9;
    }
}
