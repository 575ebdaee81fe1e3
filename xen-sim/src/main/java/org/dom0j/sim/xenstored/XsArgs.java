package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.xenstore.XsWireDescriptor;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Arguments of xs_wire requests as {@link SimXenstored} parses them: NUL-separated strings, decimal numbers and
 * domids, each malformed one answered with EINVAL. Stateless; any thread.
 */
final class XsArgs
{
    private XsArgs()
    {
    }

    /**
     * @param payload a request's payload.
     * @return its one NUL-terminated string.
     * @throws XsError EINVAL when it is not exactly one.
     */
    static String oneArg(final byte[] payload)
    {
        if (payload.length == 0 || payload[payload.length - 1] != 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        for (int i = 0; i < payload.length - 1; i++)
        {
            if (payload[i] == 0)
            {
                throw new XsError(Errno.EINVAL);
            }
        }
        return new String(payload, 0, payload.length - 1, StandardCharsets.UTF_8);
    }

    /**
     * @param payload a request's payload.
     * @return its NUL-terminated strings (an unterminated tail is left out).
     */
    static List<String> strings(final byte[] payload)
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
        return out;
    }

    /**
     * @param values   strings.
     * @param extraNul whether to end with one more NUL.
     * @return each followed by a NUL.
     */
    static byte[] joinStrings(final List<String> values, final boolean extraNul)
    {
        final StringBuilder sb = new StringBuilder();
        for (final String v : values)
        {
            sb.append(v).append('\0');
        }
        if (extraNul)
        {
            sb.append('\0');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * @param text a domid in decimal.
     * @return it.
     * @throws XsError EINVAL when it is not a number or not below DOMID_FIRST_RESERVED.
     */
    static int domid(final String text)
    {
        final long v = number(text);
        if (v < 0 || v >= XsWireDescriptor.DOMID_FIRST_RESERVED)
        {
            throw new XsError(Errno.EINVAL);
        }
        return (int)v;
    }

    /**
     * @param text anything.
     * @return whether it is a decimal number of at most 18 digits.
     */
    static boolean isNumber(final String text)
    {
        if (text.isEmpty() || text.length() > 18)
        {
            return false;
        }
        for (int i = 0; i < text.length(); i++)
        {
            if (!Character.isDigit(text.charAt(i)))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @param text a decimal number.
     * @return it.
     * @throws XsError EINVAL when it is not one.
     */
    static long number(final String text)
    {
        if (!isNumber(text))
        {
            throw new XsError(Errno.EINVAL);
        }
        return Long.parseLong(text);
    }
}
