package org.dom0j.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code dom0j bench net}'s veth baseline for the UDP cases: a raw AF_PACKET sender and receiver ({@code netblast.c}
 * in the CLI's resources, built with {@code cc -O2} at run time), {@code sendmmsg} and {@code recvmmsg} of 64 frames a
 * call, one pair per queue across a {@link VethPair}, the receivers in a fanout group. It checks the frames' length,
 * flow, tag and sequence number as the dom0j receiver does, and prints what it counted on one line.
 * <p>
 * One thread runs a case at a time.
 */
final class NetblastBaseline
{
    private final Path binary;

    private NetblastBaseline(final Path binary)
    {
        this.binary = binary;
    }

    /**
     * Compiles the raw AF_PACKET blaster into {@code dir}.
     *
     * @param dir      where the source and the binary go.
     * @param problems where to say why there is no blaster.
     * @return the blaster, or null (and {@code problems} says why) when no C compiler is there or the build failed.
     * @throws IOException when the source cannot be written or cc cannot start.
     */
    static NetblastBaseline build(final Path dir, final List<String> problems) throws IOException,
        InterruptedException
    {
        if (!VethPair.canRun("cc", "--version"))
        {
            problems.add("cc not found (Debian package gcc; scripts/install-deps.sh installs it): the UDP cases' " +
                "baseline falls back to iperf3 UDP, which is bound by a system call per datagram");
            return null;
        }
        final Path source = dir.resolve("netblast.c");
        try (var in = NetblastBaseline.class.getResourceAsStream("netblast.c"))
        {
            Files.write(source, in.readAllBytes());
        }
        final Path binary = dir.resolve("netblast");
        final Process p = new ProcessBuilder("cc", "-O2", "-o", binary.toString(), source.toString())
            .redirectErrorStream(true).start();
        final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0)
        {
            problems.add("building the AF_PACKET blaster failed (" + output.strip() + "): the UDP cases' baseline " +
                "falls back to iperf3 UDP");
            return null;
        }
        return new NetblastBaseline(binary);
    }

    /**
     * Runs the raw AF_PACKET blaster for a UDP case: one receiver per queue (a fanout group shares the frames by
     * flow), then one sender per queue, each its own flow.
     *
     * @param veth    the pair it runs across.
     * @param c       the case.
     * @param seconds measured time.
     * @param warmup  time before it.
     * @return the kernel path's rate.
     * @throws IOException when the blaster fails.
     */
    VethResult run(final VethPair veth, final BenchNetCase c, final double seconds, final double warmup)
        throws IOException, InterruptedException
    {
        final String length = Integer.toString(c.shape().length());
        final List<Process> receivers = new ArrayList<>();
        final List<Process> senders = new ArrayList<>();
        try
        {
            final String group = c.queues() > 1 ? Long.toString(1 + ProcessHandle.current().pid() % 60_000) : "0";
            for (int q = 0; q < c.queues(); q++)
            {
                final Process receiver = new ProcessBuilder("ip", "netns", "exec", veth.serverNs(), binary.toString(),
                    "recv", veth.serverDev(), length, Double.toString(warmup), Double.toString(seconds), group)
                    .redirectErrorStream(true).start();
                receivers.add(receiver);
                final String first = readLine(receiver);
                if (!"ready".equals(first))
                {
                    throw new IOException("netblast recv: " + first);
                }
            }
            for (int q = 0; q < c.queues(); q++)
            {
                // Senders run a little past the receivers' window, so that it is full to its end.
                senders.add(new ProcessBuilder("ip", "netns", "exec", veth.clientNs(), binary.toString(), "send",
                    veth.clientDev(), veth.serverMac(), VethPair.CLIENT_IP, VethPair.SERVER_IP, length,
                    Double.toString(warmup), Double.toString(seconds + 0.3), Integer.toString(40_000 + q))
                    .redirectErrorStream(true).start());
            }
            double framesPerSecond = 0;
            double frames = 0;
            double lost = 0;
            double cpuNanos = 0;
            double bad = 0;
            for (final Process p : receivers)
            {
                final String line = finish(p, warmup + seconds + 30);
                final double n = field(line, "frames");
                framesPerSecond += n / field(line, "seconds");
                frames += n;
                lost += field(line, "lost");
                bad += field(line, "bad");
                cpuNanos += field(line, "cpu_ns");
            }
            double sent = 0;
            for (final Process p : senders)
            {
                final String line = finish(p, warmup + seconds + 30);
                // The sender's CPU covers its measured part, which is 0.3 s longer than the receivers'.
                cpuNanos += field(line, "cpu_ns") * seconds / (seconds + 0.3);
                sent += field(line, "sent");
            }
            if (bad > 0 || frames == 0)
            {
                throw new IOException("netblast: " + (long)bad + " frames failed its checks, " + (long)frames +
                    " counted (" + (long)sent + " sent)");
            }
            return new VethResult(framesPerSecond, cpuNanos / 1e3 / frames, 100 * lost / (lost + frames));
        }
        finally
        {
            for (final Process p : senders)
            {
                p.destroyForcibly();
            }
            for (final Process p : receivers)
            {
                p.destroyForcibly();
            }
        }
    }

    private static String readLine(final Process p) throws IOException
    {
        final StringBuilder line = new StringBuilder();
        int ch;
        while ((ch = p.getInputStream().read()) >= 0 && ch != '\n')
        {
            line.append((char)ch);
        }
        return line.toString();
    }

    private static String finish(final Process p, final double timeoutSeconds)
        throws IOException, InterruptedException
    {
        final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor((long)timeoutSeconds, TimeUnit.SECONDS) || p.exitValue() != 0)
        {
            throw new IOException("netblast failed: " + output);
        }
        return output;
    }

    private static double field(final String line, final String name) throws IOException
    {
        final Matcher m = Pattern.compile("\\b" + name + " ([-0-9.]+)").matcher(line);
        if (!m.find())
        {
            throw new IOException("netblast printed no " + name + ": " + line);
        }
        return Double.parseDouble(m.group(1));
    }
}
