package org.dom0j.xenstore;

import java.nio.charset.StandardCharsets;

/**
 * The rules xenstored applies to node names, checked on the client before sending and on the simulator's server on
 * receipt (C xenstored's {@code is_valid_nodename} and {@code valid_chars}): characters {@code A-Z a-z 0-9 - / _ @},
 * no "//", no trailing '/' (except "/"), absolute paths at most 3072 bytes, relative ones at most 2048, and
 * an absolute path at most 2048 bytes beyond its {@code /local/domain/N/} prefix (the whole path when it has
 * none). "@introduceDomain" and "@releaseDomain" are the special paths a watch (and GET/SET_PERMS) may name.
 * <p>
 * Stateless; any thread.
 */
public final class XsPaths
{
    /** The special path that fires when a domain is introduced. */
    public static final String INTRODUCE_DOMAIN = "@introduceDomain";
    /** The special path that fires when a domain is released (or dies). */
    public static final String RELEASE_DOMAIN = "@releaseDomain";
    /** Where every domain's own subtree lives. */
    public static final String LOCAL_DOMAIN = "/local/domain/";

    private XsPaths()
    {
    }

    /**
     * @param path         the path as given.
     * @param allowSpecial whether "@..." names are allowed (watches, permissions).
     * @return null when the path is acceptable, otherwise a sentence saying why not.
     */
    public static String whyInvalid(final String path, final boolean allowSpecial)
    {
        if (null == path || path.isEmpty())
        {
            return "empty path";
        }
        for (int i = 0; i < path.length(); i++)
        {
            final char c = path.charAt(i);
            if (!validChar(c))
            {
                return "character " + describe(c) + " at index " + i + " is not allowed in a xenstore path " +
                    "(only A-Z a-z 0-9 - / _ @)";
            }
        }
        final int length = path.getBytes(StandardCharsets.UTF_8).length;
        if (path.charAt(0) == '@')
        {
            if (!allowSpecial)
            {
                return "special path " + path + " is only allowed for watches and permissions";
            }
            return length > XsWireDescriptor.REL_PATH_MAX ? "path longer than " + XsWireDescriptor.REL_PATH_MAX : null;
        }
        if (path.length() > 1 && path.endsWith("/"))
        {
            return "path ends with '/'";
        }
        if (path.contains("//"))
        {
            return "path contains \"//\"";
        }
        if (path.charAt(0) != '/')
        {
            return length > XsWireDescriptor.REL_PATH_MAX ?
                "relative path is " + length + " bytes, longer than " + XsWireDescriptor.REL_PATH_MAX : null;
        }
        if (length > XsWireDescriptor.ABS_PATH_MAX)
        {
            return "absolute path is " + length + " bytes, longer than " + XsWireDescriptor.ABS_PATH_MAX;
        }
        final int local = localPrefixLength(path);
        if (length - local > XsWireDescriptor.REL_PATH_MAX)
        {
            return "path below " + path.substring(0, Math.max(local, 1)) + " is longer than " +
                XsWireDescriptor.REL_PATH_MAX + " bytes";
        }
        return null;
    }

    /**
     * @param path an absolute path.
     * @return the length of a leading "/local/domain/N/" (N of at most 5 digits), or 0.
     */
    public static int localPrefixLength(final String path)
    {
        if (!path.startsWith(LOCAL_DOMAIN))
        {
            return 0;
        }
        int i = LOCAL_DOMAIN.length();
        final int start = i;
        while (i < path.length() && i - start < 5 && Character.isDigit(path.charAt(i)))
        {
            i++;
        }
        if (i == start || i >= path.length() || path.charAt(i) != '/')
        {
            return 0;
        }
        return i + 1;
    }

    /**
     * @param c a character.
     * @return whether xenstored accepts it in a node name.
     */
    public static boolean validChar(final char c)
    {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '/' || c == '_' || c == '@';
    }

    /**
     * @param child  an absolute path.
     * @param parent an absolute path.
     * @return whether {@code child} is {@code parent} or lies below it.
     */
    public static boolean isAtOrBelow(final String child, final String parent)
    {
        if (!child.startsWith(parent))
        {
            return false;
        }
        return child.length() == parent.length() || parent.equals("/") || child.charAt(parent.length()) == '/';
    }

    /**
     * @param child  a path at or below {@code parent}.
     * @param parent a path.
     * @return how many levels {@code child} lies below {@code parent} (0 when equal).
     */
    public static int depthBelow(final String child, final String parent)
    {
        if (child.length() == parent.length())
        {
            return 0;
        }
        int depth = parent.equals("/") ? 1 : 0;
        for (int i = parent.length(); i < child.length(); i++)
        {
            if (child.charAt(i) == '/')
            {
                depth++;
            }
        }
        return depth;
    }

    /**
     * @param path an absolute path other than "/".
     * @return its parent ("/" for a top-level node).
     */
    public static String parent(final String path)
    {
        final int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    /**
     * @param parent an absolute path.
     * @param name   a child's name.
     * @return the child's absolute path.
     */
    public static String child(final String parent, final String name)
    {
        return parent.equals("/") ? "/" + name : parent + "/" + name;
    }

    private static String describe(final char c)
    {
        return c < 0x20 || c > 0x7e ? String.format("U+%04X", (int)c) : "'" + c + "'";
    }
}
