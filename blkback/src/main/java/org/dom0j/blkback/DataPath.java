package org.dom0j.blkback;

/**
 * How a queue moves data between guest pages and the disk.
 */
public enum DataPath
{
    /**
     * Grant copy: the hypervisor copies between guest grants and dom0j's own bounce pages in one batched call per
     * request; the guest's pages are never mapped. What tapdisk and QEMU do when the platform offers it.
     */
    COPY,
    /**
     * Map: the guest's pages are mapped and the disk reads and writes them in place; with {@code feature-persistent}
     * mappings are kept and reused (at most a bound per queue), as Linux's blkback does.
     */
    MAP
}
