package org.dom0j.cli;

import org.dom0j.common.XenException;
import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.PlatformUnavailableException;
import org.dom0j.platform.Platforms;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Properties;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@code dom0j} command: the root of every subcommand. It holds what they share: the options, the platform
 * environment and the installed platforms, so tests can run the whole command line against a fake machine.
 */
@Command(
    name = "dom0j",
    mixinStandardHelpOptions = true,
    // Every subcommand answers --help, -h, --version and -V, as the root does.
    scope = CommandLine.ScopeType.INHERIT,
    versionProvider = Dom0j.Version.class,
    description = "The dom0 side of Xen paravirtualisation: xenstore, grants, event channels, block and " +
        "network backends, on real Xen or on the simulator.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:done",
        "1:the command failed; the message says why",
        "2:the command line (or serve's configuration file) was wrong",
        "3:the platform asked for cannot run here (dom0j platform says why)",
        "4:Xen or the simulator refused an operation; the message carries the errno" },
    footer = { "", "Example:", "  dom0j platform    which hypervisor dom0j would use here, and why" })
public final class Dom0j implements Runnable
{
    /**
     * The subcommands, in the order help lists them. They are registered when the command line is made rather than
     * named in the annotation, so that a command line naming one of them builds that one alone: picocli reads every
     * registered command's annotations, options and nested commands up front, whatever the command. On a 2-core host
     * that was most of a short command's start ({@code dom0j list}: 0.48-0.51 s, 0.23-0.29 s alone); in the real-Xen
     * tier's dom0 under TCG, where the JVM's own start dominates, 2-3 s of 9-12.
     */
    static final List<Class<?>> SUBCOMMANDS = List.of(
        PlatformCommand.class, ListCommand.class, ShutdownCommand.class, RebootCommand.class, PauseCommand.class,
        UnpauseCommand.class, DestroyCommand.class, RenameCommand.class, DomainCommand.class, SelfTestCommand.class,
        CreateCommand.class, BlockCommands.Attach.class, BlockCommands.Detach.class, BlockCommands.ListDisks.class,
        NetworkCommands.Attach.class, NetworkCommands.Detach.class, NetworkCommands.ListNics.class,
        XenstoredCommand.class, XenstoreCommand.class, ServeCommand.class, ConsoleCommand.class, SimCommand.class,
        DemoCommand.class, BenchCommand.class, TopCommand.class, CaptureCommand.class,
        CommandLine.HelpCommand.class);

    @Mixin
    private GlobalOptions options;

    @Spec
    private CommandSpec spec;

    private final PlatformEnvironment environment;
    private final Platforms platforms;

    /**
     * @param environment the machine to look at.
     * @param platforms   the platforms to choose from.
     */
    public Dom0j(final PlatformEnvironment environment, final Platforms platforms)
    {
        this.environment = environment;
        this.platforms = platforms;
    }

    /**
     * @param args the command line.
     */
    public static void main(final String[] args)
    {
        System.exit(commandLine(PlatformEnvironment.system(), Platforms.installed(), args).execute(args));
    }

    /**
     * The whole command tree, every subcommand registered: what the man pages, the completion script and the tests
     * that walk the tree read.
     *
     * @param environment the machine to look at.
     * @param platforms   the platforms to choose from.
     * @return the command line, with dom0j's exception handling and exit codes.
     */
    public static CommandLine commandLine(final PlatformEnvironment environment, final Platforms platforms)
    {
        return commandLine(environment, platforms, null);
    }

    /**
     * @param environment the machine to look at.
     * @param platforms   the platforms to choose from.
     * @param args        the command line it will run: when it names a subcommand (other than {@code help}), that one
     *                    alone is registered; null registers them all.
     * @return the command line, with dom0j's exception handling and exit codes.
     */
    public static CommandLine commandLine(
        final PlatformEnvironment environment, final Platforms platforms, final String[] args)
    {
        final CommandLine cl = new CommandLine(new Dom0j(environment, platforms));
        final Class<?> named = null == args ? null : subcommandNamed(cl.getCommandSpec(), args);
        for (final Class<?> subcommand : null == named ? SUBCOMMANDS : List.of(named))
        {
            cl.addSubcommand(subcommand);
        }
        // "--platform sim" must mean the simulator, not the 'sim' subcommand.
        cl.setAllowSubcommandsAsOptionParameters(true);
        cl.setExecutionStrategy(Dom0j::executionStrategy);
        cl.setExecutionExceptionHandler(Dom0j::handleException);
        cl.setExitCodeExceptionMapper(ex -> ex instanceof CommandLine.ParameterException ?
            ExitCodes.USAGE : ExitCodes.FAILURE);
        return cl;
    }

