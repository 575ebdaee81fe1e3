package org.dom0j.blkback.jna;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(20)
class NativeFileTest
{
    @TempDir
    Path dir;

    private final ByteBuffer pages = BufferUtil.allocateDirectAligned(4 * 4096, 4096);
    private final UnsafeBuffer iov = new UnsafeBuffer(BufferUtil.allocateDirectAligned(64, 64));

    @Test
    void shouldWriteAndReadScatteredBuffersInOneCall() throws IOException
    {
        final Path file = sparse(1 << 20);
        final UnsafeBuffer data = new UnsafeBuffer(pages);
        for (int i = 0; i < 4096; i++)
        {
            data.putByte(i, (byte)i);
            data.putByte(2 * 4096 + i, (byte)(255 - i));
        }
        // Two segments: 1 KiB from page 0 at offset 512, 512 bytes from page 2 at offset 0.
        iovec(0, data.addressOffset() + 512, 1024);
        iovec(1, data.addressOffset() + 2 * 4096, 512);

        try (NativeFile f = NativeFile.open(file, false, false))
        {
            assertThat(f.pwritev(iov.addressOffset(), 2, 8192)).isEqualTo(1536);
            f.fdatasync();
        }

        final byte[] onDisk = Files.readAllBytes(file);
        for (int i = 0; i < 1024; i++)
        {
            assertThat(onDisk[8192 + i]).isEqualTo((byte)(512 + i));
        }
        for (int i = 0; i < 512; i++)
        {
            assertThat(onDisk[8192 + 1024 + i]).isEqualTo((byte)(255 - i));
        }

        data.setMemory(0, 4 * 4096, (byte)0);
        iovec(0, data.addressOffset() + 3 * 4096, 1536);
        try (NativeFile f = NativeFile.open(file, true, false))
        {
            assertThat(f.preadv(iov.addressOffset(), 1, 8192)).isEqualTo(1536);
        }
        final byte[] back = new byte[1536];
        data.getBytes(3 * 4096, back);
        assertThat(back).isEqualTo(Arrays.copyOfRange(onDisk, 8192, 8192 + 1536));
    }

    @Test
    void shouldPunchAHoleThatReadsAsZerosAndKeepsTheSize() throws IOException
    {
        final Path file = dir.resolve("disk.img");
        final byte[] ones = new byte[64 * 1024];
        Arrays.fill(ones, (byte)1);
        Files.write(file, ones);

        try (NativeFile f = NativeFile.open(file, false, false))
        {
            f.discard(16384, 8192, false);
            assertThat(f.size()).isEqualTo(65536);
        }

        final byte[] after = Files.readAllBytes(file);
        assertThat(after).hasSize(65536);
        assertThat(after[16383]).isEqualTo((byte)1);
        assertThat(Arrays.copyOfRange(after, 16384, 16384 + 8192)).containsOnly(0);
        assertThat(after[16384 + 8192]).isEqualTo((byte)1);
    }

    @Test
    void shouldNotOfferSecureDiscardOnAFileSinceAPunchedHoleLeavesTheOldBlocks() throws IOException
    {
        try (NativeFile f = NativeFile.open(sparse(1 << 20), false, false))
        {
            assertThat(f.canSecureDiscard()).isFalse();
        }
    }

    @Test
    void shouldProbeSecureDiscardOfABlockDeviceWithoutErasingAnything() throws Exception
    {
        // A loop device: the kernel's loop driver cannot securely erase, so the probe must say no, and the
        // probe itself must leave the data as it was. Needs root and losetup (CI runs as root).
        Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/loop-control")), "no /dev/loop-control to write");
        final Path image = sparse(4 << 20);
        final byte[] pattern = new byte[4096];
        Arrays.fill(pattern, (byte)0x5A);
        Files.write(image, pattern, StandardOpenOption.WRITE);
        final Process attach = new ProcessBuilder("losetup", "-f", "--show", image.toString())
            .redirectErrorStream(true).start();
        final String loop = new String(attach.getInputStream().readAllBytes()).trim();
        Assumptions.assumeTrue(attach.waitFor() == 0 && loop.startsWith("/dev/loop"), "losetup: " + loop);
        try
        {
            try (NativeFile f = NativeFile.open(Path.of(loop), false, false))
            {
                assertThat(f.isBlockDevice()).isTrue();
                assertThat(f.canSecureDiscard()).isFalse();
                assertThat(f.isOnTmpfs()).as("a block device, though its node may be on devtmpfs").isFalse();
            }
            try (NativeFile f = NativeFile.open(Path.of(loop), true, false))
            {
                assertThat(f.canSecureDiscard()).as("read-only").isFalse();
            }
        }
        finally
        {
            new ProcessBuilder("losetup", "-d", loop).start().waitFor();
        }
        assertThat(Arrays.copyOf(Files.readAllBytes(image), 4096)).isEqualTo(pattern);
    }

