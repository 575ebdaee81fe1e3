package org.dom0j.blkback.jna;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The io_uring binding against the kernel: vectored reads and writes land where they should, completions carry
 * their user data and results (errors as minus an errno), the queue refuses more than it holds, and fdatasync
 * goes through.
 */
@Timeout(30)
class IoUringTest
{
    @TempDir
    Path dir;

    private final List<long[]> completions = new ArrayList<>();

    @BeforeEach
    void requireIoUring()
    {
        assumeTrue(IoUring.isAvailable(), "io_uring is not available on this kernel (or disabled): nothing to test");
    }

    @Test
    void shouldWriteThenReadBackThroughTheRing() throws IOException
    {
        final Path path = NativeFile.createSparse(dir.resolve("disk.img"), 1 << 20);
        final UnsafeBuffer data = new UnsafeBuffer(BufferUtil.allocateDirectAligned(8 * 4096, 4096));
        final UnsafeBuffer iovecs = new UnsafeBuffer(BufferUtil.allocateDirectAligned(8 * 16, 16));
        for (int i = 0; i < 4 * 4096; i++)
        {
            data.putByte(i, (byte)(i * 13 + 5));
        }
        try (NativeFile file = NativeFile.open(path, false, false); IoUring ring = IoUring.open(8))
        {
            assertThat(ring.entries()).isEqualTo(8);
            // Four writes of one page each, at pages 10..13, in one system call.
            for (int i = 0; i < 4; i++)
            {
                iovec(iovecs, i, data.addressOffset() + i * 4096L, 4096);
                assertThat(ring.prepareWritev(file.fd(), iovecs.addressOffset() + i * 16L, 1, (10L + i) * 4096,
                    100 + i, i == 3 ? IoUring.IOSQE_ASYNC : 0)).isTrue();
            }
            assertThat(ring.inFlight()).isEqualTo(4);
            ring.submit(4);
            assertThat(ring.reap(this::onCompletion)).isEqualTo(4);
            assertThat(completions).extracting(c -> c[0]).containsExactlyInAnyOrder(100L, 101L, 102L, 103L);
            assertThat(completions).extracting(c -> c[1]).containsOnly(4096L);
            assertThat(ring.inFlight()).isZero();

            assertThat(ring.prepareFdatasync(file.fd(), 7)).isTrue();
            ring.submit(1);
            completions.clear();
            ring.reap(this::onCompletion);
            assertThat(completions).containsExactly(new long[]{ 7, 0 });

            // One read of all four pages into two iovecs of two pages each.
            iovec(iovecs, 4, data.addressOffset() + 4 * 4096L, 2 * 4096);
            iovec(iovecs, 5, data.addressOffset() + 6 * 4096L, 2 * 4096);
            ring.prepareReadv(file.fd(), iovecs.addressOffset() + 4 * 16L, 2, 10 * 4096L, 9, 0);
            ring.submit(1);
            completions.clear();
            ring.reap(this::onCompletion);
            assertThat(completions).containsExactly(new long[]{ 9, 4 * 4096 });
        }
        for (int i = 0; i < 4 * 4096; i++)
        {
            assertThat(data.getByte(4 * 4096 + i)).isEqualTo((byte)(i * 13 + 5));
        }
        final byte[] onDisk = Files.readAllBytes(path);
        assertThat(onDisk[10 * 4096]).isEqualTo((byte)5);
        assertThat(onDisk[10 * 4096 - 1]).isZero();
        assertThat(onDisk[14 * 4096]).isZero();
    }

    @Test
    void shouldCompleteAFailedOperationWithMinusItsErrno() throws IOException
    {
        final Path path = NativeFile.createSparse(dir.resolve("ro.img"), 4096);
        final UnsafeBuffer page = new UnsafeBuffer(BufferUtil.allocateDirectAligned(4096, 4096));
        final UnsafeBuffer iovecs = new UnsafeBuffer(BufferUtil.allocateDirectAligned(16, 16));
        iovec(iovecs, 0, page.addressOffset(), 4096);
        try (NativeFile file = NativeFile.open(path, true, false); IoUring ring = IoUring.open(4))
        {
            ring.prepareWritev(file.fd(), iovecs.addressOffset(), 1, 0, 1, 0);
            ring.prepareReadv(-1, iovecs.addressOffset(), 1, 0, 2, 0);
            ring.submit(2);
            ring.reap(this::onCompletion);
        }
        assertThat(completions).containsExactlyInAnyOrder(new long[]{ 1, -9 }, new long[]{ 2, -9 });
    }

    @Test
    void shouldRefuseMoreThanItHoldsUntilCompletionsAreReaped() throws IOException
    {
        final Path path = NativeFile.createSparse(dir.resolve("disk.img"), 1 << 16);
        final UnsafeBuffer page = new UnsafeBuffer(BufferUtil.allocateDirectAligned(4096, 4096));
        final UnsafeBuffer iovecs = new UnsafeBuffer(BufferUtil.allocateDirectAligned(16, 16));
        iovec(iovecs, 0, page.addressOffset(), 512);
        try (NativeFile file = NativeFile.open(path, false, false); IoUring ring = IoUring.open(2))
        {
            for (int round = 0; round < 100; round++)
            {
                assertThat(ring.prepareReadv(file.fd(), iovecs.addressOffset(), 1, 0, round, 0)).isTrue();
                assertThat(ring.prepareReadv(file.fd(), iovecs.addressOffset(), 1, 512, round, 0)).isTrue();
                assertThat(ring.prepareReadv(file.fd(), iovecs.addressOffset(), 1, 1024, round, 0))
                    .as("a third with two entries").isFalse();
                assertThatThrownBy(() -> ring.submit(3)).isInstanceOf(IllegalArgumentException.class);
                ring.submit(2);
                assertThat(ring.ready()).isEqualTo(2);
                assertThat(ring.reap(this::onCompletion)).isEqualTo(2);
            }
        }
        assertThat(completions).hasSize(200).allSatisfy(c -> assertThat(c[1]).isEqualTo(512));
    }

    private void onCompletion(final long userData, final int result)
    {
        completions.add(new long[]{ userData, result });
    }

    private static void iovec(final UnsafeBuffer iovecs, final int i, final long address, final long length)
    {
        iovecs.putLong(i * 16, address, ByteOrder.nativeOrder());
        iovecs.putLong(i * 16 + 8, length, ByteOrder.nativeOrder());
    }
}
