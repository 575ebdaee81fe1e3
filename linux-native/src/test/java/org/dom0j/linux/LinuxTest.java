package org.dom0j.linux;

import com.sun.jna.Pointer;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The descriptor and memory calls: setup calls throw a {@link LinuxException} with the errno and what was being
 * done, data-path calls return minus the errno and allocate nothing.
 */
@Timeout(60)
class LinuxTest
{
    private static final int ENOTTY = 25;

    @TempDir
    Path dir;

    static final int ROUNDS = 5;

    /**
     * Makes {@code calls} calls, {@link #ROUNDS} times, and measures what the calling thread allocates on the Java
     * heap in each round. Something allocated once (a class initialised, a JIT deoptimisation) shows in one round
     * at most; an allocation per call, at least 16 bytes each, shows in every round.
     *
     * @param calls how many calls per round.
     * @param call  one call; what it returns is summed, so that the JIT cannot drop it.
     * @return the fewest bytes allocated in a round, and the sum of all the calls' results.
     */
    static long[] leastAllocatedPerRound(final int calls, final LongSupplier call)
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        long least = Long.MAX_VALUE;
        long sum = 0;
        for (int round = 0; round < ROUNDS; round++)
        {
            final long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < calls; i++)
            {
                sum += call.getAsLong();
            }
            least = Math.min(least, threads.getCurrentThreadAllocatedBytes() - before);
        }
        return new long[]{ least, sum };
    }

    @Test
    void shouldThrowLinuxExceptionNamingThePathAndErrnoWhenOpenFails()
    {
        final String path = dir.resolve("missing").toString();

        assertThatThrownBy(() -> Linux.open(path, Linux.O_RDONLY | Linux.O_CLOEXEC, 0))
            .isInstanceOfSatisfying(LinuxException.class, ex ->
            {
                assertThat(ex).isInstanceOf(XenException.class);
                assertThat(ex.errno()).isEqualTo(Errno.ENOENT.number());
                assertThat(ex.getMessage()).isEqualTo("open " + path + ": ENOENT (No such file or directory)");
            });
    }

    @Test
    void shouldWriteReadAndSizeAFileThroughNativeMemory() throws Exception
    {
        final Path file = dir.resolve("data");
        final int fd = Linux.open(file.toString(), Linux.O_RDWR | Linux.O_CREAT | Linux.O_CLOEXEC, 0600);
        try
        {
            final ByteBuffer data = LibC.allocate(64);
            data.put(0, "hello, dom0".getBytes(StandardCharsets.US_ASCII));
            assertThat(Linux.write(fd, LibC.address(data), 11)).isEqualTo(11);
            assertThat(Linux.lseek(fd, 0, Linux.SEEK_END)).isEqualTo(11);
            assertThat(Linux.fdatasync(fd)).isZero();

            // preadv of "dom0" through one iovec.
            final ByteBuffer iov = LibC.allocate(16);
            final ByteBuffer into = LibC.allocate(4);
            iov.putLong(0, LibC.address(into));
            iov.putLong(8, 4);
            assertThat(Linux.preadv(fd, LibC.address(iov), 1, 7)).isEqualTo(4);
            final byte[] read = new byte[4];
            into.get(0, read);
            assertThat(new String(read, StandardCharsets.US_ASCII)).isEqualTo("dom0");

            // pwritev of the same buffer at offset 0.
            assertThat(Linux.pwritev(fd, LibC.address(iov), 1, 0)).isEqualTo(4);
            Linux.ftruncate(fd, 6);
            assertThat(Files.readString(file)).isEqualTo("dom0o,");
        }
        finally
        {
            assertThat(Linux.close(fd)).isZero();
        }
        // A closed descriptor's number may be handed to another thread's open at once (the JVM has several), so
        // closing it again could close someone else's file: -1 stands for a descriptor that is not open.
        assertThat(Linux.close(-1)).isEqualTo(-Errno.EBADF.number());
    }

    @Test
    void shouldReturnMinusEagainFromANonBlockingReadWithNothingToRead()
    {
        try (EventFd eventFd = EventFd.open())
        {
            final ByteBuffer buffer = LibC.allocate(8);

            assertThat(Linux.read(eventFd.fd(), LibC.address(buffer), 8)).isEqualTo(-Errno.EAGAIN.number());
        }
    }

    @Test
    void shouldReturnMinusEbadfFromAReadOfAClosedDescriptor()
    {
        final ByteBuffer buffer = LibC.allocate(8);

        assertThat(Linux.read(-1, LibC.address(buffer), 8)).isEqualTo(-Errno.EBADF.number());
        assertThat(Linux.write(-1, LibC.address(buffer), 8)).isEqualTo(-Errno.EBADF.number());
        assertThat(Linux.readv(-1, LibC.address(buffer), 0)).isEqualTo(-Errno.EBADF.number());
        assertThat(Linux.writev(-1, LibC.address(buffer), 0)).isEqualTo(-Errno.EBADF.number());
        assertThat(Linux.fdatasync(-1)).isEqualTo(-Errno.EBADF.number());
    }

    @Test
    void shouldAllocateNothingOnReadsThatFindNothingToRead()
    {
        try (EventFd eventFd = EventFd.open())
        {
            final ByteBuffer buffer = LibC.allocate(8);
            final long address = LibC.address(buffer);
            final int fd = eventFd.fd();

            final long[] leastAndSum =
                leastAllocatedPerRound(20_000, () -> Linux.read(fd, address, 8) + eventFd.drain());

            assertThat(leastAndSum[1]).isEqualTo(ROUNDS * 20_000L * -Errno.EAGAIN.number());
            // An exception per EAGAIN would be thousands of bytes each: 20,000 of them cannot hide under 1 KiB.
            assertThat(leastAndSum[0]).isLessThan(1024);
        }
    }

    @Test
    void shouldThrowForAnIoctlTheDescriptorDoesNotKnow() throws Exception
    {
        final Path file = Files.createFile(dir.resolve("plain"));
        final int fd = Linux.open(file.toString(), Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        try
        {
            assertThatThrownBy(() -> Linux.ioctl(fd, TapDevice.TUNSETIFF, 0))
                .isInstanceOfSatisfying(LinuxException.class, ex ->
                {
                    assertThat(ex.errno()).isEqualTo(ENOTTY);
                    assertThat(ex.getMessage()).startsWith("ioctl 0x400454ca on fd " + fd);
                });
        }
        finally
        {
            Linux.close(fd);
        }
    }

    @Test
    void shouldMapAFileSharedAndPopulateIt() throws Exception
    {
        final Path file = dir.resolve("mapped");
        Files.write(file, new byte[8192]);
        final int fd = Linux.open(file.toString(), Linux.O_RDWR | Linux.O_CLOEXEC, 0);
        try
        {
            final long address = Linux.mmap(0, 8192, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, fd, 0);
            try
            {
                assertThat(Linux.madvise(address, 8192, Linux.MADV_POPULATE_WRITE)).isZero();
                assertThat(Linux.madvise(address, 8192, 12345)).isEqualTo(-Errno.EINVAL.number());
                new Pointer(address).setByte(4096, (byte)42);
            }
            finally
            {
                assertThat(Linux.munmap(address, 8192)).isZero();
            }
        }
        finally
        {
            Linux.close(fd);
        }
        assertThat(Files.readAllBytes(file)[4096]).isEqualTo((byte)42);
    }

    @Test
    void shouldThrowWhenAMappingCannotBeMade()
    {
        assertThatThrownBy(() -> Linux.mmap(0, 4096, Linux.PROT_READ, Linux.MAP_SHARED, -1, 0))
            .isInstanceOfSatisfying(LinuxException.class, ex ->
                assertThat(ex.errno()).isEqualTo(Errno.EBADF.number()));
    }

    @Test
    void shouldMapAnonymousMemoryZeroed()
    {
        final long address = Linux.mmap(0, 4096, Linux.PROT_READ | Linux.PROT_WRITE,
            Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS, -1, 0);
        try
        {
            assertThat(new Pointer(address).getLong(4088)).isZero();
        }
        finally
        {
            Linux.munmap(address, 4096);
        }
    }

    @Test
    void shouldReturnASyscallsResultOrMinusErrno()
    {
        final long sysGetpid = 39;

        assertThat(Linux.syscall(sysGetpid, 0, 0, 0, 0, 0, 0)).isEqualTo(ProcessHandle.current().pid());
        assertThat(Linux.syscall(100_000, 0, 0, 0, 0, 0, 0)).isEqualTo(-Errno.ENOSYS.number());
    }

    @Test
    void shouldTellTmpfsByItsMagic() throws Exception
    {
        final Path shm = Path.of("/dev/shm");
        Assumptions.assumeTrue(Files.isDirectory(shm), "no /dev/shm here");
        final Path file = Files.createTempFile(shm, "dom0j-linux", ".tmp");
        try
        {
            final int fd = Linux.open(file.toString(), Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
            try
            {
                assertThat(Linux.fileSystemType(fd)).isEqualTo(Linux.TMPFS_MAGIC);
            }
            finally
            {
                Linux.close(fd);
            }
        }
        finally
        {
            Files.delete(file);
        }
    }

    @Test
    void shouldSetNonBlocking() throws Exception
    {
        final Path file = Files.createFile(dir.resolve("flags"));
        final int fd = Linux.open(file.toString(), Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        try
        {
            Linux.setNonBlocking(fd);
            assertThat(LibC.fcntl(fd, 3 /* F_GETFL */, 0) & Linux.O_NONBLOCK).isEqualTo(Linux.O_NONBLOCK);
        }
        finally
        {
            Linux.close(fd);
        }
        // Not the closed fd: another JVM thread may already have been given its number.
        assertThatThrownBy(() -> Linux.setNonBlocking(-1)).isInstanceOfSatisfying(LinuxException.class, ex ->
            assertThat(ex.errno()).isEqualTo(Errno.EBADF.number()));
    }
}
