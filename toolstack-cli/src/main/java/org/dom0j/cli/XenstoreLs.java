package org.dom0j.cli;

import org.dom0j.common.Errno;
import org.dom0j.common.Json;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XenStoreException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dom0j xenstore ls}, as {@code xenstore-ls} prints a subtree (a subcommand of {@link XenstoreCommand}).
 * <p>
 * Runs on the picocli thread.
 */
@Command(name = "ls", mixinStandardHelpOptions = true,
    footer = { "", "Example:", "  dom0j xenstore ls -f /local/domain/1/device" },
    description = "Print a subtree, indented (like xenstore-ls).")
final class XenstoreLs implements Callable<Integer>
{
    private static final String TAG = " = \"...\"";

    @ParentCommand
    private XenstoreCommand parent;
    @Spec
    private CommandSpec spec;
    @Option(names = "-f", description = "Print full paths.")
    private boolean full;
    @Option(names = "-p", description = "Print permissions.")
    private boolean perms;
    @Parameters(arity = "0..1", paramLabel = "PATH", defaultValue = "/")
    private String path;

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        try (XenStoreClient xs = parent.open())
        {
            if (parent.json())
            {
                out.println(Json.write(tree(xs, path)));
            }
            else
            {
                final int maxWidth = full ? Integer.MAX_VALUE / 2 : terminalWidth();
                final int desiredWidth = full ? 0 : 60;
                ls(xs, out, path, 0, maxWidth, desiredWidth);
            }
        }
        out.flush();
        return ExitCodes.OK;
    }

    private static int terminalWidth()
    {
        final String columns = System.getenv("COLUMNS");
        if (null != System.console() && null != columns)
        {
            try
            {
                return Integer.parseInt(columns) - 2;
            }
            catch (final NumberFormatException ignore)
            {
                // fall through to the C tools' default
            }
        }
        return 80;
    }

    private Map<String, Object> tree(final XenStore xs, final String p)
    {
        final Map<String, Object> node = new LinkedHashMap<>();
        node.put("path", p);
        node.put("value", xs.readOrNull(p));
        if (perms)
        {
            node.put("perms", XenstoreCommand.permStrings(xs.getPermissions(p)));
        }
        final List<Object> children = new ArrayList<>();
        for (final String c : xs.directory(p))
        {
            children.add(tree(xs, XenstoreCommand.childPath(p, c)));
        }
        node.put("children", children);
        return node;
    }

    private void ls(final XenStore xs, final PrintWriter out, final String p, final int depth, final int maxWidth,
        final int desiredWidth)
    {
        final List<String> children;
        try
        {
            children = xs.directory(p);
        }
        catch (final XenStoreException ex)
        {
            if (depth > 0 && (ex.errno() == Errno.ENOENT.number() || ex.errno() == Errno.EACCES.number()))
            {
                warn("xs_directory (" + p + "): " + Errno.of(ex.errno()).description());
                return;
            }
            throw ex;
        }
        for (final String name : children)
        {
            final String child = XenstoreCommand.childPath(p, name);
            final StringBuilder line = new StringBuilder();
            int width;
            if (full)
            {
                line.append(child);
                width = 0;
            }
            else
            {
                line.append(" ".repeat(depth));
                final int room = Math.max(0, maxWidth - TAG.length() - depth);
                final String shown = name.length() > room ? name.substring(0, room) : name;
                line.append(shown);
                width = depth + shown.length();
            }
            byte[] value;
            try
            {
                value = xs.readBytes(child);
            }
            catch (final XenStoreException ex)
            {
                value = null;
            }
            if (null == value)
            {
                line.append(":\n");
            }
            else
            {
                final String v = XenstoreCommand.sanitise(value);
                if (maxWidth < width + value.length + TAG.length())
                {
                    final int room = Math.max(0, maxWidth - TAG.length() - width);
                    line.append(" = \"").append(v, 0, Math.min(room, v.length())).append("\\...\"");
                }
                else
                {
                    line.append(" = \"").append(v).append('"');
                    width += v.length() + 5;
                    if (perms)
                    {
                        line.append(' ');
                        for (width++; width < Math.min(desiredWidth, maxWidth); width++)
                        {
                            line.append((width & 1) == 1 ? '.' : ' ');
                        }
                    }
                }
            }
            if (perms)
            {
                try
                {
                    final String shown = String.join(",", XenstoreCommand.permStrings(xs.getPermissions(child)));
                    line.append("  (").append(shown).append(')');
                }
                catch (final XenStoreException ex)
                {
                    out.print(line);
                    out.flush();
                    line.setLength(0);
                    warn("\ncould not access permissions for " + name + ": " +
                        Errno.of(ex.errno()).description());
                }
            }
            line.append('\n');
            out.print(line);
            ls(xs, out, child, depth + 1, maxWidth, desiredWidth);
        }
    }

    private void warn(final String message)
    {
        spec.commandLine().getErr().println("dom0j xenstore ls: " + message);
        spec.commandLine().getErr().flush();
    }
}
