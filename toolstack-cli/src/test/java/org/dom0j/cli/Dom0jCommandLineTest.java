package org.dom0j.cli;

import org.dom0j.console.ConsoleConfiguration;
import org.dom0j.platform.PlatformEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(20)
class Dom0jCommandLineTest
{
    private static final String NO_XEN = "platform 'xen' is not available: /dev/xen/privcmd is missing: " +
        "this machine is not running on Xen (or the xen-privcmd module is not loaded)";

    @TempDir
    Path root;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @Test
    void everySubcommandShouldAnswerHelpWithItsUsageAndAnExampleAndExitZero()
    {
        final java.util.List<java.util.List<String>> paths = CommandTree.paths(CommandTree.commandLine());
        assertThat(paths).hasSizeGreaterThan(20).contains(java.util.List.of("bench", "blk"),
            java.util.List.of("sim", "start"), java.util.List.of("xenstore", "read"));
        for (final java.util.List<String> path : paths)
        {
            for (final String help : new String[]{ "--help", "-h" })
            {
                out.getBuffer().setLength(0);
                err.getBuffer().setLength(0);
                final String[] args = java.util.stream.Stream.concat(path.stream(), java.util.stream.Stream.of(help))
                    .toArray(String[]::new);
                assertThat(run(args)).as(String.join(" ", args)).isEqualTo(ExitCodes.OK);
                assertThat(out.toString()).as(String.join(" ", args))
                    .startsWith("Usage: dom0j " + String.join(" ", path))
                    .containsPattern("(?m)^Examples?:$");
                assertThat(err.toString()).as(String.join(" ", args)).isEmpty();
            }
        }
    }

    @Test
    void everyCommandsExamplesShouldParseAndOneShouldRunThatCommand()
    {
        final picocli.CommandLine root = CommandTree.commandLine();
        final java.util.List<java.util.List<String>> paths = new java.util.ArrayList<>(CommandTree.paths(root));
        paths.add(java.util.List.of());
        for (final java.util.List<String> path : paths)
        {
            final java.util.List<String> examples =
                Examples.commandLines(CommandTree.find(root, path).getCommandSpec());
            assertThat(examples).as("examples of '%s'", String.join(" ", path)).isNotEmpty();
            boolean runsItself = path.isEmpty();
            for (final String example : examples)
            {
                final picocli.CommandLine.ParseResult parsed;
                try
                {
                    parsed = CommandTree.commandLine().parseArgs(Examples.words(example).toArray(new String[0]));
                }
                catch (final picocli.CommandLine.ParameterException ex)
                {
                    throw new AssertionError("an example of '" + String.join(" ", path) + "' does not parse: " +
                        example + ": " + ex.getMessage(), ex);
                }
                final java.util.List<String> ran = parsed.asCommandLineList().stream().skip(1)
                    .map(picocli.CommandLine::getCommandName).toList();
                // A command with subcommands runs through one of them.
                runsItself |= ran.size() >= path.size() && ran.subList(0, path.size()).equals(path);
            }
            assertThat(runsItself).as("an example of '%s' runs it: %s", String.join(" ", path), examples).isTrue();
        }
    }

