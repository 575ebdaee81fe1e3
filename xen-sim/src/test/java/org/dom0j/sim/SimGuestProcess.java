package org.dom0j.sim;

import org.dom0j.common.XenException;
import org.dom0j.evtchn.EventChannels;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A simulated guest in its own JVM, driven line by line over stdin by a test: each command prints one line,
 * "ok ..." or "err &lt;errno&gt; &lt;message&gt;".
 * <pre>
 *   alloc                  -> ok &lt;frame&gt;
 *   write &lt;frame&gt; &lt;text&gt;   -> ok
 *   read &lt;frame&gt;           -> ok &lt;text up to the first 0 byte&gt;
 *   grant &lt;domid&gt; &lt;frame&gt; ro|rw -> ok &lt;ref&gt;
 *   end &lt;ref&gt;              -> ok | err 16 ...
 *   flags &lt;ref&gt;            -> ok &lt;flags&gt;
 *   unbound &lt;domid&gt;        -> ok &lt;port&gt;
 *   wait &lt;millis&gt;          -> ok &lt;port or -1&gt; (the port is unmasked again)
 *   notify &lt;port&gt;          -> ok
 *   echo &lt;port&gt; &lt;n&gt;       -> ok: n times wait for an event on the port, unmask it, notify it back
 *   latency &lt;port&gt; &lt;frame&gt; &lt;n&gt;
 *                          -> ok &lt;p50 ns&gt; &lt;p99 ns&gt; &lt;max ns&gt;: like echo, and each time subtracts the
 *                          System.nanoTime the sender stored at offset 0 of the frame from the time it woke
 *   exit
 * </pre>
 * Run as {@code java -cp <test classpath> org.dom0j.sim.SimGuestProcess <simdir> <domid>}.
 */
public final class SimGuestProcess
{
    private SimGuestProcess()
    {
    }

    /**
     * @param args sim host directory and domid.
     * @throws Exception on I/O failure.
     */
    public static void main(final String[] args) throws Exception
    {
        try (SimHost host = SimHost.open(Path.of(args[0])))
        {
            final SimDomain domain = host.domain(Integer.parseInt(args[1]));
            try (EventChannels evtchn = domain.openEventChannels())
            {
                final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                System.out.println("ok ready");
                System.out.flush();
                String line;
                while (null != (line = in.readLine()))
                {
                    final String[] w = line.trim().split(" ", 3);
                    if ("exit".equals(w[0]))
                    {
                        break;
                    }
                    String reply;
                    try
                    {
                        reply = "ok " + run(domain, evtchn, w);
                    }
                    catch (final XenException ex)
                    {
                        reply = "err " + ex.errno() + " " + ex.getMessage();
                    }
                    System.out.println(reply);
                    System.out.flush();
                }
            }
        }
    }

    private static String run(final SimDomain domain, final EventChannels evtchn, final String[] w)
    {
        switch (w[0])
        {
            case "alloc":
                return Integer.toString(domain.allocatePage());
            case "write":
            {
                final byte[] text = (w[2] + "\0").getBytes(StandardCharsets.UTF_8);
                domain.page(Integer.parseInt(w[1])).putBytes(0, text);
                return "";
            }
            case "read":
            {
                final StringBuilder sb = new StringBuilder();
                final var page = domain.page(Integer.parseInt(w[1]));
                for (int i = 0; i < SimHost.PAGE_SIZE && page.getByte(i) != 0; i++)
                {
                    sb.append((char)page.getByte(i));
                }
                return sb.toString();
            }
            case "grant":
            {
                final String[] rest = w[2].split(" ");
                return Integer.toString(domain.grantAccess(Integer.parseInt(w[1]), Integer.parseInt(rest[0]),
                    "ro".equals(rest[1])));
            }
            case "end":
                domain.endAccess(Integer.parseInt(w[1]));
                return "";
            case "flags":
                return Integer.toString(domain.grantFlags(Integer.parseInt(w[1])));
            case "unbound":
                return Integer.toString(evtchn.bindUnboundPort(Integer.parseInt(w[1])));
            case "wait":
            {
                final int port = evtchn.pending(TimeUnit.MILLISECONDS.toNanos(Long.parseLong(w[1])));
                if (port >= 0)
                {
                    evtchn.unmask(port);
                }
                return Integer.toString(port);
            }
            case "notify":
                evtchn.notify(Integer.parseInt(w[1]));
                return "";
            case "echo":
            {
                final int port = Integer.parseInt(w[1]);
                final int n = Integer.parseInt(w[2]);
                for (int i = 0; i < n; i++)
                {
                    int p;
                    do
                    {
                        p = evtchn.pending(TimeUnit.SECONDS.toNanos(10));
                        if (p >= 0)
                        {
                            evtchn.unmask(p);
                        }
                    }
                    while (p != port && p >= 0);
                    if (p < 0)
                    {
                        return "timeout after " + i;
                    }
                    evtchn.notify(port);
                }
                return Integer.toString(n);
            }
            case "latency":
            {
                final String[] rest = w[2].split(" ");
                final int port = Integer.parseInt(w[1]);
                final var page = domain.page(Integer.parseInt(rest[0]));
                final long[] ns = new long[Integer.parseInt(rest[1])];
                for (int i = 0; i < ns.length; i++)
                {
                    final int p = evtchn.pending(TimeUnit.SECONDS.toNanos(10));
                    final long woke = System.nanoTime();
                    if (p != port)
                    {
                        return "no event at " + i;
                    }
                    ns[i] = woke - page.getLongVolatile(0);
                    evtchn.unmask(p);
                    evtchn.notify(port);
                }
                java.util.Arrays.sort(ns);
                return ns[ns.length / 2] + " " + ns[ns.length * 99 / 100] + " " + ns[ns.length - 1];
            }
            default:
                throw new IllegalArgumentException("unknown command " + w[0]);
        }
    }
}
