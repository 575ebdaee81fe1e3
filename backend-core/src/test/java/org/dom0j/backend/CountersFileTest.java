package org.dom0j.backend;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Queue counters in a mapped file, read by a second JVM as {@code dom0j top} will.
 */
@Timeout(60)
class CountersFileTest
{
    @Test
    void shouldLetAnotherProcessReadQueueCounters(@TempDir final Path dir) throws Exception
    {
        final Path path = dir.resolve("counters");
        try (CountersFile file = CountersFile.create(path, 64))
        {
            final QueueCounters counters = new QueueCounters(file.manager(), "vbd 5/51712 q0");
            counters.requests().getAndAdd(41);
            counters.requests().increment();
            counters.errors().increment();
            final QueueCounters freed = new QueueCounters(file.manager(), "vbd 6/51712 q0");
            freed.close();

            final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            final Process reader = new ProcessBuilder(java,
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                CountersDump.class.getName(), path.toString())
                .redirectErrorStream(true)
                .start();
            final String out = new String(reader.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(reader.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(reader.exitValue()).as(out).isZero();

            final List<String> lines = out.lines().filter((l) -> l.contains("=")).toList();
            assertThat(lines).contains(
                "vbd 5/51712 q0 requests=42",
                "vbd 5/51712 q0 errors=1",
                "vbd 5/51712 q0 responses=0",
                "vbd 5/51712 q0 notifications-sent=0",
                "vbd 5/51712 q0 events-received=0",
                "vbd 5/51712 q0 protocol-violations=0");
            assertThat(lines).noneMatch((l) -> l.startsWith("vbd 6/"));
            counters.close();
        }
    }

    @Test
    void shouldRefuseAFileThatIsNotACountersFile(@TempDir final Path dir) throws Exception
    {
        final Path path = dir.resolve("other");
        Files.write(path, new byte[8192]);

        assertThatThrownBy(() -> CountersFile.openForReading(path)).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("not a dom0j counters file");
    }
}
