package org.dom0j.cli;

import org.dom0j.console.ConsoleClient;
import org.dom0j.console.ConsoleHub;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code dom0j console <domid>}: attaches the terminal to a guest's console served by a running {@code dom0j serve},
 * through the console's Unix socket ({@code <run-dir>/<domid>.sock}, or {@code <domid>-<devid>.sock} for a
 * secondary console). When standard input is a terminal it is put in raw mode ({@code stty raw -echo} on
 * {@code /dev/tty} through {@code /bin/sh}) and restored on the way out, also on Ctrl-C; Ctrl-] leaves.
 */
@Command(
    name = "console",
    description = "Attach to a guest's console (served by 'dom0j serve'); Ctrl-] leaves.",
    footer = {
        "",
        "Examples:",
        "  dom0j console 7                      the primary console of domain 7",
        "  dom0j console guest1                 the primary console of the domain named guest1",
        "  dom0j --platform sim console 7 --devid 1   secondary console 1 of domain 7 on the simulator" })
final class ConsoleCommand implements Callable<Integer>
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DOM", description = "The guest: its domid, or its name (looked up in " +
        "xenstore).")
    private String dom;

    @Option(names = "--devid", paramLabel = "N",
        description = "A secondary console's device id (default: the primary console).")
    private String devid;

    @Option(names = "--run-dir", paramLabel = "DIR",
        description = "Where 'dom0j serve' keeps console sockets (default: <sim dir>/console, or /run/dom0j/console).")
    private Path runDirectory;

    @Override
    public Integer call() throws Exception
    {
        final int domid;
        if (DomainSession.isDomid(dom))
        {
            domid = Integer.parseInt(dom);
        }
        else
        {
            try (DomainSession session = DomainSession.open(root))
            {
                domid = session.resolve(dom).domid();
            }
        }
        final Path dir = null != runDirectory ? runDirectory :
            ConsolePaths.runDirectory(ConsolePaths.platformName(root), root.environment());
        return attach(dir, domid, devid, spec.commandLine().getErr());
    }

    /**
     * Attaches the terminal to a console until Ctrl-] or the console closes; what {@code dom0j create -c} does too.
     *
     * @param dir   where serve keeps console sockets.
     * @param domid the guest.
     * @param devid a secondary console's device id, or null for the primary console.
     * @param err   where to say what went wrong.
     * @return the exit code.
     * @throws Exception when the connection fails midway.
     */
    static int attach(final Path dir, final int domid, final String devid, final PrintWriter err) throws Exception
    {
        final Path socket = ConsoleHub.socketPath(dir, domid, devid);
        if (!Files.exists(socket))
        {
            err.println("dom0j console: no console of domain " + domid + (null == devid ? "" : " device " + devid) +
                " is served (no " + socket + "); is 'dom0j serve' running, and does the guest have that console?");
            err.flush();
            return ExitCodes.FAILURE;
        }
        final ConsoleClient client;
        try
        {
            client = ConsoleClient.connect(socket);
        }
        catch (final IOException ex)
        {
            err.println("dom0j console: cannot connect to " + socket + ": " + ex.getMessage());
            err.flush();
            return ExitCodes.FAILURE;
        }
        final String saved = null != System.console() ? stty("-g") : null;
        final Thread restore = new Thread(() -> restore(saved));
        if (null != saved)
        {
            Runtime.getRuntime().addShutdownHook(restore);
            stty("raw -echo");
            System.err.print("Connected to domain " + domid + " console; Ctrl-] leaves.\r\n");
        }
        final ConsoleClient.End end;
        try
        {
            end = client.run(System.in, System.out);
        }
        finally
        {
            if (null != saved)
            {
                restore(saved);
                Runtime.getRuntime().removeShutdownHook(restore);
            }
        }
        if (end == ConsoleClient.End.CONSOLE_CLOSED)
        {
            err.println();
            err.println("dom0j console: the console of domain " + domid + " closed");
            err.flush();
        }
        return ExitCodes.OK;
    }

    private static void restore(final String saved)
    {
        if (null != saved && !saved.isEmpty())
        {
            stty(saved);
        }
    }

    /**
     * Runs {@code stty} on the controlling terminal, as {@code /bin/sh -c 'stty ... < /dev/tty'}.
     *
     * @param arguments stty's arguments (trusted: ours, or what {@code stty -g} printed).
     * @return what stty printed, trimmed, or null when it failed.
     */
    static String stty(final String arguments)
    {
        try
        {
            final Process p = new ProcessBuilder("/bin/sh", "-c", "stty " + arguments + " < /dev/tty")
                .redirectErrorStream(true).start();
            final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : null;
        }
        catch (final IOException ex)
        {
            return null;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
