package org.dom0j.netback;

/**
 * Something the {@link L2Switch} delivers frames to: a guest's vif, a TAP into dom0's network stack, an Aeron link
 * to another host's switch.
 * <p>
 * {@link #deliver} is called by whichever agent forwards the frame, concurrently: it must be thread safe and must
 * not block (queue the frame, or drop it).
 */
interface SwitchPort
{
    /**
     * @param frame    a frame, local, or by reference when the port {@link #acceptsReferences()} (valid only during the
     *                 call).
     * @param nowNanos the current time.
     * @return false when the frame was dropped.
     */
    boolean deliver(Frame frame, long nowNanos);

    /**
     * @return a name for logs and counters, e.g. "vif3.0".
     */
    String name();

    /**
     * @return whether the port takes a frame whose bytes are still in a guest's pages (a guest's vif copies them
     *         straight into its own guest's pages); an uplink needs every byte local. False by default.
     */
    default boolean acceptsReferences()
    {
        return false;
    }

    /**
     * @return the one unicast address behind this port (a guest's {@code mac}), or -1 when it learns many (an uplink).
     */
    long fixedMac();
}
