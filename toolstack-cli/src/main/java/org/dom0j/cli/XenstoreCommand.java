package org.dom0j.cli;

import org.dom0j.common.Json;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XenStoreException;
import org.dom0j.xenstore.XsPermission;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;

/**
 * {@code dom0j xenstore ...}: the {@code xenstore-*} tools in one command, with the same output shapes, talking to
 * whatever xenstored {@link XenStoreClient#open(Map)} finds ({@code $XENSTORED_PATH}, the default socket, or
 * {@code /dev/xen/xenbus}): {@code dom0j xenstored} or a real C xenstored alike. Like the C tools, commands with
 * several keys run in one transaction. A refused operation exits with code 4 and the errno.
 * Runs on the picocli thread.
 */
@Command(
    name = "xenstore",
    mixinStandardHelpOptions = true,
    description = "Read and change xenstore like the xenstore-* tools (read, write, ls, list, rm, mkdir, exists, " +
        "watch, chmod, perms).",
    subcommands = {
        XenstoreCommand.Read.class, XenstoreCommand.Write.class, XenstoreLs.class,
        XenstoreCommand.ListCmd.class, XenstoreCommand.Rm.class, XenstoreCommand.Mkdir.class,
        XenstoreCommand.Exists.class, XenstoreCommand.Watch.class, XenstoreChmod.class,
        XenstorePerms.class },
    footer = {
        "",
        "Examples:",
        "  XENSTORED_PATH=/tmp/xs/socket dom0j xenstore write /local/domain/1/name guest1",
        "  dom0j xenstore ls -p /local/domain",
        "  dom0j xenstore watch -n 3 /local/domain/1",
        "  dom0j xenstore read --json /local/domain/1/name"
    })
