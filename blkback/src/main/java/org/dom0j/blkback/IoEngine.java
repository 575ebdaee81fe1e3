package org.dom0j.blkback;

/**
 * How a queue reads and writes its disk.
 */
public enum IoEngine
{
    /**
     * io_uring: the reads and writes a queue takes in one pass go to the kernel in one system call, all in flight
     * at once (on an {@code O_DIRECT} device, a queue depth the device sees); large ones are handed to the kernel's
     * workers, so that their copies run beside the grant copies of the others. The default where the kernel allows
     * io_uring (Linux 5.1 and later, not disabled by sysctl or seccomp).
     */
    URING,
    /**
     * One {@code preadv} or {@code pwritev} after another on the queue's thread: one I/O in flight per queue.
     */
    SYNC,
    /**
     * The disk is an NBD export: a pass's reads and writes are in flight together on the queue's own connection
     * ({@link NbdPath}). Not a choice: what every queue of a disk on NBD uses, whatever was configured.
     */
    NBD
}
