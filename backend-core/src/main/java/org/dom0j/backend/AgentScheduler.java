package org.dom0j.backend;

import org.dom0j.evtchn.EventChannelIdleStrategy;
import org.dom0j.linux.CoarseClock;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.DynamicCompositeAgent;
import org.agrona.concurrent.IdleStrategy;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Where ring agents run: a dedicated thread each ({@link #dedicated}, or {@link #eventDriven} to sleep on event
 * channels), packed onto a fixed set of shared threads
 * ({@link #shared}), or on the caller's thread ({@link #invoker}, for deterministic tests).
 * <p>
 * <b>Threads</b>: {@link #start} and {@link #stop} are called by the conductor's thread; {@link #stop} returns only
 * after the agent's {@code onClose} has run, so its ring may be unmapped safely afterwards.
 */
public interface AgentScheduler extends AutoCloseable
{
    /**
     * @param agent an agent to run from now on.
     */
    void start(Agent agent);

    /**
     * @param agent an agent started here; returns after it has stopped and closed. Stopping twice is harmless.
     */
    void stop(Agent agent);

    /**
     * Stops every agent still running.
     */
    @Override
    void close();

    /**
     * @param idleStrategies one new idle strategy per agent.
     * @param errorHandler   receives exceptions thrown by agents.
     * @return a scheduler that gives each agent its own thread, named after the agent's role.
     */
    static AgentScheduler dedicated(final Supplier<IdleStrategy> idleStrategies, final ErrorHandler errorHandler)
    {
        return new Dedicated((agent) -> idleStrategies.get(), errorHandler);
    }

    /**
     * System property: the longest adaptive poll window of {@link #eventDriven}'s ring agents, in nanoseconds
     * ({@link EventChannelIdleStrategy#DEFAULT_MAX_POLL_NANOS} by default, 0 for none); a negative value gives the
     * fixed 100 spins and 10 yields of before, for comparing.
     */
    String MAX_POLL_PROPERTY = "dom0j.ring.maxPollNanos";

    /**
     * @param maxWaitNanos longest single wait on an event channel.
     * @param errorHandler receives exceptions thrown by agents.
     * @return a scheduler that gives each agent its own thread and idles each {@link RingAgent} by blocking on its
     *         event channel ({@link EventChannelIdleStrategy#adaptive}: after polling its ring for as long as that
     *         has lately paid) for at most {@code maxWaitNanos}, or for what its
     *         handler says it may wait ({@link QueueHandler#idleWaitNanos}), taking its events only after such a
     *         wait ({@link RingAgent#takeEventsOnlyAfterWaiting}); other agents back off.
     */
    static AgentScheduler eventDriven(final long maxWaitNanos, final ErrorHandler errorHandler)
    {
        final long maxPoll = Long.getLong(MAX_POLL_PROPERTY, EventChannelIdleStrategy.DEFAULT_MAX_POLL_NANOS);
        return new Dedicated((agent) ->
        {
            if (!(agent instanceof RingAgent))
            {
                return new BackoffIdleStrategy();
            }
            final RingAgent ring = ((RingAgent)agent).takeEventsOnlyAfterWaiting();
            if (maxPoll < 0)
            {
                return new EventChannelIdleStrategy(
                    ring.queue().eventChannels(), 100, 10, maxWaitNanos, ring::idleWaitNanos);
            }
            // The agent's thread is the only one to read it.
            final CoarseClock coarse = new CoarseClock();
            return EventChannelIdleStrategy.adaptive(ring.queue().eventChannels(), maxPoll, maxWaitNanos,
                ring::idleWaitNanos, System::nanoTime, coarse::nanos);
        }, errorHandler);
    }

    /**
     * @param threads        how many threads to share.
     * @param idleStrategies one idle strategy per thread.
     * @param errorHandler   receives exceptions thrown by agents.
     * @return a scheduler that packs agents onto {@code threads} threads, the least loaded first.
     */
    static AgentScheduler shared(
        final int threads, final Supplier<IdleStrategy> idleStrategies, final ErrorHandler errorHandler)
    {
        return new Shared(threads, idleStrategies, errorHandler);
    }

    /**
     * @param errorHandler receives exceptions thrown by agents.
     * @return a scheduler that runs nothing by itself: the test calls {@link Invoker#invokeAll()}.
     */
    static Invoker invoker(final ErrorHandler errorHandler)
    {
        return new Invoker(errorHandler);
    }

    /**
     * One thread per agent.
     */
    final class Dedicated implements AgentScheduler
    {
        private final Function<Agent, IdleStrategy> idleStrategies;
        private final ErrorHandler errorHandler;
        private final Map<Agent, AgentRunner> runners = new IdentityHashMap<>();

        Dedicated(final Function<Agent, IdleStrategy> idleStrategies, final ErrorHandler errorHandler)
        {
            this.idleStrategies = idleStrategies;
            this.errorHandler = errorHandler;
        }

        @Override
        public void start(final Agent agent)
        {
            final AgentRunner runner = new AgentRunner(idleStrategies.apply(agent), errorHandler, null, agent);
            runners.put(agent, runner);
            AgentRunner.startOnThread(runner);
        }

        @Override
        public void stop(final Agent agent)
        {
            final AgentRunner runner = runners.remove(agent);
            if (runner != null)
            {
                if (agent instanceof RingAgent)
                {
                    // It may be asleep in a long event channel wait (poll(2) or a futex through JNA, which an
                    // interrupt does not end): woken, and from now on it does not sleep, so it sees at once that
                    // it must stop.
                    ((RingAgent)agent).stopping();
                }
                // An agent still running after 100 ms is interrupted.
                runner.close(100, (thread) -> { });
            }
        }

        @Override
        public void close()
        {
            for (final Agent agent : new ArrayList<>(runners.keySet()))
            {
                stop(agent);
            }
        }
    }

    /**
     * A fixed set of threads, each running a {@link DynamicCompositeAgent}.
     */
    final class Shared implements AgentScheduler
    {
        private final List<DynamicCompositeAgent> composites = new ArrayList<>();
        private final List<AgentRunner> runners = new ArrayList<>();
        private final int[] load;
        private final Map<Agent, Integer> placement = new IdentityHashMap<>();

        Shared(final int threads, final Supplier<IdleStrategy> idleStrategies, final ErrorHandler errorHandler)
        {
            if (threads <= 0)
            {
                throw new IllegalArgumentException("threads must be positive: " + threads);
            }
            load = new int[threads];
            for (int i = 0; i < threads; i++)
            {
                final DynamicCompositeAgent composite = new DynamicCompositeAgent("dom0j-rings-" + i);
                final AgentRunner runner = new AgentRunner(idleStrategies.get(), errorHandler, null, composite);
                composites.add(composite);
                runners.add(runner);
                AgentRunner.startOnThread(runner);
            }
            // A composite refuses agents (IllegalStateException) until its thread has started it: without this wait a
            // device connected just after the scheduler was made failed, "add called when not active" (seen under
            // load in ThreadedConductorTest; SharedSchedulerTest makes it happen every time).
            for (final DynamicCompositeAgent composite : composites)
            {
                while (DynamicCompositeAgent.Status.INIT == composite.status())
                {
                    LockSupport.parkNanos(100_000);
                }
            }
        }

        @Override
        public void start(final Agent agent)
        {
            int least = 0;
            for (int i = 1; i < load.length; i++)
            {
                if (load[i] < load[least])
                {
                    least = i;
                }
            }
            final DynamicCompositeAgent composite = composites.get(least);
            while (!composite.tryAdd(agent))
            {
                LockSupport.parkNanos(100_000);
            }
            while (!composite.hasAddAgentCompleted())
            {
                LockSupport.parkNanos(100_000);
            }
            load[least]++;
            placement.put(agent, least);
        }

        @Override
        public void stop(final Agent agent)
        {
            final Integer where = placement.remove(agent);
            if (where == null)
            {
                return;
            }
            final DynamicCompositeAgent composite = composites.get(where);
            while (!composite.tryRemove(agent))
            {
                LockSupport.parkNanos(100_000);
            }
            while (!composite.hasRemoveAgentCompleted())
            {
                LockSupport.parkNanos(100_000);
            }
            load[where]--;
        }

        @Override
        public void close()
        {
            for (final Agent agent : new ArrayList<>(placement.keySet()))
            {
                stop(agent);
            }
            for (final AgentRunner runner : runners)
            {
                runner.close();
            }
        }
    }

    /**
     * Runs agents only when the caller invokes them (Agrona's INVOKER mode).
     */
    final class Invoker implements AgentScheduler
    {
        private final ErrorHandler errorHandler;
        private final Map<Agent, AgentInvoker> invokers = new IdentityHashMap<>();

        Invoker(final ErrorHandler errorHandler)
        {
            this.errorHandler = errorHandler;
        }

        @Override
        public void start(final Agent agent)
        {
            final AgentInvoker invoker = new AgentInvoker(errorHandler, null, agent);
            invoker.start();
            invokers.put(agent, invoker);
        }

        @Override
        public void stop(final Agent agent)
        {
            final AgentInvoker invoker = invokers.remove(agent);
            if (invoker != null)
            {
                invoker.close();
            }
        }

        /**
         * @return how many agents run here now.
         */
        public int agentCount()
        {
            return invokers.size();
        }

        /**
         * Runs each agent's {@code doWork} once, on the caller's thread.
         *
         * @return the total work done.
         */
        public int invokeAll()
        {
            int work = 0;
            for (final AgentInvoker invoker : new ArrayList<>(invokers.values()))
            {
                work += invoker.invoke();
            }
            return work;
        }

        @Override
        public void close()
        {
            for (final Agent agent : new ArrayList<>(invokers.keySet()))
            {
                stop(agent);
            }
        }
    }
}
