package org.dom0j.nbd;

import org.dom0j.test.NbdServerProcess;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * nbdkit with its filters as fault injectors: server errors of every kind the error filter makes, a server without
 * FUA, block size limits, a read-only export, and the server killed with requests in flight, then started again.
 */
@Timeout(60)
class NbdNbdkitTest
{
    @TempDir
    Path dir;

    private NbdServerProcess server;

    @AfterEach
    void stopServer()
    {
        if (server != null)
        {
            server.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({ "EPERM, 1", "EIO, 5", "ENOMEM, 12", "EINVAL, 22", "ENOSPC, 28", "ESHUTDOWN, 108" })
    void shouldCompleteWithTheErrnoOfTheServersErrorAndKeepServingReads(final String error, final int errno)
        throws Exception
    {
        server = NbdServerProcess.nbdkit(dir, "--filter=error", "memory", "16M", "error=" + error,
            "error-pwrite-rate=100%");
        final NativeMemory memory = new NativeMemory(4096);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), 4))
        {
            assertThat(Completions.run(nbd, cookie -> nbd.submitWrite(cookie, 4096, 4096, memory.address, false)))
                .isEqualTo(errno);
            assertThat(nbd.isBroken()).isFalse();

            if (errno == NbdConstants.ESHUTDOWN)
            {
                assertThat(nbd.isShutdownRequested()).isTrue();
                assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 4096, memory.address)))
                    .as("no new request goes to a server shutting down").isEqualTo(NbdConstants.ESHUTDOWN);
            }
            else
            {
                assertThat(nbd.isShutdownRequested()).isFalse();
                assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 4096, memory.address))).isZero();
            }
        }
    }

    @Test
    void shouldFailAReadWithTheErrnoOfAnErrorChunk() throws Exception
    {
        server = NbdServerProcess.nbdkit(dir, "--filter=error", "memory", "16M", "error=ENOSPC",
            "error-pread-rate=100%");
        final NativeMemory memory = new NativeMemory(4096);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), 4))
        {
            assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 4096, memory.address)))
                .isEqualTo(NbdConstants.ENOSPC);
            assertThat(nbd.errorChunksReceived()).as("a read's error comes as an error chunk").isEqualTo(1);
            assertThat(Completions.run(nbd, cookie -> nbd.submitWrite(cookie, 0, 4096, memory.address, false)))
                .isZero();
        }
    }

    @Test
    void shouldRefuseWhatTheServerDoesNotOfferWithEnotsupAndServeTheRest() throws Exception
    {
        // nbdkit's fua filter in 1.32 does not take fuamode=none; a shell plugin that offers no FUA, flush or trim.
        server = NbdServerProcess.nbdkit(dir, "eval", "get_size=echo 1048576",
            "pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none", "pwrite=cat >/dev/null",
            "can_write=exit 0", "can_fua=echo none");
        final NativeMemory memory = new NativeMemory(4096);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), 4))
        {
            final NbdExport export = nbd.export();
            assertThat(export.canFua()).isFalse();
            assertThat(export.canFlush()).isFalse();
            assertThat(export.canTrim()).isFalse();
            assertThat(Completions.run(nbd, cookie -> nbd.submitWrite(cookie, 0, 4096, memory.address, true)))
                .isEqualTo(NbdConstants.ENOTSUP);
            assertThat(Completions.run(nbd, cookie -> nbd.submitFlush(cookie))).isEqualTo(NbdConstants.ENOTSUP);
            assertThat(Completions.run(nbd, cookie -> nbd.submitTrim(cookie, 0, 4096)))
                .isEqualTo(NbdConstants.ENOTSUP);
            assertThat(Completions.run(nbd, cookie -> nbd.submitWrite(cookie, 0, 4096, memory.address, false)))
                .isZero();
        }
    }

    @Test
    void shouldKeepToTheServersBlockSizesAndRefuseOtherRequestsWithEinval() throws Exception
    {
        server = NbdServerProcess.nbdkit(dir, "--filter=blocksize-policy", "memory", "1M",
            "blocksize-minimum=512", "blocksize-preferred=4096", "blocksize-maximum=65536",
            "blocksize-error-policy=error");
        final NativeMemory memory = new NativeMemory(128 << 10);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), 8))
        {
            final NbdExport export = nbd.export();
            assertThat(export.minimumBlockSize()).isEqualTo(512);
            assertThat(export.preferredBlockSize()).isEqualTo(4096);
            assertThat(export.maximumPayload()).isEqualTo(65536);

            final Completions completions = new Completions();
            nbd.submitRead(1, 0, 65536, memory.address);
            nbd.submitRead(2, 0, 65536 + 512, memory.address);
            nbd.submitRead(3, 100, 512, memory.address);
            nbd.submitRead(4, 0, 1000, memory.address);
            nbd.submitRead(5, (1 << 20) - 512, 1024, memory.address);
            nbd.submitRead(6, -512, 512, memory.address);
            nbd.submitRead(7, 0, 0, memory.address);
            nbd.submitWrite(8, 0, 65536 + 512, memory.address, false);
            nbd.flushSends();
            completions.awaitCount(nbd, 8);

            assertThat(completions.errnoByCookie).containsEntry(1L, 0);
            for (long cookie = 2; cookie <= 8; cookie++)
            {
                assertThat(completions.errno(cookie)).as("request %d", cookie).isEqualTo(NbdConstants.EINVAL);
            }
            assertThat(nbd.isBroken()).isFalse();
        }
    }

    @Test
    void shouldSeeAReadOnlyExportAsReadOnly() throws Exception
    {
        server = NbdServerProcess.nbdkit(dir, "-r", "memory", "1M");
        final NativeMemory memory = new NativeMemory(4096);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), 4))
        {
            assertThat(nbd.export().isReadOnly()).isTrue();
            assertThat(Completions.run(nbd, cookie -> nbd.submitWrite(cookie, 0, 4096, memory.address, false)))
                .isEqualTo(NbdConstants.EPERM);
            assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 4096, memory.address))).isZero();
        }
    }

    @Test
    void shouldCompleteEveryRequestInFlightWithEioWhenTheServerIsKilledAndWorkAgainAfterReconnect() throws Exception
    {
        final Path image = NbdServerIoTest.writeImage(dir.resolve("disk.img"), new Random(7), 4 << 20);
        server = NbdServerProcess.nbdkit(dir, "--filter=delay", "file", "file=" + image, "rdelay=10",
            "wdelay=10");
        final int inFlight = 8;
        final NativeMemory memory = new NativeMemory(inFlight * 65536);
        memory.fill(0, inFlight * 65536, (byte)0x11);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), inFlight))
        {
            final Completions completions = new Completions();
            for (int i = 0; i < inFlight; i++)
            {
                final long address = memory.address + i * 65536L;
                assertThat(i % 2 == 0 ? nbd.submitRead(i, i * 65536L, 65536, address) :
                    nbd.submitWrite(i, i * 65536L, 65536, address, true)).isTrue();
            }
            final long sendDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            nbd.flushSends();
            while (nbd.hasPendingSends() && System.nanoTime() - sendDeadline < 0)
            {
                nbd.awaitCompletion(completions, TimeUnit.MILLISECONDS.toNanos(10));
            }
            assertThat(nbd.hasPendingSends()).as("requests not yet sent in full").isFalse();
            assertThat(completions.errnoByCookie).as("the delay filter holds every request").isEmpty();
            server.kill();
            completions.awaitCount(nbd, inFlight);

            assertThat(completions.errnoByCookie.values()).hasSize(inFlight).containsOnly(NbdConstants.EIO);
            assertThat(nbd.isBroken()).isTrue();
            assertThat(nbd.brokenReason()).isNotBlank();
            assertThat(nbd.inFlight()).isZero();
            assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 512, memory.address)))
                .as("a broken connection takes no new request").isEqualTo(NbdConstants.EIO);

            assertThatThrownBy(nbd::reconnect).as("the server is not back yet")
                .isInstanceOfSatisfying(IOException.class, ex ->
                    assertThat(ex instanceof NbdException nbdEx && nbdEx.isExportChanged()).isFalse());
            assertThat(nbd.isBroken()).isTrue();

            server = NbdServerProcess.nbdkit(dir, "file", "file=" + image);
            assertThat(NbdUri.parse(server.uri())).as("the same socket").isEqualTo(nbd.uri());
            nbd.reconnect();

            assertThat(nbd.isBroken()).isFalse();
            assertThat(nbd.brokenReason()).isNull();
            assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 65536, memory.address))).isZero();
            assertThat(memory.bytes(0, 65536)).isEqualTo(NbdServerIoTest.fileRange(image, 0, 65536));
        }
    }

    @Test
    void shouldCompleteEveryRequestInFlightWithEioWhenAbandonedAndServeAgainAfterReconnect() throws Exception
    {
        // A caller's timeout: the server holds every read for 2 s, the caller gives up on it before. One worker
        // thread: nbdkit 1.32 (Debian 12) aborts on an assertion (raw_send_socket: sock >= 0) when several of its
        // workers answer a client that hung up, which refused the reconnect in about one run in three under -v
        // (once in CI); this test is about our client, so the server is kept to what it survives.
        final Path image = NbdServerIoTest.writeImage(dir.resolve("disk.img"), new Random(11), 1 << 20);
        server = NbdServerProcess.nbdkit(dir, "--threads=1", "--filter=delay", "file", "file=" + image, "rdelay=2");
        final NativeMemory memory = new NativeMemory(4 * 4096);
        memory.fill(0, 4 * 4096, (byte)0x5A);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), 4))
        {
            final Completions completions = new Completions();
            for (int i = 0; i < 4; i++)
            {
                assertThat(nbd.submitRead(i, i * 4096L, 4096, memory.address + i * 4096L)).isTrue();
            }
            nbd.flushSends();
            assertThat(nbd.awaitCompletion(completions, TimeUnit.MILLISECONDS.toNanos(200))).as("held by the delay")
                .isZero();

            nbd.abandon("no answer in 200 ms");

            assertThat(nbd.isBroken()).isTrue();
            assertThat(nbd.brokenReason()).isEqualTo("no answer in 200 ms");
            completions.awaitCount(nbd, 4);
            assertThat(completions.errnoByCookie.values()).containsOnly(NbdConstants.EIO);
            assertThat(memory.bytes(0, 4 * 4096)).as("nothing read into the requests' memory").containsOnly(0x5A);
            nbd.abandon("again");
            assertThat(nbd.brokenReason()).as("a broken connection stays as it broke").isEqualTo("no answer in 200 ms");

            nbd.reconnect();
            assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 4096, memory.address))).isZero();
            assertThat(memory.bytes(0, 4096)).isEqualTo(NbdServerIoTest.fileRange(image, 0, 4096));
        }
    }

    @Test
    void shouldNeverReportAReadAsSuccessfulWithWrongDataWhenTheServerDiesAtARandomMoment() throws Exception
    {
        final Random random = new Random(8);
        final Path image = NbdServerIoTest.writeImage(dir.resolve("disk.img"), random, 8 << 20);
        final byte[] content = Files.readAllBytes(image);
        server = NbdServerProcess.nbdkit(dir, "--filter=delay", "file", "file=" + image, "rdelay=20ms");
        final int inFlight = 16;
        final int length = 256 << 10;
        final NativeMemory memory = new NativeMemory(inFlight * length);
        final Map<Long, Long> offsets = new HashMap<>();
        final int[] outcomes = new int[2];
        final long killAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(150 + random.nextInt(100));

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), inFlight))
        {
            final NbdCompletionHandler check = (cookie, errno) ->
            {
                final int slot = (int)(cookie % inFlight);
                if (errno == 0)
                {
                    final long offset = offsets.get(cookie);
                    assertThat(memory.bytes(slot * length, length)).as("read %d at %d", cookie, offset)
                        .isEqualTo(Arrays.copyOfRange(content, (int)offset, (int)offset + length));
                    outcomes[0]++;
                }
                else
                {
                    assertThat(errno).isEqualTo(NbdConstants.EIO);
                    outcomes[1]++;
                }
                offsets.remove(cookie);
            };
            long next = 0;
            boolean killed = false;
            while (!killed || !offsets.isEmpty())
            {
                while (!killed && nbd.inFlight() < inFlight)
                {
                    final long offset = 512L * random.nextInt((content.length - length) / 512);
                    final int slot = freeSlot(offsets.keySet(), inFlight);
                    final long cookie = next++ * inFlight + slot;
                    memory.fill(slot * length, length, (byte)0xEE);
                    offsets.put(cookie, offset);
                    assertThat(nbd.submitRead(cookie, offset, length, memory.address + (long)slot * length)).isTrue();
                }
                nbd.flushSends();
                if (!killed && System.nanoTime() - killAt > 0)
                {
                    // Right after a refill went out, so that reads are in flight: the delay filter holds each 20 ms
                    // and answers them together, so after a poll there may be none.
                    server.kill();
                    killed = true;
                }
                nbd.awaitCompletion(check, TimeUnit.MILLISECONDS.toNanos(20));
            }
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!nbd.isBroken() && System.nanoTime() - deadline < 0)
            {
                // Nothing is in flight: the hang-up is seen at a poll.
                assertThat(nbd.pollCompletions(check)).isZero();
            }
            assertThat(nbd.isBroken()).isTrue();
        }
        assertThat(outcomes[0]).as("reads done before the kill").isPositive();
        assertThat(outcomes[1]).as("reads in flight at the kill").isPositive();
    }

    @Test
    void shouldRefuseToReconnectToAnExportWhoseSizeChanged() throws Exception
    {
        final Path image = NbdServerIoTest.writeImage(dir.resolve("disk.img"), new Random(9), 1 << 20);
        server = NbdServerProcess.nbdkit(dir, "file", "file=" + image);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), 4))
        {
            server.kill();
            NbdServerIoTest.writeImage(image, new Random(10), 2 << 20);
            server.start();

            assertThatThrownBy(nbd::reconnect)
                .isInstanceOfSatisfying(NbdException.class, ex -> assertThat(ex.isExportChanged()).isTrue())
                .hasMessageContaining("is now 2097152 bytes; it was 1048576 bytes when first connected");
            assertThat(nbd.isBroken()).isTrue();
            assertThat(nbd.export().size()).isEqualTo(1 << 20);
        }
    }

    private static int freeSlot(final java.util.Set<Long> cookies, final int slots)
    {
        for (int slot = 0; slot < slots; slot++)
        {
            boolean taken = false;
            for (final long cookie : cookies)
            {
                taken |= cookie % slots == slot;
            }
            if (!taken)
            {
                return slot;
            }
        }
        throw new IllegalStateException("no free slot");
    }
}
