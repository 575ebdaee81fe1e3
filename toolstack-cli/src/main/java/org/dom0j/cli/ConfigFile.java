package org.dom0j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A command's configuration file ({@code /etc/dom0j/dom0j.conf} for {@code serve}): {@code key = value} lines,
 * {@code #} comments and blank lines; a key is the long name of one of the command's own options without its dashes
 * ({@code data-path = map}); a flag takes true or false (yes, no, on, off); {@code key =} with nothing after it
 * leaves the option at its built-in default. Values become the options' defaults (picocli's default value provider),
 * so an option given on the command line wins over the file. Every line is checked when the file is read: an unknown
 * key, a key given twice or a value the option would refuse is a {@link ConfigFileException} naming the file, the
 * line and what was expected.
 * <p>
 * Immutable once read; any thread.
 */
final class ConfigFile implements CommandLine.IDefaultValueProvider
{
    /** Where {@code dom0j serve} looks when {@code --config} is not given; its absence is fine. */
    static final String DEFAULT_PATH = "/etc/dom0j/dom0j.conf";

    private static final List<String> TRUE = List.of("true", "yes", "on");
    private static final List<String> FALSE = List.of("false", "no", "off");

    private final Path path;
    private final Map<String, String> values;

    private ConfigFile(final Path path, final Map<String, String> values)
    {
        this.path = path;
        this.values = values;
    }

    /**
     * @param path the file.
     * @param spec the command whose options it sets.
     * @return the file's settings, every one checked.
     * @throws ConfigFileException when the file cannot be read or a line is wrong.
     */
    static ConfigFile read(final Path path, final CommandSpec spec)
    {
        final List<String> text;
        try
        {
            text = Files.readAllLines(path);
        }
        catch (final NoSuchFileException ex)
        {
            throw new ConfigFileException(path + ": no such configuration file");
        }
        catch (final IOException ex)
        {
            throw new ConfigFileException(path + ": cannot be read: " + ex.getMessage());
        }
        final Map<String, OptionSpec> options = new LinkedHashMap<>();
        settable(spec).forEach(o -> options.put(key(o), o));
        final Map<String, String> values = new LinkedHashMap<>();
        final Map<String, Integer> lines = new LinkedHashMap<>();
        for (int i = 0; i < text.size(); i++)
        {
            final String line = text.get(i).strip();
            final int number = i + 1;
            if (line.isEmpty() || line.startsWith("#"))
            {
                continue;
            }
            final int equals = line.indexOf('=');
            if (equals < 0)
            {
                throw new ConfigFileException(path + ":" + number + ": expected 'key = value', found '" + line + "'");
            }
            final String key = line.substring(0, equals).strip();
            final String value = line.substring(equals + 1).strip();
            final OptionSpec option = options.get(key);
            if (null == option)
            {
                throw new ConfigFileException(path + ":" + number + ": unknown key '" + key + "'; expected one of: " +
                    String.join(", ", options.keySet()));
            }
            if (lines.containsKey(key))
            {
                throw new ConfigFileException(path + ":" + number + ": '" + key + "' was already set at line " +
                    lines.get(key));
            }
            lines.put(key, number);
            if (!value.isEmpty())
            {
                values.put(key, checked(spec, option, value, path + ":" + number + ": " + key + " = " + value));
            }
        }
        return new ConfigFile(path, values);
    }

    /**
     * Reads the configuration file of the command a command line runs, when it has one, and parses the command line
     * again with the file's values as defaults: Dom0j's execution strategy calls this before running anything.
     *
     * @param parseResult the command line as parsed.
     * @param environment where {@link #DEFAULT_PATH} is looked for.
     * @return the command line parsed again with the file's values as defaults, or as it was: no command with a
     *         {@code --config} option, help or version asked for, or no file.
     * @throws CommandLine.ExecutionException carrying a {@link ConfigFileException} when the file is wrong.
     */
    static CommandLine.ParseResult apply(
        final CommandLine.ParseResult parseResult, final org.dom0j.platform.PlatformEnvironment environment)
    {
        CommandLine.ParseResult leaf = parseResult;
        while (true)
        {
            if (leaf.isUsageHelpRequested() || leaf.isVersionHelpRequested())
            {
                return parseResult;
            }
            if (!leaf.hasSubcommand())
            {
                break;
            }
            leaf = leaf.subcommand();
        }
        final CommandSpec spec = leaf.commandSpec();
        final OptionSpec config = spec.findOption("--config");
        if (null == config)
        {
            return parseResult;
        }
        final Path path = leaf.hasMatchedOption(config) ? config.getValue() :
            environment.exists(DEFAULT_PATH) ? environment.resolve(DEFAULT_PATH) : null;
        if (null == path)
        {
            return parseResult;
        }
        try
        {
            spec.defaultValueProvider(read(path, spec));
        }
        catch (final ConfigFileException ex)
        {
            throw new CommandLine.ExecutionException(spec.commandLine(), ex.getMessage(), ex);
        }
        final CommandLine root = parseResult.commandSpec().commandLine();
        return root.parseArgs(parseResult.originalArgs().toArray(new String[0]));
    }

    /**
     * @param spec a command.
     * @return its options a configuration file may set: its own, not the inherited global ones, not help, version
     *         or {@code --config}.
     */
    static List<OptionSpec> settable(final CommandSpec spec)
    {
        final List<OptionSpec> options = new ArrayList<>();
        for (final OptionSpec option : spec.options())
        {
            if (!option.inherited() && !option.usageHelp() && !option.versionHelp() && !option.hidden() &&
                option.longestName().startsWith("--") && !"--config".equals(option.longestName()))
            {
                options.add(option);
            }
        }
        return options;
    }

