package org.dom0j.nbd;

import org.dom0j.test.NbdServerProcess;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reads, writes (with and without FUA), flushes, trims and zeroing against real servers serving a file: qemu-nbd
 * on a Unix socket and on TCP, nbdkit's file plugin on a Unix socket. Every read is checked against a model of the
 * disk, and at the end the backing file, read directly, must equal the model.
 */
@Timeout(120)
class NbdServerIoTest
{
    static final int IMAGE_SIZE = 16 << 20;
    static final int MAX_IO = 1 << 20;
    static final int IN_FLIGHT = 16;

    enum Server
    {
        QEMU_NBD_UNIX, QEMU_NBD_TCP, NBDKIT_FILE;

        NbdServerProcess start(final Path dir, final Path image) throws IOException
        {
            switch (this)
            {
                case QEMU_NBD_UNIX:
                    return NbdServerProcess.qemuNbd(dir, image, "--discard=unmap");
                case QEMU_NBD_TCP:
                    return NbdServerProcess.qemuNbdTcp(dir, image, "--discard=unmap");
                default:
                    return NbdServerProcess.nbdkit(dir, "file", "file=" + image);
            }
        }
    }

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

    static Stream<Arguments> serversAndSeeds()
    {
        final Random seeds = new Random(0x10809L);
        final List<Arguments> cases = new ArrayList<>();
        for (final Server kind : Server.values())
        {
            for (int i = 0; i < 2; i++)
            {
                cases.add(Arguments.of(kind, seeds.nextLong()));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest
    @EnumSource(Server.class)
    void shouldAgreeTheSizeFlagsAndBlockSizesWithTheServer(final Server kind) throws Exception
    {
        final Path image = image(new Random(1));
        server = kind.start(dir, image);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), IN_FLIGHT))
        {
            final NbdExport export = nbd.export();
            assertThat(export.size()).isEqualTo(IMAGE_SIZE);
            assertThat(export.isReadOnly()).isFalse();
            assertThat(export.canFlush()).isTrue();
            assertThat(export.canFua()).isTrue();
            assertThat(export.canTrim()).isTrue();
            assertThat(export.canWriteZeroes()).isTrue();
            assertThat(export.canMultiConn()).isTrue();
            assertThat(export.structuredReplies()).isTrue();
            assertThat(export.negotiatedWithGo()).isTrue();
            assertThat(export.minimumBlockSize()).isEqualTo(1);
            assertThat(export.preferredBlockSize()).isEqualTo(4096);
            assertThat(export.maximumPayload()).isEqualTo(NbdConstants.MAX_PAYLOAD_LIMIT);
            assertThat(nbd.maxInFlight()).isEqualTo(IN_FLIGHT);
        }
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("serversAndSeeds")
    void shouldReadBackEveryWriteWithManyRequestsInFlightAndLeaveTheFileAsWritten(final Server kind, final long seed)
        throws Exception
    {
        final Random random = new Random(seed);
        final Path image = image(random);
        final byte[] model = Files.readAllBytes(image);
        server = kind.start(dir, image);
        final NativeMemory[] buffers = new NativeMemory[IN_FLIGHT];
        for (int i = 0; i < IN_FLIGHT; i++)
        {
            buffers[i] = new NativeMemory(MAX_IO);
        }

        int reads = 0;
        int writes = 0;
        int fuaWrites = 0;
        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), IN_FLIGHT))
        {
            for (int round = 0; round < 12; round++)
            {
                final List<long[]> batch = new ArrayList<>();
                final Completions completions = new Completions();
                for (int slot = 0; slot < IN_FLIGHT; slot++)
                {
                    final int length = 512 * (1 + random.nextInt(random.nextBoolean() ? 16 : MAX_IO / 512));
                    final long offset = 512L * random.nextInt((IMAGE_SIZE - length) / 512 + 1);
                    if (overlaps(batch, offset, length))
                    {
                        continue;
                    }
                    final boolean write = random.nextInt(3) == 0;
                    final boolean fua = write && random.nextBoolean();
                    if (write)
                    {
                        final byte[] data = new byte[length];
                        random.nextBytes(data);
                        buffers[slot].put(0, data);
                        assertThat(nbd.submitWrite(slot, offset, length, buffers[slot].address, fua)).isTrue();
                        System.arraycopy(data, 0, model, (int)offset, length);
                        writes++;
                        fuaWrites += fua ? 1 : 0;
                    }
                    else
                    {
                        buffers[slot].fill(0, length, (byte)0x5A);
                        assertThat(nbd.submitRead(slot, offset, length, buffers[slot].address)).isTrue();
                        reads++;
                    }
                    batch.add(new long[]{ slot, offset, length, write ? 1 : 0 });
                }
                nbd.flushSends();
                completions.awaitCount(nbd, batch.size());

                for (final long[] request : batch)
                {
                    assertThat(completions.errno(request[0])).as("seed %d, request %s", seed, Arrays.toString(request))
                        .isZero();
                    if (request[3] == 0)
                    {
                        assertThat(buffers[(int)request[0]].bytes(0, (int)request[2]))
                            .as("seed %d: read of %d bytes at %d", seed, request[2], request[1])
                            .isEqualTo(Arrays.copyOfRange(model, (int)request[1], (int)(request[1] + request[2])));
                    }
                }
                assertThat(nbd.inFlight()).isZero();
            }
            assertThat(Completions.run(nbd, cookie -> nbd.submitFlush(cookie))).isZero();
        }

        assertThat(reads).isPositive();
        assertThat(writes).isPositive();
        assertThat(fuaWrites).isPositive();
        assertThat(Files.readAllBytes(image)).as("seed %d: the backing file", seed).isEqualTo(model);
    }

    @ParameterizedTest
    @EnumSource(Server.class)
    void shouldReadZeroesWhereZeroesWereWrittenWithOrWithoutAHole(final Server kind) throws Exception
    {
        final Path image = image(new Random(2));
        server = kind.start(dir, image);
        final NativeMemory memory = new NativeMemory(256 << 10);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), IN_FLIGHT))
        {
            final Completions completions = new Completions();
            assertThat(nbd.submitWriteZeroes(1, 1 << 20, 256 << 10, false)).isTrue();
            assertThat(nbd.submitWriteZeroes(2, 3 << 20, 256 << 10, true)).isTrue();
            nbd.flushSends();
            completions.awaitCount(nbd, 2);
            assertThat(completions.errnoByCookie).containsEntry(1L, 0).containsEntry(2L, 0);

            for (final long offset : new long[]{ 1 << 20, 3 << 20 })
            {
                memory.fill(0, 256 << 10, (byte)0x77);
                assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, offset, 256 << 10, memory.address)))
                    .isZero();
                assertThat(memory.bytes(0, 256 << 10)).as("read at %d", offset).containsOnly(0);
            }
            assertThat(Completions.run(nbd, cookie -> nbd.submitFlush(cookie))).isZero();
        }

        assertThat(fileRange(image, 1 << 20, 256 << 10)).containsOnly(0);
        assertThat(fileRange(image, 3 << 20, 256 << 10)).containsOnly(0);
        assertThat(fileRange(image, (1 << 20) + (256 << 10), 4096)).as("just past the range").isNotEqualTo(
            new byte[4096]);
    }

    @ParameterizedTest
    @EnumSource(Server.class)
    void shouldReadZeroesAfterATrimOnAServerThatPunchesHoles(final Server kind) throws Exception
    {
        final Path image = image(new Random(3));
        server = kind.start(dir, image);
        final NativeMemory memory = new NativeMemory(1 << 20);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), IN_FLIGHT))
        {
            assertThat(Completions.run(nbd, cookie -> nbd.submitTrim(cookie, 4 << 20, 1 << 20))).isZero();
            memory.fill(0, 1 << 20, (byte)0x33);
            assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 4 << 20, 1 << 20, memory.address)))
                .isZero();

            assertThat(memory.bytes(0, 1 << 20)).containsOnly(0);
        }
        assertThat(fileRange(image, 4 << 20, 1 << 20)).containsOnly(0);
    }

    static Path writeImage(final Path image, final Random random, final int size) throws IOException
    {
        final byte[] content = new byte[size];
        random.nextBytes(content);
        Files.write(image, content);
        return image;
    }

    static byte[] fileRange(final Path image, final long offset, final int length) throws IOException
    {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "r"))
        {
            final byte[] bytes = new byte[length];
            file.seek(offset);
            file.readFully(bytes);
            return bytes;
        }
    }

    private Path image(final Random random) throws IOException
    {
        return writeImage(dir.resolve("disk.img"), random, IMAGE_SIZE);
    }

    private static boolean overlaps(final List<long[]> batch, final long offset, final int length)
    {
        for (final long[] other : batch)
        {
            if (offset < other[1] + other[2] && other[1] < offset + length)
            {
                return true;
            }
        }
        return false;
    }
}
