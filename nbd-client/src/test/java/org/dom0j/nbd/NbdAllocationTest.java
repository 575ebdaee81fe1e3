package org.dom0j.nbd;

import org.dom0j.test.NbdServerProcess;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The steady path allocates nothing: submitting reads and writes (with data through the caller's native memory),
 * sending them, waiting on the socket and taking the replies, simple and structured, against nbdkit.
 */
@Timeout(60)
class NbdAllocationTest
{
    static final int ROUNDS = 5;
    static final int REQUESTS_PER_ROUND = 4000;
    static final int IN_FLIGHT = 16;

    @TempDir
    Path dir;

    private NbdServerProcess server;
    private long completed;
    private long failed;

    @AfterEach
    void stopServer()
    {
        if (server != null)
        {
            server.close();
        }
    }

    @Test
    void shouldAllocateNothingPerRequestOnceRunning() throws Exception
    {
        server = NbdServerProcess.nbdkit(dir, "memory", "64M");
        final NativeMemory memory = new NativeMemory(IN_FLIGHT * 65536);
        final NbdCompletionHandler handler = (cookie, errno) ->
        {
            completed++;
            failed += errno == 0 ? 0 : 1;
        };
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), IN_FLIGHT))
        {
            runRequests(nbd, handler, memory, REQUESTS_PER_ROUND);
            long least = Long.MAX_VALUE;
            for (int round = 0; round < ROUNDS; round++)
            {
                final long before = threads.getCurrentThreadAllocatedBytes();
                runRequests(nbd, handler, memory, REQUESTS_PER_ROUND);
                least = Math.min(least, threads.getCurrentThreadAllocatedBytes() - before);
            }

            assertThat(failed).isZero();
            assertThat(completed).isEqualTo((ROUNDS + 1L) * REQUESTS_PER_ROUND);
            assertThat(nbd.dataChunksReceived()).isPositive();
            // Even 16 bytes per request would be 64,000 bytes a round: it cannot hide under 1 KiB.
            assertThat(least).as("bytes allocated in the quietest round of %d requests", REQUESTS_PER_ROUND)
                .isLessThan(1024);
        }
    }

    private void runRequests(
        final NbdConnection nbd, final NbdCompletionHandler handler, final NativeMemory memory, final int requests)
    {
        final long target = completed + requests;
        long submitted = 0;
        while (completed < target)
        {
            while (submitted < requests && nbd.inFlight() < IN_FLIGHT)
            {
                final int slot = (int)(submitted % IN_FLIGHT);
                final long offset = (submitted * 4096) % (32 << 20);
                final long address = memory.address + slot * 65536L;
                final boolean accepted = (submitted & 1) == 0 ? nbd.submitWrite(submitted, offset, 4096, address,
                    false) : nbd.submitRead(submitted, offset, 65536, address);
                submitted += accepted ? 1 : 0;
            }
            nbd.flushSends();
            nbd.awaitCompletion(handler, TimeUnit.SECONDS.toNanos(1));
        }
    }
}
