package org.dom0j.sim.guest;

import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.xenstore.XenStore;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * What runs inside a simulated guest that {@code dom0j create} made, in place of a kernel: it finds its devices the
 * way Linux's xenbus does (the directories under {@code device/vbd} and {@code device/vif} that the toolstack
 * wrote), connects a blkfront to each disk and a netfront to each vif, brings up the primary console (writing its
 * ring and port where xenconsoled looks, as the domain builder does), says on the console what it found, and then
 * echoes what is typed there. It announces {@code control/feature-poweroff} and {@code feature-reboot}, and on
 * {@code control/shutdown} it acknowledges (writes ""), disconnects its devices and shuts down with that reason, as
 * Linux does. It also stops when its domain is destroyed, or when told to.
 * <p>
 * Not thread safe: runs on the caller's thread.
 */
public final class SimGuestKernel
{
    /** SCHEDOP_shutdown reasons. */
    private static final int SHUTDOWN_POWEROFF = 0;
    private static final int SHUTDOWN_REBOOT = 1;
    private static final long CONNECT_TIMEOUT_MS = 15_000;

    private SimGuestKernel()
    {
    }

    /**
     * Boots the guest and runs it until it shuts down, is destroyed or {@code stop} says so.
     *
     * @param machineDirectory the running machine.
     * @param domid            the guest, created and unpaused by the toolstack.
     * @param stop             polled about ten times a second; true ends the guest (devices disconnected).
     * @param log              told what happens, a line at a time.
     * @return how it ended: "poweroff", "reboot", "destroyed" or "stopped".
     * @throws InterruptedException when interrupted.
     */
    public static String run(final Path machineDirectory, final int domid, final BooleanSupplier stop,
        final PrintWriter log) throws InterruptedException
    {
        try (SimMachine machine = SimMachine.join(machineDirectory))
        {
            final SimDomain guest = machine.host().domain(domid);
            final String dom = "/local/domain/" + domid;
            final String name = machine.xenStore().readOrNull(dom + "/name");
            final SimConsoleFront console = SimConsoleFront.primary(guest, machine.xenStore(), 0);
            try (XenStore xs = machine.connectAsGuest(domid);
                SimGuestDevices devices = new SimGuestDevices(guest, xs, text -> sayQuietly(log, console, text)))
            {
                say(log, console, "dom0j simulated guest " + name + " (domain " + domid + ") booting");
                devices.scan();
                xs.write(dom + "/control/feature-poweroff", "1");
                xs.write(dom + "/control/feature-reboot", "1");
                say(log, console, "running");
                console.writeFully("$ ", 10_000);
                final String end = loop(machine, guest, xs, console, devices, stop);
                say(log, null, "guest " + domid + ": " + end);
                if ("destroyed".equals(end))
                {
                    devices.abandon();
                }
                else
                {
                    devices.close();
                    console.close();
                    if (!"stopped".equals(end))
                    {
                        machine.shutdown(domid, "reboot".equals(end) ? SHUTDOWN_REBOOT : SHUTDOWN_POWEROFF);
                    }
                }
                return end;
            }
            catch (final TimeoutException ex)
            {
                log.println("guest " + domid + ": its console is not read: " + ex.getMessage());
                log.flush();
                return "stopped";
            }
        }
    }

    private static String loop(final SimMachine machine, final SimDomain guest, final XenStore xs,
        final SimConsoleFront console, final SimGuestDevices devices, final BooleanSupplier stop)
        throws TimeoutException
    {
        final String dom = "/local/domain/" + guest.domid();
        final byte[] input = new byte[1024];
        final StringBuilder line = new StringBuilder();
        while (true)
        {
            if (stop.getAsBoolean())
            {
                return "stopped";
            }
            if (!machine.host().exists(guest.domid()))
            {
                return "destroyed";
            }
            devices.scan();
            final String request = xs.readOrNull(dom + "/control/shutdown");
            if (null != request && !request.isEmpty())
            {
                // Linux's shutdown_handler: acknowledge, then act. Anything it does not know is ignored, as there.
                xs.write(dom + "/control/shutdown", "");
                if ("poweroff".equals(request) || "halt".equals(request))
                {
                    return "poweroff";
                }
                if ("reboot".equals(request))
                {
                    return "reboot";
                }
            }
            final int n = console.read(input, 0, input.length);
            for (int i = 0; i < n; i++)
            {
                final char c = (char)(input[i] & 0xFF);
                if (c == '\r' || c == '\n')
                {
                    console.writeFully("\r\nyou typed: " + line + "\r\n$ ", 10_000);
                    line.setLength(0);
                }
                else
                {
                    line.append(c);
                    console.writeFully(String.valueOf(c), 10_000);
                }
            }
            if (n == 0)
            {
                console.awaitEvent(TimeUnit.MILLISECONDS.toNanos(100));
            }
        }
    }

    private static void sayQuietly(final PrintWriter log, final SimConsoleFront console, final String text)
    {
        try
        {
            say(log, console, text);
        }
        catch (final TimeoutException ex)
        {
            log.println("(console not read: " + ex.getMessage() + ")");
            log.flush();
        }
    }

    private static void say(final PrintWriter log, final SimConsoleFront console, final String text)
        throws TimeoutException
    {
        log.println(text);
        log.flush();
        if (null != console)
        {
            console.writeFully(text + "\r\n", 10_000);
        }
    }
}
