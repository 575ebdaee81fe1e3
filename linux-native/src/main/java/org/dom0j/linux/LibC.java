package org.dom0j.linux;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Every libc function dom0j calls, bound once with JNA's direct mapping ({@code Native.register}): a call is one JNI
 * transition with its arguments as they are, without reflection, argument arrays or boxing. Pointers are raw
 * addresses in {@code long}s; {@code size_t} and {@code ssize_t} are {@code long} (LP64).
 * <p>
 * The natives return what libc returns (-1 on failure) and never throw: none declares {@code LastErrorException},
 * which would allocate an exception for every EAGAIN. JNA saves errno into its own thread-local slot after every
 * direct call, so {@link #errno()} read right after a call that failed is that call's errno, at the cost of one
 * JNI call and no allocation. The public classes of this package turn -1 into a {@link LinuxException} or into
 * minus the errno; nothing else sees these methods.
 * <p>
 * Stateless; any thread.
 */
final class LibC
{
    static
    {
        Native.register(LibC.class, NativeLibrary.getInstance("c"));
    }

    private LibC()
    {
    }

    /**
     * @return errno as the last native call on this thread left it; meaningful only after a call that failed.
     */
    static int errno()
    {
        return Native.getLastError();
    }

    /**
     * @param bytes how many.
     * @return zeroed native memory the garbage collector frees, in the machine's byte order: scratch for structs
     *         passed to the kernel.
     */
    static ByteBuffer allocate(final int bytes)
    {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }

    /**
     * @param buffer a direct buffer.
     * @return the address of its first byte.
     */
    static long address(final ByteBuffer buffer)
    {
        return Pointer.nativeValue(Native.getDirectBufferPointer(buffer));
    }

    // ---------------------------------------------------------------- descriptors

    static native int open(String path, int flags, int mode);

    static native int close(int fd);

    static native long read(int fd, long buf, long count);

    static native long write(int fd, long buf, long count);

    static native long readv(int fd, long iov, int iovcnt);

    static native long writev(int fd, long iov, int iovcnt);

    static native long preadv(int fd, long iov, int iovcnt, long offset);

    static native long pwritev(int fd, long iov, int iovcnt, long offset);

    static native int fdatasync(int fd);

    static native int fallocate(int fd, int mode, long offset, long length);

    static native int ftruncate(int fd, long length);

    static native long lseek(int fd, long offset, int whence);

    /** Variadic in C; on x86_64 an integer third argument is passed the same way either way. */
    static native int ioctl(int fd, long request, long argp);

    /** Variadic in C, as {@link #ioctl}. */
    static native int fcntl(int fd, int cmd, int arg);

    static native int fstatfs(int fd, long buf);

    static native int poll(long fds, long nfds, int timeoutMillis);

    // ---------------------------------------------------------------- memory

    static native long mmap(long address, long length, int prot, int flags, int fd, long offset);

    static native int munmap(long address, long length);

    static native int madvise(long address, long length, int advice);

    /** Variadic in C; every argument is passed as a long, as syscall(2) reads them. */
    static native long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    // ---------------------------------------------------------------- clocks

    static native int clock_gettime(int clock, long timespec);

    static native int clock_getres(int clock, long timespec);

    // ---------------------------------------------------------------- pseudo-terminals

    static native int posix_openpt(int flags);

    static native int grantpt(int fd);

    static native int unlockpt(int fd);

    /** Returns 0, or the error number itself (glibc also sets errno). */
    static native int ptsname_r(int fd, long buf, long length);

    static native int tcgetattr(int fd, long termios);

    static native void cfmakeraw(long termios);

    static native int tcsetattr(int fd, int actions, long termios);

    // ---------------------------------------------------------------- sockets, epoll, eventfd

    static native int socket(int domain, int type, int protocol);

    /** Used by TapDevice's tests, to bind a packet socket to the device. */
    static native int bind(int fd, long address, int length);

    static native long sendto(int fd, long buf, long length, int flags, long address, int addressLength);

    static native long recv(int fd, long buf, long length, int flags);

    static native int epoll_create1(int flags);

    static native int epoll_ctl(int epfd, int op, int fd, long event);

    static native int epoll_wait(int epfd, long events, int maxEvents, int timeoutMillis);

    static native int eventfd(int initial, int flags);
}
