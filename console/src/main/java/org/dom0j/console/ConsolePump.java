package org.dom0j.console;

import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.QueueHandler;
import org.dom0j.protocol.console.XenconsDescriptor;

/**
 * Moves a console's bytes: the guest's output from its page to the {@link ConsoleSession} (log and clients), and
 * held input from the session into the page. For a secondary console it is the device type's
 * {@link QueueHandler}; {@link PrimaryConsoles} runs one per primary console itself.
 * <p>
 * Output is taken a ring at most per call, so a chatty guest cannot starve input, and no faster than the session's
 * rate limit ({@link ConsoleConfiguration#rateLimitBytes} per period, as xenconsoled): once a guest has spent its
 * allowance its output stays on its page until the next period, the pass reports no work for it (so its agent
 * idles, and a thread it shares is free for the other consoles), and the period is counted in
 * {@link ConsoleCounters#throttled}. Input is still moved while output is held back.
 * <p>
 * One agent thread calls it.
 */
public final class ConsolePump implements QueueHandler
{
    /**
     * Longest sleep of a quiet secondary console's agent: the guest's output and its taking of input come with its
     * events, and input from clients with a wake-up ({@link ConsoleSession#onInput}).
     */
    static final long IDLE_WAIT_NANOS = 1_000_000_000L;

    private final ConsoleRing ring;
    private final ConsoleSession session;
    private final ConsoleRateLimit rateLimit;
    private final byte[] output = new byte[XenconsDescriptor.OUT_SIZE];

    /**
     * @param ring    the console's page.
     * @param session where output goes and input comes from; its configuration gives the rate limit.
     */
    public ConsolePump(final ConsoleRing ring, final ConsoleSession session)
    {
        this.ring = ring;
        this.session = session;
        this.rateLimit = ConsoleRateLimit.of(session.configuration());
    }

    /**
     * @return the page's end.
     */
    public ConsoleRing ring()
    {
        return ring;
    }

    /**
     * @return the session.
     */
    public ConsoleSession session()
    {
        return session;
    }

    /**
     * Moves what there is in both directions, once: output as far as the rate limit allows, and held input.
     *
     * @param nowNanos the current {@link System#nanoTime()}.
     * @return bytes moved; the guest should be notified when positive (out_cons or in_prod moved).
     */
    public int transfer(final long nowNanos)
    {
        int out = 0;
        final int allowed = rateLimit.available(nowNanos);
        if (allowed > 0)
        {
            out = ring.readOutput(output, 0, Math.min(allowed, output.length));
            rateLimit.consume(out);
            session.output(output, out);
        }
        if (rateLimit.spent(nowNanos) && ring.unreadOutput() > 0 && rateLimit.holdBack())
        {
            session.counters().throttled().incrementRelease();
        }
        return out + session.takeInput(ring);
    }

    /**
     * @param nowNanos the current {@link System#nanoTime()}.
     * @return whether the guest has spent its allowance for the period running now (its output waits).
     */
    public boolean throttled(final long nowNanos)
    {
        return rateLimit.spent(nowNanos);
    }

    /**
     * Takes what output is left on the page (at most one ring) into the session, so a guest's last words (a panic
     * message before it closed its console, or died) reach the log; the rate limit does not apply (one ring, once).
     * Called before the page is unmapped.
     *
     * @return bytes taken.
     */
    public int drainOutput()
    {
        final int out = ring.readOutput(output, 0, output.length);
        session.output(output, out);
        return out;
    }

    @Override
    public void onClose(final ConnectedQueue queue)
    {
        session.onInput(null);
        drainOutput();
    }

    /**
     * Sleeps long while idle (a hundred secondary consoles polled every millisecond took most of a CPU of dom0j
     * serve): the guest notifies when it writes output or takes input, and input from clients wakes the agent
     * ({@link ConsoleSession#onInput}, set by {@link ConsoleDeviceType}). Output the rate limit holds back goes on
     * when the period ends, which no event announces: until then.
     */
    @Override
    public long idleWaitNanos(final ConnectedQueue queue, final long nowNanos)
    {
        if (rateLimit.spent(nowNanos) && ring.unreadOutput() > 0)
        {
            return rateLimit.periodLeftNanos(nowNanos);
        }
        return IDLE_WAIT_NANOS;
    }

    @Override
    public int doWork(final ConnectedQueue queue)
    {
        final int moved = transfer(System.nanoTime());
        if (ring.violation() != null)
        {
            queue.disable(ring.violation());
        }
        else if (moved > 0)
        {
            queue.counters().requests().incrementRelease();
            queue.notifyFrontend();
        }
        return moved;
    }
}
