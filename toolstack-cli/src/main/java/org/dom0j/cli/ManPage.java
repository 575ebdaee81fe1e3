package org.dom0j.cli;

import picocli.CommandLine.Help;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A man page in troff (the man macros) for one command, written from the same picocli model that prints its
 * {@code --help}: name, synopsis, description, options, arguments, subcommands, exit codes, the examples of its
 * footer, and the pages of its parent and subcommands. {@code man -l dom0j-serve.1} shows it. Written at build time
 * by {@link BuildDocs}; called on one thread.
 */
final class ManPage
{
    private ManPage()
    {
    }

    /**
     * @param spec    a command of the dom0j command line.
     * @param version what the page's footer names, e.g. "dom0j 0.1.0".
     * @return the page.
     */
    static String troff(final CommandSpec spec, final String version)
    {
        final StringBuilder page = new StringBuilder(8192);
        final String name = pageName(spec);
        page.append(".TH \"").append(escape(name.toUpperCase(java.util.Locale.ROOT))).append("\" \"1\" \"\" \"")
            .append(escape(version)).append("\" \"dom0j Manual\"\n");
        section(page, "NAME");
        final String[] description = spec.usageMessage().description();
        page.append(escape(name)).append(" \\- ").append(text(firstSentence(description))).append('\n');

        section(page, "SYNOPSIS");
        final String synopsis = new Help(spec, Help.defaultColorScheme(Help.Ansi.OFF)).synopsis(0).stripTrailing();
        page.append(".nf\n");
        for (final String line : synopsis.split("\n"))
        {
            page.append(line(line)).append('\n');
        }
        page.append(".fi\n");

        section(page, "DESCRIPTION");
        paragraphs(page, description);

        final List<OptionSpec> options = spec.options().stream().filter(o -> !o.hidden()).toList();
        if (!options.isEmpty())
        {
            section(page, "OPTIONS");
            for (final OptionSpec option : options)
            {
                page.append(".TP\n").append(optionTerm(option)).append('\n');
                paragraphs(page, option.description());
            }
        }
        final List<PositionalParamSpec> positionals = spec.positionalParameters().stream()
            .filter(p -> !p.hidden()).toList();
        if (!positionals.isEmpty())
        {
            section(page, "ARGUMENTS");
            for (final PositionalParamSpec positional : positionals)
            {
                page.append(".TP\n\\fI").append(escape(positional.paramLabel())).append("\\fR\n");
                paragraphs(page, positional.description().length > 0 ? positional.description() :
                    new String[]{ "(see the description above)" });
            }
        }
        final List<CommandSpec> subcommands = subcommands(spec);
        if (!subcommands.isEmpty())
        {
            section(page, "COMMANDS");
            for (final CommandSpec sub : subcommands)
            {
                page.append(".TP\n\\fB").append(escape(sub.name())).append("\\fR\n")
                    .append(text(String.join(" ", sub.usageMessage().description()))).append(" See \\fB")
                    .append(escape(pageName(sub))).append("\\fR(1).\n");
            }
        }
        final Map<String, String> exitCodes = spec.usageMessage().exitCodeList();
        if (!exitCodes.isEmpty())
        {
            section(page, "EXIT STATUS");
            for (final Map.Entry<String, String> code : exitCodes.entrySet())
            {
                page.append(".TP\n\\fB").append(escape(code.getKey().strip())).append("\\fR\n")
                    .append(text(code.getValue())).append('\n');
            }
        }
        final List<String> examples = examples(spec.usageMessage().footer());
        if (!examples.isEmpty())
        {
            section(page, "EXAMPLES");
            page.append(".nf\n");
            for (final String example : examples)
            {
                page.append(line(example)).append('\n');
            }
            page.append(".fi\n");
        }
        section(page, "SEE ALSO");
        final List<String> related = new ArrayList<>();
        if (null != spec.parent())
        {
            related.add("\\fB" + escape(pageName(spec.parent())) + "\\fR(1)");
        }
        subcommands.forEach(sub -> related.add("\\fB" + escape(pageName(sub)) + "\\fR(1)"));
        related.add("https://github.com/dom0j (docs/ARCHITECTURE.md)");
        page.append(String.join(",\n", related)).append('\n');
        return page.toString();
    }

    /**
     * @param spec a command.
     * @return its page's name: the words that run it, joined by dashes ("dom0j-bench-blk").
     */
    static String pageName(final CommandSpec spec)
    {
        return spec.qualifiedName("-");
    }

    /**
     * @param spec a command.
     * @return its subcommands, once each (no aliases), without picocli's {@code help}.
     */
    static List<CommandSpec> subcommands(final CommandSpec spec)
    {
        final List<CommandSpec> subs = new ArrayList<>();
        spec.subcommands().forEach((name, cl) ->
        {
            final boolean hidden = cl.getCommandSpec().usageMessage().hidden();
            if (name.equals(cl.getCommandName()) && !"help".equals(name) && !hidden)
            {
                subs.add(cl.getCommandSpec());
            }
        });
        return subs;
    }

    private static String optionTerm(final OptionSpec option)
    {
        final StringBuilder term = new StringBuilder();
        for (final String name : option.names())
        {
            if (!term.isEmpty())
            {
                term.append(", ");
            }
            final String shown = option.negatable() && name.startsWith("--") ?
                "--[no-]" + name.substring(2) : name;
            term.append("\\fB").append(escape(shown)).append("\\fR");
        }
        if (option.arity().max() > 0 && !option.type().equals(boolean.class) &&
            !option.type().equals(boolean[].class))
        {
            term.append('=').append("\\fI").append(escape(option.paramLabel())).append("\\fR");
        }
        return term.toString();
    }

    private static void section(final StringBuilder page, final String title)
    {
        page.append(".SH \"").append(title).append("\"\n");
    }

    private static void paragraphs(final StringBuilder page, final String[] lines)
    {
        final String joined = String.join(" ", lines).replace("%n", "\n").replace("%%", "%");
        boolean first = true;
        for (final String paragraph : joined.split("\n"))
        {
            if (paragraph.isBlank())
            {
                continue;
            }
            if (!first)
            {
                page.append(".br\n");
            }
            page.append(text(paragraph.strip())).append('\n');
            first = false;
        }
    }

    private static String firstSentence(final String[] description)
    {
        final String all = String.join(" ", description).replace("%n", " ").strip();
        final int end = all.indexOf(". ");
        return end < 0 ? (all.endsWith(".") ? all.substring(0, all.length() - 1) : all) : all.substring(0, end);
    }

    /**
     * @param footer a command's footer.
     * @return the lines after its "Example:" or "Examples:" heading, without their indentation.
     */
    static List<String> examples(final String[] footer)
    {
        final List<String> lines = new ArrayList<>();
        boolean in = false;
        for (final String line : footer)
        {
            if (line.strip().matches("Examples?:"))
            {
                in = true;
            }
            else if (in && !line.isBlank())
            {
                lines.add(line.startsWith("  ") ? line.substring(2) : line);
            }
        }
        return lines;
    }

    /**
     * @param text running text.
     * @return it as one line of troff text: escaped, and never read as a request.
     */
    private static String text(final String text)
    {
        return line(text.replace('\n', ' '));
    }

    private static String line(final String text)
    {
        final String escaped = escape(text);
        return escaped.startsWith(".") || escaped.startsWith("'") ? "\\&" + escaped : escaped;
    }

    /**
     * @param text anything.
     * @return it with troff's escape character and minus signs escaped (so options copy and paste as typed).
     */
    static String escape(final String text)
    {
        return text.replace("\\", "\\e").replace("-", "\\-");
    }
}
