package org.dom0j.cli;

import org.dom0j.common.Json;
import org.dom0j.platform.XenPlatform;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.toolstack.DomainBuilder;
import org.dom0j.toolstack.xl.LibxlJson;
import org.dom0j.toolstack.xl.XlConfig;
import org.dom0j.toolstack.xl.XlConfigException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code dom0j create FILE [-c] [-p] [-n]}: {@code xl create} for an xl config file. The file is read and checked
 * first ({@link XlConfig}: every problem names its line; unknown keys are warnings), then the files it names;
 * then the platform's {@link DomainBuilder} creates the domain paused (libxl on Xen, from the
 * {@code libxl_domain_config} JSON that {@code xl create -n} prints; the simulator's toolstack otherwise), and it is
 * unpaused unless {@code -p}. On the simulator the guest's frontends then start in a process of their own
 * ({@code dom0j sim boot}). {@code -c} attaches to its console as {@code dom0j console} does.
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "create",
    description = "Create a domain from an xl config file (as xl create does).",
    footer = {
        "",
        "Examples:",
        "  dom0j create /etc/xen/web1.cfg -c",
        "  dom0j create -n guest.cfg          check it and print the libxl_domain_config JSON",
        "  dom0j --platform sim create guest.cfg" })
final class CreateCommand implements Callable<Integer>
{
    /** How long the console of a new guest may take to be served before -c gives up. */
    private static final long CONSOLE_WAIT_SECONDS = 10;

    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "The xl config file (xl.cfg(5)).")
    private Path file;

    @Option(names = "-c", description = "Attach to the new domain's console (Ctrl-] leaves).")
    private boolean console;

    @Option(names = "-p", description = "Leave the domain paused.")
    private boolean paused;

    @Option(names = { "-n", "--dry-run" },
        description = "Check the file and print the libxl_domain_config JSON; create nothing.")
    private boolean dryRun;

    @Override
    public Integer call() throws Exception
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        final XlConfig config;
        try
        {
            config = XlConfig.read(file);
        }
        catch (final XlConfigException ex)
        {
            return refuse(err, List.of(ex));
        }
        config.warnings().forEach(w -> err.println("dom0j create: warning: " + w));
        final List<XlConfigException> problems = new ArrayList<>();
        config.checkFiles(problems::add);
        if (!problems.isEmpty())
        {
            return refuse(err, problems);
        }
        final String uuid = null != config.uuid() ? config.uuid() : UUID.randomUUID().toString();
        if (dryRun)
        {
            out.println(LibxlJson.domainConfig(config, uuid));
            out.flush();
            return ExitCodes.OK;
        }
        try (XenPlatform platform = root.platforms().open(root.options().platform(), root.environment());
            DomainBuilder builder = platform.openDomainBuilder(root.options().verbosity()))
        {
            try
            {
                builder.check(config, note -> err.println("dom0j create: note: " + note));
            }
            catch (final XlConfigException ex)
            {
                return refuse(err, List.of(ex));
            }
            err.flush();
            final int domid = builder.create(config, uuid);
            // Before it runs, so that dom0j serve acts on however soon it shuts down.
            try
            {
                DomainRecords.of(platform.name(), root.environment()).write(new DomainRecords.Record(domid, uuid,
                    file.toAbsolutePath().toString(), Files.readString(file, StandardCharsets.UTF_8), new long[0]));
            }
            catch (final java.io.IOException | java.io.UncheckedIOException ex)
            {
                err.println("dom0j create: warning: domain " + domid + " is not recorded, so dom0j serve will not " +
                    "act on its on_poweroff, on_reboot and on_crash: " + ex.getMessage());
                err.flush();
            }
            if (!paused)
            {
                builder.unpause(domid);
            }
            final boolean sim = SimPlatformProvider.NAME.equals(platform.name());
            if (sim && !paused)
            {
                GuestProcess.boot(SimPlatformProvider.hostDirectory(root.environment()), domid, 60);
            }
            if (root.options().json())
            {
                final Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", config.name());
                m.put("domid", domid);
                m.put("uuid", uuid);
                m.put("paused", paused);
                out.println(Json.write(m));
            }
            else
            {
                out.println("Created domain " + config.name() + " with id " + domid + (paused ? " (paused)" : ""));
            }
            out.flush();
            if (console)
            {
                return attachConsole(platform.name(), domid, err);
            }
            return ExitCodes.OK;
        }
    }

    private int attachConsole(final String platformName, final int domid, final PrintWriter err) throws Exception
    {
        final Path dir = ConsolePaths.runDirectory(platformName, root.environment());
        final Path socket = org.dom0j.console.ConsoleHub.socketPath(dir, domid, null);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CONSOLE_WAIT_SECONDS);
        while (!Files.exists(socket) && System.nanoTime() - deadline < 0)
        {
            Thread.sleep(50);
        }
        if (!Files.exists(socket) && !SimPlatformProvider.NAME.equals(platformName))
        {
            err.println("dom0j create: dom0j serve does not serve the console of domain " + domid + " (no " + socket +
                "); if xenconsoled does, use 'xl console " + domid + "'");
            err.flush();
            return ExitCodes.FAILURE;
        }
        return ConsoleCommand.attach(dir, domid, null, err);
    }

    private static int refuse(final PrintWriter err, final List<XlConfigException> problems)
    {
        for (final XlConfigException p : problems)
        {
            err.println("dom0j create: " + p.getMessage());
        }
        err.flush();
        return ExitCodes.FAILURE;
    }
}
