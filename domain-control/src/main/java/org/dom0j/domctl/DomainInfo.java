package org.dom0j.domctl;

/**
 * What the hypervisor knows of a domain ({@code xc_domaininfo_t}).
 *
 * @param domid          the domain id.
 * @param running        a vCPU is running.
 * @param blocked        all vCPUs are blocked.
 * @param paused         paused by the toolstack.
 * @param shutdown       it has shut down; see {@code shutdownReason}.
 * @param dying          it is being destroyed.
 * @param shutdownReason SHUTDOWN_* code (poweroff 0, reboot 1, suspend 2, crash 3, watchdog 4, soft_reset 5)
 *                       when {@code shutdown}, else -1.
 * @param memoryKiB      memory currently allocated to it.
 * @param maxMemoryKiB   its memory limit.
 * @param vcpus          online vCPUs.
 * @param cpuTimeNanos   CPU time used.
 */
public record DomainInfo(
    int domid,
    boolean running,
    boolean blocked,
    boolean paused,
    boolean shutdown,
    boolean dying,
    int shutdownReason,
    long memoryKiB,
    long maxMemoryKiB,
    int vcpus,
    long cpuTimeNanos)
{
    /**
     * @return state letters as {@code xl list} prints them: r b p s c d, '-' for unset.
     */
    public String stateLetters()
    {
        return new StringBuilder(6)
            .append(running ? 'r' : '-')
            .append(blocked ? 'b' : '-')
            .append(paused ? 'p' : '-')
            .append(shutdown && shutdownReason != 3 ? 's' : '-')
            .append(shutdown && shutdownReason == 3 ? 'c' : '-')
            .append(dying ? 'd' : '-')
            .toString();
    }
}
