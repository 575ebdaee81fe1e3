package org.dom0j.cli;

import org.dom0j.backend.BackendConductor;
import org.dom0j.blkback.BlkbackConfiguration;
import org.dom0j.blkback.BlkbackDeviceType;
import org.dom0j.platform.PlatformEnvironment;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What {@code dom0j serve} does on SIGHUP ({@code systemctl reload dom0j}): reads the configuration file again,
 * says what changed, and applies at once what can change while it serves, as Linux's blkback takes new module
 * parameters for the devices set up after them:
 * <ul>
 * <li>{@code on-exit}: what stopping will do to the connected devices;</li>
 * <li>{@code max-queues}, {@code direct-io}, {@code map-page-cache}, {@code nbd-timeout}: the disks set up from
 *     now on (a disk already set up keeps its settings).</li>
 * </ul>
 * Every other option shapes what serve built when it started (the data path and I/O engine it probed, its
 * netback, consoles, counters and directories), and takes effect at the next start; with {@code --on-exit detach}
 * a restart is a pause for the guests, not an outage. An option the command line sets is not changed by the file.
 * A file that is now wrong is reported and changes nothing.
 * <p>
 * Runs on the signal thread; what it changes is read by the threads that set up and close devices.
 */
final class ServeReload
{
    /** What a reload applies while serve runs. */
    static final List<String> LIVE = List.of("on-exit", "max-queues", "direct-io", "map-page-cache", "nbd-timeout");

    private final CommandSpec spec;
    private final Path configPath;
    private final PlatformEnvironment environment;
    private final BlkbackDeviceType vbd;
    private final BackendConductor conductor;
    private final BlkbackConfiguration base;
    private ConfigFile current;

    /**
     * @param spec        serve's command, parsed.
     * @param configPath  {@code --config}, or null for the default file.
     * @param environment where the default file is looked for.
     * @param running     the file serve started with, or null.
     * @param vbd         the disks' device type.
     * @param conductor   the conductor of every device.
     */
    ServeReload(final CommandSpec spec, final Path configPath, final PlatformEnvironment environment,
        final ConfigFile running, final BlkbackDeviceType vbd, final BackendConductor conductor)
    {
        this.spec = spec;
        this.configPath = configPath;
        this.environment = environment;
        this.current = running;
        this.vbd = vbd;
        this.conductor = conductor;
        this.base = BlkbackConfiguration.fromSystemProperties();
    }

    /**
     * Reads the file again and applies what can be applied.
     *
     * @param out where to say what changed.
     */
    void reload(final PrintWriter out)
    {
        final Path path = null != configPath ? configPath :
            environment.exists(ConfigFile.DEFAULT_PATH) ? environment.resolve(ConfigFile.DEFAULT_PATH) : null;
        if (null == path)
        {
            out.println("dom0j serve: reload: there is no configuration file (" + ConfigFile.DEFAULT_PATH +
                " does not exist); nothing changes");
            out.flush();
            return;
        }
        final ConfigFile fresh;
        try
        {
            fresh = ConfigFile.read(path, spec);
        }
        catch (final ConfigFile.ConfigFileException ex)
        {
            out.println("dom0j serve: reload: " + ex.getMessage() + "; nothing changes");
            out.flush();
            return;
        }
        final List<ConfigFile.Change> changes = ConfigFile.changes(spec, current, fresh);
        int applied = 0;
        BlkbackConfiguration disks = vbd.configuration();
        final StringBuilder lines = new StringBuilder();
        for (final ConfigFile.Change change : changes)
        {
            boolean live = !change.overridden() && LIVE.contains(change.key());
            String refused = null;
            if (live)
            {
                try
                {
                    disks = apply(change, disks);
                    applied++;
                }
                catch (final IllegalArgumentException ex)
                {
                    live = false;
                    refused = ex.getMessage();
                }
            }
            lines.append("dom0j serve: reload: ").append(null == refused ? change.describe(live) :
                change.key() + ": " + change.after() + " is not applied (" + refused + "); nothing changes for it")
                .append('\n');
        }
        vbd.reconfigure(disks);
        current = fresh;
        out.println("dom0j serve: reload: read " + path + ": " + (changes.isEmpty() ? "no option changed" :
            changes.size() + " option(s) changed, " + applied + " applied now (" + String.join(", ", LIVE) +
            " apply while serving, to the disks set up from now on; the others at the next start)"));
        out.print(lines);
        out.flush();
    }

    /**
     * @return the settings with the change made; on-exit goes to the conductor.
     */
    private BlkbackConfiguration apply(final ConfigFile.Change change, final BlkbackConfiguration disks)
    {
        final String value = null == change.after() ? "" : change.after().strip().toLowerCase(Locale.ROOT);
        return switch (change.key())
        {
            case "on-exit" ->
            {
                conductor.detachOnClose(!"close".equals(value));
                yield disks;
            }
            case "max-queues" -> disks.withMaxQueues(Integer.parseInt(value));
            case "direct-io" -> disks.withDirect(base.direct() || isTrue(value));
            case "map-page-cache" -> disks.withMapPageCache(base.mapPageCache() && isTrue(value));
            case "nbd-timeout" ->
            {
                final double seconds = value.isEmpty() ? base.nbdTimeoutMillis() / 1000.0 : Double.parseDouble(value);
                if (!(seconds >= 0.1 && seconds <= 86_400))
                {
                    throw new IllegalArgumentException("nbd-timeout must be 0.1 to 86400 seconds");
                }
                yield disks.withNbdTimeoutMillis(Math.round(seconds * 1000));
            }
            default -> disks;
        };
    }

    private static boolean isTrue(final String value)
    {
        return "true".equals(value) || "yes".equals(value) || "on".equals(value);
    }
}
