package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.NetFrames;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.NetWorkload;
import org.dom0j.sim.guest.SimNetfront;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dom0j capture} against a running {@code dom0j serve} (its own JVM) while two simulated guests talk through
 * its switch: the pcap written is what the guest sent and received, and tshark reads it back.
 */
@Timeout(120)
class CaptureCommandTest
{
    @TempDir
    Path root;

    @Test
    void shouldWriteAPcapOfAVifsFramesThatTsharkReads() throws Exception
    {
        final Path sim = root.resolve("sim");
        final Path pcap = root.resolve("vif2.pcap");
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try (SimMachine machine = SimMachine.start(sim);
            ServeProcess serve = ServeProcess.start(sim, root.resolve("serve.log")))
        {
            final int ip2 = NetFrames.parseIpv4("10.0.0.2");
            final int ip3 = NetFrames.parseIpv4("10.0.0.3");
            final Future<NetWorkload.Result> two = pool.submit(() -> NetGuest.run(machine, 2, "0", ip2, ip3,
                SimNetfront.Options.linuxDefaults(), 7, 4, null));
            final Future<NetWorkload.Result> three = pool.submit(() -> NetGuest.run(machine, 3, "0", ip3, ip2,
                SimNetfront.Options.linuxDefaults(), 7, 4, null));

            final StringWriter out = new StringWriter();
            final StringWriter err = new StringWriter();
            final int exit = Cli.run(new PlatformEnvironment(root, Map.of("DOM0J_SIM_DIR", sim.toString()),
                library -> null), out, err, "--platform", "sim", "capture", "vif2.0", "-c", "50", "-w",
                pcap.toString(), "--seconds", "30");

            assertThat(exit).as(err.toString()).isZero();
            assertThat(err.toString()).contains("50 frame(s) from vif2.0");
            assertThat(two.get(60, TimeUnit.SECONDS).problem()).isNull();
            assertThat(three.get(60, TimeUnit.SECONDS).problem()).isNull();
            assertThat(Files.exists(sim.resolve("capture/vif2.0"))).as("the ring is removed").isFalse();
        }
        finally
        {
            pool.shutdownNow();
        }
        final ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(pcap)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(file.getInt(0)).as("pcap, nanosecond timestamps").isEqualTo(0xA1B23C4D);
        assertThat(file.getInt(20)).as("Ethernet").isEqualTo(1);
        int frames = 0;
        int at = 24;
        while (at < file.limit())
        {
            final int kept = file.getInt(at + 8);
            assertThat(kept).isPositive().isLessThanOrEqualTo(file.getInt(at + 12));
            at += 16 + kept;
            frames++;
        }
        assertThat(frames).isEqualTo(50);
        assertThat(at).isEqualTo(file.limit());

        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tshark")),
            "tshark is not installed (scripts/install-deps.sh installs it); the pcap is not read back by tshark");
        final Process tshark = new ProcessBuilder("tshark", "-r", pcap.toString(), "-T", "fields", "-e",
            "frame.number", "-e", "ip.src", "-e", "ip.dst").redirectErrorStream(false).start();
        final List<String> lines = List.of(new String(tshark.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
            .strip().split("\n"));
        assertThat(tshark.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(tshark.exitValue()).isZero();
        // One line per frame: its number, then the IPv4 addresses (none for an ARP frame).
        assertThat(lines).hasSize(50).allSatisfy(line ->
            assertThat(line.substring(line.indexOf('\t') + 1)).isIn("10.0.0.2\t10.0.0.3", "10.0.0.3\t10.0.0.2", "\t"));
        assertThat(lines).anySatisfy(line -> assertThat(line).endsWith("10.0.0.2\t10.0.0.3"))
            .anySatisfy(line -> assertThat(line).endsWith("10.0.0.3\t10.0.0.2"));
    }
}