final class XenstoreCommand implements Runnable
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Override
    public void run()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    XenStoreClient open()
    {
        return XenStoreClient.open(root.environment().env());
    }

    boolean json()
    {
        return root.options().json();
    }

    /**
     * Escapes a value as libxenstore's {@code xs_sanitise_value} does: backslash doubled, tab, newline and carriage
     * return named, bytes 0 to 7 in octal, other unprintable bytes in hex.
     *
     * @param value the raw bytes.
     * @return what the xenstore-* tools print.
     */
    static String sanitise(final byte[] value)
    {
        final StringBuilder sb = new StringBuilder(value.length);
        for (final byte b : value)
        {
            final int c = b & 0xFF;
            if (c == '\\')
            {
                sb.append("\\\\");
            }
            else if (c == '\t')
            {
                sb.append("\\t");
            }
            else if (c == '\n')
            {
                sb.append("\\n");
            }
            else if (c == '\r')
            {
                sb.append("\\r");
            }
            else if (c >= 0x20 && c < 0x7F)
            {
                sb.append((char)c);
            }
            else if (c < 8)
            {
                sb.append(String.format("\\%03o", c));
            }
            else
            {
                sb.append(String.format("\\x%02x", c));
            }
        }
        return sb.toString();
    }

    /**
     * Undoes {@link #sanitise} as {@code xenstore-write} does without -R: \\, \t, \n, \r, \a, \b, \f, \v, \xHH and
     * octal \NNN; any other escaped character stands for itself.
     *
     * @param text the argument.
     * @return the bytes to write.
     */
    static byte[] unsanitise(final String text)
    {
        final byte[] in = text.getBytes(StandardCharsets.UTF_8);
        final ByteArrayOutputStream out = new ByteArrayOutputStream(in.length);
        for (int i = 0; i < in.length; i++)
        {
            final int c = in[i] & 0xFF;
            if (c != '\\' || i + 1 >= in.length)
            {
                out.write(c);
                continue;
            }
            final int e = in[++i] & 0xFF;
            switch (e)
            {
                case 't' -> out.write('\t');
                case 'n' -> out.write('\n');
                case 'r' -> out.write('\r');
                case 'a' -> out.write(7);
                case 'b' -> out.write(8);
                case 'f' -> out.write(12);
                case 'v' -> out.write(11);
                case 'x' ->
                {
                    int v = 0;
                    int n = 0;
                    while (n < 2 && i + 1 < in.length && Character.digit(in[i + 1], 16) >= 0)
                    {
                        v = v * 16 + Character.digit(in[++i], 16);
                        n++;
                    }
                    out.write(v);
                }
                default ->
                {
                    if (e >= '0' && e <= '7')
                    {
                        int v = e - '0';
                        int n = 1;
                        while (n < 3 && i + 1 < in.length && in[i + 1] >= '0' && in[i + 1] <= '7')
                        {
                            v = v * 8 + (in[++i] - '0');
                            n++;
                        }
                        out.write(v & 0xFF);
                    }
                    else
                    {
                        out.write(e);
                    }
                }
            }
        }
        return out.toByteArray();
    }

    /**
     * {@code xenstore-read}.
     */
    @Command(name = "read", mixinStandardHelpOptions = true,
        footer = { "", "Example:", "  dom0j xenstore read -p /local/domain/1/name /local/domain/1/domid" },
        description = "Print the values of keys (like xenstore-read).")
    static final class Read implements Callable<Integer>
    {
        @ParentCommand
        private XenstoreCommand parent;
        @Spec
        private CommandSpec spec;
        @Option(names = "-p", description = "Prefix each value with its key.")
        private boolean prefix;
        @Option(names = "-R", description = "Print raw values, without escaping.")
        private boolean raw;
        @Parameters(arity = "1..*", paramLabel = "KEY")
        private List<String> keys;

        @Override
        public Integer call()
        {
            final PrintWriter out = spec.commandLine().getOut();
            try (XenStoreClient xs = parent.open())
            {
                final List<byte[]> values = xs.transaction(tx ->
                {
                    final List<byte[]> v = new ArrayList<>();
                    for (final String k : keys)
                    {
                        final byte[] b = tx.readBytesOrNull(k);
                        if (null == b)
                        {
                            throw new XenStoreException(2, "read " + k);
                        }
                        v.add(b);
                    }
                    return v;
                });
                if (parent.json())
                {
                    final Map<String, Object> doc = new LinkedHashMap<>();
                    for (int i = 0; i < keys.size(); i++)
                    {
                        doc.put(keys.get(i), new String(values.get(i), StandardCharsets.UTF_8));
                    }
                    out.println(Json.write(doc));
                }
                else
                {
                    for (int i = 0; i < keys.size(); i++)
                    {
                        final String v = raw ? new String(values.get(i), StandardCharsets.UTF_8) :
                            sanitise(values.get(i));
                        out.println(prefix ? keys.get(i) + ": " + v : v);
                    }
                }
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    /**
     * {@code xenstore-write}.
     */
    @Command(name = "write", mixinStandardHelpOptions = true,
        footer = { "", "Example:",
            "  dom0j xenstore write /local/domain/1/data/greeting hello /local/domain/1/data/n 7" },
        description = "Write values to keys, creating them (like xenstore-write).")
    static final class Write implements Callable<Integer>
    {
        @ParentCommand
        private XenstoreCommand parent;
        @Spec
        private CommandSpec spec;
        @Option(names = "-R", description = "Write values as given, without interpreting \\ escapes.")
        private boolean raw;
        @Parameters(arity = "2..*", paramLabel = "KEY VALUE")
        private List<String> pairs;

        @Override
        public Integer call()
        {
            if (pairs.size() % 2 != 0)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), "expected KEY VALUE pairs");
            }
            try (XenStoreClient xs = parent.open())
            {
                xs.transaction(tx ->
                {
                    for (int i = 0; i < pairs.size(); i += 2)
                    {
                        tx.write(pairs.get(i), raw ? pairs.get(i + 1).getBytes(StandardCharsets.UTF_8) :
                            unsanitise(pairs.get(i + 1)));
                    }
                    return null;
                });
            }
            return ExitCodes.OK;
        }
    }

    /**
     * {@code xenstore-list}.
     */
    @Command(name = "list", mixinStandardHelpOptions = true,
        footer = { "", "Example:", "  dom0j xenstore list -p /local/domain/0/backend/vbd" },
        description = "Print the children of keys (like xenstore-list).")
    static final class ListCmd implements Callable<Integer>
    {
        @ParentCommand
        private XenstoreCommand parent;
        @Spec
        private CommandSpec spec;
        @Option(names = "-p", description = "Prefix each child with its parent key.")
        private boolean prefix;
        @Parameters(arity = "1..*", paramLabel = "KEY")
        private List<String> keys;

        @Override
        public Integer call()
        {
            final PrintWriter out = spec.commandLine().getOut();
            try (XenStoreClient xs = parent.open())
            {
                final List<List<String>> lists = xs.transaction(tx ->
                {
                    final List<List<String>> l = new ArrayList<>();
                    for (final String k : keys)
                    {
                        l.add(tx.directory(k));
                    }
                    return l;
                });
                if (parent.json())
                {
                    final Map<String, Object> doc = new LinkedHashMap<>();
                    for (int i = 0; i < keys.size(); i++)
                    {
                        doc.put(keys.get(i), lists.get(i));
                    }
                    out.println(Json.write(doc));
                }
                else
                {
                    for (int i = 0; i < keys.size(); i++)
                    {
                        for (final String c : lists.get(i))
                        {
                            out.println(prefix ? keys.get(i) + "/" + c : c);
                        }
                    }
                }
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    /**
     * {@code xenstore-rm}.
     */
    @Command(name = "rm", mixinStandardHelpOptions = true,
        footer = { "", "Example:", "  dom0j xenstore rm -t /local/domain/1/data/greeting" },
        description = "Remove keys and everything below them (like xenstore-rm).")
    static final class Rm implements Callable<Integer>
    {
        @ParentCommand
        private XenstoreCommand parent;
        @Option(names = "-t", description = "Also remove parents left empty and without a value.")
        private boolean tidy;
        @Parameters(arity = "1..*", paramLabel = "KEY")
        private List<String> keys;

        @Override
        public Integer call()
        {
            try (XenStoreClient xs = parent.open())
            {
                xs.transaction(tx ->
                {
                    for (final String k : keys)
                    {
                        String p = k;
                        while (true)
                        {
                            tx.rm(p);
                            final int slash = p.lastIndexOf('/');
                            if (!tidy || slash <= 0)
                            {
                                break;
                            }
                            p = p.substring(0, slash);
                            final byte[] v = tx.readBytesOrNull(p);
                            if (null == v || v.length != 0 || !tx.directory(p).isEmpty())
                            {
                                break;
                            }
                        }
                    }
                    return null;
                });
            }
            return ExitCodes.OK;
        }
    }

    /**
     * Creates nodes ({@code xenstore-write} without a value, as MKDIR).
     */
    @Command(name = "mkdir", mixinStandardHelpOptions = true,
        footer = { "", "Example:", "  dom0j xenstore mkdir /local/domain/1/data" },
        description = "Create keys with empty values if they do not exist.")
    static final class Mkdir implements Callable<Integer>
    {
        @ParentCommand
        private XenstoreCommand parent;
        @Parameters(arity = "1..*", paramLabel = "KEY")
        private List<String> keys;

        @Override
        public Integer call()
        {
            try (XenStoreClient xs = parent.open())
            {
                xs.transaction(tx ->
                {
                    keys.forEach(tx::mkdir);
                    return null;
                });
            }
            return ExitCodes.OK;
        }
    }

    /**
     * {@code xenstore-exists}: exit code 0 when every key exists, 1 otherwise; prints nothing.
     */
    @Command(name = "exists", mixinStandardHelpOptions = true,
        footer = { "", "Example:", "  dom0j xenstore exists /local/domain/1/device/vbd/51712 && echo attached" },
        description = "Exit 0 when every key exists (and is readable), else 1 " +
        "(like xenstore-exists).")
    static final class Exists implements Callable<Integer>
    {
        @ParentCommand
        private XenstoreCommand parent;
        @Spec
        private CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "KEY")
        private List<String> keys;

        @Override
        public Integer call()
        {
            try (XenStoreClient xs = parent.open())
            {
                final boolean all = xs.transaction(tx ->
                {
                    for (final String k : keys)
                    {
                        if (!tx.exists(k))
                        {
                            return false;
                        }
                    }
                    return true;
                });
                if (parent.json())
                {
                    spec.commandLine().getOut().println(Json.write(Map.of("exists", all)));
                    spec.commandLine().getOut().flush();
                }
                return all ? ExitCodes.OK : ExitCodes.FAILURE;
            }
        }
    }

    /**
     * {@code xenstore-watch}: prints the path of each event, one a line (the first fires at once).
     */
    @Command(name = "watch", mixinStandardHelpOptions = true,
        footer = { "", "Example:", "  dom0j xenstore watch -n 5 --depth 1 /local/domain/0/backend" },
        description = "Print the path of each change at or below KEY (like xenstore-watch).")
    static final class Watch implements Callable<Integer>
    {
        @ParentCommand
        private XenstoreCommand parent;
        @Spec
        private CommandSpec spec;
        @Option(names = "-n", paramLabel = "NR", description = "Exit after NR events (the first fires at once).")
        private int count = -1;
        @Option(names = "--depth", paramLabel = "D", description = "Only report paths at most D levels below KEY.")
        private int depth = -1;
        @Parameters(arity = "1", paramLabel = "KEY")
        private String key;

        @Override
        public Integer call() throws InterruptedException
        {
            final PrintWriter out = spec.commandLine().getOut();
            final BlockingQueue<String> events = new ArrayBlockingQueue<>(1024);
            try (XenStoreClient xs = parent.open();
                org.dom0j.xenstore.XsWatch w = xs.watch(key, "dom0j-watch", depth, (p, t) ->
                {
                    try
                    {
                        events.put(p);
                    }
                    catch (final InterruptedException ex)
                    {
                        Thread.currentThread().interrupt();
                    }
                }))
            {
                for (int seen = 0; count < 0 || seen < count; seen++)
                {
                    final String p = events.take();
                    out.println(parent.json() ? Json.write(Map.of("path", p)) : p);
                    out.flush();
                }
            }
            return ExitCodes.OK;
        }
    }

    static List<String> permStrings(final List<XsPermission> perms)
    {
        final List<String> out = new ArrayList<>();
        perms.forEach(p -> out.add(p.toString()));
        return out;
    }

    static String childPath(final String parent, final String name)
    {
        return parent.endsWith("/") ? parent + name : parent + "/" + name;
    }
}