    @Test
    void platformShouldListBothAndSayAutoPicksTheSimulatorWithoutXen()
    {
        final int exit = run("platform");

        assertThat(exit).isEqualTo(ExitCodes.OK);
        assertThat(out.toString())
            .containsPattern("(?m)^xen +no +100 +/dev/xen/privcmd is missing")
            .containsPattern("(?m)^sim +yes +10 +simulated hypervisor")
            .contains("auto picks 'sim' because 'xen' is not available: /dev/xen/privcmd is missing");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void platformShouldExitThreeWithOneLineWhenXenIsAskedForHere()
    {
        final int exit = run("--platform", "xen", "platform");

        assertThat(exit).isEqualTo(ExitCodes.PLATFORM_UNAVAILABLE);
        assertThat(err.toString()).isEqualTo("dom0j: " + NO_XEN + System.lineSeparator());
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void platformOptionShouldAlsoWorkAfterTheSubcommand()
    {
        assertThat(run("platform", "--platform", "xen")).isEqualTo(ExitCodes.PLATFORM_UNAVAILABLE);
        assertThat(err.toString()).contains(NO_XEN);
    }

    @Test
    void platformShouldPickXenInAFakeDom0() throws IOException
    {
        for (final String f : new String[]{ "dev/xen/privcmd", "dev/xen/gntdev", "dev/xen/evtchn", "dev/xen/xenbus" })
        {
            Files.createDirectories(root.resolve(f).getParent());
            Files.createFile(root.resolve(f));
        }
        Files.createDirectories(root.resolve("proc/xen"));
        Files.writeString(root.resolve("proc/xen/capabilities"), "control_d\n");

        final int exit = run("platform");

        assertThat(exit).isEqualTo(ExitCodes.OK);
        assertThat(out.toString()).containsPattern("(?m)^xen +yes +100 ").contains("auto picks 'xen'.");
    }

    @Test
    void serveShouldRefuseToTakeThePrimaryConsolesFromARunningXenconsoled() throws IOException
    {
        Files.createDirectories(root.resolve("proc/4242"));
        Files.writeString(root.resolve("proc/4242/comm"), "xenconsoled\n");
        Files.createDirectories(root.resolve("proc/self"));

        final int exit = run("--platform", "xen", "serve", "--primary-consoles", "yes");

        assertThat(exit).isEqualTo(ExitCodes.FAILURE);
        assertThat(err.toString()).contains("xenconsoled (pid 4242) serves the domains' primary consoles")
            .contains("stop it first");
        assertThat(ServeCommand.processNamed(root.resolve("proc"), "xenstored")).isEqualTo(-1);
    }

    @Test
    void serveShouldTakeEachConsolesLogCapAndRateLimitFromItsOptions()
    {
        final ConsoleConfiguration defaults = ConsoleConfiguration.defaults();

        final ConsoleConfiguration both = ServeCommand.consoleConfiguration(defaults, "16M", "128K/100");
        final ConsoleConfiguration bytesOnly = ServeCommand.consoleConfiguration(defaults, "0", "4096");

        assertThat(both).isEqualTo(new ConsoleConfiguration(16L << 20, 128 << 10, 100));
        assertThat(bytesOnly).as("no cap; the period stays").isEqualTo(new ConsoleConfiguration(0, 4096, 200));
        assertThat(ServeCommand.consoleConfiguration(defaults, null, null)).isEqualTo(defaults);
        assertThat(defaults).isEqualTo(new ConsoleConfiguration(4L << 20, 61_440, 200));
    }

    @Test
    void serveShouldRefuseAConsoleLogCapItCannotKeepBeforeServingAnything()
    {
        assertThat(run("--platform", "sim", "serve", "--console-log-max", "1K")).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).isEqualTo("dom0j serve: --console-log-max 1K: logMaxBytes must be 0 (no cap) " +
            "or at least 4096: 1024" + System.lineSeparator());

        err.getBuffer().setLength(0);
        assertThat(run("--platform", "sim", "serve", "--console-rate-limit", "60K/fast")).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).startsWith("dom0j serve: --console-rate-limit 60K/fast: ");
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void serveHelpShouldDescribeTheConsoleBounds()
    {
        assertThat(run("serve", "--help")).isEqualTo(ExitCodes.OK);
        assertThat(out.toString()).contains("--console-log-max=SIZE").contains("--console-rate-limit=BYTES[/MS]")
            .contains("<log>.1").contains("xenconsoled throttles it");
    }

    @Test
    void platformShouldPrintJson()
    {
        final int exit = run("--json", "platform");

        assertThat(exit).isEqualTo(ExitCodes.OK);
        assertThat(out.toString())
            .startsWith("{\"requested\":\"auto\",\"chosen\":\"sim\",")
            .contains("{\"name\":\"xen\",\"available\":false,\"priority\":100,")
            .contains("{\"name\":\"sim\",\"available\":true,\"priority\":10,");
    }

    @Test
    void shouldExitTwoAndShowUsageOnABadOption()
    {
        final int exit = run("--no-such-option");

        assertThat(exit).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("Unknown option: '--no-such-option'").contains("Usage: dom0j");
    }

    @Test
    void shouldExitTwoOnAnUnknownSubcommand()
    {
        assertThat(run("frobnicate")).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("Unmatched argument at index 0: 'frobnicate'");
    }

    @Test
    void helpShouldDocumentTheExitCodes()
    {
        assertThat(run("--help")).isEqualTo(ExitCodes.OK);
        assertThat(out.toString())
            .contains("Exit codes:")
            .containsPattern("(?m)^ +3 +the platform asked for cannot run here")
            .contains("--platform=auto|xen|sim");
    }

    @Test
    void aCommandLineShouldBuildTheSubcommandItNamesAloneAndEveryOneWhenItNamesNone()
    {
        final java.util.function.Function<String[], java.util.Set<String>> built = args ->
            Dom0j.commandLine(PlatformEnvironment.system(), org.dom0j.platform.Platforms.installed(), args)
                .getSubcommands().keySet();

        assertThat(built.apply(new String[]{ "list" })).containsExactly("list");
        // an option's parameter is not a name: 'sim' is the platform here, and the command is 'list'
        assertThat(built.apply(new String[]{ "--platform", "sim", "-v", "list", "-l" })).containsExactly("list");
        assertThat(built.apply(new String[]{ "--platform=sim", "--json", "xenstore", "ls", "/" }))
            .containsExactly("xenstore");
        assertThat(built.apply(new String[]{ "-vv", "serve", "--help" })).containsExactly("serve");
        assertThat(built.apply(new String[]{ "--platform", "list" })).hasSize(Dom0j.SUBCOMMANDS.size());
        // help, a misspelt name, no name at all, the root's help and an option the root does not have as written
        // need the whole tree (help's list, picocli's suggestions, the root's usage, picocli's own parsing)
        for (final String[] args : new String[][]{ { "help", "list" }, { "lsit" }, { "--help" }, {}, { "-h", "list" },
            { "-vh", "list" }, { "--no-such-option", "list" } })
        {
            assertThat(built.apply(args)).as(String.join(" ", args)).hasSize(Dom0j.SUBCOMMANDS.size())
                .contains("help", "list", "serve", "xenstore");
        }
    }

    @Test
    void aSubcommandBuiltAloneShouldParseAndHelpAsInTheWholeTree()
    {
        final picocli.CommandLine whole = CommandTree.commandLine();
        for (final java.util.List<String> path : CommandTree.paths(whole))
        {
            final String[] args = path.toArray(new String[0]);
            final picocli.CommandLine alone =
                Dom0j.commandLine(PlatformEnvironment.system(), org.dom0j.platform.Platforms.installed(), args);
            assertThat(alone.getSubcommands()).as(String.join(" ", path)).hasSize(1);
            final picocli.CommandLine.Model.CommandSpec lone = CommandTree.find(alone, path).getCommandSpec();
            final picocli.CommandLine.Model.CommandSpec full = CommandTree.find(whole, path).getCommandSpec();
            assertThat(lone.commandLine().getUsageMessage()).as(String.join(" ", path))
                .isEqualTo(full.commandLine().getUsageMessage());
            assertThat(lone.options().stream().map(o -> o.longestName()).toList()).as(String.join(" ", path))
                .isEqualTo(full.options().stream().map(o -> o.longestName()).toList());
        }
    }

    @Test
    void versionShouldNameDom0jAndJava()
    {
        assertThat(run("--version")).isEqualTo(ExitCodes.OK);
        assertThat(out.toString()).startsWith("dom0j ").contains("Java 17");
    }

    private int run(final String... args)
    {
        return Cli.run(new PlatformEnvironment(root, Map.of(), library -> null), out, err, args);
    }
}
