package org.dom0j.backend;

import org.dom0j.ring.SharedRingDescriptor;

import java.util.function.Function;

/**
 * Reads what a frontend wrote to its xenstore directory, treating every value as hostile ("buggy or malicious
 * guest"): decimal only, no sign, no spaces, bounded length, range-checked; a failure names the node, the value and
 * why, as an {@link InvalidFrontendException}.
 * <p>
 * Holds only the read function: use it on the thread that may use that function (the conductor's).
 */
public final class XenbusValues
{
    /** Longest value accepted for a number; anything longer is refused before parsing. */
    public static final int MAX_NUMBER_LENGTH = 10;

    /** Largest event channel port a guest may name (the FIFO ABI's limit is 2^17). */
    public static final int MAX_EVTCHN_PORT = (1 << 17) - 1;

    private final Function<String, String> read;

    /**
     * @param read reads a node, returning null when it is missing (e.g. {@code xenStore::readOrNull}).
     */
    public XenbusValues(final Function<String, String> read)
    {
        this.read = read;
    }

    /**
     * @param path a node.
     * @return its raw value, or null.
     */
    public String readOrNull(final String path)
    {
        return read.apply(path);
    }

    /**
     * Parses a decimal number the way a careful backend should: digits only, at most {@link #MAX_NUMBER_LENGTH} of
     * them, within {@code [min, max]}.
     *
     * @param path  the node (for the message).
     * @param value its value, or null when missing.
     * @param min   smallest allowed.
     * @param max   largest allowed (at most 2^32 - 1).
     * @return the value.
     * @throws InvalidFrontendException when it is missing, not a number, or out of range.
     */
    public static long parseUnsigned(final String path, final String value, final long min, final long max)
        throws InvalidFrontendException
    {
        if (value == null)
        {
            throw new InvalidFrontendException(path, null, "required");
        }
        if (value.isEmpty() || value.length() > MAX_NUMBER_LENGTH)
        {
            throw new InvalidFrontendException(path, value, "not a decimal number of 1.." + MAX_NUMBER_LENGTH +
                " digits");
        }
        long v = 0;
        for (int i = 0; i < value.length(); i++)
        {
            final char c = value.charAt(i);
            if (c < '0' || c > '9')
            {
                throw new InvalidFrontendException(path, value, "not a decimal number");
            }
            v = v * 10 + (c - '0');
        }
        if (v < min || v > max)
        {
            throw new InvalidFrontendException(path, value, "out of range " + min + ".." + max);
        }
        return v;
    }

    /**
     * @param path a node that must hold a number in range.
     * @param min  smallest allowed.
     * @param max  largest allowed.
     * @return the number.
     * @throws InvalidFrontendException when missing or bad.
     */
    public long readUnsigned(final String path, final long min, final long max) throws InvalidFrontendException
    {
        return parseUnsigned(path, read.apply(path), min, max);
    }

    /**
     * @param path         a node that may be missing.
     * @param min          smallest allowed.
     * @param max          largest allowed.
     * @param defaultValue returned when it is missing.
     * @return the number or the default.
     * @throws InvalidFrontendException when present but bad.
     */
    public long readUnsigned(final String path, final long min, final long max, final long defaultValue)
        throws InvalidFrontendException
    {
        final String value = read.apply(path);
        return value == null ? defaultValue : parseUnsigned(path, value, min, max);
    }

    /**
     * @param path a node holding a grant ref.
     * @return the ref (an unsigned 32-bit value in an int).
     * @throws InvalidFrontendException when missing or bad.
     */
    public int readGrantRef(final String path) throws InvalidFrontendException
    {
        return (int)readUnsigned(path, 0, 0xFFFF_FFFFL);
    }

    /**
     * @param path a node holding an event channel port.
     * @return the port, 1 to {@link #MAX_EVTCHN_PORT}.
     * @throws InvalidFrontendException when missing or bad (port 0 is never valid).
     */
    public int readEventChannel(final String path) throws InvalidFrontendException
    {
        return (int)readUnsigned(path, 1, MAX_EVTCHN_PORT);
    }

    /**
     * @param dir                the frontend directory (or a {@code queue-N} directory below it).
     * @param maxRingPageOrder   the largest order this backend advertised in {@code max-ring-page-order}.
     * @return the grant refs of the ring's pages: {@code ring-ref} when {@code ring-page-order} is missing (or 0 and
     *         {@code ring-ref} is present), else {@code ring-ref0 .. ring-ref<2^order - 1>}.
     * @throws InvalidFrontendException when the order is out of range or a ref is missing or bad.
     */
    public int[] readRingRefs(final String dir, final int maxRingPageOrder) throws InvalidFrontendException
    {
        if (maxRingPageOrder < 0 || maxRingPageOrder > SharedRingDescriptor.MAX_RING_PAGE_ORDER)
        {
            throw new IllegalArgumentException("max ring page order " + maxRingPageOrder);
        }
        final String orderPath = dir + "/ring-page-order";
        final String orderValue = read.apply(orderPath);
        if (orderValue == null)
        {
            return new int[]{ readGrantRef(dir + "/ring-ref") };
        }
        final int order = (int)parseUnsigned(orderPath, orderValue, 0, maxRingPageOrder);
        if (order == 0 && read.apply(dir + "/ring-ref") != null)
        {
            return new int[]{ readGrantRef(dir + "/ring-ref") };
        }
        final int[] refs = new int[1 << order];
        for (int i = 0; i < refs.length; i++)
        {
            refs[i] = readGrantRef(dir + "/ring-ref" + i);
        }
        return refs;
    }

    /**
     * @param dir          the frontend directory.
     * @param defaultValue the ABI assumed when the node is missing (the backend's own).
     * @return the protocol the frontend named.
     * @throws InvalidFrontendException when it names none we know.
     */
    public RingProtocol readProtocol(final String dir, final RingProtocol defaultValue)
        throws InvalidFrontendException
    {
        final String path = dir + "/protocol";
        final String value = read.apply(path);
        if (value == null)
        {
            return defaultValue;
        }
        final RingProtocol protocol = RingProtocol.ofWireName(value);
        if (protocol == null)
        {
            throw new InvalidFrontendException(path, value, "unknown protocol (x86_32-abi, x86_64-abi, arm-abi)");
        }
        return protocol;
    }

    /**
     * @param path a boolean feature node ("0" or "1"), e.g. {@code feature-persistent}.
     * @return true for "1", false when missing or "0".
     * @throws InvalidFrontendException for any other value.
     */
    public boolean readFeature(final String path) throws InvalidFrontendException
    {
        return readUnsigned(path, 0, 1, 0) == 1;
    }
}
