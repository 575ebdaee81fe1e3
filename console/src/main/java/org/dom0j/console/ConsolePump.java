package org.dom0j.console;

import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.QueueHandler;
import org.dom0j.protocol.console.XenconsDescriptor;

/**
 * Moves a console's bytes: the guest's output from its page to the {@link ConsoleSession} (log and clients), and
 * held input from the session into the page. For a secondary console it is the device type's
 * {@link QueueHandler}; {@link PrimaryConsoles} runs one per primary console itself.
 * <p>
 * One agent thread calls it. Output is taken a ring at most per call, so a chatty guest cannot starve input.
 */
public final class ConsolePump implements QueueHandler
{
    private final ConsoleRing ring;
    private final ConsoleSession session;
    private final byte[] output = new byte[XenconsDescriptor.OUT_SIZE];

    /**
     * @param ring    the console's page.
     * @param session where output goes and input comes from.
     */
    public ConsolePump(final ConsoleRing ring, final ConsoleSession session)
    {
        this.ring = ring;
        this.session = session;
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
     * Moves what there is in both directions, once.
     *
     * @return bytes moved; the guest should be notified when positive (out_cons or in_prod moved).
     */
    public int transfer()
    {
        final int out = ring.readOutput(output, 0, output.length);
        session.output(output, out);
        return out + session.takeInput(ring);
    }

    /**
     * Takes what output is left on the page (at most one ring) into the session, so a guest's last words (a panic
     * message before it closed its console, or died) reach the log. Called before the page is unmapped.
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
        drainOutput();
    }

    @Override
    public int doWork(final ConnectedQueue queue)
    {
        final int moved = transfer();
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
