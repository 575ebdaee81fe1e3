package org.dom0j.blkback.jna;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

/**
 * The libc calls block storage needs, direct-mapped (JNA's fastest calling convention, no per-call reflection).
 * Pointers are passed as raw addresses in {@code long}s. Package-private: {@link NativeFile} is the only user.
 */
final class LibC
{
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 0x80000;
    static final int O_DIRECT = 0x4000;

    /** statfs.f_type of tmpfs (and of /dev/shm). */
    static final long TMPFS_MAGIC = 0x01021994L;

    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;

    /** _IOR(0x12, 114, size_t). */
    static final long BLKGETSIZE64 = 0x80081272L;
    /** _IO(0x12, 104). */
    static final long BLKSSZGET = 0x1268L;
    /** _IO(0x12, 123). */
    static final long BLKPBSZGET = 0x127BL;
    /** _IO(0x12, 119): range is u64[2] {start, length}. */
    static final long BLKDISCARD = 0x1277L;
    /** _IO(0x12, 125). */
    static final long BLKSECDISCARD = 0x127DL;
    /** _IO(0x12, 127). */
    static final long BLKZEROOUT = 0x127FL;

    static
    {
        Native.register(LibC.class, NativeLibrary.getInstance("c"));
    }

    private LibC()
    {
    }

    static native int open(String path, int flags, int mode) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native long preadv(int fd, long iov, int iovcnt, long offset) throws LastErrorException;

    static native long pwritev(int fd, long iov, int iovcnt, long offset) throws LastErrorException;

    static native int fdatasync(int fd) throws LastErrorException;

    static native int fallocate(int fd, int mode, long offset, long length) throws LastErrorException;

    static native int ftruncate(int fd, long length) throws LastErrorException;

    static native long lseek(int fd, long offset, int whence) throws LastErrorException;

    static native int ioctl(int fd, long request, long argp) throws LastErrorException;

    static native int fstatfs(int fd, long buf) throws LastErrorException;
}
