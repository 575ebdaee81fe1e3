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
 * <li>the mapping warms as it is used (the same machine, one queue of 4 KiB random reads over 256 MiB: 26 us a page
 * in its first 64 MiB, 9 us by the fourth, 0.7 us after 1.3 GiB; bounce pages cost the same from the start), so a
 * trial of it goes on, window after window ({@link #WARM_WINDOW_NANOS} each), while each costs clearly less than
 * the best before it, up to a budget of busy time, and its cost is its best window: judged by one short cold window
 * it lost to bounce pages, and the queue served 157K reads a second where the warm mapping serves 346K;</li>
 * <li>the cheaper way is kept for a hold period, which doubles (from {@link #FIRST_HOLD_NANOS} to
 * {@link #MAX_HOLD_NANOS}) each time a new trial confirms it and starts again when a trial overturns it, so a
 * workload that changes is followed and a steady one pays for the trials less and less;</li>
 * <li>then the other way is tried again for one window (the populates it does there are kept: each page is
 * populated once, so the mapping's cost falls to its steady cost as the disk is covered).</li>
 * </ol>
 * A trial of bounce pages costs at most one window (20 ms) per hold period; a trial of the mapping at most its
 * warming budget ({@link #FIRST_WARM_BUDGET_NANOS} the first time, {@link #WARM_BUDGET_NANOS} later), and only
 * while the mapping keeps getting cheaper: where it does not warm (two queues' threads switching with the guest's
 * made every touch a first touch) its trial ends after {@code 1 + WARM_MISSES} windows.
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
    /**
     * Busy time after which a window of the mapping ends sooner: longer than {@link #WINDOW_NANOS}, so that a window
     * sees the mapping warm by more than its noise.
     */
    static final long WARM_WINDOW_NANOS = 100_000_000L;
    /** A window of the mapping costing less than this times the best before it shows the mapping still warming. */
    static final double WARMING = 0.9;
    /** Windows in a row that may fail to show warming (noise) before a trial of the mapping ends. */
    static final int WARM_MISSES = 3;
    /** Busy time the first trial of the mapping may spend warming it. */
    static final long FIRST_WARM_BUDGET_NANOS = 2_000_000_000L;
    /** Busy time a later trial of the mapping may spend warming it. */
    static final long WARM_BUDGET_NANOS = 500_000_000L;
    /** The first hold after a choice. */
    static final long FIRST_HOLD_NANOS = 500_000_000L;
    /** The longest hold. */
    static final long MAX_HOLD_NANOS = 16_000_000_000L;

    private final boolean measured;
    private final long windowLength;
    private final long windowTime;
    private final long warmWindowTime;
    private final long firstWarmBudget;
    private final long warmBudget;
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
    private long trialNanos;
    private double trialBest = Double.NaN;
    private int misses;

    private PageCacheChoice(
        final boolean measured,
        final long windowPages,
        final long windowNanos,
        final long warmWindowNanos,
        final long firstHoldNanos)
    {
        this.measured = measured;
        this.windowLength = windowPages;
        this.windowTime = windowNanos;
        this.warmWindowTime = warmWindowNanos;
        this.firstWarmBudget = warmWindowNanos == Long.MAX_VALUE ? Long.MAX_VALUE : FIRST_WARM_BUDGET_NANOS;
        this.warmBudget = warmWindowNanos == Long.MAX_VALUE ? Long.MAX_VALUE : WARM_BUDGET_NANOS;
        this.firstHold = firstHoldNanos;
        this.hold = firstHoldNanos;
    }

    /**
     * @return a choice made by measuring, with the default window and holds.
     */
    static PageCacheChoice measured()
    {
        return new PageCacheChoice(true, WINDOW_PAGES, WINDOW_NANOS, WARM_WINDOW_NANOS, FIRST_HOLD_NANOS);
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
        return new PageCacheChoice(true, windowPages, windowNanos, windowNanos, firstHoldNanos);
    }

    /**
     * @return the mapping, always (for tests of the mapped path, and to compare).
     */
    static PageCacheChoice alwaysMapped()
    {
        return new PageCacheChoice(false, WINDOW_PAGES, WINDOW_NANOS, WARM_WINDOW_NANOS, FIRST_HOLD_NANOS);
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
                // Hold over: try the other way.
                startTrial(!mapped);
            }
            return;
        }
        windowPages += pages;
        windowNanos += busyNanos;
        trialNanos += busyNanos;
        final long time = mapped ? warmWindowTime : windowTime;
        if (windowPages < windowLength && (windowNanos < time || windowPages < MIN_WINDOW_PAGES))
        {
            return;
        }
        final double cost = (double)windowNanos / windowPages;
        windowPages = 0;
        windowNanos = 0;
        if (mapped)
        {
            // The mapping warms as it is used: keep measuring while each window costs clearly less than the best
            // before it (up to WARM_MISSES windows in a row that do not are forgiven), up to the trial's budget. Its
            // cost is its best window.
            if (Double.isNaN(trialBest) || cost < WARMING * trialBest)
            {
                misses = 0;
            }
            else
            {
                misses++;
            }
            trialBest = Double.isNaN(trialBest) ? cost : Math.min(trialBest, cost);
            if (misses < WARM_MISSES && trialNanos < (Double.isNaN(mappedCost) ? firstWarmBudget : warmBudget))
            {
                return;
            }
            mappedCost = trialBest;
        }
        else
        {
            bounceCost = cost;
        }
        if (Double.isNaN(mappedCost) || Double.isNaN(bounceCost))
        {
            // The first trial of each: try the other now.
            startTrial(!mapped);
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

    private void startTrial(final boolean throughMapping)
    {
        trial = true;
        mapped = throughMapping;
        windowPages = 0;
        windowNanos = 0;
        trialNanos = 0;
        trialBest = Double.NaN;
        misses = 0;
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