    /**
     * @return the subcommand the command line names: its first word that is neither an option of the root nor an
     *         option's parameter, when that is a subcommand's name; null otherwise (help, a misspelt name, no name,
     *         the root's own help asked for first, whose usage lists every subcommand, or an option before the name
     *         that the root does not have as written, which picocli then parses and reports).
     */
    static Class<?> subcommandNamed(final CommandSpec root, final String[] args)
    {
        for (int i = 0; i < args.length; i++)
        {
            final String arg = args[i];
            if (arg.startsWith("-"))
            {
                final int parameters = parametersOf(root, arg);
                if (parameters < 0)
                {
                    return null;
                }
                i += parameters;
                continue;
            }
            for (final Class<?> subcommand : SUBCOMMANDS)
            {
                final Command command = subcommand.getAnnotation(Command.class);
                if (subcommand != CommandLine.HelpCommand.class && command.name().equals(arg))
                {
                    return subcommand;
                }
            }
            return null;
        }
        return null;
    }

    /**
     * @return how many of the following words an option of the root takes as its parameters ({@code --opt=value}
     *         none; a cluster of short options without parameters, such as {@code -vv}, none); -1 when the word is
     *         not the root's option as written, or asks for the root's help or version.
     */
    private static int parametersOf(final CommandSpec root, final String arg)
    {
        final int equals = arg.indexOf('=');
        final CommandLine.Model.OptionSpec option = root.findOption(equals < 0 ? arg : arg.substring(0, equals));
        if (null != option)
        {
            return option.usageHelp() || option.versionHelp() ? -1 : equals < 0 ? option.arity().min() : 0;
        }
        if (arg.startsWith("--") || equals >= 0 || arg.length() < 3)
        {
            return -1;
        }
        for (int c = 1; c < arg.length(); c++)
        {
            final CommandLine.Model.OptionSpec flag = root.findOption(arg.charAt(c));
            if (null == flag || flag.usageHelp() || flag.versionHelp() || flag.arity().max() > 0)
            {
                return -1;
            }
        }
        return 0;
    }

    private static int executionStrategy(final CommandLine.ParseResult parseResult)
    {
        final Dom0j root = parseResult.commandSpec().commandLine().getCommand();
        root.configureLogging();
        return new CommandLine.RunLast().execute(ConfigFile.apply(parseResult, root.environment));
    }

    private static int handleException(
        final Exception ex, final CommandLine commandLine, final CommandLine.ParseResult parseResult)
    {
        commandLine.getErr().println("dom0j: " + ex.getMessage());
        final Dom0j root = commandLine.getCommandSpec().root().commandLine().getCommand();
        if (root.options.verbosity() > 0)
        {
            ex.printStackTrace(commandLine.getErr());
        }
        commandLine.getErr().flush();
        if (ex instanceof ConfigFile.ConfigFileException)
        {
            return ExitCodes.USAGE;
        }
        if (ex instanceof PlatformUnavailableException)
        {
            return ExitCodes.PLATFORM_UNAVAILABLE;
        }
        return ex instanceof XenException ? ExitCodes.XEN_ERROR : ExitCodes.FAILURE;
    }

    private void configureLogging()
    {
        final Level level = switch (options.verbosity())
        {
            case 0 -> Level.WARNING;
            case 1 -> Level.INFO;
            default -> Level.FINE;
        };
        final Logger dom0j = Logger.getLogger("org.dom0j");
        dom0j.setLevel(level);
        if (dom0j.getHandlers().length == 0)
        {
            final ConsoleHandler handler = new ConsoleHandler();
            handler.setLevel(level);
            if (null != environment.getenv(JournalFormatter.JOURNAL_STREAM_ENV, null))
            {
                handler.setFormatter(new JournalFormatter());
            }
            dom0j.addHandler(handler);
            dom0j.setUseParentHandlers(false);
        }
    }

    @Override
    public void run()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    GlobalOptions options()
    {
        return options;
    }

    PlatformEnvironment environment()
    {
        return environment;
    }

    Platforms platforms()
    {
        return platforms;
    }

    /**
     * Reads the version Maven wrote into the jar.
     */
    static final class Version implements CommandLine.IVersionProvider
    {
        @Override
        public String[] getVersion() throws IOException
        {
            final Properties p = new Properties();
            try (InputStream in = Dom0j.class.getResourceAsStream("version.properties"))
            {
                if (null != in)
                {
                    p.load(in);
                }
            }
            return new String[]{
                "dom0j " + p.getProperty("version", "unknown"),
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")" };
        }
    }
}
