package org.dom0j.backend;

/**
 * The states of a xenbus device end, with the integer values of {@code xen/include/public/io/xenbus.h}. Each end
 * writes its own state to {@code <its directory>/state} as a decimal string.
 * <p>
 * Immutable: any thread.
 */
public enum XenbusState
{
    /** 0: the state node is missing or unreadable. */
    UNKNOWN(0),
    /** 1: the end is being set up. */
    INITIALISING(1),
    /** 2: the backend waits for the frontend's details (ring refs, event channel) before connecting. */
    INIT_WAIT(2),
    /** 3: the frontend has written its details. */
    INITIALISED(3),
    /** 4: rings connected, requests flowing. */
    CONNECTED(4),
    /** 5: the end is going away, for an unplug or a fatal error. */
    CLOSING(5),
    /** 6: the end has disconnected. */
    CLOSED(6),
    /** 7: reconfiguration in progress (pciback). */
    RECONFIGURING(7),
    /** 8: reconfiguration done. */
    RECONFIGURED(8);

    private static final XenbusState[] BY_VALUE = values();

    private final int value;

    XenbusState(final int value)
    {
        this.value = value;
    }

    /**
     * @return the integer xenbus.h gives it.
     */
    public int value()
    {
        return value;
    }

    /**
     * @param value an integer read from xenstore.
     * @return its state, or {@link #UNKNOWN} when out of range.
     */
    public static XenbusState fromValue(final int value)
    {
        return value >= 0 && value < BY_VALUE.length ? BY_VALUE[value] : UNKNOWN;
    }

    /**
     * Reads a {@code state} node as Linux's {@code xenbus_read_driver_state} does: anything that is not a small
     * decimal number (a missing node, "abc", "99") is {@link #UNKNOWN}.
     *
     * @param text the node's value, or null when it does not exist.
     * @return the state.
     */
    public static XenbusState parse(final String text)
    {
        if (text == null || text.isEmpty() || text.length() > 2)
        {
            return UNKNOWN;
        }
        int v = 0;
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            if (c < '0' || c > '9')
            {
                return UNKNOWN;
            }
            v = v * 10 + (c - '0');
        }
        return fromValue(v);
    }

    /**
     * @return the value as written to xenstore.
     */
    public String wireValue()
    {
        return Integer.toString(value);
    }
}
