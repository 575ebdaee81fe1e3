package org.dom0j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the build generates from the command model ({@link BuildDocs}): bash completion that offers every command and
 * option, and a man page per command that {@code man} renders without a warning.
 */
@Timeout(120)
class GeneratedDocsTest
{
    @TempDir
    static Path target;

    private static CommandLine root;

    @BeforeAll
    static void generate() throws IOException
    {
        BuildDocs.write(target);
        root = CommandTree.commandLine();
    }

    @Test
    void completionShouldOfferEverySubcommandOfEveryCommand() throws Exception
    {
        assumeTrue(onPath("bash"), "bash is not installed");
        final List<List<String>> parents = new ArrayList<>(CommandTree.paths(root));
        parents.add(List.of());
        int checked = 0;
        for (final List<String> path : parents)
        {
            final List<String> children = new ArrayList<>(ManPage.subcommands(
                CommandTree.find(root, path).getCommandSpec()).stream().map(s -> s.name()).toList());
            if (children.isEmpty())
            {
                continue;
            }
            assertThat(complete(path, "")).as("dom0j %s [TAB]", String.join(" ", path)).containsAll(children);
            checked++;
        }
        assertThat(checked).isGreaterThanOrEqualTo(5);
    }

    @Test
    void completionShouldOfferServesOptionsAndNotInventAny() throws Exception
    {
        assumeTrue(onPath("bash"), "bash is not installed");
        final List<String> offered = complete(List.of("serve"), "--");
        assertThat(offered).contains("--config", "--data-path", "--on-exit", "--help", "--platform")
            .doesNotContain("--seconds");
        assertThat(complete(List.of("bench"), "b")).containsExactly("blk");
    }

    @Test
    void zshShouldRegisterTheCompletionAndOfferWhatBashOffers() throws Exception
    {
        assumeTrue(onPath("zsh"), "zsh is not installed (apt-get install zsh)");
        // zsh -f: no user's startup files; the script loads compinit and bashcompinit itself
        final String script = "source '" + target.resolve("completion/dom0j") + "'\n" +
            "print -r -- \"registered: ${_comps[dom0j]}\"\n" +
            // as bashcompinit's _bash_complete calls a bash completion function: sh emulation, 0-based arrays
            "t() {\n  emulate -L sh\n  setopt kshglob noshglob braceexpand\n" +
            "  COMP_WORDS=(dom0j serve --); COMP_CWORD=2; COMP_LINE='dom0j serve --'; COMP_POINT=${#COMP_LINE}\n" +
            "  _complete_dom0j dom0j '--' 'serve'\n  printf '%s\\n' \"${COMPREPLY[@]}\"\n}\nt\n";
        final String[] result = run(List.of("zsh", "-f", "-c", script));
        final List<String> lines = Arrays.stream(result[0].split("\n")).map(String::strip).toList();
        assertThat(lines.get(0)).isEqualTo("registered: _bash_complete -F _complete_dom0j -o default");
        // bashcompinit's compgen leaves matching the typed prefix to zsh's completion system
        assertThat(lines.subList(1, lines.size()).stream().filter(w -> w.startsWith("--")).toList())
            .containsExactlyInAnyOrderElementsOf(complete(List.of("serve"), "--"));
    }

    @Test
    void everyCommandShouldHaveAManPageThatManRendersWithoutWarnings() throws Exception
    {
        assumeTrue(onPath("man"), "man is not installed (apt-get install man-db)");
        final List<List<String>> paths = new ArrayList<>(CommandTree.paths(root));
        paths.add(List.of());
        for (final List<String> path : paths)
        {
            final String name = path.isEmpty() ? "dom0j" : "dom0j-" + String.join("-", path);
            final Path page = target.resolve("man").resolve(name + ".1");
            assertThat(page).as(name).exists();
            final String[] rendered = run(List.of("man", "--warnings", "-l", page.toString()));
            assertThat(rendered[1]).as("man's warnings for %s", name).isEmpty();
            assertThat(rendered[0]).as(name)
                .contains("NAME", "SYNOPSIS", "dom0j " + String.join(" ", path), "EXAMPLES")
                .containsPattern("(?m)^\\s+" + name + "\\s+-\\s+\\S");
            for (final CommandLine.Model.OptionSpec option : CommandTree.find(root, path).getCommandSpec().options())
            {
                final String shown = option.negatable() ? "--[no-]" + option.longestName().substring(2) :
                    option.longestName();
                assertThat(rendered[0]).as(name).contains(shown);
            }
        }
    }

    private static List<String> complete(final List<String> path, final String current) throws Exception
    {
        final List<String> words = new ArrayList<>(List.of("dom0j"));
        words.addAll(path);
        words.add(current);
        final String script = "source '" + target.resolve("completion/dom0j") + "'\n" +
            "COMP_WORDS=(" + String.join(" ", words.stream().map(w -> "'" + w + "'").toList()) + ")\n" +
            "COMP_CWORD=" + (words.size() - 1) + "\n" +
            "COMP_LINE='" + String.join(" ", words) + "'\n" +
            "COMP_POINT=${#COMP_LINE}\n" +
            "_complete_dom0j dom0j '" + current + "' '" + words.get(words.size() - 2) + "'\n" +
            "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        final String[] result = run(List.of("bash", "-c", script));
        return Arrays.stream(result[0].split("\n")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    private static String[] run(final List<String> command) throws Exception
    {
        final ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("MANPAGER", "cat");
        builder.environment().put("MANWIDTH", "200");
        builder.environment().put("LC_ALL", "C.UTF-8");
        final Path err = Files.createTempFile(target, "err", ".txt");
        builder.redirectError(err.toFile());
        final Process process = builder.start();
        process.getOutputStream().close();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command.get(0)).isTrue();
        assertThat(process.exitValue()).as("%s exit code; stderr: %s", command, Files.readString(err)).isZero();
        return new String[]{ out, Files.readString(err) };
    }

    private static boolean onPath(final String program)
    {
        for (final String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":"))
        {
            if (Files.isExecutable(Path.of(dir, program)))
            {
                return true;
            }
        }
        return false;
    }
}
