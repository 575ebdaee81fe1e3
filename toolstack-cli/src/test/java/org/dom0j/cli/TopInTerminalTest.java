package org.dom0j.cli;

import org.dom0j.backend.CountersFile;
import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.sim.SimMachine;
import org.dom0j.test.Await;
import org.dom0j.toolstack.XenbusDevices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j top} as an operator sees it: in a real terminal (a tmux pane: {@code capture-pane} reads the screen,
 * {@code send-keys} types), full screen, re-sorted by a key, left with {@code q}; and {@code --once --json} for
 * scripts. The simulated machine runs in this JVM; top runs in its own, on this JVM's class path.
 */
@Timeout(90)
class TopInTerminalTest
{
    private static final long WAIT_MS = 30_000;

    @TempDir
    Path dir;

    private SimMachine machine;
    private Path tmuxSocket;

    @BeforeEach
    void startMachine()
    {
        machine = SimMachine.start(dir.resolve("sim"));
        machine.createGuest(3, "alpha", 1024);
        machine.createGuest(4, "zulu", 8192);
        XenbusDevices.attach(machine.xenStore(), 0, "vbd", 3, "51712", Map.of("params", "/x"), Map.of());
    }

    @AfterEach
    void stop() throws Exception
    {
        if (null != tmuxSocket)
        {
            tmux("kill-server");
        }
        machine.close();
    }

    @Test
    void shouldShowDomainsFullScreenSortByKeyAndQuitOnQ() throws Exception
    {
        Assumptions.assumeTrue(onPath("tmux"), "tmux is not installed (apt-get install tmux)");
        final Path script = dir.resolve("top.sh");
        final Path exit = dir.resolve("exit");
        Files.writeString(script, String.join("\n",
            "DOM0J_SIM_DIR='" + dir.resolve("sim") + "'; export DOM0J_SIM_DIR",
            "'" + Path.of(System.getProperty("java.home"), "bin", "java") + "' " +
                "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED --enable-native-access=ALL-UNNAMED " +
                "-cp '" + System.getProperty("java.class.path") + "' org.dom0j.cli.Dom0j --platform sim top -d 0.5",
            "echo $? > '" + exit + "'", ""));
        tmuxSocket = dir.resolve("tmux.sock");
        assertThat(tmux("new-session", "-d", "-s", "top", "-x", "160", "-y", "40", "sh " + script)).isZero();

        Await.until("top's first screen, sorted by name", WAIT_MS, () -> rows().equals(List.of("Domain-0", "alpha",
            "zulu")));
        final String screen = capture();
        assertThat(screen).contains("3 domains: 0 running, 3 blocked, 0 paused").contains("sorted by name")
            .containsPattern("NAME +ID +STATE +CPU\\(sec\\) +CPU\\(%\\) +MEM\\(k\\) +MAXMEM\\(k\\) +VCPUS +NETS " +
                "+NETTX\\(k\\) +NETRX\\(k\\) +VBDS +VBD_RD +VBD_WR")
            .containsPattern("alpha +3 +-b---- +0 +\\S+ +4096 +4096 +1 +0 +- +- +1 +- +-");

        assertThat(tmux("send-keys", "-t", "top", "m")).isZero();
        Await.until("rows sorted by memory", WAIT_MS, () -> rows().equals(List.of("zulu", "Domain-0", "alpha")));
        assertThat(capture()).contains("sorted by mem");

        assertThat(tmux("send-keys", "-t", "top", "r")).isZero();
        Await.until("rows sorted by memory, reversed", WAIT_MS, () -> rows().equals(List.of("alpha", "Domain-0",
            "zulu")));

        assertThat(tmux("send-keys", "-t", "top", "q")).isZero();
        Await.until("top's exit status", WAIT_MS, () -> read(exit).strip().length() > 0);
        assertThat(read(exit).strip()).isEqualTo("0");
    }

    @Test
    void shouldPrintEveryDomainOnceAsJsonWithServesCounters()
    {
        try (CountersFile counters = CountersFile.create(dir.resolve("sim/counters"), 16))
        {
            counters.manager().newCounter("blkback-3-51712-q0 rd_req", 1).set(120);
            counters.manager().newCounter("blkback-3-51712-q0 wr_req", 1).set(7);
            counters.manager().newCounter("vif 4/0 q0 tx_bytes", 2).set(10_240);
            final StringWriter out = new StringWriter();
            final StringWriter err = new StringWriter();
            assertThat(Cli.run(new PlatformEnvironment(dir.resolve("root"), Map.of("DOM0J_SIM_DIR",
                dir.resolve("sim").toString()), lib -> null), out, err, "--platform", "sim", "top", "--once",
                "--json", "--sort", "mem")).as(err.toString()).isZero();

            assertThat(out.toString().strip()).startsWith("{\"platform\":\"sim\",\"sortedBy\":\"mem\",\"domains\":[" +
                "{\"domid\":4,\"name\":\"zulu\",\"state\":\"-b----\",\"cpuSeconds\":0.0,\"cpuPercent\":null," +
                "\"memoryKiB\":32768,\"maxMemoryKiB\":32768,\"vcpus\":1,\"nets\":0,\"netTxKiB\":10,\"netRxKiB\":null," +
                "\"vbds\":0,\"vbdReads\":null,\"vbdWrites\":null},{\"domid\":0,")
                .contains("{\"domid\":3,\"name\":\"alpha\",\"state\":\"-b----\",\"cpuSeconds\":0.0," +
                    "\"cpuPercent\":null,\"memoryKiB\":4096,\"maxMemoryKiB\":4096,\"vcpus\":1,\"nets\":0," +
                    "\"netTxKiB\":null,\"netRxKiB\":null,\"vbds\":1,\"vbdReads\":120,\"vbdWrites\":7}");
        }
    }

    /**
     * @return the NAME column of top's rows, top to bottom, as the terminal shows them now.
     */
    private List<String> rows()
    {
        final List<String> names = new ArrayList<>();
        boolean table = false;
        for (final String line : capture().split("\n"))
        {
            final String[] cells = line.strip().split(" +");
            if (table && cells.length >= 14)
            {
                names.add(cells[0]);
            }
            table |= cells.length > 0 && "NAME".equals(cells[0]);
        }
        return names;
    }

    private String capture()
    {
        try
        {
            final Process p = new ProcessBuilder("tmux", "-S", tmuxSocket.toString(), "capture-pane", "-p", "-t",
                "top").redirectErrorStream(true).start();
            final String screen = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? screen : "";
        }
        catch (final IOException ex)
        {
            return "";
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    private int tmux(final String... args) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(List.of("tmux", "-S", tmuxSocket.toString()));
        command.addAll(List.of(args));
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    private static boolean onPath(final String tool)
    {
        for (final String d : System.getenv().getOrDefault("PATH", "").split(":"))
        {
            if (Files.isExecutable(Path.of(d, tool)))
            {
                return true;
            }
        }
        return false;
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.exists(file) ? Files.readString(file) : "";
        }
        catch (final IOException ex)
        {
            return "";
        }
    }
}
