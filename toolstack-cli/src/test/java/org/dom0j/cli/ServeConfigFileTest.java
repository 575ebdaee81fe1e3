package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.Platforms;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code dom0j serve}'s configuration file: read from --config or /etc/dom0j/dom0j.conf, checked line by line, the
 * command line winning over it; and the packaged {@code packaging/dom0j.conf}, which must document every option.
 */
@Timeout(30)
class ServeConfigFileTest
{
    /** Surefire runs in the module's directory. */
    private static final Path PACKAGED = Path.of("..", "packaging", "dom0j.conf");

    @TempDir
    Path root;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @Test
    void packagedFileShouldListEveryServeOptionAtItsDefault() throws IOException
    {
        final CommandSpec serve = serveSpec(CommandTree.commandLine());
        final List<String> lines = Files.readAllLines(PACKAGED);
        final List<OptionSpec> settable = ConfigFile.settable(serve);
        assertThat(settable).hasSizeGreaterThan(15).extracting(OptionSpec::longestName)
            .contains("--data-path", "--on-exit", "--direct-io").doesNotContain("--config", "--help", "--platform");
        for (final OptionSpec option : settable)
        {
            assertThat(lines).as("packaging/dom0j.conf documents %s", option.longestName())
                .contains(ConfigFile.settingLine(option))
                .anyMatch(l -> l.startsWith("# " + option.longestName() + " "));
        }
    }

    @Test
    void packagedFileShouldBeReadableWithEverySettingUncommented() throws IOException
    {
        final Path all = root.resolve("all.conf");
        Files.write(all, Files.readAllLines(PACKAGED).stream()
            .map(l -> l.matches("#[a-z-]+ =.*") ? l.substring(1) : l).toList());
        final CommandSpec serve = serveSpec(CommandTree.commandLine());

        final ConfigFile file = ConfigFile.read(all, serve);

        assertThat(file.values()).containsEntry("data-path", "auto").containsEntry("map-page-cache", "true")
            .containsEntry("direct-io", "false").doesNotContainKey("uplink-tap");
        assertThat(ConfigFile.changes(serve, null, file)).as("the packaged file changes nothing").isEmpty();
    }

    @Test
    @SuppressWarnings("unchecked")
    void shouldTakeTheFilesValuesAndLetTheCommandLineWin() throws IOException
    {
        final Path conf = write("""
            # a comment
            data-path = map
              max-queues = 2

            direct-io = yes
            map-page-cache = false
            aeron-publish = aeron:udp?endpoint=a:1,aeron:udp?endpoint=b:1
            on-exit = close
            uplink-tap =
            """);

        final CommandSpec serve = parse(environment(), "serve", "--config", conf.toString(), "--max-queues", "3",
            "--map-page-cache", "--no-direct-io");

        assertThat((String)serve.findOption("--data-path").getValue()).isEqualTo("map");
        assertThat((Integer)serve.findOption("--max-queues").getValue()).as("the command line wins").isEqualTo(3);
        assertThat((Boolean)serve.findOption("--map-page-cache").getValue()).as("the command line wins").isTrue();
        assertThat((Boolean)serve.findOption("--direct-io").getValue()).as("the command line wins").isFalse();
        assertThat((List<Object>)serve.findOption("--aeron-publish").getValue())
            .containsExactly("aeron:udp?endpoint=a:1", "aeron:udp?endpoint=b:1");
        assertThat((String)serve.findOption("--on-exit").getValue()).isEqualTo("close");
        assertThat((String)serve.findOption("--uplink-tap").getValue()).isNull();
        assertThat((String)serve.findOption("--io-engine").getValue()).as("not in the file").isEqualTo("auto");
    }

    @Test
    void shouldReadTheDefaultFileWhenItExistsAndDoWithoutIt() throws IOException
    {
        assertThat((String)parse(environment(), "serve").findOption("--on-exit").getValue()).isEqualTo("detach");

        Files.createDirectories(root.resolve("etc/dom0j"));
        Files.writeString(root.resolve("etc/dom0j/dom0j.conf"), "on-exit = close\n");

        assertThat((String)parse(environment(), "serve").findOption("--on-exit").getValue()).isEqualTo("close");
        assertThat((String)parse(environment(), "serve", "--on-exit", "detach").findOption("--on-exit").getValue())
            .isEqualTo("detach");
    }

