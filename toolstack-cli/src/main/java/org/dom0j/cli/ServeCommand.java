package org.dom0j.cli;

import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.ShutdownSignalBarrier;
import org.dom0j.backend.AgentScheduler;
import org.dom0j.backend.BackendConductor;
import org.dom0j.backend.CountersFile;
import org.dom0j.blkback.BlkbackConfiguration;
import org.dom0j.blkback.BlkbackDeviceType;
import org.dom0j.blkback.DataPath;
import org.dom0j.console.ConsoleConfiguration;
import org.dom0j.console.ConsoleDeviceType;
import org.dom0j.console.ConsoleHub;
import org.dom0j.console.PrimaryConsoles;
import org.dom0j.evtchn.EventChannelIdleStrategy;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.netback.NetbackConfiguration;
import org.dom0j.netback.NetbackDeviceType;
import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.XenPlatform;
import org.dom0j.sim.SimPlatformProvider;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code dom0j serve}: the backends as a dom0 service, in the foreground. Runs the conductor (xenstore watches,
 * device lifecycles) on its own thread and one agent thread per ring queue, until SIGINT or SIGTERM; then closes
 * every device (the frontends see Closed) and releases every mapping and port. Serves block devices (vbd), network
 * interfaces (vif: a TAP per vif in dom0, or a switch inside the service) and secondary consoles (console) through
 * the conductor, and, on its own agent thread, the domains' primary consoles (xenconsoled's job: on by default on the
 * simulator only). Console sockets and logs: see {@link ConsolePaths}; each console's log is capped and its output
 * rate limited ({@link ConsoleConfiguration}).
 */
@Command(
    name = "serve",
    description = "Run the backends (vbd, vif, console) as a service in the foreground until Ctrl-C.",
    footer = {
        "",
        "Examples:",
        "  dom0j serve                          on a Xen dom0 (rmmod xen-blkback xen-netback first; disks attached",
        "                                       with disk=['backendtype=phy,script=/bin/true,...'], NICs with",
        "                                       vif=['bridge=xenbr0'] as usual: each gets a TAP vifN.M)",
        "                                       A disk's target= (params) is a file, a block device, or an NBD",
        "                                       export: nbd://host[:port]/export or",
        "                                       nbd+unix:///export?socket=/path (no TLS; see docs/blkback.md)",
        "  dom0j serve --net-mode switch        guests' NICs joined by a switch inside the service",
        "  dom0j serve --net-mode switch --uplink-tap dom0j0 --aeron-subscribe aeron:udp?endpoint=0.0.0.0:40456 \\",
        "      --aeron-publish aeron:udp?endpoint=host-b:40456     the switch, dom0's stack and host-b's switch",
        "  dom0j --platform sim serve           on the simulator started by 'dom0j sim start'",
        "  dom0j serve --data-path map          map guest pages (persistent grants) instead of grant copy",
        "  dom0j serve --primary-consoles yes   also serve primary consoles on Xen (stop xenconsoled first)",
        "  dom0j serve --console-log-max 16M --console-rate-limit 128K/200",
        "                                       bigger console logs, and twice xenconsoled's rate per guest" })
