package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j bench net} end to end on the simulator, short: serve starts in its own JVM, a sender guest blasts
 * frames through its switch to a receiver guest, which checks them; one small-frame case and one GSO case. The veth
 * baseline runs too when this is root with iperf3 and ip installed (else {@code --no-veth}). Nothing is judged on the
 * numbers, only that they were measured: the table has its rows, dom0j moved frames, none was wrong, and the guests
 * allocated nothing per frame.
 */
@Timeout(180)
class BenchNetCommandTest
{
    private static final String NUMBER = "([\\d.]+)";
    private static final String CELL = "(\\S+)";

    @TempDir
    Path root;

    @Test
    void shouldMoveSmallAndGsoFramesBetweenTwoGuestsThroughServeAndPrintTheTable()
    {
        final boolean veth = isRoot() && VethPair.canRun("iperf3", "--version") &&
            VethPair.canRun("ip", "-V");
        final List<String> args = new ArrayList<>(List.of("bench", "net", "--seconds", "0.5", "--warmup", "0.3",
            "--only", "64 B UDP, 1 queue", "--only", "GSO TCP, 1 queue"));
        if (!veth)
        {
            args.add("--no-veth");
        }
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int exit = Cli.run(new PlatformEnvironment(root, Map.of(), library -> null), out, err,
            args.toArray(String[]::new));

        assertThat(exit).as(err.toString()).isZero();
        final String text = out.toString();
        assertThat(text).contains("0.5 s per case after 0.3 s of warm-up").doesNotContain("WRONG")
            .doesNotContain("ALLOCATES")
            .doesNotContain("did not stop cleanly").doesNotContain("2 queues");
        for (final String label : new String[]{ "64 B UDP, 1 queue", "64 KiB GSO TCP, 1 queue" })
        {
            final Matcher row = Pattern.compile(Pattern.quote(label) + "\\s+(Mfps|Gbit/s)\\s+" + NUMBER + "\\s+" +
                CELL + "\\s+" + CELL + "\\s+" + NUMBER + "\\s+" + NUMBER + "\\s+" + NUMBER + "\\s+" + CELL + "\\s+" +
                NUMBER + "%").matcher(text);
            assertThat(row.find()).as("a row for %s in:%n%s", label, text).isTrue();
            assertThat(Double.parseDouble(row.group(2))).as("dom0j's rate, %s", label).isPositive();
            assertThat(Double.parseDouble(row.group(5))).as("memcpy's rate, %s", label).isPositive();
            assertThat(Double.parseDouble(row.group(6))).as("serve's CPU per frame, %s", label).isPositive()
                .isLessThanOrEqualTo(Double.parseDouble(row.group(7)));
            if (veth)
            {
                assertThat(Double.parseDouble(row.group(3))).as("the veth rate, %s", label).isPositive();
                assertThat(Double.parseDouble(row.group(4))).as("the ratio, %s", label).isPositive();
            }
            else
            {
                assertThat(row.group(3)).isEqualTo("-");
                assertThat(row.group(4)).isEqualTo("-");
            }
        }
        assertThat(text).doesNotContain("1500 B UDP");
        if (veth)
        {
            assertThat(text).contains("geometric mean");
        }
    }

    @Test
    void shouldShowEveryOptionAndAnExampleInItsHelp()
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int exit = Cli.run(new PlatformEnvironment(root, Map.of(), library -> null), out, err,
            "bench", "net", "--help");

        assertThat(exit).as(err.toString()).isZero();
        assertThat(out.toString()).contains("--no-veth").contains("--only").contains("--seconds")
            .contains("--warmup").contains("dom0j bench net --seconds 3");
    }

    private static boolean isRoot()
    {
        try
        {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                .anyMatch(l -> l.matches("Uid:\\s+0\\s.*"));
        }
        catch (final java.io.IOException ex)
        {
            return false;
        }
    }
}