    @Test
    void shouldTellAFileOnTmpfsFromOneElsewhere() throws IOException
    {
        final Path here = sparse(4096);
        try (NativeFile f = NativeFile.open(here, false, false))
        {
            assertThat(f.isOnTmpfs()).as(here + " on " + Files.getFileStore(here).type())
                .isEqualTo("tmpfs".equals(Files.getFileStore(here).type()));
        }
        final Path shm = Path.of("/dev/shm");
        Assumptions.assumeTrue(Files.isDirectory(shm) && "tmpfs".equals(Files.getFileStore(shm).type()),
            "no tmpfs at /dev/shm");
        final Path onShm = shm.resolve("dom0j-native-file-test-" + ProcessHandle.current().pid());
        try (NativeFile f = NativeFile.open(NativeFile.createSparse(onShm, 4096), false, false))
        {
            assertThat(f.isOnTmpfs()).isTrue();
        }
        finally
        {
            Files.deleteIfExists(onShm);
        }
    }

    @Test
    void shouldCompareKernelReleases()
    {
        assertThat(NativeFile.kernelAtLeast("6.1.0-18-amd64", 5, 19)).isTrue();
        assertThat(NativeFile.kernelAtLeast("5.19.0", 5, 19)).isTrue();
        assertThat(NativeFile.kernelAtLeast("5.18.17-200.fc36.x86_64", 5, 19)).isFalse();
        assertThat(NativeFile.kernelAtLeast("4.19.0-27-amd64", 5, 19)).isFalse();
        assertThat(NativeFile.kernelAtLeast("6", 5, 19)).isTrue();
        assertThat(NativeFile.kernelAtLeast("", 5, 19)).isFalse();
        assertThat(NativeFile.kernelAtLeast("linux", 5, 19)).isFalse();
    }

    @Test
    void shouldReportSizeAndSectorSizesOfAFile() throws IOException
    {
        try (NativeFile f = NativeFile.open(sparse(3 << 20), true, false))
        {
            assertThat(f.size()).isEqualTo(3 << 20);
            assertThat(f.isBlockDevice()).isFalse();
            assertThat(f.logicalBlockSize()).isEqualTo(512);
        }
    }

    @Test
    void shouldRefuseWritesOnAReadOnlyOpenWithEbadf() throws IOException
    {
        final Path file = sparse(1 << 16);
        iovec(0, BufferUtil.address(pages), 512);
        try (NativeFile f = NativeFile.open(file, true, false))
        {
            assertThatThrownBy(() -> f.pwritev(iov.addressOffset(), 1, 0))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("pwritev on " + file + " failed: EBADF");
        }
    }

    @Test
    void shouldNameTheFileAndErrnoWhenOpenFails()
    {
        // open(2) itself refuses: procfs cannot do O_DIRECT, so the kernel answers EINVAL, even to root.
        final Path proc = Path.of("/proc/version");
        assertThatThrownBy(() -> NativeFile.open(proc, true, true))
            .isInstanceOf(IOException.class)
            .hasMessageStartingWith("open on " + proc + " failed: EINVAL");

        // Refused before any system call: no errno, but the path and why.
        final Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> NativeFile.open(missing, false, false))
            .isInstanceOf(IOException.class)
            .hasMessage(missing + " is neither a regular file nor a block device");
    }

    /**
     * The harm a second close(2) does is to whoever got the number next: open hands out the lowest free
     * descriptor, so the file opened after the first close has the same one, and must survive the second.
     */
    @Test
    void shouldBeSafeToCloseTwice() throws IOException
    {
        final Path first = sparse(4096);
        final Path second = sparse(8192);
        final NativeFile f = NativeFile.open(first, true, false);
        final int fd = f.fd();
        f.close();
        try (NativeFile next = NativeFile.open(second, true, false))
        {
            assertThat(next.fd()).as("the next open reuses the closed descriptor").isEqualTo(fd);
            f.close();
            assertThat(next.size()).as("the next file, read through that descriptor after the second close")
                .isEqualTo(8192);
        }
    }

    private void iovec(final int i, final long base, final long length)
    {
        iov.putLong(i * 16, base, ByteOrder.nativeOrder());
        iov.putLong(i * 16 + 8, length, ByteOrder.nativeOrder());
    }

    private Path sparse(final long size) throws IOException
    {
        return NativeFile.createSparse(dir.resolve("disk-" + System.nanoTime() + ".img"), size);
    }
}