    /**
     * @param option an option.
     * @return its key in a configuration file: its long name without the dashes.
     */
    static String key(final OptionSpec option)
    {
        return option.longestName().substring(2);
    }

    /**
     * @param option an option.
     * @return whether it is a flag (true or false).
     */
    static boolean isFlag(final OptionSpec option)
    {
        return option.type() == boolean.class || option.type() == Boolean.class;
    }

    private static String checked(final CommandSpec spec, final OptionSpec option, final String value,
        final String where)
    {
        final String lower = value.toLowerCase(Locale.ROOT);
        if (isFlag(option))
        {
            if (TRUE.contains(lower))
            {
                return "true";
            }
            if (FALSE.contains(lower))
            {
                return "false";
            }
            throw new ConfigFileException(where + ": expected true or false");
        }
        final String label = option.paramLabel();
        if (label.matches("[a-z0-9_]+(\\|[a-z0-9_]+)+"))
        {
            if (!Arrays.asList(label.split("\\|")).contains(lower))
            {
                throw new ConfigFileException(where + ": expected one of " + label.replace("|", ", "));
            }
            return value;
        }
        // The option's own converter, on a fresh instance of the command, judges the value.
        try
        {
            new CommandLine(spec.userObject().getClass()).parseArgs(option.longestName() + "=" + value);
        }
        catch (final CommandLine.ParameterException ex)
        {
            throw new ConfigFileException(where + ": expected " + label + " (" + ex.getMessage() + ")");
        }
        return value;
    }

    /**
     * An option whose value a reload would change.
     *
     * @param option     the option.
     * @param before     its value from the file the command runs with (or its default), or null.
     * @param after      its value from the file as it is now (or its default), or null.
     * @param overridden whether the command line sets it, so the file's value does not count.
     */
    record Change(OptionSpec option, String before, String after, boolean overridden)
    {
        /**
         * @return its key in the file.
         */
        String key()
        {
            return ConfigFile.key(option);
        }

        /**
         * @param applied whether the running command took the new value.
         * @return a line saying what changed and when it counts.
         */
        String describe(final boolean applied)
        {
            return key() + ": " + shown(before) + " -> " + shown(after) + (overridden ?
                ", but the command line sets " + option.longestName() + ", which wins" : applied ?
                ", applied now" : ", which takes effect at the next start (systemctl restart dom0j)");
        }
    }

    /**
     * What a reload would change: the options whose value in {@code fresh} differs from the value the running command
     * took from {@code running} (or from its built-in default).
     *
     * @param spec    the running command, parsed.
     * @param running the file it runs with, or null.
     * @param fresh   the file as it is now.
     * @return each changed option: old and new value, and whether the command line overrides it.
     */
    static List<Change> changes(final CommandSpec spec, final ConfigFile running, final ConfigFile fresh)
    {
        final CommandLine.ParseResult given = spec.commandLine().getParseResult();
        final List<Change> changes = new ArrayList<>();
        for (final OptionSpec option : settable(spec))
        {
            final String before = effective(option, running);
            final String after = effective(option, fresh);
            if (!java.util.Objects.equals(before, after))
            {
                changes.add(new Change(option, before, after, null != given && given.hasMatchedOption(option)));
            }
        }
        return changes;
    }

    /**
     * @param option an option a configuration file may set.
     * @return the line that documents one of its options in a configuration file, commented out, at its default:
     *         {@code #data-path = auto}, or {@code #uplink-tap =} for an option without one.
     */
    static String settingLine(final OptionSpec option)
    {
        final String value = effective(option, null);
        return "#" + key(option) + " =" + (null == value ? "" : " " + value);
    }

    /**
     * @param spec a command.
     * @return a configuration file listing each of its settable options, commented out, at its default, under its
     *         description: how {@code packaging/dom0j.conf} was first written.
     */
    static String template(final CommandSpec spec)
    {
        final StringBuilder text = new StringBuilder();
        for (final OptionSpec option : settable(spec))
        {
            text.append("\n# ").append(option.longestName()).append(isFlag(option) ? " (true or false)" :
                " " + option.paramLabel()).append('\n');
            final StringBuilder line = new StringBuilder("#");
            for (final String word : String.join(" ", option.description()).split(" "))
            {
                if (line.length() + word.length() + 1 > 100)
                {
                    text.append(line).append('\n');
                    line.setLength(1);
                }
                line.append(' ').append(word);
            }
            text.append(line).append('\n').append(settingLine(option)).append('\n');
        }
        return text.toString();
    }

    private static String effective(final OptionSpec option, final ConfigFile file)
    {
        final String value = null == file ? null : file.values.get(key(option));
        if (null != value)
        {
            return value;
        }
        return null != option.defaultValue() ? option.defaultValue() : isFlag(option) ? "false" : null;
    }

    private static String shown(final String value)
    {
        return null == value ? "(built-in default)" : value;
    }

    @Override
    public String defaultValue(final ArgSpec argSpec)
    {
        return argSpec instanceof OptionSpec option && !option.inherited() && option.longestName().startsWith("--") ?
            values.get(key(option)) : null;
    }

    /**
     * @return the file.
     */
    Path path()
    {
        return path;
    }

    /**
     * @return each key the file sets, and its value (flags as true or false), in the file's order.
     */
    Map<String, String> values()
    {
        return values;
    }

    /**
     * Thrown when a configuration file cannot be read or one of its lines is wrong: the message names the file and
     * the line. It is the user's mistake, so it exits with {@link ExitCodes#USAGE}.
     */
    static final class ConfigFileException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        ConfigFileException(final String message)
        {
            super(message);
        }
    }
}
