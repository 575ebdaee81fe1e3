package org.dom0j.blkback;

/**
 * Chooses, by measuring, whether a queue serves its reads (and on tmpfs its writes) through the disk's mapped page
 * cache or through bounce pages and preadv/pwritev.
 * <p>
 * Which is cheaper is a property of the machine, not of the code. Through the mapping a request is one copy and no
 * system call, but each page costs a populate the first time, and every copy walks this process's page tables. Under
 * a hypervisor that shadows page tables (seen on a 2-core KVM guest: 5 us for the first touch of a populated page,
 * and two queues' threads switching with the guest's made every touch a first touch) that walk can cost more than
 * preadv's copy through the kernel's own mapping: there two queues served 60K 4 KiB reads a second through the
 * mapping against 257K through bounce pages, while one queue was faster through the mapping. So neither is assumed:
 * <ol>
 * <li>each way is tried for a window of {@link #WINDOW_PAGES} pages served (or {@link #WINDOW_NANOS} of busy time,
 * whichever ends first, so that the trial of a slow way stays short), and its busy time per page measured
 * (time spent serving batches, not waiting for them, so an idle queue measures nothing);</li>
 * <li>the cheaper way is kept for a hold period, which doubles (from {@link #FIRST_HOLD_NANOS} to
 * {@link #MAX_HOLD_NANOS}) each time a new trial confirms it and starts again when a trial overturns it, so a
 * workload that changes is followed and a steady one pays for the trials less and less;</li>
 * <li>then the other way is tried again for one window (the populates it does there are kept: each page is
 * populated once, so the mapping's cost falls to its steady cost as the disk is covered).</li>
 * </ol>
 * A trial costs at most one window of the slower way per hold period (20 ms of it): 4 % with the first hold, a
 * fraction of that once the hold has grown.
 * <p>
 * Queues use it only when asked ({@link #byDefault}): measured this way, the mapping's one-time warm-up decided
 * against it on a machine where, warm, it is the faster way in every case.
 * <p>
 * Not thread safe: one queue's thread.
 */
final class PageCacheChoice
{
    /** Pages (4 KiB) served in a window before its cost counts: 64 MiB of I/O. */
    static final long WINDOW_PAGES = 16_384;
    /**
     * Busy time after which a window ends sooner (once it has {@link #MIN_WINDOW_PAGES}): a way that costs 22 us a
     * page (the mapping's first touches, measured on a 2-core KVM guest) would otherwise take 360 ms of a 64 MiB
     * window, each trial.
     */
    static final long WINDOW_NANOS = 20_000_000L;
    /** Fewest pages a window measures. */
    static final long MIN_WINDOW_PAGES = 256;
    /** The first hold after a choice. */
    static final long FIRST_HOLD_NANOS = 500_000_000L;
    /** The longest hold. */
    static final long MAX_HOLD_NANOS = 16_000_000_000L;

    private final boolean measured;
    private final long windowLength;
    private final long windowTime;
    private final long firstHold;
    private boolean mapped = true;
    private boolean trial = true;
    private boolean decided;
    private boolean heldMapped;
    private long windowPages;
    private long windowNanos;
    private double mappedCost = Double.NaN;
    private double bounceCost = Double.NaN;
    private long hold;
    private long holdUntil;
    private int switches;

    private PageCacheChoice(
        final boolean measured, final long windowPages, final long windowNanos, final long firstHoldNanos)
    {
        this.measured = measured;
        this.windowLength = windowPages;
        this.windowTime = windowNanos;
        this.firstHold = firstHoldNanos;
        this.hold = firstHoldNanos;
    }

    /**
     * @return a choice made by measuring, with the default window and holds.
     */
    static PageCacheChoice measured()
    {
        return new PageCacheChoice(true, WINDOW_PAGES, WINDOW_NANOS, FIRST_HOLD_NANOS);
    }

    /**
     * @param windowPages    pages a trial lasts.
     * @param firstHoldNanos the first hold (doubling up to {@link #MAX_HOLD_NANOS}).
     * @return a choice made by measuring (tests use short windows).
     */
    static PageCacheChoice measured(final long windowPages, final long firstHoldNanos)
    {
        return measured(windowPages, Long.MAX_VALUE, firstHoldNanos);
    }