    @Test
    void shouldRefuseAConfigFileThatDoesNotExist()
    {
        final Path missing = root.resolve("missing.conf");

        final int exit = Cli.run(environment(), out, err, "serve", "--config", missing.toString());

        assertThat(exit).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).isEqualTo("dom0j: " + missing + ": no such configuration file" +
            System.lineSeparator());
    }

    @Test
    void shouldRefuseABlkTypeThatIsNotOnePathElement()
    {
        final int exit = Cli.run(environment(), out, err, "serve", "--blk-type", "vbd/x");

        assertThat(exit).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString())
            .contains("--blk-type must be 1-32 of a-z, 0-9 and '-', starting with a letter: vbd/x");
        assertThat((String)parse(environment(), "serve").findOption("--blk-type").getValue()).isEqualTo("vbd");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "data_path = map           | :2: unknown key 'data_path'; expected one of: data-path, io-engine, direct-io",
        "max-queues = four         | :2: max-queues = four: expected N (",
        "on-exit = maybe           | :2: on-exit = maybe: expected one of detach, close",
        "direct-io = maybe         | :2: direct-io = maybe: expected true or false",
        "counters /dev/shm/c       | :2: expected 'key = value', found 'counters /dev/shm/c'",
        "help = true               | :2: unknown key 'help'",
        "platform = xen            | :2: unknown key 'platform'",
        "aeron-stream = 1x         | :2: aeron-stream = 1x: expected N (" })
    void shouldNameTheFileTheLineAndWhatWasExpected(final String line, final String message) throws IOException
    {
        final Path conf = write("# line 1\n" + line + "\n");

        final int exit = Cli.run(environment(), out, err, "serve", "--config", conf.toString());

        assertThat(exit).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).startsWith("dom0j: " + conf + message);
    }

    @Test
    void shouldRefuseAKeyGivenTwice() throws IOException
    {
        final Path conf = write("io-engine = sync\n\nio-engine = io_uring\n");

        assertThatThrownBy(() -> ConfigFile.read(conf, serveSpec(CommandTree.commandLine())))
            .hasMessage(conf + ":3: 'io-engine' was already set at line 1");
    }

    @Test
    void shouldSayWhatAReloadChangesAndWhatTheCommandLineOverrides() throws IOException
    {
        final Path conf = write("data-path = map\nmax-queues = 2\n");
        final CommandSpec serve = parse(environment(), "serve", "--config", conf.toString(), "--max-queues", "3");
        final ConfigFile running = (ConfigFile)serve.defaultValueProvider();
        Files.writeString(conf, "data-path = copy\nmax-queues = 8\ndirect-io = true\n");

        final List<ConfigFile.Change> changes = ConfigFile.changes(serve, running, ConfigFile.read(conf, serve));

        assertThat(changes.stream().map(c -> c.describe(ServeReload.LIVE.contains(c.key()) && !c.overridden())))
            .containsExactly(
                "data-path: map -> copy, which takes effect at the next start (systemctl restart dom0j)",
                "direct-io: false -> true, applied now",
                "max-queues: 2 -> 8, but the command line sets --max-queues, which wins");
    }

    private Path write(final String text) throws IOException
    {
        final Path conf = root.resolve("dom0j.conf");
        Files.writeString(conf, text);
        return conf;
    }

    private PlatformEnvironment environment()
    {
        return new PlatformEnvironment(root, Map.of(), library -> null);
    }

    private static CommandSpec parse(final PlatformEnvironment environment, final String... args)
    {
        final CommandLine cl = Dom0j.commandLine(environment, Platforms.installed());
        ConfigFile.apply(cl.parseArgs(args), environment);
        return serveSpec(cl);
    }

    private static CommandSpec serveSpec(final CommandLine cl)
    {
        return cl.getSubcommands().get("serve").getCommandSpec();
    }
}
