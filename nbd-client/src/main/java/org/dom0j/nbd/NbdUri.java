package org.dom0j.nbd;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * Where an NBD export is, in the NBD URI format ({@code doc/uri.md} of the NetworkBlockDevice/nbd repository):
 * <ul>
 *   <li>{@code nbd://host[:port][/export]}: TCP; the port defaults to 10809 (IANA's); IPv6 literals in brackets.</li>
 *   <li>{@code nbd+unix:///[export]?socket=/path/to.sock}: a Unix domain socket, named by the {@code socket}
 *       query parameter; the authority must be empty.</li>
 * </ul>
 * The export name is the path without its leading {@code /}, percent-decoded as UTF-8: {@code nbd://h} and
 * {@code nbd://h/} both name the default export (the empty name), {@code nbd://h//disk} names {@code /disk}. Query
 * parameters starting with {@code x-} are experimental ones the URI specification tells clients to tolerate and are
 * ignored; any other unknown parameter is refused, as the specification asks. TLS ({@code nbds}, {@code nbds+unix},
 * {@code tls-*} parameters, user info) and abstract Unix sockets are not supported and are refused by name.
 * <p>
 * Immutable; any thread.
 */
public final class NbdUri
{
    private final String text;
    private final String host;
    private final int port;
    private final Path socketPath;
    private final String exportName;

    private NbdUri(final String text, final String host, final int port, final Path socketPath, final String export)
    {
        this.text = text;
        this.host = host;
        this.port = port;
        this.socketPath = socketPath;
        this.exportName = export;
    }

    /**
     * @param uri an {@code nbd://} or {@code nbd+unix://} URI.
     * @return what it names.
     * @throws IllegalArgumentException naming what is wrong with it.
     */
    public static NbdUri parse(final String uri)
    {
        Objects.requireNonNull(uri, "uri");
        final URI parsed;
        try
        {
            parsed = new URI(uri);
        }
        catch (final URISyntaxException ex)
        {
            throw new IllegalArgumentException("not a valid URI: '" + uri + "': " + ex.getMessage(), ex);
        }
        final String scheme = parsed.getScheme() == null ? null : parsed.getScheme().toLowerCase(Locale.ROOT);
        if (scheme == null || parsed.isOpaque())
        {
            throw new IllegalArgumentException("not an NBD URI: '" + uri + "' (expected nbd://host[:port][/export] or "
                + "nbd+unix:///export?socket=/path)");
        }
        final boolean unix;
        switch (scheme)
        {
            case "nbd":
                unix = false;
                break;
            case "nbd+unix":
                unix = true;
                break;
            case "nbds":
            case "nbds+unix":
                throw new IllegalArgumentException("'" + uri + "': " + scheme + " asks for TLS, which this client "
                    + "does not support");
            default:
                throw new IllegalArgumentException("'" + uri + "': scheme '" + scheme + "' is not supported (expected "
                    + "nbd or nbd+unix)");
        }
        if (parsed.getRawFragment() != null)
        {
            throw new IllegalArgumentException("'" + uri + "': an NBD URI has no fragment ('#" + parsed.getRawFragment()
                + "')");
        }
        if (parsed.getRawUserInfo() != null)
        {
            throw new IllegalArgumentException("'" + uri + "': user info ('" + parsed.getRawUserInfo() + "@') is only "
                + "used for TLS authentication, which this client does not support");
        }

        final String rawPath = parsed.getRawPath() == null ? "" : parsed.getRawPath();
        final String export = rawPath.isEmpty() ? "" : decode(uri, "export name", rawPath.substring(1));
        checkString(uri, "export name", export);

        Path socket = null;
        if (parsed.getRawQuery() != null)
        {
            for (final String parameter : parsed.getRawQuery().split("&", -1))
            {
                final int equals = parameter.indexOf('=');
                final String key = decode(uri, "query parameter",
                    equals < 0 ? parameter : parameter.substring(0, equals));
                final String value = equals < 0 ? "" :
                    decode(uri, "query parameter " + key, parameter.substring(equals + 1));
                if ("socket".equals(key))
                {
                    if (!unix)
                    {
                        throw new IllegalArgumentException("'" + uri + "': the socket parameter is only for nbd+unix "
                            + "URIs");
                    }
                    if (socket != null)
                    {
                        throw new IllegalArgumentException("'" + uri + "': the socket parameter is given twice");
                    }
                    if (value.isEmpty())
                    {
                        throw new IllegalArgumentException("'" + uri + "': the socket parameter is empty");
                    }
                    if (value.charAt(0) == 0)
                    {
                        throw new IllegalArgumentException("'" + uri + "': abstract Unix sockets (socket=%00...) are "
                            + "not supported");
                    }
                    checkString(uri, "socket path", value);
                    socket = Path.of(value);
                }
                else if (key.startsWith("tls-"))
                {
                    throw new IllegalArgumentException("'" + uri + "': query parameter '" + key + "' is for TLS, "
                        + "which this client does not support");
                }
                else if (!key.startsWith("x-"))
                {
                    throw new IllegalArgumentException("'" + uri + "': unknown query parameter '" + key + "'");
                }
            }
        }

        if (unix)
        {
            if (parsed.getRawAuthority() != null)
            {
                throw new IllegalArgumentException("'" + uri + "': an nbd+unix URI names no host ('"
                    + parsed.getRawAuthority() + "'); the socket is given by ?socket=/path");
            }
            if (socket == null)
            {
                throw new IllegalArgumentException("'" + uri + "': an nbd+unix URI needs the socket parameter "
                    + "(nbd+unix:///export?socket=/path/to.sock)");
            }
            return new NbdUri(uri, null, 0, socket, export);
        }

        if (parsed.getRawAuthority() == null)
        {
            throw new IllegalArgumentException("'" + uri + "': an nbd URI needs a host (nbd://host[:port][/export])");
        }
        if (parsed.getHost() == null)
        {
            throw new IllegalArgumentException("'" + uri + "': '" + parsed.getRawAuthority() + "' is not a valid "
                + "host[:port]");
        }
        final int port = parsed.getPort() < 0 ? NbdConstants.DEFAULT_PORT : parsed.getPort();
        if (port < 1 || port > 65535)
        {
            throw new IllegalArgumentException("'" + uri + "': port " + port + " is not in 1..65535");
        }
        String host = parsed.getHost();
        if (host.startsWith("[") && host.endsWith("]"))
        {
            host = host.substring(1, host.length() - 1);
        }
        return new NbdUri(uri, host, port, null, export);
    }

    /**
     * @param host       a host name or IP address.
     * @param port       the TCP port.
     * @param exportName the export; empty for the server's default.
     * @return the URI {@code nbd://host:port/exportName}.
     */
    public static NbdUri tcp(final String host, final int port, final String exportName)
    {
        final String literal = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return parse("nbd://" + literal + ":" + port + "/" + encode(exportName, false));
    }

    /**
     * @param socket     the server's Unix domain socket.
     * @param exportName the export; empty for the server's default.
     * @return the URI {@code nbd+unix:///exportName?socket=socket}.
     */
    public static NbdUri unix(final Path socket, final String exportName)
    {
        return parse("nbd+unix:///" + encode(exportName, false) + "?socket=" + encode(socket.toString(), true));
    }

    /**
     * @return true for {@code nbd+unix}, false for TCP.
     */
    public boolean isUnix()
    {
        return socketPath != null;
    }

    /**
     * @return the host for TCP (IPv6 without brackets), null for a Unix socket.
     */
    public String host()
    {
        return host;
    }

    /**
     * @return the TCP port (10809 unless the URI says otherwise); 0 for a Unix socket.
     */
    public int port()
    {
        return port;
    }

    /**
     * @return the Unix socket's path, or null for TCP.
     */
    public Path socketPath()
    {
        return socketPath;
    }

    /**
     * @return the export name, decoded; empty for the server's default export.
     */
    public String exportName()
    {
        return exportName;
    }

    /**
     * @return the address to connect to; for TCP the host name is resolved now.
     */
    public SocketAddress socketAddress()
    {
        return socketPath != null ? UnixDomainSocketAddress.of(socketPath) : new InetSocketAddress(host, port);
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof NbdUri && text.equals(((NbdUri)other).text);
    }

    @Override
    public int hashCode()
    {
        return text.hashCode();
    }

    /**
     * @return the URI as given.
     */
    @Override
    public String toString()
    {
        return text;
    }

    private static void checkString(final String uri, final String what, final String value)
    {
        if (value.indexOf(0) >= 0)
        {
            throw new IllegalArgumentException("'" + uri + "': the " + what + " contains a NUL character");
        }
        final int bytes = value.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > NbdConstants.MAX_STRING_LENGTH)
        {
            throw new IllegalArgumentException("'" + uri + "': the " + what + " is " + bytes + " bytes long; NBD "
                + "allows " + NbdConstants.MAX_STRING_LENGTH);
        }
    }

    private static String decode(final String uri, final String what, final String raw)
    {
        if (raw.indexOf('%') < 0)
        {
            return raw;
        }
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++)
        {
            if (raw.charAt(i) != '%')
            {
                final int next = raw.indexOf('%', i);
                final int end = next < 0 ? raw.length() : next;
                final byte[] plain = raw.substring(i, end).getBytes(StandardCharsets.UTF_8);
                bytes.write(plain, 0, plain.length);
                i = end - 1;
                continue;
            }
            final int high = i + 1 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
            final int low = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 2), 16) : -1;
            if (high < 0 || low < 0)
            {
                throw new IllegalArgumentException("'" + uri + "': bad percent-encoding in the " + what);
            }
            bytes.write(high << 4 | low);
            i += 2;
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static String encode(final String value, final boolean keepSlash)
    {
        final StringBuilder out = new StringBuilder(value.length());
        for (final byte b : value.getBytes(StandardCharsets.UTF_8))
        {
            final char c = (char)(b & 0xFF);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                c == '_' || c == '~' || (keepSlash && c == '/'))
            {
                out.append(c);
            }
            else
            {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                    .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return out.toString();
    }
}
