package org.dom0j.nbd;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_DISC;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_FLUSH;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_READ;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_TRIM;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_WRITE;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_WRITE_ZEROES;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_FLAG_DONE;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_ERROR;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_ERROR_BIT;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_ERROR_OFFSET;

/**
 * The transmission phase against a server in the test: what goes on the wire, byte for byte; reads answered in
 * pieces, in any order, interleaved across requests, as the specification allows; errors of every kind; simple
 * replies; sends that the socket takes only in part.
 */
@Timeout(30)
class NbdProtocolTest
{
    static final int DISK_SIZE = 1 << 20;

    static long[] seeds()
    {
        final Random random = new Random(0x25609513L);
        final long[] seeds = new long[12];
        for (int i = 0; i < seeds.length; i++)
        {
            seeds[i] = random.nextLong();
        }
        return seeds;
    }

    @Test
    void shouldSendRequestsAndTheDisconnectByteForByteAsTheSpecificationLaysThemOut() throws Exception
    {
        final ByteArrayOutputStream wire = new ByteArrayOutputStream();
        final CountDownLatch hungUp = new CountDownLatch(1);
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            final byte[] bytes = new byte[1 << 16];
            int read;
            while ((read = session.in.read(bytes)) > 0)
            {
                synchronized (wire)
                {
                    wire.write(bytes, 0, read);
                }
            }
            hungUp.countDown();
        }))
        {
            final NativeMemory memory = new NativeMemory(4096);
            memory.put(0, new byte[]{ 1, 2, 3, 4 });
            try (NbdConnection nbd = NbdConnection.connect(server.uri(), 8))
            {
                nbd.submitRead(-1L, 512, 1024, memory.address);
                nbd.submitWrite(7, 4096, 4, memory.address, true);
                nbd.submitFlush(8);
                nbd.submitTrim(9, 8192, 0x1_0000L);
                nbd.submitWriteZeroes(10, 0x8000, 512, true);
                assertThat(nbd.flushSends()).isEqualTo(5);
            }
            assertThat(hungUp.await(10, TimeUnit.SECONDS)).isTrue();
        }

        final ByteBuffer sent;
        synchronized (wire)
        {
            sent = ByteBuffer.wrap(wire.toByteArray());
        }
        assertThat(sent.remaining()).isEqualTo(6 * 28 + 4);
        expectRequest(sent, 0, NBD_CMD_READ, 512, 1024);
        expectRequest(sent, 1, NBD_CMD_WRITE, 4096, 4);
        final byte[] data = new byte[4];
        sent.get(data);
        assertThat(data).containsExactly(1, 2, 3, 4);
        expectRequest(sent, 0, NBD_CMD_FLUSH, 0, 0);
        expectRequest(sent, 0, NBD_CMD_TRIM, 8192, 0x1_0000);
        expectRequest(sent, 2, NBD_CMD_WRITE_ZEROES, 0x8000, 512);
        final long discCookie = expectRequest(sent, 0, NBD_CMD_DISC, 0, 0);
        assertThat(discCookie).isZero();
    }

    @Test
    void shouldShakeHandsByteForByteAsTheSpecificationLaysItOut() throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        options.raw = true;
        final ByteBuffer[] got = new ByteBuffer[1];
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            session.out.writeLong(NbdConstants.NBDMAGIC);
            session.out.writeLong(NbdConstants.IHAVEOPT);
            session.out.writeShort(NbdConstants.NBD_FLAG_FIXED_NEWSTYLE | NbdConstants.NBD_FLAG_NO_ZEROES);
            session.out.flush();
            final byte[] first = new byte[4 + 16];
            session.in.readFully(first);
            session.optionReply(NbdConstants.NBD_OPT_STRUCTURED_REPLY, NbdConstants.NBD_REP_ACK, new byte[0]);
            final byte[] go = new byte[16 + 4 + 4 + 2 + 4];
            session.in.readFully(go);
            final ByteBuffer info = ByteBuffer.allocate(12).putShort((short)NbdConstants.NBD_INFO_EXPORT)
                .putLong(1 << 20).putShort((short)(NbdConstants.NBD_FLAG_HAS_FLAGS | NbdConstants.NBD_FLAG_READ_ONLY));
            session.optionReply(NbdConstants.NBD_OPT_GO, NbdConstants.NBD_REP_INFO, info.array());
            session.optionReply(NbdConstants.NBD_OPT_GO, NbdConstants.NBD_REP_INFO,
                ByteBuffer.allocate(6).putShort((short)1).put("disk".getBytes(StandardCharsets.UTF_8)).array());
            session.optionReply(NbdConstants.NBD_OPT_GO, NbdConstants.NBD_REP_ACK, new byte[0]);
            got[0] = ByteBuffer.wrap(concat(first, go));
            session.awaitHangUp();
        }))
        {
            try (NbdConnection nbd = NbdConnection.connect(server.uri("disk"), 1))
            {
                assertThat(nbd.export().isReadOnly()).isTrue();
                assertThat(nbd.export().canFlush()).isFalse();
                assertThat(nbd.export().minimumBlockSize()).isEqualTo(1);
                assertThat(nbd.export().maximumPayload()).isEqualTo(NbdConstants.MAX_PAYLOAD_LIMIT);
            }
        }

        final ByteBuffer sent = got[0];
        assertThat(sent.getInt()).as("client flags: FIXED_NEWSTYLE and NO_ZEROES").isEqualTo(3);
        assertThat(sent.getLong()).isEqualTo(NbdConstants.IHAVEOPT);
        assertThat(sent.getInt()).isEqualTo(NbdConstants.NBD_OPT_STRUCTURED_REPLY);
        assertThat(sent.getInt()).isZero();
        assertThat(sent.getLong()).isEqualTo(NbdConstants.IHAVEOPT);
        assertThat(sent.getInt()).isEqualTo(NbdConstants.NBD_OPT_GO);
        assertThat(sent.getInt()).isEqualTo(4 + 4 + 2 + 4);
        assertThat(sent.getInt()).isEqualTo(4);
        final byte[] name = new byte[4];
        sent.get(name);
        assertThat(new String(name, StandardCharsets.UTF_8)).isEqualTo("disk");
        assertThat(sent.getShort()).as("information requests").isEqualTo((short)2);
        assertThat(sent.getShort()).isEqualTo((short)NbdConstants.NBD_INFO_EXPORT);
        assertThat(sent.getShort()).isEqualTo((short)NbdConstants.NBD_INFO_BLOCK_SIZE);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void shouldReassembleReadsAnsweredInPiecesInAnyOrderInterleavedAcrossRequests(final long seed) throws Exception
    {
        final Random random = new Random(seed);
        final byte[] disk = new byte[DISK_SIZE];
        random.nextBytes(disk);
        for (int block = 0; block < DISK_SIZE / 4096; block++)
        {
            if (random.nextInt(3) == 0)
            {
                Arrays.fill(disk, block * 4096, block * 4096 + 4096, (byte)0);
            }
        }
        final int requests = 8;
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        options.size = DISK_SIZE;
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            final Random serverRandom = new Random(seed + 1);
            final List<List<Runnable>> replies = new ArrayList<>();
            for (int i = 0; i < requests; i++)
            {
                replies.add(piecesOf(session, session.readRequest(), disk, serverRandom));
            }
            int left = requests;
            while (left > 0)
            {
                final List<Runnable> reply = replies.get(serverRandom.nextInt(replies.size()));
                if (!reply.isEmpty())
                {
                    reply.remove(0).run();
                    left -= reply.isEmpty() ? 1 : 0;
                }
            }
            session.awaitHangUp();
        }))
        {
            final NativeMemory memory = new NativeMemory(requests * 65536);
            memory.fill(0, requests * 65536, (byte)0xA5);
            final long[] offsets = new long[requests];
            final int[] lengths = new int[requests];
            final Completions completions = new Completions();
            try (NbdConnection nbd = NbdConnection.connect(server.uri(), requests))
            {
                for (int i = 0; i < requests; i++)
                {
                    lengths[i] = 1 + random.nextInt(65536);
                    offsets[i] = random.nextInt(DISK_SIZE - lengths[i]);
                    assertThat(nbd.submitRead(i, offsets[i], lengths[i], memory.address + i * 65536L)).isTrue();
                }
                nbd.flushSends();
                completions.awaitCount(nbd, requests);

                assertThat(nbd.isBroken()).as("%s", nbd.brokenReason()).isFalse();
                assertThat(nbd.dataChunksReceived() + nbd.holeChunksReceived()).isGreaterThan(requests);
            }
            for (int i = 0; i < requests; i++)
            {
                assertThat(completions.errno(i)).isZero();
                assertThat(memory.bytes(i * 65536, lengths[i])).as("seed %d, read %d", seed, i)
                    .isEqualTo(Arrays.copyOfRange(disk, (int)offsets[i], (int)offsets[i] + lengths[i]));
            }
        }
    }

    @Test
    void shouldMapEveryKindOfErrorChunkToAnErrnoAndKeepTheConnection() throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            final long[] cookies = new long[7];
            for (int i = 0; i < cookies.length; i++)
            {
                cookies[i] = session.readRequest().cookie();
            }
            session.error(cookies[0], 75, "value too large");
            session.error(cookies[1], 95, "");
            session.error(cookies[2], 1234, "what is this");
            session.error(cookies[3], NBD_REPLY_TYPE_ERROR_BIT | 9, 12, "a kind not yet invented",
                new byte[]{ 1, 2, 3 }, true);
            session.data(cookies[4], 0, new byte[512], false);
            session.error(cookies[4], NBD_REPLY_TYPE_ERROR_OFFSET, 5, "bad sector at 1024",
                ByteBuffer.allocate(8).putLong(1024).array(), false);
            session.data(cookies[4], 512, new byte[1536], false);
            session.none(cookies[4]);
            session.simple(cookies[5], 28, null);
            session.data(cookies[6], 0, new byte[512], false);
            session.chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, cookies[6],
                ByteBuffer.allocate(6).putInt(1).putShort((short)0).array());
            final FakeNbdServer.Request after = session.readRequest();
            session.data(after.cookie(), after.offset(), new byte[after.length()], true);
            session.awaitHangUp();
        }))
        {
            final NativeMemory memory = new NativeMemory(7 * 4096);
            try (NbdConnection nbd = NbdConnection.connect(server.uri(), 8))
            {
                final Completions completions = new Completions();
                for (int i = 0; i < 5; i++)
                {
                    nbd.submitRead(i, 0, 2048, memory.address + i * 4096L);
                }
                nbd.submitWrite(5, 0, 512, memory.address + 5 * 4096L, false);
                nbd.submitRead(6, 0, 2048, memory.address + 6 * 4096L);
                nbd.flushSends();
                completions.awaitCount(nbd, 7);

                assertThat(completions.errnoByCookie).containsEntry(0L, NbdConstants.EOVERFLOW)
                    .containsEntry(1L, NbdConstants.ENOTSUP)
                    .containsEntry(2L, NbdConstants.EINVAL)
                    .containsEntry(3L, NbdConstants.ENOMEM)
                    .containsEntry(4L, NbdConstants.EIO)
                    .containsEntry(5L, NbdConstants.ENOSPC)
                    .containsEntry(6L, NbdConstants.EPERM);
                assertThat(nbd.isBroken()).isFalse();
                assertThat(nbd.errorChunksReceived()).isEqualTo(6);
                assertThat(nbd.lastServerErrorMessage()).isEmpty();
                assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 512, memory.address))).isZero();
            }
        }
    }

    @Test
    void shouldUseSimpleRepliesWhenTheServerRefusesStructuredOnesAndBreakOnAChunkThen() throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        options.structured = false;
        final byte[] data = NbdHostileServerTest.pattern(8192);
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            final FakeNbdServer.Request first = session.readRequest();
            final FakeNbdServer.Request second = session.readRequest();
            session.simple(second.cookie(), 22, null);
            session.simple(first.cookie(), 0, data);
            final FakeNbdServer.Request third = session.readRequest();
            session.data(third.cookie(), 0, new byte[512], true);
            session.awaitHangUp();
        }))
        {
            final NativeMemory memory = new NativeMemory(16384);
            try (NbdConnection nbd = NbdConnection.connect(server.uri(), 4))
            {
                assertThat(nbd.export().structuredReplies()).isFalse();
                final Completions completions = new Completions();
                nbd.submitRead(1, 0, 8192, memory.address);
                nbd.submitRead(2, 8192, 4096, memory.address + 8192);
                nbd.flushSends();
                completions.awaitCount(nbd, 2);
                assertThat(completions.errnoByCookie).containsEntry(1L, 0).containsEntry(2L, NbdConstants.EINVAL);
                assertThat(memory.bytes(0, 8192)).isEqualTo(data);

                assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 512, memory.address)))
                    .isEqualTo(NbdConstants.EIO);
                assertThat(nbd.brokenReason()).contains("structured replies were not agreed");
            }
        }
    }

    @ParameterizedTest(name = "server sends the 124 zeroes: {0}")
    @ValueSource(booleans = { false, true })
    void shouldFallBackToExportNameWhenTheServerDoesNotKnowGo(final boolean zeroes) throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        options.go = false;
        options.noZeroes = !zeroes;
        options.export = "old";
        options.size = 3 << 20;
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            final FakeNbdServer.Request read = session.readRequest();
            session.data(read.cookie(), read.offset(), NbdHostileServerTest.pattern(read.length()), true);
            session.awaitHangUp();
        }))
        {
            final NativeMemory memory = new NativeMemory(4096);
            try (NbdConnection nbd = NbdConnection.connect(server.uri(), 2))
            {
                assertThat(nbd.export().negotiatedWithGo()).isFalse();
                assertThat(nbd.export().size()).isEqualTo(3 << 20);
                assertThat(nbd.export().minimumBlockSize()).isEqualTo(NbdConstants.DEFAULT_MINIMUM_BLOCK_SIZE);
                assertThat(nbd.export().preferredBlockSize()).isEqualTo(NbdConstants.DEFAULT_PREFERRED_BLOCK_SIZE);
                assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 4096, 4096, memory.address)))
                    .isZero();
                assertThat(memory.bytes(0, 4096)).isEqualTo(NbdHostileServerTest.pattern(4096));
            }
        }
    }

    @Test
    void shouldRefuseASubmitWhenEverySlotIsTakenAndTakeItAgainAfterACompletion() throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            while (true)
            {
                final FakeNbdServer.Request request = session.readRequest();
                session.simple(request.cookie(), 0, null);
            }
        }))
        {
            try (NbdConnection nbd = NbdConnection.connect(server.uri(), 2))
            {
                assertThat(nbd.submitFlush(5)).isTrue();
                assertThat(nbd.submitFlush(5)).as("cookies need not be distinct").isTrue();
                assertThat(nbd.submitFlush(6)).isFalse();
                assertThat(nbd.submitTrim(6, 0, 512)).isFalse();
                assertThat(nbd.inFlight()).isEqualTo(2);

                final Completions completions = new Completions();
                nbd.flushSends();
                int done = 0;
                while (done < 2)
                {
                    done += nbd.awaitCompletion((cookie, errno) -> assertThat(cookie).isEqualTo(5),
                        TimeUnit.SECONDS.toNanos(5));
                }
                assertThat(nbd.inFlight()).isZero();
                assertThat(nbd.submitFlush(6)).isTrue();
                nbd.flushSends();
                completions.awaitCount(nbd, 1);
                assertThat(completions.errno(6)).isZero();
            }
        }
    }

    @Test
    void shouldKeepSendingLargeWritesTheSocketTakesOnlyInPartAndDeliverEveryByte() throws Exception
    {
        final int writes = 16;
        final int length = 1 << 20;
        final CountDownLatch startReading = new CountDownLatch(1);
        final byte[][] received = new byte[writes][];
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        options.size = 64 << 20;
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            startReading.await(10, TimeUnit.SECONDS);
            for (int i = 0; i < writes; i++)
            {
                final FakeNbdServer.Request write = session.readRequest();
                received[(int)(write.offset() / length)] = write.data();
                session.simple(write.cookie(), 0, null);
            }
            session.awaitHangUp();
        }))
        {
            final NativeMemory memory = new NativeMemory(writes * length);
            final Random random = new Random(11);
            final byte[][] sent = new byte[writes][length];
            try (NbdConnection nbd = NbdConnection.connect(server.uri(), writes))
            {
                for (int i = 0; i < writes; i++)
                {
                    random.nextBytes(sent[i]);
                    memory.put(i * length, sent[i]);
                    assertThat(nbd.submitWrite(i, (long)i * length, length, memory.address + (long)i * length, false))
                        .isTrue();
                }
                assertThat(nbd.flushSends()).as("the socket cannot take 16 MiB at once").isLessThan(writes);
                assertThat(nbd.hasPendingSends()).isTrue();
                assertThat(nbd.pollCompletions((cookie, errno) -> { })).isZero();

                startReading.countDown();
                final Completions completions = new Completions();
                completions.awaitCount(nbd, writes);
                assertThat(completions.errnoByCookie.values()).containsOnly(0);
                assertThat(nbd.hasPendingSends()).isFalse();
            }
            for (int i = 0; i < writes; i++)
            {
                assertThat(received[i]).as("write %d", i).isEqualTo(sent[i]);
            }
        }
    }

    private static List<Runnable> piecesOf(
        final FakeNbdServer.Session session, final FakeNbdServer.Request read, final byte[] disk, final Random random)
    {
        final int pieces = 1 + random.nextInt(Math.min(read.length(), 8));
        final java.util.TreeSet<Integer> cuts = new java.util.TreeSet<>();
        while (cuts.size() < pieces - 1)
        {
            cuts.add(1 + random.nextInt(read.length() - 1));
        }
        cuts.add(read.length());
        final List<Runnable> chunks = new ArrayList<>();
        int start = 0;
        for (final int end : cuts)
        {
            final long offset = read.offset() + start;
            final byte[] bytes = Arrays.copyOfRange(disk, (int)offset, (int)(offset + end - start));
            final boolean zero = allZero(bytes);
            chunks.add(() -> send(() ->
            {
                if (zero && random.nextBoolean())
                {
                    session.hole(read.cookie(), offset, bytes.length, false);
                }
                else
                {
                    session.data(read.cookie(), offset, bytes, false);
                }
            }));
            start = end;
        }
        Collections.shuffle(chunks, random);
        chunks.add(() -> send(() -> session.none(read.cookie())));
        return chunks;
    }

    @FunctionalInterface
    interface Send
    {
        void run() throws Exception;
    }

    private static void send(final Send send)
    {
        try
        {
            send.run();
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private static boolean allZero(final byte[] bytes)
    {
        for (final byte b : bytes)
        {
            if (b != 0)
            {
                return false;
            }
        }
        return true;
    }

    private static long expectRequest(
        final ByteBuffer sent, final int flags, final int type, final long offset, final int length)
    {
        assertThat(sent.getInt()).isEqualTo(NbdDescriptor.REQUEST_MAGIC);
        assertThat(sent.getShort()).as("flags").isEqualTo((short)flags);
        assertThat(sent.getShort()).as("type").isEqualTo((short)type);
        final long cookie = sent.getLong();
        assertThat(sent.getLong()).as("offset").isEqualTo(offset);
        assertThat(sent.getInt()).as("length").isEqualTo(length);
        return cookie;
    }

    private static byte[] concat(final byte[] first, final byte[] second)
    {
        final byte[] both = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, both, first.length, second.length);
        return both;
    }
}
