package org.dom0j.platform;

import java.util.List;

/**
 * Whether a platform can run here, and why (not).
 *
 * @param available true when it can be opened.
 * @param summary   one line: what it would use, or the first reason it cannot run.
 * @param reasons   every reason it cannot run, each a sentence that says what is missing; empty when available.
 */
public record Availability(boolean available, String summary, List<String> reasons)
{
    /**
     * @param summary what it would use.
     * @return an available platform.
     */
    public static Availability available(final String summary)
    {
        return new Availability(true, summary, List.of());
    }

    /**
     * @param reasons what is missing, at least one.
     * @return an unavailable platform.
     */
    public static Availability unavailable(final List<String> reasons)
    {
        if (reasons.isEmpty())
        {
            throw new IllegalArgumentException("an unavailable platform needs a reason");
        }
        return new Availability(false, String.join("; ", reasons), List.copyOf(reasons));
    }
}