final class ServeCommand implements Callable<Integer>
{
    /**
     * Longest sleep of the primary consoles' agent: guests' output comes with their events, typed input and domains
     * that come or go with a wake-up, a throttled console's next period shortens the sleep, and a served console's
     * pump bounds it (a second); with no guest this bounds it. (It was a 1 ms poll, then 100 ms: a system call each
     * time, which in a PV dom0 goes through the hypervisor; at 100 ms an idle serve's primary consoles took 0.14 s of
     * dom0's CPU per 10 s under the real-Xen tier's TCG.) Before its runner closes, {@link PrimaryConsoles#stopping}
     * ends the sleep.
     */
    static final long PRIMARY_CONSOLES_MAX_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    /**
     * Counters serve's file has room for: a guest with a disk, a network interface and a console takes 44 (each
     * queue's, each device type's and each console's own), so 4096 stopped serve at 93 such guests; this is room for
     * about 1,500. The file is sparse: only the pages of counters in use take memory.
     */
    static final int MAX_COUNTERS = 65_536;

    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE",
        description = "A configuration file: 'key = value' lines, a key for each of serve's options without its " +
            "dashes (data-path = map), # comments. Default: " + ConfigFile.DEFAULT_PATH + " when it exists. " +
            "Options given on the command line win over the file; SIGHUP (systemctl reload dom0j) reads it again and " +
            "applies on-exit, max-queues, direct-io, map-page-cache and nbd-timeout at once.")
    private Path configPath;

    @Option(names = "--data-path", paramLabel = "auto|copy|map", defaultValue = "auto",
        description = "How blkback moves data: grant copy, or mapped (persistent) grants (disks on NBD: always grant " +
            "copy). Default: ${DEFAULT-VALUE}.")
    private String dataPath;

    @Option(names = "--io-engine", paramLabel = "auto|io_uring|sync", defaultValue = "auto",
        description = "How blkback reads and writes disks: io_uring (a pass's requests in one system call, all in " +
            "flight at once) or preadv/pwritev one at a time; auto = io_uring where the kernel allows it. " +
            "Default: ${DEFAULT-VALUE}.")
    private String ioEngine;

    @Option(names = "--direct-io", negatable = true, defaultValue = "false", fallbackValue = "true",
        description = "Open disks with O_DIRECT: I/O bypasses dom0's page cache and goes to the device, as Linux's " +
            "blkback does for block devices; with io_uring a batch's requests are then in flight on the device " +
            "together. Default: through the page cache (dom0j.blkback.direct).")
    private boolean directIo;

    @Option(names = "--map-page-cache", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "On the grant-copy path through the page cache, grant-copy reads straight out of the disk's " +
            "mapped page cache, and writes straight into it when the disk is on tmpfs: one copy and no system call " +
            "per request, where bounce pages and preadv/pwritev make two copies and a call. --no-map-page-cache " +
            "uses bounce pages (dom0j.blkback.mapPageCache). Default: ${DEFAULT-VALUE}.")
    private boolean mapPageCache;

    @Option(names = "--nbd-timeout", paramLabel = "SECONDS",
        description = "How long requests in flight to a disk's NBD server may go unanswered before dom0j gives the " +
            "connection up: those requests fail with an I/O error, later ones fail at once while the server is " +
            "away, and the queue reconnects (at most once a second). 0.1 to 86400 " +
            "(dom0j.blkback.nbdTimeoutSeconds). Default: 30.")
    private Double nbdTimeoutSeconds;

    @Option(names = "--net-mode", paramLabel = "auto|tap|switch", defaultValue = "auto",
        description = "Where vifs' frames go: tap (a TAP vif<domid>.<handle> per vif in dom0, as Linux's netback " +
            "makes a netdev: bridges, vif-bridge, tcpdump work as before) or switch (a learning switch inside the " +
            "service); auto = tap on Xen, switch on the simulator. Default: ${DEFAULT-VALUE}.")
    private String netMode;

    @Option(names = "--uplink-tap", paramLabel = "NAME",
        description = "Switch mode: a TAP interface NAME joining dom0's network stack to the switch (address it, " +
            "bridge it or route through it like a NIC).")
    private String uplinkTap;

    @Option(names = "--aeron-subscribe", paramLabel = "CHANNEL",
        description = "Switch mode: join other hosts' dom0j switches over Aeron; frames from them arrive on CHANNEL, " +
            "e.g. aeron:udp?endpoint=0.0.0.0:40456 (or aeron:ipc between services on one host).")
    private String aeronSubscribe;

    @Option(names = "--aeron-publish", paramLabel = "CHANNEL", split = ",",
        description = "Switch mode: a peer's channel, e.g. aeron:udp?endpoint=10.1.2.3:40456; repeat for each peer " +
            "(or separate them with commas).")
    private java.util.List<String> aeronPublish;

    @Option(names = "--aeron-stream", paramLabel = "N", defaultValue = "208",
        description = "The Aeron stream id on every channel. Default: ${DEFAULT-VALUE}.")
    private int aeronStream;

    @Option(names = "--aeron-dir", paramLabel = "DIR",
        description = "An external Aeron media driver's directory (default: a media driver embedded in serve).")
    private String aeronDir;

    @Option(names = "--capture-dir", paramLabel = "DIR",
        description = "Where 'dom0j capture' puts its rings (default: capture in the simulator's directory, or " +
            "/run/dom0j/capture).")
    private Path captureDirectory;

    @Option(names = "--net-max-queues", paramLabel = "N",
        description = "multi-queue-max-queues offered to network frontends (default: min(8, CPUs), as Linux).")
    private Integer netMaxQueues;

    @Option(names = "--counters", paramLabel = "FILE",
        description = "Where the counters live for 'dom0j top' (default: /dev/shm/dom0j-counters, or counters in " +
            "the simulator's directory).")
    private Path countersPath;

    @Option(names = "--max-queues", paramLabel = "N", defaultValue = "4",
        description = "multi-queue-max-queues offered to block frontends. Default: ${DEFAULT-VALUE}.")
    private int maxQueues;

    @Option(names = "--blk-type", paramLabel = "NAME", defaultValue = BlkbackDeviceType.NAME,
        description = "Serve disks under backend/NAME in xenstore. Default: ${DEFAULT-VALUE}, libxl's and Linux's " +
            "xen-blkback's, which must then be unloaded (rmmod xen-blkback). Another name (dom0j-vbd) serves beside " +
            "the kernel's blkback, as QEMU (qdisk) and tapdisk (vbd3) do: a disk is then dom0j's when its " +
            "backend directory is under that name. 1-32 of a-z, 0-9 and '-'.")
    private String blkType;

    @Option(names = "--primary-consoles", paramLabel = "auto|yes|no", defaultValue = "auto",
        description = "Serve the domains' primary consoles as xenconsoled does; auto = only on the simulator " +
            "(on Xen xenconsoled does it). Default: ${DEFAULT-VALUE}.")
    private String primaryConsoles;

    @Option(names = "--console-log-dir", paramLabel = "DIR",
        description = "Where console logs go, guest-<name>.log per domain (default: <sim dir>/console-logs, or " +
            "/var/log/dom0j/console).")
    private Path consoleLogDirectory;

    @Option(names = "--console-log-max", paramLabel = "SIZE",
        description = "Cap on each console's log: a log that is full becomes <log>.1 (replacing the last one) and a " +
            "new log begins, so a console keeps at most twice SIZE on disk. Bytes, or with K, M or G (KiB, MiB, " +
            "GiB); 0 = no cap (rotation left to logrotate, as with xenconsoled). Default: 4M " +
            "(dom0j.console.logMaxBytes).")
    private String consoleLogMax;

    @Option(names = "--console-rate-limit", paramLabel = "BYTES[/MS]",
        description = "Output taken from each console per period of MS milliseconds (200 when not given): a guest " +
            "that writes more waits for the next period, as xenconsoled throttles it, and is counted in " +
            "'console <domid> throttled' (dom0j top). BYTES may end in K or M; 0 = no limit. Default: 60K/200, " +
            "xenconsoled's ceiling of 30 rings of 2 KiB per 200 ms (dom0j.console.rateLimitBytes, " +
            "dom0j.console.rateLimitPeriodMs).")
    private String consoleRateLimit;

    @Option(names = "--console-run-dir", paramLabel = "DIR",
        description = "Where console sockets go, for 'dom0j console' (default: <sim dir>/console, or " +
            "/run/dom0j/console).")
    private Path consoleRunDirectory;

    @Option(names = "--state-dir", paramLabel = "DIR",
        description = "Where the ring journals live, which let the next 'dom0j serve' take connected disks over " +
            "after this one is killed or restarted, without the guests noticing (default: <sim dir>/state, or " +
            "/run/dom0j). Keep it on tmpfs: it must outlive the process, not the host.")
    private Path stateDirectory;

    @Option(names = "--on-exit", paramLabel = "detach|close", defaultValue = "detach",
        description = "What stopping (SIGTERM, Ctrl-C) does to connected devices: detach leaves them Connected for " +
            "the next 'dom0j serve' to adopt (a restart or an upgrade: the guests see a pause); close closes " +
            "every device, as taking the backend away for good. Default: ${DEFAULT-VALUE}.")
    private String onExit;

    @Override
    public Integer call() throws Exception
    {
        if (!"detach".equals(onExit) && !"close".equals(onExit))
        {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "--on-exit must be detach or close: " + onExit);
        }
        if (!XenbusDevices.isTypeName(blkType))
        {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "--blk-type must be " + XenbusDevices.TYPE_NAME_RULE + ": " + blkType);
        }
        if (null != nbdTimeoutSeconds && !(nbdTimeoutSeconds >= 0.1 && nbdTimeoutSeconds <= 86_400))
        {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "--nbd-timeout must be 0.1 to 86400 seconds: " + nbdTimeoutSeconds);
        }
        final PrintWriter out = spec.commandLine().getOut();
        final ConsoleConfiguration consoleConfiguration;
        try
        {
            consoleConfiguration = consoleConfiguration(ConsoleConfiguration.fromSystemProperties(), consoleLogMax,
                consoleRateLimit);
        }
        catch (final IllegalArgumentException ex)
        {
            final PrintWriter err = spec.commandLine().getErr();
            err.println("dom0j serve: " + ex.getMessage());
            err.flush();
            return ExitCodes.USAGE;
        }
        if ("yes".equals(primaryConsoles) && !SimPlatformProvider.NAME.equals(ConsolePaths.platformName(root)))
        {
            final long xenconsoled = processNamed(root.environment().resolve("/proc"), "xenconsoled");
            if (xenconsoled > 0)
            {
                final PrintWriter err = spec.commandLine().getErr();
                err.println("dom0j serve: xenconsoled (pid " + xenconsoled + ") serves the domains' primary " +
                    "consoles, and two daemons on one console page lose output; stop it first (systemctl stop " +
                    "xenconsoled), or leave --primary-consoles at auto");
                err.flush();
                return ExitCodes.FAILURE;
            }
        }
        final AtomicLong agentErrors = new AtomicLong();
        // In the journal an error line says it is one (<3>); journald stamps the time.
        final String errorPrefix = null != root.environment().getenv(JournalFormatter.JOURNAL_STREAM_ENV, null) ?
            "<3>" : "";
        final ErrorHandler errors = ex ->
        {
            agentErrors.incrementAndGet();
            System.err.println(errorPrefix + "dom0j serve: " + ex);
        };
        // The barrier's signal handler waits for its close(), so every device is closed before the JVM exits.
        try (ShutdownSignalBarrier barrier = new ShutdownSignalBarrier();
            SystemdNotify notify = SystemdNotify.fromEnvironment(root.environment()))
        {
            serve(out, errors, barrier, consoleConfiguration, notify);
            out.println("dom0j serve: stopped cleanly" +
                (agentErrors.get() > 0 ? " (" + agentErrors.get() + " agent errors were logged)" : ""));
            out.flush();
        }
        return agentErrors.get() == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    private void serve(
        final PrintWriter out,
        final ErrorHandler errors,
        final ShutdownSignalBarrier barrier,
        final ConsoleConfiguration consoleConfiguration,
        final SystemdNotify notify) throws Exception
    {
        try (XenPlatform platform = root.platforms().open(root.options().platform(), root.environment()))
        {
            final Path counters = null != countersPath ? countersPath :
                defaultCountersPath(platform.name(), root.environment());
            final BlkbackConfiguration base = BlkbackConfiguration.fromSystemProperties();
            final BlkbackConfiguration configuration = new BlkbackConfiguration(
                "auto".equals(dataPath) ? base.dataPath() :
                    DataPath.valueOf(dataPath.toUpperCase(java.util.Locale.ROOT)),
                maxQueues, base.maxRingPageOrder(), base.maxIndirectSegments(), base.maxPersistentGrants(),
                base.direct() || directIo,
                "auto".equals(ioEngine) ? base.ioEngine() : BlkbackConfiguration.parseIoEngine(ioEngine),
                base.mapPageCache() && mapPageCache,
                null != nbdTimeoutSeconds ? Math.round(nbdTimeoutSeconds * 1000) : base.nbdTimeoutMillis());
            final boolean sim = SimPlatformProvider.NAME.equals(platform.name());
            final boolean primaries = "yes".equals(primaryConsoles) || ("auto".equals(primaryConsoles) && sim);
            final Path logs = null != consoleLogDirectory ? consoleLogDirectory :
                ConsolePaths.logDirectory(platform.name(), root.environment());
            final Path run = null != consoleRunDirectory ? consoleRunDirectory :
                ConsolePaths.runDirectory(platform.name(), root.environment());
            final NetbackConfiguration net = netConfiguration(sim);
            try (CountersFile countersFile = CountersFile.create(counters, MAX_COUNTERS);
                XenStore xs = platform.openXenStore();
                GrantTables gnttab = platform.openGrantTables();
                AgentScheduler scheduler = AgentScheduler.eventDriven(TimeUnit.MILLISECONDS.toNanos(1), errors);
                ConsoleHub consoles = new ConsoleHub(logs, run, consoleConfiguration, countersFile.manager());
                NetbackDeviceType vif = net.mode() == NetbackConfiguration.Mode.TAP ?
                    NetbackDeviceType.withTaps(net, gnttab, countersFile.manager()) :
                    NetbackDeviceType.withSwitch(net, gnttab, countersFile.manager()))
            {
                addUplinks(vif, net);
                vif.captureDirectory(null != captureDirectory ? captureDirectory :
                    CaptureCommand.directory(platform.name(), root.environment()));
                final BlkbackDeviceType vbd = new BlkbackDeviceType(platform, countersFile.manager(), configuration,
                    blkType);
                final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
                    .platform(platform)
                    .xenStore(xs)
                    .grantTables(gnttab)
                    .scheduler(scheduler)
                    .countersManager(countersFile.manager())
                    .stateDirectory(null != stateDirectory ? stateDirectory :
                        defaultStateDirectory(platform.name(), root.environment()))
                    .detachOnClose("detach".equals(onExit))
                    .deviceType(vbd)
                    .deviceType(vif)
                    .deviceType(new ConsoleDeviceType(consoles)));
                final PrimaryConsoles primary = primaries ? new PrimaryConsoles(platform, xs, gnttab, consoles, sim) :
                    null;
                try (AgentRunner runner = new AgentRunner(
                    conductor.idleStrategy(), errors, null, conductor);
                    AgentRunner primaryRunner = null == primary ? null : new AgentRunner(
                        EventChannelIdleStrategy.adaptive(primary.eventChannels(),
                            EventChannelIdleStrategy.DEFAULT_MAX_POLL_NANOS, PRIMARY_CONSOLES_MAX_WAIT_NANOS,
                            (max, now) -> primary.idleWaitNanos(max), System::nanoTime),
                        errors, null, primary);
                    // closed before the runners (resources close in reverse): both agents sleep long, until woken
                    AgentsStopping stopping = () ->
                    {
                        conductor.stopping();
                        if (null != primary)
                        {
                            primary.stopping();
                        }
                    })
                {
                    AgentRunner.startOnThread(runner);
                    if (null != primaryRunner)
                    {
                        AgentRunner.startOnThread(primaryRunner);
                    }
                    final String status = "serving " + blkType + ", vif and console" +
                        (primaries ? " (and primary consoles)" : "") + " on " + platform.description();
                    out.println("dom0j serve: " + status +
                        " (blkback data path " + vbd.dataPath().name().toLowerCase(java.util.Locale.ROOT) +
                        "; netback " + (net.mode() == NetbackConfiguration.Mode.TAP ? "TAP per vif" :
                        "switch inside the service") + "); counters in " + counters +
                        "; console sockets in " + run + ", logs in " + logs + "; Ctrl-C stops" +
                        (null != configFile() ? "; configuration from " + configFile().path() : ""));
                    out.flush();
                    final ServeReload reloads = new ServeReload(spec, configPath, root.environment(), configFile(),
                        vbd, conductor);
                    try (HangUpSignal reload = HangUpSignal.handle(() ->
                        {
                            notify.reloading();
                            reloads.reload(out);
                            notify.ready(status);
                        });
                        ShutdownActions actions = startShutdownActions(out))
                    {
                        if (HangUpSignal.ignoredByThisProcess())
                        {
                            out.println("dom0j serve: SIGHUP is ignored in this process (started under nohup?), so " +
                                "a reload (kill -HUP, systemctl reload) does nothing; restart serve to apply " +
                                "configuration changes, or start it without nohup");
                            out.flush();
                        }
                        notify.ready(status);
                        barrier.await();
                    }
                    final boolean detach = conductor.detachesOnClose();
                    notify.stopping("stopping (--on-exit " + (detach ? "detach" : "close") + ")");
                    out.println(detach ?
                        "dom0j serve: stopping; connected devices stay connected for the next 'dom0j serve' " +
                            "(--on-exit close closes them)" : "dom0j serve: stopping, closing every device");
                    out.flush();
                }
            }
        }
    }

    /**
     * @return the on_* actions for the domains 'dom0j create' made, or null (said why) when they cannot run here.
     */
    private ShutdownActions startShutdownActions(final PrintWriter out)
    {
        try
        {
            return ShutdownActions.start(root, out);
        }
        catch (final RuntimeException ex)
        {
            out.println("dom0j serve: the on_poweroff, on_reboot and on_crash settings of domains made by " +
                "'dom0j create' are not acted on: " + ex.getMessage());
            out.flush();
            return null;
        }
    }

    private ConfigFile configFile()
    {
        return spec.defaultValueProvider() instanceof ConfigFile file ? file : null;
    }

    private void addUplinks(final NetbackDeviceType vif, final NetbackConfiguration net)
    {
        final boolean aeron = null != aeronSubscribe || (null != aeronPublish && !aeronPublish.isEmpty());
        if ((null != uplinkTap || aeron) && net.mode() != NetbackConfiguration.Mode.SWITCH)
        {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "--uplink-tap and --aeron-* are uplinks of the switch: add --net-mode switch");
        }
        if (null != uplinkTap)
        {
            vif.addTapUplink(uplinkTap);
        }
        if (aeron)
        {
            if (null == aeronSubscribe || null == aeronPublish || aeronPublish.isEmpty())
            {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "an Aeron uplink needs --aeron-subscribe and at least one --aeron-publish");
            }
            vif.addAeronUplink(new org.dom0j.netback.AeronSettings(aeronDir, aeronSubscribe, aeronPublish,
                aeronStream));
        }
    }

    private NetbackConfiguration netConfiguration(final boolean sim)
    {
        NetbackConfiguration net = NetbackConfiguration.fromSystemProperties();
        final String mode = netMode.toLowerCase(java.util.Locale.ROOT);
        switch (mode)
        {
            case "tap" -> net = net.withMode(NetbackConfiguration.Mode.TAP);
            case "switch" -> net = net.withMode(NetbackConfiguration.Mode.SWITCH);
            case "auto" ->
            {
                if (null == System.getProperty("dom0j.netback.mode"))
                {
                    net = net.withMode(sim ? NetbackConfiguration.Mode.SWITCH : NetbackConfiguration.Mode.TAP);
                }
            }
            default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "--net-mode must be auto, tap or switch: " + netMode);
        }
        return null == netMaxQueues ? net : net.withMaxQueues(netMaxQueues);
    }

    /**
     * @param base     the settings before the options (system properties, or the defaults).
     * @param logMax   {@code --console-log-max}, or null.
     * @param rate     {@code --console-rate-limit}, or null.
     * @return the console settings.
     * @throws IllegalArgumentException naming the option, when a value is not understood or out of range.
     */
    static ConsoleConfiguration consoleConfiguration(
        final ConsoleConfiguration base, final String logMax, final String rate)
    {
        ConsoleConfiguration configuration = base;
        if (null != logMax)
        {
            try
            {
                configuration = configuration.withLogMaxBytes(parseBytes(logMax));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new IllegalArgumentException("--console-log-max " + logMax + ": " + ex.getMessage(), ex);
            }
        }
        if (null != rate)
        {
            try
            {
                final int slash = rate.indexOf('/');
                final long bytes = parseBytes(slash < 0 ? rate : rate.substring(0, slash));
                if (bytes > Integer.MAX_VALUE)
                {
                    throw new IllegalArgumentException("more than " + Integer.MAX_VALUE + " bytes");
                }
                final long periodMs = slash < 0 ? configuration.rateLimitPeriodMs() :
                    Long.parseLong(rate.substring(slash + 1).strip());
                configuration = configuration.withRateLimit((int)bytes, periodMs);
            }
            catch (final IllegalArgumentException ex)
            {
                throw new IllegalArgumentException("--console-rate-limit " + rate + ": " + ex.getMessage(), ex);
            }
        }
        return configuration;
    }

    /**
     * @param text e.g. "4194304", "64K", "4M", "1G" (binary multiples).
     * @return bytes.
     * @throws NumberFormatException when it is not such a number.
     */
    static long parseBytes(final String text)
    {
        final String value = text.strip().toUpperCase(java.util.Locale.ROOT);
        final int shift = value.endsWith("K") ? 10 : value.endsWith("M") ? 20 : value.endsWith("G") ? 30 : 0;
        final long number = Long.parseLong(shift == 0 ? value : value.substring(0, value.length() - 1));
        if (number < 0 || number > (Long.MAX_VALUE >> shift))
        {
            throw new NumberFormatException("not a size in bytes: " + text);
        }
        return number << shift;
    }

    /**
     * @param proc the proc file system.
     * @param name a command name as /proc/PID/comm gives it.
     * @return the pid of a process of that name, or -1.
     */
    static long processNamed(final Path proc, final String name)
    {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(proc, p -> p.getFileName().toString()
            .chars().allMatch(Character::isDigit)))
        {
            for (final Path entry : entries)
            {
                try
                {
                    if (name.equals(Files.readString(entry.resolve("comm")).strip()))
                    {
                        return Long.parseLong(entry.getFileName().toString());
                    }
                }
                catch (final IOException ex)
                {
                    // The process went away, or is not ours to read.
                }
            }
        }
        catch (final IOException ex)
        {
            return -1;
        }
        return -1;
    }

    /**
     * @param platform    the platform's name.
     * @param environment the environment (for the simulator's directory).
     * @return where serve keeps its ring journals by default.
     */
    static Path defaultStateDirectory(final String platform, final PlatformEnvironment environment)
    {
        return SimPlatformProvider.NAME.equals(platform) ?
            SimPlatformProvider.hostDirectory(environment).resolve("state") : Path.of("/run/dom0j");
    }

    /**
     * @param platform    the platform's name.
     * @param environment the environment (for the simulator's directory).
     * @return where serve keeps its counters by default, and where {@code dom0j top} looks.
     */
    static Path defaultCountersPath(final String platform, final PlatformEnvironment environment)
    {
        return SimPlatformProvider.NAME.equals(platform) ?
            SimPlatformProvider.hostDirectory(environment).resolve("counters") : Path.of("/dev/shm/dom0j-counters");
    }

    /** What tells the long-sleeping agents that their runners are about to close them. */
    @FunctionalInterface
    private interface AgentsStopping extends AutoCloseable
    {
        @Override
        void close();
    }
}
