package org.dom0j.linux;

import java.nio.ByteBuffer;

/**
 * The system calls on file descriptors and memory that dom0j makes, with x86_64 Linux's constants.
 * <p>
 * Two kinds of call, two ways to fail. Calls that set something up ({@link #open}, {@link #ioctl}, {@link #mmap},
 * {@link #lseek}, ...) throw a {@link LinuxException} naming the call and the errno. Calls on the data path
 * ({@link #read}, {@link #write}, {@link #readv}, {@link #writev}, {@link #preadv}, {@link #pwritev},
 * {@link #fdatasync}, {@link #madvise}, {@link #syscall}) return their result, or minus the errno as the kernel
 * does (-11 for EAGAIN), and neither throw nor allocate: a non-blocking read that finds nothing costs two JNI calls.
 * <p>
 * Addresses are raw {@code long}s: of mapped memory, of a direct buffer, of an iovec array ({@code struct iovec}
 * is 16 bytes: base, length).
 * <p>
 * Stateless; any thread.
 */
public final class Linux
{
    /** open(2): read only. */
    public static final int O_RDONLY = 0;
    /** open(2): write only. */
    public static final int O_WRONLY = 1;
    /** open(2): read and write. */
    public static final int O_RDWR = 2;
    /** open(2): create the file if it does not exist. */
    public static final int O_CREAT = 0x40;
    /** open(2): a terminal does not become the controlling terminal. */
    public static final int O_NOCTTY = 0x100;
    /** open(2): non-blocking. */
    public static final int O_NONBLOCK = 0x800;
    /** open(2): bypass the page cache. */
    public static final int O_DIRECT = 0x4000;
    /** open(2): close on exec. */
    public static final int O_CLOEXEC = 0x80000;

    /** lseek(2): from the start. */
    public static final int SEEK_SET = 0;
    /** lseek(2): from the end. */
    public static final int SEEK_END = 2;

    /** fallocate(2): keep the file's size. */
    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    /** fallocate(2): punch a hole (with {@link #FALLOC_FL_KEEP_SIZE}). */
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;

    /** mmap(2): no access. */
    public static final int PROT_NONE = 0;
    /** mmap(2): readable. */
    public static final int PROT_READ = 1;
    /** mmap(2): writable. */
    public static final int PROT_WRITE = 2;
    /** mmap(2): shared with the file and other mappings of it. */
    public static final int MAP_SHARED = 0x01;
    /** mmap(2): copy on write. */
    public static final int MAP_PRIVATE = 0x02;
    /** mmap(2): exactly at the address given, replacing what is there. */
    public static final int MAP_FIXED = 0x10;
    /** mmap(2): not backed by a file. */
    public static final int MAP_ANONYMOUS = 0x20;
    /** mmap(2): reserve no swap. */
    public static final int MAP_NORESERVE = 0x4000;
    /** mmap(2): fault the pages in now. */
    public static final int MAP_POPULATE = 0x8000;

    /** madvise(2): read ahead. */
    public static final int MADV_WILLNEED = 3;
    /** madvise(2): fault the pages in for reading (Linux 5.14). */
    public static final int MADV_POPULATE_READ = 22;
    /** madvise(2): fault the pages in for writing (Linux 5.14). */
    public static final int MADV_POPULATE_WRITE = 23;

    /** poll(2): there is data to read. */
    public static final short POLLIN = 0x1;
    /** poll(2): writing will not block. */
    public static final short POLLOUT = 0x4;
    /** poll(2): an error condition (revents only). */
    public static final short POLLERR = 0x8;
    /** poll(2): hang-up (revents only). */
    public static final short POLLHUP = 0x10;

    /** statfs f_type of tmpfs (and of /dev/shm). */
    public static final long TMPFS_MAGIC = 0x01021994L;

    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int STATFS_BYTES = 120;

    private Linux()
    {
    }

    /**
     * open(2).
     *
     * @param path  the file.
     * @param flags {@link #O_RDWR} and the like.
     * @param mode  permissions of a file created.
     * @return the descriptor.
     * @throws LinuxException when it cannot be opened.
     */
    public static int open(final String path, final int flags, final int mode)
    {
        final int fd = LibC.open(path, flags, mode);
        if (fd < 0)
        {
            throw new LinuxException(LibC.errno(), "open " + path);
        }
        return fd;
    }

