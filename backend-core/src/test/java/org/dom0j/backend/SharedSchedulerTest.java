package org.dom0j.backend;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link AgentScheduler#shared}: an agent started the moment the scheduler is made runs (its threads may not have
 * started their composites yet, which refuse an agent until they have).
 */
@Timeout(60)
class SharedSchedulerTest
{
    @Test
    void shouldStartAnAgentAtOnceAfterTheSchedulerIsMade()
    {
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 100; i++)
        {
            final AtomicInteger started = new AtomicInteger();
            final Agent agent = new Agent()
            {
                @Override
                public void onStart()
                {
                    started.incrementAndGet();
                }

                @Override
                public int doWork()
                {
                    return 0;
                }

                @Override
                public String roleName()
                {
                    return "probe";
                }
            };
            try (AgentScheduler scheduler = AgentScheduler.shared(2, YieldingIdleStrategy::new, errors::add))
            {
                scheduler.start(agent);
                assertThat(started.get()).as("round %d", i).isEqualTo(1);
                scheduler.stop(agent);
            }
        }
        assertThat(errors).isEmpty();
    }
}
