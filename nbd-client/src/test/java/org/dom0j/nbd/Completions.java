package org.dom0j.nbd;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Records completions by cookie, each cookie once; waits for them against a deadline.
 */
final class Completions implements NbdCompletionHandler
{
    final Map<Long, Integer> errnoByCookie = new LinkedHashMap<>();

    @Override
    public void onCompletion(final long cookie, final int errno)
    {
        final Integer previous = errnoByCookie.put(cookie, errno);
        assertThat(previous).as("second completion of cookie %d", cookie).isNull();
    }

    /**
     * Awaits until {@code count} completions have been recorded in all, failing after 30 s.
     */
    Completions awaitCount(final NbdConnection connection, final int count)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (errnoByCookie.size() < count)
        {
            assertThat(System.nanoTime() - deadline).as("completions %s of %d by the deadline", errnoByCookie, count)
                .isNegative();
            connection.awaitCompletion(this, TimeUnit.MILLISECONDS.toNanos(100));
        }
        return this;
    }

    int errno(final long cookie)
    {
        assertThat(errnoByCookie).containsKey(cookie);
        return errnoByCookie.get(cookie);
    }

    /**
     * Submits one request through {@code submit}, sends it and waits for its completion.
     */
    static int run(final NbdConnection connection, final java.util.function.LongPredicate submit)
    {
        final Completions completions = new Completions();
        assertThat(submit.test(1L)).isTrue();
        connection.flushSends();
        completions.awaitCount(connection, 1);
        return completions.errno(1L);
    }
}
