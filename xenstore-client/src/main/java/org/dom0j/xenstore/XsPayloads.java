package org.dom0j.xenstore;

import org.dom0j.common.Errno;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * xs_wire payloads: NUL-terminated UTF-8 strings, one after another (docs/misc/xenstore.txt).
 * <p>
 * Stateless; any thread.
 */
final class XsPayloads
{
    /** A payload with nothing in it. */
    static final byte[] EMPTY = new byte[0];

    private XsPayloads()
    {
    }

    /**
     * @param values the strings.
     * @return each one, UTF-8, followed by a NUL.
     */
    static byte[] strings(final String... values)
    {
        int length = 0;
        final byte[][] encoded = new byte[values.length][];
        for (int i = 0; i < values.length; i++)
        {
            encoded[i] = values[i].getBytes(StandardCharsets.UTF_8);
            length += encoded[i].length + 1;
        }
        final byte[] out = new byte[length];
        int at = 0;
        for (final byte[] e : encoded)
        {
            System.arraycopy(e, 0, out, at, e.length);
            at += e.length + 1;
        }
        return out;
    }

    /**
     * @param path  a node's path.
     * @param value its value (not NUL-terminated on the wire).
     * @return a WRITE payload.
     */
    static byte[] pathAndValue(final String path, final byte[] value)
    {
        final byte[] p = path.getBytes(StandardCharsets.UTF_8);
        final byte[] payload = new byte[p.length + 1 + value.length];
        System.arraycopy(p, 0, payload, 0, p.length);
        System.arraycopy(value, 0, payload, p.length + 1, value.length);
        return payload;
    }

    /**
     * @param payload NUL-separated strings; the last may lack its NUL.
     * @return the strings, in order (an empty string where two NULs meet).
     */
    static List<String> splitStrings(final byte[] payload)
    {
        final List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < payload.length; i++)
        {
            if (payload[i] == 0)
            {
                out.add(new String(payload, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < payload.length)
        {
            out.add(new String(payload, start, payload.length - start, StandardCharsets.UTF_8));
        }
        return out;
    }

    /**
     * @param payload a payload.
     * @return its text up to the first NUL (all of it when there is none).
     */
    static String firstString(final byte[] payload)
    {
        int end = 0;
        while (end < payload.length && payload[end] != 0)
        {
            end++;
        }
        return new String(payload, 0, end, StandardCharsets.UTF_8);
    }

    /**
     * @param payload a reply.
     * @return its text with trailing NULs left out.
     */
    static String text(final byte[] payload)
    {
        int end = payload.length;
        while (end > 0 && payload[end - 1] == 0)
        {
            end--;
        }
        return new String(payload, 0, end, StandardCharsets.UTF_8);
    }

    /**
     * @param payload a reply holding a decimal number.
     * @param what    the request, for the error.
     * @return the number.
     * @throws XenStoreException EPROTO when it is not one.
     */
    static long parseNumber(final byte[] payload, final String what)
    {
        final String text = firstString(payload).trim();
        try
        {
            return Long.parseLong(text);
        }
        catch (final NumberFormatException ex)
        {
            throw new XenStoreException(Errno.EPROTO.number(), what + ": xenstored answered \"" + text + "\"");
        }
    }
}
