package org.dom0j.backend;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The enum against Xen's own {@code xen/io/xenbus.h} (compiled with gcc; skipped only when gcc or the header is
 * missing), and state nodes parsed as Linux reads them.
 */
@Timeout(60)
class XenbusStateTest
{
    private static final Path XENBUS_H = Path.of("/usr/include/xen/io/xenbus.h");

    @Test
    void shouldHaveTheValuesOfXensXenbusHeader(@TempDir final Path dir) throws Exception
    {
        assumeTrue(Files.isReadable(XENBUS_H), "skipped: " + XENBUS_H + " missing (install libxen-dev)");
        assumeTrue(hasGcc(), "skipped: gcc is not installed");
        final String[] names = {
            "XenbusStateUnknown", "XenbusStateInitialising", "XenbusStateInitWait", "XenbusStateInitialised",
            "XenbusStateConnected", "XenbusStateClosing", "XenbusStateClosed", "XenbusStateReconfiguring",
            "XenbusStateReconfigured" };
        final StringBuilder c = new StringBuilder("#include <stdio.h>\n#include <xen/io/xenbus.h>\nint main(void) {\n");
        for (final String name : names)
        {
            c.append("    printf(\"%d\\n\", (int)").append(name).append(");\n");
        }
        c.append("    return 0;\n}\n");
        Files.writeString(dir.resolve("states.c"), c.toString());
        run(dir, "gcc", "-o", dir.resolve("states").toString(), dir.resolve("states.c").toString());

        final List<String> values = run(dir, dir.resolve("states").toString());

        final List<String> expected = new ArrayList<>();
        for (final XenbusState state : XenbusState.values())
        {
            expected.add(state.wireValue());
        }
        assertThat(values).containsExactlyElementsOf(expected);
    }

    @ParameterizedTest
    @CsvSource(value = {
        "4, CONNECTED", "0, UNKNOWN", "6, CLOSED", "8, RECONFIGURED", "9, UNKNOWN", "99, UNKNOWN", "abc, UNKNOWN",
        "-1, UNKNOWN", "'', UNKNOWN", "NULL, UNKNOWN", "004, UNKNOWN", "' 4', UNKNOWN" }, nullValues = "NULL")
    void shouldReadAStateNodeAsLinuxDoes(final String text, final XenbusState expected)
    {
        assertThat(XenbusState.parse(text)).isEqualTo(expected);
    }

    private static boolean hasGcc()
    {
        try
        {
            final Process p = new ProcessBuilder("gcc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        }
        catch (final IOException | InterruptedException ex)
        {
            return false;
        }
    }

    private static List<String> run(final Path dir, final String... command) throws Exception
    {
        final Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out.lines().toList();
    }
}
