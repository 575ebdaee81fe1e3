package org.dom0j.cli;

/**
 * What the kernel path did in one case of {@code dom0j bench net}'s veth baseline ({@link Iperf3Baseline},
 * {@link NetblastBaseline}).
 *
 * @param framesPerSecond frames (GSO case: 64 KiB frames' worth of payload) received per second.
 * @param cpuPerFrameUs   the sending and receiving processes' CPU (iperf3: its own count, client and server, user and
 *                        system) per frame, in microseconds.
 * @param lostPercent     datagrams lost (UDP), else 0.
 */
record VethResult(double framesPerSecond, double cpuPerFrameUs, double lostPercent)
{
}
