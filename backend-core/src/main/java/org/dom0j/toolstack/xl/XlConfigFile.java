package org.dom0j.toolstack.xl;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The syntax of an xl domain config file, as libxlutil reads it (xl.cfg(5)): {@code key = value} or
 * {@code key += value} settings, one per line or separated by {@code ;}; a value is a string in {@code '...'} or
 * {@code "..."} (C escapes: {@code \n \t \\ \' \" \xHH} and octal), a number, or a list {@code [ ..., ... ]} that may
 * span lines and end with a comma; {@code #} starts a comment. Keys are lower case ({@code [a-z][._0-9a-z]*}). A key
 * set twice keeps the last value (a warning says so), {@code +=} appends to a list or a string.
 * <p>
 * Every value keeps the line and column it starts at, so that {@link XlConfig} can say which line is wrong.
 * <p>
 * Immutable once parsed; any thread.
 */
public final class XlConfigFile
{
    /**
     * A value: an {@link Atom} or a {@link ListValue}.
     */
    public sealed interface Value permits Atom, ListValue
    {
        /**
         * @return the line it starts on, from 1.
         */
        int line();

        /**
         * @return the column it starts at, from 1.
         */
        int column();
    }

    /**
     * A string or a number, as written (strings unquoted and unescaped).
     *
     * @param text   the text.
     * @param quoted whether it was a quoted string.
     * @param line   its line.
     * @param column its column.
     */
    public record Atom(String text, boolean quoted, int line, int column) implements Value
    {
    }

    /**
     * A list.
     *
     * @param items  its items, in order.
     * @param line   the line of its {@code [}.
     * @param column the column of its {@code [}.
     */
    public record ListValue(List<Value> items, int line, int column) implements Value
    {
    }

    /**
     * One setting.
     *
     * @param key    the key.
     * @param value  its value.
     * @param line   the line of the key.
     * @param column the column of the key.
     */
    public record Setting(String key, Value value, int line, int column)
    {
    }

    private final String source;
    private final Map<String, Setting> settings;
    private final List<String> warnings;

    private XlConfigFile(final String source, final Map<String, Setting> settings, final List<String> warnings)
    {
        this.source = source;
        this.settings = Collections.unmodifiableMap(settings);
        this.warnings = List.copyOf(warnings);
    }

    /**
     * @param source the file's name, for messages.
     * @param text   its text.
     * @return the settings.
     * @throws XlConfigException at the first syntax error.
     */
    public static XlConfigFile parse(final String source, final String text)
    {
        final Parser parser = new Parser(source, text);
        parser.file();
        return new XlConfigFile(source, parser.settings, parser.warnings);
    }

    /**
     * @return the file's name.
     */
    public String source()
    {
        return source;
    }

    /**
     * @return the settings by key, in the order first set.
     */
    public Map<String, Setting> settings()
    {
        return settings;
    }

    /**
     * @param key a key.
     * @return its setting, or null.
     */
    public Setting get(final String key)
    {
        return settings.get(key);
    }

    /**
     * @return what is suspicious but allowed (a key set twice), with positions.
     */
    public List<String> warnings()
    {
        return warnings;
    }

    /**
     * Recursive descent over the characters; positions counted as it goes.
     */
    private static final class Parser
    {
        private final String source;
        private final String text;
        private final Map<String, Setting> settings = new LinkedHashMap<>();
        private final List<String> warnings = new ArrayList<>();
        private int pos;
        private int line = 1;
        private int lineStart;

        Parser(final String source, final String text)
        {
            this.source = source;
            this.text = text;
        }

        void file()
        {
            while (true)
            {
                skipBlanks();
                if (atEnd())
                {
                    return;
                }
                final char c = peek();
                if (c == '\n' || c == ';' || c == '#')
                {
                    skipEndOfStatement();
                    continue;
                }
                setting();
            }
        }

        private void setting()
        {
            final int keyLine = line;
            final int keyColumn = column();
            final char first = peek();
            if (first < 'a' || first > 'z')
            {
                throw error(keyLine, keyColumn, unexpected("a setting (a lower-case key, then '=')"));
            }
            final int start = pos;
            while (!atEnd() && isKeyChar(peek()))
            {
                advance();
            }
            final String key = text.substring(start, pos);
            skipBlanks();
            final boolean append;
            if (lookingAt("+="))
            {
                advance();
                advance();
                append = true;
            }
            else if (!atEnd() && peek() == '=')
            {
                advance();
                append = false;
            }
            else
            {
                throw error(line, column(), unexpected("'=' after " + key));
            }
            skipBlanks();
            final Value value = value(key);
            skipBlanks();
            if (!atEnd() && peek() != '\n' && peek() != ';' && peek() != '#')
            {
                throw error(line, column(), unexpected("the end of the line (or ';') after the value of " + key));
            }
            store(new Setting(key, value, keyLine, keyColumn), append);
        }

        private void store(final Setting setting, final boolean append)
        {
            final Setting previous = settings.get(setting.key());
            if (null == previous)
            {
                settings.put(setting.key(), setting);
                return;
            }
            if (!append)
            {
                warnings.add(source + ":" + setting.line() + ": " + setting.key() + " is set again (line " +
                    previous.line() + " set it first); the last value counts");
                settings.put(setting.key(), setting);
                return;
            }
            final Value before = previous.value();
            final Value more = setting.value();
            final Value joined;
            if (before instanceof ListValue a && more instanceof ListValue b)
            {
                final List<Value> items = new ArrayList<>(a.items());
                items.addAll(b.items());
                joined = new ListValue(List.copyOf(items), a.line(), a.column());
            }
            else if (before instanceof Atom a && more instanceof Atom b)
            {
                joined = new Atom(a.text() + b.text(), a.quoted() || b.quoted(), a.line(), a.column());
            }
            else
            {
                throw error(more.line(), more.column(), setting.key() + " += : cannot append a " + kind(more) +
                    " to a " + kind(before) + " (line " + previous.line() + ")");
            }
            settings.put(setting.key(), new Setting(setting.key(), joined, previous.line(), previous.column()));
        }

        private static String kind(final Value value)
        {
            return value instanceof ListValue ? "list" : "single value";
        }

        private Value value(final String key)
        {
            if (atEnd())
            {
                throw error(line, column(), "expected a value for " + key + " (a string, a number or a [list]), " +
                    "got the end of the file");
            }
            final char c = peek();
            if (c == '[')
            {
                return list(key);
            }
            if (c == '\'' || c == '"')
            {
                return string();
            }
            if (c >= '0' && c <= '9')
            {
                final int l = line;
                final int col = column();
                final int start = pos;
                while (!atEnd() && isNumberChar(peek()))
                {
                    advance();
                }
                return new Atom(text.substring(start, pos), false, l, col);
            }
            if (c == '(' || c == '{' || c == '-' || c == '+' || c == '.' || c == ':')
            {
                throw error(line, column(), unexpected("a value for " + key + " (a string, a number or a [list]; " +
                    "xl config files are not Python)"));
            }
            throw error(line, column(), unexpected("a value for " + key +
                " (a string in quotes, a number or a [list])"));
        }

        private ListValue list(final String key)
        {
            final int l = line;
            final int col = column();
            advance();
            final List<Value> items = new ArrayList<>();
            boolean wantItem = true;
            while (true)
            {
                skipBlanksAndNewlines();
                if (atEnd())
                {
                    throw error(l, col, "the list of " + key + " that starts here has no closing ']'");
                }
                final char c = peek();
                if (c == ']')
                {
                    advance();
                    return new ListValue(List.copyOf(items), l, col);
                }
                if (!wantItem)
                {
                    if (c != ',')
                    {
                        throw error(line, column(), unexpected("',' or ']' in the list of " + key));
                    }
                    advance();
                    wantItem = true;
                    continue;
                }
                if (c == ',')
                {
                    throw error(line, column(), unexpected("an item of the list of " + key + " before ','"));
                }
                items.add(value(key));
                wantItem = false;
            }
        }

        private Atom string()
        {
            final int l = line;
            final int col = column();
            final char quote = peek();
            advance();
            final StringBuilder out = new StringBuilder();
            while (true)
            {
                if (atEnd() || peek() == '\n')
                {
                    throw error(l, col, "this string has no closing " + quote + " on its line");
                }
                final char c = peek();
                advance();
                if (c == quote)
                {
                    return new Atom(out.toString(), true, l, col);
                }
                if (c != '\\')
                {
                    out.append(c);
                    continue;
                }
                if (atEnd() || peek() == '\n')
                {
                    throw error(l, col, "this string has no closing " + quote + " on its line");
                }
                final int escapeColumn = column() - 1;
                final char e = peek();
                advance();
                switch (e)
                {
                    case '"', '\'', '\\' -> out.append(e);
                    case 'a' -> out.append('\007');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'v' -> out.append('\013');
                    case 'x' -> out.append((char)digits(16, 2, 2, escapeColumn, "two hex digits after \\x"));
                    default ->
                    {
                        if (e >= '0' && e <= '7')
                        {
                            pos--;
                            out.append((char)digits(8, 1, 3, escapeColumn, "octal digits"));
                        }
                        else
                        {
                            throw error(line, escapeColumn, "unknown escape \\" + e + " in a string (known: \\n \\t " +
                                "\\r \\a \\b \\f \\v \\\\ \\' \\\" \\xHH and octal)");
                        }
                    }
                }
            }
        }

        private int digits(final int radix, final int min, final int max, final int escapeColumn, final String what)
        {
            int value = 0;
            int n = 0;
            while (n < max && !atEnd() && Character.digit(peek(), radix) >= 0)
            {
                value = value * radix + Character.digit(peek(), radix);
                advance();
                n++;
            }
            if (n < min)
            {
                throw error(line, escapeColumn, "expected " + what + " in this escape");
            }
            return value;
        }

        private void skipEndOfStatement()
        {
            final char c = peek();
            if (c == '#')
            {
                while (!atEnd() && peek() != '\n')
                {
                    advance();
                }
                if (!atEnd())
                {
                    advance();
                }
            }
            else
            {
                advance();
            }
        }

        private void skipBlanks()
        {
            while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\r'))
            {
                advance();
            }
        }

        private void skipBlanksAndNewlines()
        {
            while (!atEnd())
            {
                final char c = peek();
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                {
                    advance();
                }
                else if (c == '#')
                {
                    while (!atEnd() && peek() != '\n')
                    {
                        advance();
                    }
                }
                else
                {
                    return;
                }
            }
        }

        private String unexpected(final String expected)
        {
            if (atEnd())
            {
                return "expected " + expected + ", got the end of the file";
            }
            final char c = peek();
            return "expected " + expected + ", got " + (c == '\n' ? "the end of the line" : "'" + c + "'");
        }

        private static boolean isKeyChar(final char c)
        {
            return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.';
        }

        private static boolean isNumberChar(final char c)
        {
            return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == 'x';
        }

        private boolean lookingAt(final String s)
        {
            return text.startsWith(s, pos);
        }

        private boolean atEnd()
        {
            return pos >= text.length();
        }

        private char peek()
        {
            return text.charAt(pos);
        }

        private void advance()
        {
            if (text.charAt(pos) == '\n')
            {
                line++;
                lineStart = pos + 1;
            }
            pos++;
        }

        private int column()
        {
            return pos - lineStart + 1;
        }

        private XlConfigException error(final int l, final int col, final String reason)
        {
            return new XlConfigException(source, l, col, reason);
        }
    }
}
