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
 * Two network namespaces joined by a veth pair, made for one {@code dom0j bench net} run and removed after it (or at
 * JVM shutdown); the veth baseline's senders and receivers ({@link Iperf3Baseline}, {@link NetblastBaseline}) run
 * between them, the client side sending to the server side.
 * <p>
 * One thread uses it; {@link #close} may also run on the bench's shutdown hook.
 */
final class VethPair implements AutoCloseable
{
    /** The client side's address. */
    static final String CLIENT_IP = "10.199.0.1";
    /** The server side's address. */
    static final String SERVER_IP = "10.199.0.2";
    private static final String IPERF3_PACKAGE = "iperf3";
    private final String clientNs;
    private final String serverNs;
    private final String clientDev;
    private final String serverDev;
    private String serverMac;
    private boolean closed;

    private VethPair(final String clientNs, final String serverNs, final String clientDev, final String serverDev)
    {
        this.clientNs = clientNs;
        this.serverNs = serverNs;
        this.clientDev = clientDev;
        this.serverDev = serverDev;
    }

    /**
     * @return why there can be no veth baseline here (not root, or ip or iperf3 missing), or null.
     */
    static String problem()
    {
        if (!isRoot())
        {
            return "not root (network namespaces and veth pairs need CAP_NET_ADMIN and CAP_SYS_ADMIN)";
        }
        if (!canRun("ip", "-V"))
        {
            return "ip not found (Debian package iproute2)";
        }
        if (!canRun("iperf3", "--version"))
        {
            return "iperf3 not found: install the Debian package " + IPERF3_PACKAGE + " (scripts/install-deps.sh " +
                "does)";
        }
        return null;
    }

    private static boolean isRoot()
    {
        try
        {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Uid:")).findFirst()
                .map(l -> "0".equals(l.split("\\s+")[2])).orElse(false);
        }
        catch (final IOException ex)
        {
            return false;
        }
    }

    /**
     * @param command a tool and arguments that only print, e.g. its version.
     * @return whether it ran and exited 0 within 10 s.
     */
    static boolean canRun(final String... command)
    {
        try
        {
            final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        }
        catch (final IOException | InterruptedException ex)
        {
            return false;
        }
    }

    /**
     * Makes the namespaces and the pair (two queues each way), addresses them and brings them up.
     *
     * @param id a number unique to this run, in the names.
     * @return the pair.
     * @throws IOException when a step fails.
     */
    static VethPair create(final long id) throws IOException, InterruptedException
    {
        final String tag = Long.toString(id % 100_000);
        final String a = "d0jb" + tag + "a";
        final String b = "d0jb" + tag + "b";
        final VethPair veth = new VethPair("dom0j-bench-" + tag + "-a", "dom0j-bench-" + tag + "-b", a, b);
        try
        {
            ip("netns", "add", veth.clientNs);
            ip("netns", "add", veth.serverNs);
            ip("link", "add", a, "netns", veth.clientNs, "numtxqueues", "2", "numrxqueues", "2", "type", "veth",
                "peer", "name", b, "netns", veth.serverNs, "numtxqueues", "2", "numrxqueues", "2");
            ip("-n", veth.clientNs, "addr", "add", CLIENT_IP + "/24", "dev", a);
            ip("-n", veth.serverNs, "addr", "add", SERVER_IP + "/24", "dev", b);
            for (final String[] nsDev : new String[][]{ { veth.clientNs, a }, { veth.serverNs, b },
                { veth.clientNs, "lo" }, { veth.serverNs, "lo" } })
            {
                ip("-n", nsDev[0], "link", "set", nsDev[1], "up");
            }
            final Matcher mac = Pattern.compile("link/ether ([0-9a-f:]{17})").matcher(
                ip("-n", veth.serverNs, "link", "show", b));
            if (!mac.find())
            {
                throw new IOException("no MAC address on " + b);
            }
            veth.serverMac = mac.group(1);
            return veth;
        }
        catch (final IOException | InterruptedException | RuntimeException ex)
        {
            veth.close();
            throw ex;
        }
    }

    /**
     * @return the client side's namespace.
     */
    String clientNs()
    {
        return clientNs;
    }

    /**
     * @return the server side's namespace.
     */
    String serverNs()
    {
        return serverNs;
    }

    /**
     * @return the client side's device, in {@link #clientNs}.
     */
    String clientDev()
    {
        return clientDev;
    }

    /**
     * @return the server side's device, in {@link #serverNs}.
     */
    String serverDev()
    {
        return serverDev;
    }

    /**
     * @return the server side's MAC address, {@code aa:bb:cc:dd:ee:ff}.
     */
    String serverMac()
    {
        return serverMac;
    }

    private static String ip(final String... args) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>();
        command.add("ip");
        command.addAll(List.of(args));
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0)
        {
            throw new IOException(String.join(" ", command) + " failed: " + output.strip());
        }
        return output;
    }

    /**
     * Removes both namespaces (the pair goes with them). Idempotent; also run by the bench's shutdown hook.
     */
    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (final String ns : new String[]{ clientNs, serverNs })
        {
            try
            {
                ip("netns", "del", ns);
            }
            catch (final IOException | InterruptedException ex)
            {
                // Not made, or already gone.
            }
        }
    }
}
