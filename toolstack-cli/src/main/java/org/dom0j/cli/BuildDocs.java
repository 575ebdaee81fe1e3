package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.Platforms;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes what is generated from the command model at build time (Maven's prepare-package phase runs it on
 * toolstack-cli's {@code target/}): {@code completion/dom0j}, picocli's bash completion script (zsh reads it too,
 * through bashcompinit), and {@code man/dom0j.1}, {@code man/dom0j-serve.1}, ... one troff page per command
 * ({@link ManPage}). {@code scripts/install.sh} installs both.
 */
public final class BuildDocs
{
    private BuildDocs()
    {
    }

    /**
     * @param args the directory to write into (toolstack-cli's {@code target/}).
     * @throws IOException when a file cannot be written.
     */
    public static void main(final String[] args) throws IOException
    {
        if (args.length != 1)
        {
            throw new IllegalArgumentException("usage: BuildDocs TARGET-DIRECTORY");
        }
        final List<Path> written = write(Path.of(args[0]));
        System.out.println("dom0j: wrote " + written.size() + " files under " + args[0] + " (completion, man pages)");
    }

    /**
     * @param directory where {@code completion/} and {@code man/} go.
     * @return every file written.
     * @throws IOException when a file cannot be written.
     */
    static List<Path> write(final Path directory) throws IOException
    {
        final CommandLine commandLine = Dom0j.commandLine(PlatformEnvironment.system(), Platforms.installed());
        final List<Path> written = new ArrayList<>();
        final Path completion = Files.createDirectories(directory.resolve("completion")).resolve("dom0j");
        Files.writeString(completion, AutoComplete.bash("dom0j", commandLine));
        written.add(completion);
        final String version = new Dom0j.Version().getVersion()[0];
        final Path man = Files.createDirectories(directory.resolve("man"));
        final List<CommandSpec> pending = new ArrayList<>(List.of(commandLine.getCommandSpec()));
        while (!pending.isEmpty())
        {
            final CommandSpec spec = pending.remove(0);
            final Path page = man.resolve(ManPage.pageName(spec) + ".1");
            Files.writeString(page, ManPage.troff(spec, version));
            written.add(page);
            pending.addAll(ManPage.subcommands(spec));
        }
        return written;
    }
}