    /**
     * close(2). A failure leaves nothing to retry (the descriptor is gone either way), so callers may ignore it.
     *
     * @param fd the descriptor.
     * @return 0, or minus the errno.
     */
    public static int close(final int fd)
    {
        return LibC.close(fd) == 0 ? 0 : -LibC.errno();
    }

    /**
     * read(2) into native memory.
     *
     * @param fd      the descriptor.
     * @param address where to.
     * @param length  at most this many bytes.
     * @return bytes read (0 at end of file), or minus the errno (-EAGAIN: nothing to read without blocking).
     */
    public static long read(final int fd, final long address, final long length)
    {
        final long n = LibC.read(fd, address, length);
        return n >= 0 ? n : -LibC.errno();
    }

    /**
     * write(2) from native memory.
     *
     * @param fd      the descriptor.
     * @param address where from.
     * @param length  bytes.
     * @return bytes written, or minus the errno (-EAGAIN: no room without blocking).
     */
    public static long write(final int fd, final long address, final long length)
    {
        final long n = LibC.write(fd, address, length);
        return n >= 0 ? n : -LibC.errno();
    }

    /**
     * readv(2).
     *
     * @param fd    the descriptor.
     * @param iov   address of {@code count} {@code struct iovec}.
     * @param count number of iovecs.
     * @return bytes read, or minus the errno.
     */
    public static long readv(final int fd, final long iov, final int count)
    {
        final long n = LibC.readv(fd, iov, count);
        return n >= 0 ? n : -LibC.errno();
    }

    /**
     * writev(2).
     *
     * @param fd    the descriptor.
     * @param iov   address of {@code count} {@code struct iovec}.
     * @param count number of iovecs.
     * @return bytes written, or minus the errno.
     */
    public static long writev(final int fd, final long iov, final int count)
    {
        final long n = LibC.writev(fd, iov, count);
        return n >= 0 ? n : -LibC.errno();
    }

    /**
     * preadv(2).
     *
     * @param fd     the descriptor.
     * @param iov    address of {@code count} {@code struct iovec}.
     * @param count  number of iovecs.
     * @param offset file offset.
     * @return bytes read, or minus the errno.
     */
    public static long preadv(final int fd, final long iov, final int count, final long offset)
    {
        final long n = LibC.preadv(fd, iov, count, offset);
        return n >= 0 ? n : -LibC.errno();
    }

    /**
     * pwritev(2).
     *
     * @param fd     the descriptor.
     * @param iov    address of {@code count} {@code struct iovec}.
     * @param count  number of iovecs.
     * @param offset file offset.
     * @return bytes written, or minus the errno.
     */
    public static long pwritev(final int fd, final long iov, final int count, final long offset)
    {
        final long n = LibC.pwritev(fd, iov, count, offset);
        return n >= 0 ? n : -LibC.errno();
    }

    /**
     * fdatasync(2).
     *
     * @param fd the descriptor.
     * @return 0 when what was written is on stable storage, or minus the errno.
     */
    public static int fdatasync(final int fd)
    {
        return LibC.fdatasync(fd) == 0 ? 0 : -LibC.errno();
    }

    /**
     * ioctl(2) with a pointer or integer argument.
     *
     * @param fd      the descriptor.
     * @param request the request number.
     * @param arg     its argument: an address, or a value for requests that take one.
     * @return what the ioctl returned (not negative).
     * @throws LinuxException when it fails.
     */
    public static int ioctl(final int fd, final long request, final long arg)
    {
        final int result = LibC.ioctl(fd, request, arg);
        if (result < 0)
        {
            throw new LinuxException(LibC.errno(), "ioctl 0x" + Long.toHexString(request) + " on fd " + fd);
        }
        return result;
    }

