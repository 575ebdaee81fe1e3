package org.dom0j.xenstore;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(120)
class XsWatchDispatcherTest
{
    @Test
    void aCloseThatFindsTheQueueFullStillEndsTheWatchThreadOnceItHasDelivered() throws Exception
    {
        final XsWatchDispatcher dispatcher = new XsWatchDispatcher(2, "xs-watch-dispatcher-test");
        final CountDownLatch first = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final List<String> delivered = new CopyOnWriteArrayList<>();
        final XsWatchDispatcher.Watch watch = dispatcher.add("/a", "t", -1, (path, token) ->
        {
            delivered.add(path);
            first.countDown();
            try
            {
                release.await();
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }, (path, wireToken) -> { });
        dispatcher.start();
        dispatcher.offer(event("/a/0", watch.wireToken()));
        assertThat(first.await(30, TimeUnit.SECONDS)).isTrue();
        // the watch thread is busy with the first event: these two fill the queue, so the close queues no wake-up
        dispatcher.offer(event("/a/1", watch.wireToken()));
        dispatcher.offer(event("/a/2", watch.wireToken()));
        dispatcher.close();
        release.countDown();

        // The thread delivers what was queued and leaves. It sleeps up to a minute in its poll: had it gone to sleep
        // on the empty queue after a close that queued no wake-up, it would still be there.
        dispatcher.join(10_000);
        assertThat(Thread.getAllStackTraces().keySet()).as("the watch thread left")
            .noneMatch(t -> t.getName().equals("xs-watch-dispatcher-test"));
        assertThat(delivered).containsExactly("/a/0", "/a/1", "/a/2");
    }

    private static byte[] event(final String path, final String wireToken)
    {
        return (path + '\0' + wireToken + '\0').getBytes(StandardCharsets.US_ASCII);
    }
}
