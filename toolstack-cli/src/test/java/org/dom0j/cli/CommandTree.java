package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.platform.Platforms;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every command of the dom0j command line, nested ones included, as the words that name it ({@code bench blk}):
 * what the help, man page and completion tests walk.
 */
final class CommandTree
{
    private CommandTree()
    {
    }

    /**
     * @return a fresh command line on this machine, as the launcher builds it.
     */
    static CommandLine commandLine()
    {
        return Dom0j.commandLine(PlatformEnvironment.system(), Platforms.installed());
    }

    /**
     * @param root the root command line.
     * @return the path of every command below the root (not the root; not picocli's {@code help}; no aliases).
     */
    static List<List<String>> paths(final CommandLine root)
    {
        final List<List<String>> into = new ArrayList<>();
        collect(root, new ArrayList<>(), into);
        return into;
    }

    /**
     * @param root the root command line.
     * @param path the words naming a command.
     * @return that command.
     */
    static CommandLine find(final CommandLine root, final List<String> path)
    {
        CommandLine command = root;
        for (final String word : path)
        {
            command = command.getSubcommands().get(word);
        }
        return command;
    }

    private static void collect(final CommandLine command, final List<String> path, final List<List<String>> into)
    {
        for (final Map.Entry<String, CommandLine> sub : command.getSubcommands().entrySet())
        {
            if ("help".equals(sub.getKey()) || !sub.getKey().equals(sub.getValue().getCommandName()))
            {
                continue;
            }
            final List<String> next = new ArrayList<>(path);
            next.add(sub.getKey());
            into.add(List.copyOf(next));
            collect(sub.getValue(), next, into);
        }
    }
}