    /**
     * Sets O_NONBLOCK on a descriptor (fcntl F_GETFL, F_SETFL).
     *
     * @param fd the descriptor.
     * @throws LinuxException when fcntl fails.
     */
    public static void setNonBlocking(final int fd)
    {
        final int flags = LibC.fcntl(fd, F_GETFL, 0);
        if (flags < 0 || LibC.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        {
            throw new LinuxException(LibC.errno(), "fcntl O_NONBLOCK on fd " + fd);
        }
    }

    /**
     * lseek(2).
     *
     * @param fd     the descriptor.
     * @param offset the offset.
     * @param whence {@link #SEEK_SET}, {@link #SEEK_END}.
     * @return the resulting offset.
     * @throws LinuxException when it fails.
     */
    public static long lseek(final int fd, final long offset, final int whence)
    {
        final long result = LibC.lseek(fd, offset, whence);
        if (result < 0)
        {
            throw new LinuxException(LibC.errno(), "lseek on fd " + fd);
        }
        return result;
    }

    /**
     * ftruncate(2).
     *
     * @param fd     the descriptor.
     * @param length the new size in bytes.
     * @throws LinuxException when it fails.
     */
    public static void ftruncate(final int fd, final long length)
    {
        if (LibC.ftruncate(fd, length) != 0)
        {
            throw new LinuxException(LibC.errno(), "ftruncate fd " + fd + " to " + length + " bytes");
        }
    }

    /**
     * fallocate(2).
     *
     * @param fd     the descriptor.
     * @param mode   {@link #FALLOC_FL_PUNCH_HOLE} and the like.
     * @param offset byte offset.
     * @param length bytes.
     * @throws LinuxException when it fails (EOPNOTSUPP when the file system cannot).
     */
    public static void fallocate(final int fd, final int mode, final long offset, final long length)
    {
        if (LibC.fallocate(fd, mode, offset, length) != 0)
        {
            throw new LinuxException(LibC.errno(), "fallocate on fd " + fd);
        }
    }

    /**
     * fstatfs(2)'s {@code f_type}: which file system a descriptor's file is on.
     *
     * @param fd the descriptor.
     * @return the file system's magic number, e.g. {@link #TMPFS_MAGIC}.
     * @throws LinuxException when fstatfs fails.
     */
    public static long fileSystemType(final int fd)
    {
        final ByteBuffer statfs = LibC.allocate(STATFS_BYTES);
        if (LibC.fstatfs(fd, LibC.address(statfs)) != 0)
        {
            throw new LinuxException(LibC.errno(), "fstatfs on fd " + fd);
        }
        return statfs.getLong(0);
    }

    /**
     * mmap(2).
     *
     * @param address where (with {@link #MAP_FIXED}) or a hint; 0 lets the kernel choose.
     * @param length  bytes.
     * @param prot    {@link #PROT_READ} and the like.
     * @param flags   {@link #MAP_SHARED} and the like.
     * @param fd      the file, or -1 for {@link #MAP_ANONYMOUS}.
     * @param offset  file offset, a multiple of the page size.
     * @return the mapping's address.
     * @throws LinuxException when it cannot be mapped.
     */
    public static long mmap(
        final long address, final long length, final int prot, final int flags, final int fd, final long offset)
    {
        final long result = LibC.mmap(address, length, prot, flags, fd, offset);
        if (result == -1L)
        {
            throw new LinuxException(LibC.errno(), "mmap " + length + " bytes of fd " + fd);
        }
        return result;
    }

    /**
     * munmap(2). It fails only for a range that is not page-aligned, so callers unmapping what they mapped may
     * ignore the result.
     *
     * @param address the mapping.
     * @param length  bytes.
     * @return 0, or minus the errno.
     */
    public static int munmap(final long address, final long length)
    {
        return LibC.munmap(address, length) == 0 ? 0 : -LibC.errno();
    }

    /**
     * madvise(2): a hint, or (populate) a request whose failure is an answer, so it does not throw.
     *
     * @param address page-aligned start.
     * @param length  bytes.
     * @param advice  {@link #MADV_POPULATE_READ} and the like.
     * @return 0, or minus the errno (-EFAULT: a page could not be populated; -EINVAL: unknown advice).
     */
    public static int madvise(final long address, final long length, final int advice)
    {
        return LibC.madvise(address, length, advice) == 0 ? 0 : -LibC.errno();
    }

    /**
     * syscall(2), for calls libc has no wrapper for (io_uring). Every argument is passed as a long.
     *
     * @param number the system call's number (x86_64).
     * @param a1     first argument.
     * @param a2     second.
     * @param a3     third.
     * @param a4     fourth.
     * @param a5     fifth.
     * @param a6     sixth.
     * @return what it returned, or minus the errno.
     */
    public static long syscall(
        final long number, final long a1, final long a2, final long a3, final long a4, final long a5, final long a6)
    {
        final long result = LibC.syscall(number, a1, a2, a3, a4, a5, a6);
        return result != -1L ? result : -LibC.errno();
    }
}
