package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.sim.guest.BlockWorkload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j demo}, README's main job, end to end (short): serve in its own JVM, a disk guest and two network
 * guests; the closing totals are final, so the guest's and serve's counts of each kind of request are equal.
 */
@Timeout(180)
class DemoCommandTest
{
    @TempDir
    Path root;

    @Test
    void shouldPrintClosingTotalsThatAgreeWithServesCounters()
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int exit = Cli.run(new PlatformEnvironment(root, Map.of(), library -> null), out, err,
            "demo", "--seconds", "1.5", "--size-mib", "32", "--seed", "7");

        final String text = out.toString();
        assertThat(exit).as("%s%n%s", text, err).isZero();
        assertThat(text).contains("the guest's totals and serve's counters agree").contains("dom0j demo: OK");
        final Matcher guest = Pattern.compile("(\\d+) reads, (\\d+) writes, (\\d+) flushes, (\\d+) discards")
            .matcher(text);
        assertThat(guest.find()).as(text).isTrue();
        assertThat(Long.parseLong(guest.group(1))).as("reads").isPositive();
        assertThat(text).contains("rd_req=" + guest.group(1)).contains("wr_req=" + guest.group(2))
            .contains("f_req=" + guest.group(3)).contains("ds_req=" + guest.group(4));
    }

    @Test
    void shouldFindEveryDisagreementBetweenGuestAndServe()
    {
        final BlockWorkload.Stats stats = new BlockWorkload.Stats();
        stats.reads = 10;
        stats.writes = 5;
        stats.flushes = 1;
        assertThat(DemoCommand.disagreement(stats,
            Map.of("rd_req", 10L, "wr_req", 5L, "f_req", 1L, "ds_req", 0L, "errors", 0L))).isNull();
        assertThat(DemoCommand.disagreement(stats,
            Map.of("rd_req", 9L, "wr_req", 5L, "f_req", 0L, "ds_req", 0L, "errors", 0L)))
            .isEqualTo("reads: guest 10, serve 9; flushes: guest 1, serve 0");
    }
}
