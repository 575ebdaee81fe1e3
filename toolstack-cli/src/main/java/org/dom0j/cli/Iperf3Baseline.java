package org.dom0j.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code dom0j bench net}'s veth baseline by iperf3: TCP with GSO and GRO for the 64 KiB case, and UDP datagrams sized
 * so that frames are the case's length when there is no raw blaster ({@link NetblastBaseline}); one client and server
 * pair per queue, across a {@link VethPair}. Rates and CPU come from iperf3's JSON.
 * <p>
 * Stateless; one thread runs a case at a time.
 */
final class Iperf3Baseline
{
    private static final int UDP_FRAME_OVERHEAD = 42;
    private static final int BASE_PORT = 5301;

    private Iperf3Baseline()
    {
    }

    /**
     * Runs iperf3 for one case: one server and one client per queue, in parallel.
     *
     * @param veth    the pair it runs across.
     * @param c       the case.
     * @param seconds measured time (rounded up to whole seconds, as iperf3 takes it).
     * @param warmup  omitted time before it (rounded).
     * @return the kernel path's rate.
     * @throws IOException when iperf3 fails.
     */
    static VethResult run(final VethPair veth, final BenchNetCase c, final double seconds, final double warmup)
        throws IOException, InterruptedException
    {
        final long time = Math.max(1, (long)Math.ceil(seconds));
        final long omit = Math.max(0, Math.round(warmup));
        final List<Process> servers = new ArrayList<>();
        final List<Process> clients = new ArrayList<>();
        try
        {
            for (int q = 0; q < c.queues(); q++)
            {
                final Process server = new ProcessBuilder("ip", "netns", "exec", veth.serverNs(), "iperf3", "-s", "-1",
                    "--forceflush", "-p", Integer.toString(BASE_PORT + q)).redirectErrorStream(true).start();
                servers.add(server);
                awaitListening(server);
            }
            for (int q = 0; q < c.queues(); q++)
            {
                final List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", veth.clientNs(), "iperf3",
                    "-c", VethPair.SERVER_IP, "-p", Integer.toString(BASE_PORT + q), "-t", Long.toString(time), "-O",
                    Long.toString(omit), "-J"));
                if (!c.shape().gso())
                {
                    command.addAll(List.of("-u", "-b", "0", "-l",
                        Integer.toString(c.shape().length() - UDP_FRAME_OVERHEAD)));
                }
                clients.add(new ProcessBuilder(command).redirectErrorStream(true).start());
            }
            double framesPerSecond = 0;
            double cpuSeconds = 0;
            double frames = 0;
            double lost = 0;
            double sent = 0;
            for (final Process client : clients)
            {
                final String json = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!client.waitFor(time + omit + 30, TimeUnit.SECONDS) || client.exitValue() != 0)
                {
                    throw new IOException("iperf3 failed: " + json.strip());
                }
                final String received = block(json, "sum_received");
                final double bytes = number(received, "bytes");
                final double secs = number(received, "seconds");
                final double perFrame = c.shape().gso() ? c.shape().payload() :
                    c.shape().length() - UDP_FRAME_OVERHEAD;
                framesPerSecond += bytes / perFrame / secs;
                frames += bytes / perFrame;
                final String cpu = block(json, "cpu_utilization_percent");
                cpuSeconds += (number(cpu, "host_total") + number(cpu, "remote_total")) / 100 * secs;
                if (!c.shape().gso())
                {
                    final double datagrams = number(block(json, "sum_sent"), "packets");
                    lost += Math.max(0, datagrams - bytes / perFrame);
                    sent += datagrams;
                }
            }
            for (final Process server : servers)
            {
                server.waitFor(10, TimeUnit.SECONDS);
            }
            return new VethResult(framesPerSecond, cpuSeconds * 1e6 / Math.max(1, frames),
                sent > 0 ? 100 * lost / sent : 0);
        }
        finally
        {
            for (final Process p : clients)
            {
                p.destroyForcibly();
            }
            for (final Process p : servers)
            {
                p.destroyForcibly();
            }
        }
    }

    private static void awaitListening(final Process server) throws IOException
    {
        // iperf3 prints this line once its socket listens; nothing else signals readiness.
        final StringBuilder seen = new StringBuilder();
        int ch;
        while ((ch = server.getInputStream().read()) >= 0)
        {
            seen.append((char)ch);
            if (seen.indexOf("Server listening") >= 0 && ch == '\n')
            {
                return;
            }
        }
        throw new IOException("iperf3 -s exited: " + seen.toString().strip());
    }

    private static String block(final String json, final String name) throws IOException
    {
        final int at = json.indexOf("\"" + name + "\"");
        if (at < 0)
        {
            throw new IOException("iperf3 printed no " + name + ": " + json.strip());
        }
        final int end = json.indexOf('}', at);
        return json.substring(at, end < 0 ? json.length() : end);
    }

    private static double number(final String block, final String name) throws IOException
    {
        final Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*([-0-9.eE+]+)").matcher(block);
        if (!m.find())
        {
            throw new IOException("iperf3's " + block.lines().findFirst().orElse("") + " has no " + name);
        }
        return Double.parseDouble(m.group(1));
    }
}
