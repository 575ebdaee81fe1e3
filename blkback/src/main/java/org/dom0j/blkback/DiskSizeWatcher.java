package org.dom0j.blkback;

import java.io.IOException;
import java.util.logging.Logger;

/**
 * Online resize, as Linux's blkback does it in its ring thread. One queue of a device watches the disk's size: once
 * a second ({@link #SIZE_CHECK_INTERVAL_NANOS}) it reads it, and when it changed tells its
 * {@link BlkbackQueue.ResizeListener} (the device type writes the new {@code sectors} and Connected again, which
 * makes blkfront read the capacity again). Every queue follows the shared {@link Disk}'s size at the start of each
 * pass: its validator's capacity, and its page-cache mapping, made afresh at the new size.
 * <p>
 * Not thread safe: the queue's agent only. Allocates nothing unless the size changed.
 */
final class DiskSizeWatcher
{
    /** How often the queue that watches the disk's size reads it. */
    static final long SIZE_CHECK_INTERVAL_NANOS = 1_000_000_000L;

    private static final Logger LOG = Logger.getLogger(DiskSizeWatcher.class.getName());

    private final String roleName;
    private final Disk disk;
    private final RequestValidator validator;
    private final PageCacheWindow window;
    private final QueueErrors errors;
    private BlkbackQueue.ResizeListener listener;
    private long nextCheck;

    /**
     * @param roleName  the queue's name, for the log.
     * @param disk      the disk, shared by the device's queues.
     * @param validator the queue's checks, whose capacity follows the disk.
     * @param window    the queue's page-cache mapping, made afresh when the size changes.
     * @param errors    where a failure to read the size is logged.
     */
    DiskSizeWatcher(
        final String roleName,
        final Disk disk,
        final RequestValidator validator,
        final PageCacheWindow window,
        final QueueErrors errors)
    {
        this.roleName = roleName;
        this.disk = disk;
        this.validator = validator;
        this.window = window;
        this.errors = errors;
    }

    /**
     * Makes this queue the one that reads the disk's size, unless it cannot change (an NBD export's is fixed: the
     * client checks it at every connection), so that nothing is read, and nothing wakes the queue, for nothing.
     *
     * @param listener told when it changed.
     */
    void watch(final BlkbackQueue.ResizeListener listener)
    {
        this.listener = disk.sizeCanChange() ? listener : null;
    }

    /**
     * Start of a pass: reads the size when due (on the watching queue), then follows it.
     *
     * @param now {@link System#nanoTime()}'s clock, perhaps as of its last tick (the idle strategy's coarse reading).
     * @return work done: 1 for a change found, 1 for a change followed.
     */
    int check(final long now)
    {
        int work = 0;
        if (null != listener && now - nextCheck >= 0)
        {
            nextCheck = now + SIZE_CHECK_INTERVAL_NANOS;
            try
            {
                if (disk.refreshSize())
                {
                    listener.onResize(disk.sectors512());
                    work++;
                }
            }
            catch (final IOException ex)
            {
                errors.ioError(ex.getMessage());
            }
        }
        final long sectors = disk.sectors512();
        if (sectors != validator.capacity())
        {
            validator.capacity(sectors);
            LOG.info(() -> roleName + ": disk is now " + sectors + " sectors");
            window.resize();
            work++;
        }
        return work;
    }

    /**
     * @param now {@link System#nanoTime()}'s clock, perhaps as of its last tick (the idle strategy's coarse reading).
     * @return how long until the next read of the size, {@link Long#MAX_VALUE} on a queue that does not watch.
     */
    long nanosUntilCheck(final long now)
    {
        return null == listener ? Long.MAX_VALUE : Math.max(0, nextCheck - now);
    }
}
