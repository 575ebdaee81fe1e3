package org.dom0j.backend;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import static org.dom0j.backend.XenbusState.CLOSED;
import static org.dom0j.backend.XenbusState.CLOSING;
import static org.dom0j.backend.XenbusState.CONNECTED;
import static org.dom0j.backend.XenbusState.INITIALISING;
import static org.dom0j.backend.XenbusState.INIT_WAIT;
import static org.dom0j.backend.XenbusState.UNKNOWN;

/**
 * The backend end's xenbus state machine, explicit: the states a backend may move between as Linux's xenbus
 * backends do, and {@link #transitionTo} that walks the legal path to a target, writing each state on the way so
 * that a frontend watching sees every step (Connected to Closed goes through Closing).
 * <pre>
 *   Unknown -&gt; Initialising -&gt; InitWait -&gt; Connected -&gt; Closing -&gt; Closed
 *                    |              |                       ^          |
 *                    +--------------+-----------------------+          |
 *                                   ^    reconnect                     |
 *                                   +----------------------------------+
 * </pre>
 * Not thread safe: the conductor's thread owns each device's machine.
 */
public final class BackendStateMachine
{
    private static final Map<XenbusState, Set<XenbusState>> LEGAL = new EnumMap<>(XenbusState.class);

    static
    {
        for (final XenbusState s : XenbusState.values())
        {
            LEGAL.put(s, EnumSet.noneOf(XenbusState.class));
        }
        LEGAL.get(UNKNOWN).add(INITIALISING);
        LEGAL.get(INITIALISING).addAll(EnumSet.of(INIT_WAIT, CLOSING));
        LEGAL.get(INIT_WAIT).addAll(EnumSet.of(CONNECTED, CLOSING));
        LEGAL.get(CONNECTED).add(CLOSING);
        LEGAL.get(CLOSING).add(CLOSED);
        LEGAL.get(CLOSED).add(INIT_WAIT);
    }

    private XenbusState current;

    /**
     * @param initial the state the device is in now (Initialising for a new device).
     */
    public BackendStateMachine(final XenbusState initial)
    {
        this.current = initial;
    }

    /**
     * @return the state last written.
     */
    public XenbusState current()
    {
        return current;
    }

    /**
     * @param from a state.
     * @param to   another state.
     * @return whether a backend may go from one to the other in one step.
     */
    public static boolean isLegalStep(final XenbusState from, final XenbusState to)
    {
        return LEGAL.get(from).contains(to);
    }

    /**
     * @param from where the device is.
     * @param to   where it should go.
     * @return the states to write in order (empty when already there), the shortest legal path.
     * @throws IllegalStateException when no legal path exists (a bug in the caller).
     */
    public static List<XenbusState> path(final XenbusState from, final XenbusState to)
    {
        if (from == to)
        {
            return Collections.emptyList();
        }
        final Map<XenbusState, XenbusState> previous = new EnumMap<>(XenbusState.class);
        final ArrayDeque<XenbusState> frontier = new ArrayDeque<>();
        frontier.add(from);
        previous.put(from, from);
        while (!frontier.isEmpty())
        {
            final XenbusState s = frontier.poll();
            for (final XenbusState next : LEGAL.get(s))
            {
                if (!previous.containsKey(next))
                {
                    previous.put(next, s);
                    if (next == to)
                    {
                        final List<XenbusState> steps = new ArrayList<>();
                        for (XenbusState at = to; at != from; at = previous.get(at))
                        {
                            steps.add(0, at);
                        }
                        return steps;
                    }
                    frontier.add(next);
                }
            }
        }
        throw new IllegalStateException("no legal xenbus path from " + from + " to " + to);
    }

    /**
     * Walks to {@code target}, handing each state to {@code writer} (which writes it to xenstore) before moving on.
     * If the writer throws, the machine stays at the last state written.
     *
     * @param target where to go.
     * @param writer writes one state.
     * @return the states written.
     */
    public List<XenbusState> transitionTo(final XenbusState target, final Consumer<XenbusState> writer)
    {
        final List<XenbusState> steps = path(current, target);
        for (final XenbusState step : steps)
        {
            writer.accept(step);
            current = step;
        }
        return steps;
    }
}
