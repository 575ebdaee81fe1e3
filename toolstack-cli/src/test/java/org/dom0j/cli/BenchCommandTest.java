package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j bench blk} end to end on the simulator (a short run, no fio): serve starts in its own JVM, the
 * guest's requests go through it, and each case prints its rate and the CPU each side spent; nothing is judged on
 * the numbers, only that they were measured.
 */
@Timeout(120)
class BenchCommandTest
{
    @TempDir
    Path root;

    @Test
    void shouldMeasureSmallAndLargeRequestsThroughServeAfterAWarmUp()
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int exit = Cli.run(new PlatformEnvironment(root, Map.of(), library -> null), out, err,
            "bench", "blk", "--seconds", "0.4", "--warmup", "0.3", "--size-mib", "16", "--no-fio", "--only", "1 queue");

        assertThat(exit).as(err.toString()).isZero();
        final String text = out.toString();
        assertThat(text).contains("0.4 s per case after 0.3 s of warm-up").doesNotContain("requests failed")
            .doesNotContain("did not stop cleanly");
        for (final String label : new String[]{ "4k randread qd32, 1 queue", "4k randwrite qd32, 1 queue",
            "1m seqread qd4, 1 queue", "1m seqwrite qd4, 1 queue" })
        {
            final Matcher row = Pattern.compile(
                Pattern.quote(label) + "\\s+(\\d+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)").matcher(text);
            assertThat(row.find()).as("a row for %s in:%n%s", label, text).isTrue();
            assertThat(Long.parseLong(row.group(1))).as("IOPS of %s", label).isPositive();
            final double cpu = Double.parseDouble(row.group(3));
            final double serveCpu = Double.parseDouble(row.group(4));
            assertThat(serveCpu).as("serve's CPU per request, %s", label).isPositive().isLessThanOrEqualTo(cpu);
        }
        assertThat(text).doesNotContain("2 queues");
    }

    @Test
    void shouldServeTheGuestsDiskFromQemuNbdWithNbd()
    {
        Assumptions.assumeTrue(Files.isExecutable(BenchNbdServer.QEMU_NBD),
            "qemu-nbd is not installed (package qemu-utils; scripts/install-deps.sh installs it)");
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int exit = Cli.run(new PlatformEnvironment(root, Map.of(), library -> null), out, err,
            "bench", "blk", "--nbd", "--seconds", "0.4", "--warmup", "0.3", "--size-mib", "16", "--no-fio", "--only",
            "qd32, 2 queues");

        assertThat(exit).as(err.toString()).isZero();
        final String text = out.toString();
        assertThat(text).contains("on a Unix socket: the guest's disk is its export").doesNotContain("requests failed")
            .doesNotContain("did not stop cleanly");
        for (final String label : new String[]{ "4k randread qd32, 2 queues", "4k randwrite qd32, 2 queues" })
        {
            final Matcher row = Pattern.compile(Pattern.quote(label) + "\\s+(\\d+)").matcher(text);
            assertThat(row.find()).as("a row for %s in:%n%s", label, text).isTrue();
            assertThat(Long.parseLong(row.group(1))).as("IOPS of %s", label).isPositive();
        }
    }
}
