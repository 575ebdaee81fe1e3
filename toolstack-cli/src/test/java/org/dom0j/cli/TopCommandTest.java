package org.dom0j.cli;

import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.CountersFile;
import org.dom0j.platform.PlatformEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j top} against a counters file written as serve writes it (labels "{@code <queue> <name>}").
 */
@Timeout(20)
class TopCommandTest
{
    @TempDir
    Path root;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(final String... args)
    {
        return Cli.run(new PlatformEnvironment(root, Map.of(), library -> null), out, err, args);
    }

    @Test
    void shouldPrintTotalsPerQueueWithOneTablePerSetOfCounterNames()
    {
        final Path file = root.resolve("counters");
        try (CountersFile counters = CountersFile.create(file, 64))
        {
            final CountersManager m = counters.manager();
            m.newCounter("blkback-3-51712-q0 rd_req", 1).set(1200);
            m.newCounter("blkback-3-51712-q0 wr_req", 1).set(34_500);
            m.newCounter("blkback-3-51712-q1 rd_req", 1).set(7);
            m.newCounter("blkback-3-51712-q1 wr_req", 1).set(0);
            m.newCounter("vbd 3/51712 q0 requests", 2).set(35_700);

            assertThat(run("top", "--queues", "--once", "--counters", file.toString())).isEqualTo(ExitCodes.OK);
        }

        assertThat(out.toString())
            .contains("dom0j top: " + file + ", 3 queue(s); totals")
            .containsPattern("(?m)^queue +rd_req +wr_req$")
            .containsPattern("(?m)^blkback-3-51712-q0 +1200 +34.5K$")
            .containsPattern("(?m)^blkback-3-51712-q1 +7 +0$")
            .containsPattern("(?m)^queue +requests$")
            .containsPattern("(?m)^vbd 3/51712 q0 +35.7K$");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void shouldPrintRatesAsJsonLines()
    {
        final Path file = root.resolve("counters");
        try (CountersFile counters = CountersFile.create(file, 64))
        {
            final AtomicCounter requests = counters.manager().newCounter("vbd 1/51712 q0 requests", 2);
            requests.set(10);

            assertThat(run("--json", "top", "--queues", "-n", "2", "-d", "0.05", "--counters", file.toString()))
                .isEqualTo(ExitCodes.OK);
        }

        final String[] lines = out.toString().strip().split("\n");
        assertThat(lines).hasSize(2);
        assertThat(lines[0]).startsWith("{\"file\":\"" + file + "\",\"intervalSeconds\":")
            .contains("\"queues\":{\"vbd 1/51712 q0\":{\"requests\":{\"value\":10,\"perSecond\":0.0}}}");
    }

    @Test
    void shouldSayWhatToDoWhenServeIsNotRunning()
    {
        assertThat(run("top", "--queues", "--once", "--counters", root.resolve("missing").toString()))
            .isEqualTo(ExitCodes.FAILURE);
        assertThat(err.toString()).contains("no counters file at " + root.resolve("missing"))
            .contains("is 'dom0j serve' running?");
    }

    @Test
    void shouldReadTheSimulatorsCountersByDefaultWhenThePlatformIsSim()
    {
        assertThat(ServeCommand.defaultCountersPath("sim", new PlatformEnvironment(root, Map.of("DOM0J_SIM_DIR",
            root.resolve("machine").toString()), library -> null))).isEqualTo(root.resolve("machine/counters"));
        assertThat(ServeCommand.defaultCountersPath("xen", new PlatformEnvironment(root, Map.of(), library -> null)))
            .isEqualTo(Path.of("/dev/shm/dom0j-counters"));
    }

    @Test
    void shouldShortenLargeNumbers()
    {
        assertThat(TopCommand.human(9999)).isEqualTo("9999");
        assertThat(TopCommand.human(12_345)).isEqualTo("12.3K");
        assertThat(TopCommand.human(4_560_000)).isEqualTo("4.56M");
        assertThat(TopCommand.human(999_400)).isEqualTo("999.4K");
        assertThat(TopCommand.human(12_000_000_000L)).isEqualTo("12.00G");
    }
}
