package org.dom0j.cli;

import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.CountersFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The counters file {@code dom0j serve} makes: room for many more guests than a hundred, without the memory.
 */
@Timeout(30)
class ServeCountersTest
{
    /** Counters of one guest with a disk, a network interface and a console, one queue each (ScaleTest counts 44). */
    private static final int PER_GUEST = 44;

    @TempDir
    Path dir;

    @Test
    void shouldHoldTheCountersOfAThousandGuestsWithThreeDevicesEach()
    {
        // serve once had room for 4096: 93 such guests.
        final Path file = dir.resolve("counters");
        try (CountersFile counters = CountersFile.create(file, ServeCommand.MAX_COUNTERS))
        {
            final CountersManager manager = counters.manager();
            for (int i = 0; i < 1000 * PER_GUEST; i++)
            {
                manager.newCounter("guest " + i / PER_GUEST + " counter " + i % PER_GUEST, 1).set(i);
            }
            final int[] seen = new int[1];
            try (CountersFile reader = CountersFile.openForReading(file))
            {
                reader.reader().forEach((value, id, label) -> seen[0]++);
            }
            assertThat(seen[0]).isEqualTo(1000 * PER_GUEST);
        }
    }
}
