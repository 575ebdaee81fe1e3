package org.dom0j.cli;

import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The command lines in a command's "Example:" footer, and their words, so a test can parse each one: an example
 * that no longer parses is an example that lies.
 * <p>
 * An example line is indented, may start with environment assignments, and runs {@code dom0j ...}; what follows two
 * spaces is its explanation; {@code &}, {@code &&} and {@code |} separate commands; a trailing backslash continues
 * the command on the next line.
 */
final class Examples
{
    private static final Pattern COMMAND = Pattern.compile("((?:\\w+=\\S*\\s+)*)dom0j(\\s.*)?");

    private Examples()
    {
    }

    /**
     * @param spec a command.
     * @return each {@code dom0j ...} command line in its footer, without "dom0j" and explanations.
     */
    static List<String> commandLines(final CommandSpec spec)
    {
        final List<String> lines = new ArrayList<>();
        boolean inExamples = false;
        String pending = null;
        for (final String line : spec.usageMessage().footer())
        {
            if (line.strip().matches("Examples?:"))
            {
                inExamples = true;
                continue;
            }
            if (!inExamples || !line.startsWith("  "))
            {
                continue;
            }
            final String code = line.strip().split(" {2,}", 2)[0];
            final List<String> commands = new ArrayList<>();
            if (null != pending)
            {
                commands.add(pending + " " + code);
                pending = null;
            }
            else
            {
                for (final String segment : code.split("\\s*(?:&&|&|\\|)\\s*"))
                {
                    final Matcher m = COMMAND.matcher(segment);
                    if (m.matches())
                    {
                        commands.add(null == m.group(2) ? "" : m.group(2).strip());
                    }
                }
            }
            for (final String command : commands)
            {
                if (command.endsWith("\\"))
                {
                    pending = command.substring(0, command.length() - 1).strip();
                }
                else
                {
                    lines.add(command);
                }
            }
        }
        return lines;
    }

    /**
     * @param commandLine a command line as a shell would read it (double and single quotes; no expansions).
     * @return its words.
     */
    static List<String> words(final String commandLine)
    {
        final List<String> words = new ArrayList<>();
        final StringBuilder word = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        for (int i = 0; i < commandLine.length(); i++)
        {
            final char c = commandLine.charAt(i);
            if (0 != quote)
            {
                if (c == quote)
                {
                    quote = 0;
                }
                else
                {
                    word.append(c);
                }
            }
            else if (c == '"' || c == '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (Character.isWhitespace(c))
            {
                if (inWord)
                {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            }
            else
            {
                word.append(c);
                inWord = true;
            }
        }
        if (inWord)
        {
            words.add(word.toString());
        }
        return words;
    }
}
