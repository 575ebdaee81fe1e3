package org.dom0j.blkback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.gnttab.GrantMapping;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The persistent-grant cache's bound and purge, as Linux's blkback bounds them (xen_blkif_max_pgrants = 1056 per
 * ring; every 100 ms, grants unused for 60 s go, and after an overflow 5% of the least recently used): a guest that
 * offers ever new grants cannot make the backend keep more than the bound mapped, and what is dropped is unmapped.
 * The clock is the caller's, so the test moves it.
 */
class PersistentGrantsTest
{
    private static final long MS = 1_000_000L;
    private static final long SECOND = 1_000 * MS;

    private final Map<Integer, FakeMapping> mappings = new HashMap<>();

    @Test
    void shouldKeepAtMostTheBoundAndLeaveTheRestToTheCaller()
    {
        try (PersistentGrants grants = new PersistentGrants(PersistentGrants.DEFAULT_MAX))
        {
            grants.purge(0);
            for (int ref = 0; ref < PersistentGrants.DEFAULT_MAX; ref++)
            {
                assertThat(grants.put(ref, mapping(ref))).isTrue();
            }
            final FakeMapping extra = mapping(PersistentGrants.DEFAULT_MAX);
            assertThat(grants.put(PersistentGrants.DEFAULT_MAX, extra)).as("1057th grant: not kept").isFalse();
            assertThat(grants.size()).isEqualTo(1056);
            assertThat(grants.get(PersistentGrants.DEFAULT_MAX)).isNull();
            assertThat(extra.closed).as("the caller unmaps what is not kept").isFalse();
            assertThat(grants.get(7)).isSameAs(mappings.get(7));
        }
        for (int ref = 0; ref < PersistentGrants.DEFAULT_MAX; ref++)
        {
            assertThat(mappings.get(ref).closed).as("grant %d unmapped on close", ref).isTrue();
        }
    }

    @Test
    void shouldDropTheLeastRecentlyUsedFivePercentAfterAnOverflow()
    {
        final int max = 100;
        try (PersistentGrants grants = new PersistentGrants(max))
        {
            // Grant r mapped at r x 10 ms; then, at 2 s, grants 0..9 are used again: the least recently used are
            // now 10, 11, 12, ... (nothing has been unused for 60 s).
            for (int ref = 0; ref < max; ref++)
            {
                grants.purge(ref * 10 * MS);
                assertThat(grants.put(ref, mapping(ref))).isTrue();
            }
            grants.purge(2 * SECOND);
            for (int ref = 0; ref < 10; ref++)
            {
                assertThat(grants.get(ref)).isNotNull();
            }
            assertThat(grants.put(1000, mapping(1000))).as("full").isFalse();
            assertThat(grants.purge(2 * SECOND + PersistentGrants.PURGE_INTERVAL_NANOS)).as("5% of 100").isEqualTo(5);
            assertThat(grants.size()).isEqualTo(95);
            for (int ref = 10; ref < 15; ref++)
            {
                assertThat(grants.get(ref)).as("grant %d, among the least recently used", ref).isNull();
                assertThat(mappings.get(ref).closed).as("grant %d unmapped", ref).isTrue();
            }
            for (int ref = 0; ref < 10; ref++)
            {
                assertThat(grants.get(ref)).as("recently used grant %d kept", ref).isNotNull();
                assertThat(mappings.get(ref).closed).isFalse();
            }
            assertThat(grants.get(15)).isNotNull();
            assertThat(grants.put(2000, mapping(2000))).as("room again").isTrue();
            assertThat(grants.purge(3 * SECOND)).as("no overflow since: nothing more goes").isZero();
        }
    }

    @Test
    void shouldDropGrantsUnusedForSixtySecondsAndPurgeAtMostEveryHundredMilliseconds()
    {
        try (PersistentGrants grants = new PersistentGrants(16))
        {
            grants.purge(0);
            grants.put(1, mapping(1));
            grants.purge(10 * MS);
            grants.put(3, mapping(3));
            grants.put(2, mapping(2));
            grants.purge(30 * SECOND);
            assertThat(grants.get(2)).isNotNull();
            // At 60 s grant 1 has been unused for 60 s, grant 3 for 59.99 s, grant 2 for 30 s.
            assertThat(grants.purge(60 * SECOND)).isEqualTo(1);
            assertThat(grants.get(1)).isNull();
            assertThat(mappings.get(1).closed).isTrue();
            // Grant 3 is due 10 ms later, but the next purge runs 100 ms after this one at the earliest.
            assertThat(grants.nanosUntilPurge(60 * SECOND + 50 * MS)).isEqualTo(50 * MS);
            assertThat(grants.purge(60 * SECOND + 50 * MS)).isZero();
            assertThat(grants.nanosUntilPurge(60 * SECOND + 150 * MS)).as("due").isZero();
            assertThat(mappings.get(3).closed).isFalse();
            assertThat(grants.purge(60 * SECOND + PersistentGrants.PURGE_INTERVAL_NANOS)).isEqualTo(1);
            assertThat(mappings.get(3).closed).isTrue();
            assertThat(grants.get(2)).isNotNull();
            assertThat(grants.size()).isEqualTo(1);
        }
        assertThat(mappings.get(2).closed).as("unmapped on close").isTrue();
    }

    private FakeMapping mapping(final int ref)
    {
        final FakeMapping mapping = new FakeMapping();
        mappings.put(ref, mapping);
        return mapping;
    }

    /** A one-page mapping that records being unmapped. */
    private static final class FakeMapping implements GrantMapping
    {
        boolean closed;

        @Override
        public UnsafeBuffer buffer()
        {
            return new UnsafeBuffer(new byte[PAGE_SIZE]);
        }

        @Override
        public int pageCount()
        {
            return 1;
        }

        @Override
        public long address()
        {
            return 0;
        }

        @Override
        public void close()
        {
            closed = true;
        }
    }
}
