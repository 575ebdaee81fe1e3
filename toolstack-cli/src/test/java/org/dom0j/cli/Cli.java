package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.Platforms;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * Runs the dom0j command line in this JVM, as the launcher would, with the platforms found on the class path and
 * the output captured: the CLI tests' one way in.
 */
final class Cli
{
    private Cli()
    {
    }

    /**
     * Builds the command line as the launcher does, for this command line: the subcommand it names alone.
     *
     * @param environment the root, environment variables and library loader the platforms see.
     * @param out         receives standard output.
     * @param err         receives standard error.
     * @param args        the command line.
     * @return the exit code.
     */
    static int run(final PlatformEnvironment environment, final StringWriter out, final StringWriter err,
        final String... args)
    {
        final CommandLine cl = Dom0j.commandLine(environment, Platforms.installed(), args);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }
}
