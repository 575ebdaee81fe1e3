package org.dom0j.evtchn;

/**
 * Event channels bound through one handle (libxenevtchn; the kernel's /dev/xen/evtchn). Ports are this domain's
 * local port numbers. A port that fired is reported once by {@link #pending} and stays masked until
 * {@link #unmask}, as with the kernel device.
 * <p>
 * <b>Errors</b>: {@link EventChannelException} with errno: EINVAL for a port out of range, or a remote port that is
 * not unbound for this domain (as Xen's evtchn_bind_interdomain); ENOTCONN for a port this handle has not bound
 * (as the Linux evtchn device); ESRCH for a remote domain that does not exist; ENOSPC when the domain has no free
 * port.
 * <p>
 * <b>Semantics</b> (Xen's): binding an interdomain channel raises the new local port once, since events sent to
 * the unbound end may have been lost; a notify on a port whose remote end is still unbound is accepted and goes
 * nowhere; unbinding one end of an interdomain channel makes the other end unbound again, offered to this domain.
 * <p>
 * <b>Threads</b>: binding, unbinding and notifying may happen from any thread; {@link #pending} is called by the
 * one thread that waits on this handle (an agent's idle strategy).
 */
public interface EventChannels extends AutoCloseable
{
    /**
     * @param remoteDomid the other domain.
     * @param remotePort  its port, allocated unbound for this domain.
     * @return the local port.
     */
    int bindInterdomain(int remoteDomid, int remotePort);

    /**
     * @param remoteDomid the domain that may bind to the new port.
     * @return the new local port, unbound until the remote binds it.
     */
    int bindUnboundPort(int remoteDomid);

    /**
     * @param port a local port bound by this handle.
     */
    void unbind(int port);

    /**
     * Sends an event to the other end of the port.
     *
     * @param port a local port bound by this handle.
     */
    void notify(int port);

    /**
     * @return a port that fired and is now masked, or -1 when none has (never blocks).
     */
    int pending();

    /**
     * @param timeoutNanos how long to wait at most; 0 does not wait.
     * @return a port that fired and is now masked, or -1 when none did in time.
     */
    int pending(long timeoutNanos);

    /**
     * Waits until an event may be pending on this handle, without taking it: the agent's next {@link #pending()}
     * call finds it. This is what {@link EventChannelIdleStrategy} blocks in. May return early (spuriously).
     *
     * @param timeoutNanos how long to wait at most; 0 does not wait.
     * @return true when an event may be pending.
     */
    boolean awaitEvent(long timeoutNanos);

    /**
     * Makes a thread blocked in {@link #awaitEvent} on this handle return now (a spurious wake-up, as awaitEvent
     * allows), or the next call return at once if none is blocked. Another agent uses it to tell this handle's agent
     * that there is work for it that did not come from the ring (a frame for a vif from another vif or from a TAP).
     * Any thread; cheap when nobody waits.
     */
    void wakeup();

    /**
     * Unmasks a port after its event has been handled; an event that arrived while masked fires at once.
     *
     * @param port a local port bound by this handle.
     */
    void unmask(int port);

    @Override
    void close();
}