    /**
     * @param windowPages    pages a trial lasts at most.
     * @param windowNanos    busy time after which it ends sooner (once it has {@link #MIN_WINDOW_PAGES}).
     * @param firstHoldNanos the first hold (doubling up to {@link #MAX_HOLD_NANOS}).
     * @return a choice made by measuring (tests use short windows).
     */
    static PageCacheChoice measured(final long windowPages, final long windowNanos, final long firstHoldNanos)
    {
        return new PageCacheChoice(true, windowPages, windowNanos, firstHoldNanos);
    }

    /**
     * What a queue starts with: the mapping, always ({@link #alwaysMapped}), unless the system property
     * {@code dom0j.blkback.pageCacheChoice} is {@code measured}. The measured choice charges the mapping with its
     * warm-up (populating each 64 KiB region once, and on a hypervisor that shadows page tables the first touches
     * of each page), which is paid once per disk, against bounce pages' steady cost; its short trials never let the
     * mapping warm up, so it kept bounce pages where the warm mapping was 1.6-2.6 times faster (the 2-core KVM
     * guest of 5 December: 4 KiB random reads on one queue 282K a second measured against 734K always mapped, two
     * queues 321K against 546K; {@code docs/blkback.md}). Kept for experiments on other machines.
     *
     * @return the choice a queue starts with.
     */
    static PageCacheChoice byDefault()
    {
        return "measured".equals(System.getProperty("dom0j.blkback.pageCacheChoice")) ? measured() : alwaysMapped();
    }

    /**
     * @return the mapping, always: the default, and for tests of the mapped path.
     */
    static PageCacheChoice alwaysMapped()
    {
        return new PageCacheChoice(false, WINDOW_PAGES, WINDOW_NANOS, FIRST_HOLD_NANOS);
    }

    /**
     * @return whether it chooses by measuring, so wants each batch's time ({@link #record}); the default, always the
     *         mapping, does not, and a queue then reads no clock for it.
     */
    boolean isMeasured()
    {
        return measured;
    }

    /**
     * @return whether requests go through the mapping now.
     */
    boolean useMapping()
    {
        return mapped;
    }

    /**
     * Told after each batch served.
     *
     * @param pages     4 KiB pages of data the batch moved (reads and writes alike).
     * @param busyNanos how long serving it took.
     * @param nowNanos  the time now.
     */
    void record(final long pages, final long busyNanos, final long nowNanos)
    {
        if (!measured || pages <= 0)
        {
            return;
        }
        if (!trial)
        {
            if (nowNanos - holdUntil >= 0)
            {
                // Hold over: try the other way for a window.
                trial = true;
                mapped = !mapped;
                windowPages = 0;
                windowNanos = 0;
            }
            return;
        }
        windowPages += pages;
        windowNanos += busyNanos;
        if (windowPages < windowLength && (windowNanos < windowTime || windowPages < MIN_WINDOW_PAGES))
        {
            return;
        }
        final double cost = (double)windowNanos / windowPages;
        if (mapped)
        {
            mappedCost = cost;
        }
        else
        {
            bounceCost = cost;
        }
        windowPages = 0;
        windowNanos = 0;
        if (Double.isNaN(mappedCost) || Double.isNaN(bounceCost))
        {
            // The first trial of each: try the other now.
            mapped = !mapped;
            return;
        }
        final boolean cheaperMapped = mappedCost <= bounceCost;
        if (!decided)
        {
            decided = true;
        }
        else if (cheaperMapped == heldMapped)
        {
            // The trial confirmed the way held: hold it longer.
            hold = Math.min(MAX_HOLD_NANOS, hold * 2);
        }
        else
        {
            hold = firstHold;
            switches++;
        }
        heldMapped = cheaperMapped;
        mapped = cheaperMapped;
        trial = false;
        holdUntil = nowNanos + hold;
    }

    /**
     * @return the last measured busy time per page through the mapping, or NaN.
     */
    double mappedNanosPerPage()
    {
        return mappedCost;
    }

    /**
     * @return the last measured busy time per page through bounce pages, or NaN.
     */
    double bounceNanosPerPage()
    {
        return bounceCost;
    }

    /**
     * @return how long the current choice is held for.
     */
    long holdNanos()
    {
        return hold;
    }

    /**
     * @return how many times a trial overturned the way held.
     */
    int switches()
    {
        return switches;
    }
}
