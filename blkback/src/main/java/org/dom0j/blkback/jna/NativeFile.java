package org.dom0j.blkback.jna;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.linux.Linux;
import org.dom0j.linux.LinuxException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A file or block device opened with open(2), for vectored I/O straight from and into native memory (mapped
 * grants or bounce pages): one preadv/pwritev per request, no copies through Java heap. The system calls are
 * linux-native's; errors become {@link IOException}s that name the call, the file and the errno.
 * <p>
 * The I/O methods may be called from several threads at once (they are positional); {@link #close} must come
 * after the last of them.
 */
public final class NativeFile implements AutoCloseable
{
    /** _IOR(0x12, 114, size_t). */
    private static final long BLKGETSIZE64 = 0x80081272L;
    /** _IO(0x12, 104). */
    private static final long BLKSSZGET = 0x1268L;
    /** _IO(0x12, 123). */
    private static final long BLKPBSZGET = 0x127BL;
    /** _IO(0x12, 119): range is u64[2] {start, length}. */
    private static final long BLKDISCARD = 0x1277L;
    /** _IO(0x12, 125). */
    private static final long BLKSECDISCARD = 0x127DL;

    private final Path path;
    private final int fd;
    private final boolean blockDevice;
    private final boolean readOnly;
    private final boolean direct;
    private final UnsafeBuffer scratch;
    private volatile boolean closed;

    private NativeFile(
        final Path path, final int fd, final boolean blockDevice, final boolean readOnly, final boolean direct)
    {
        this.direct = direct;
        this.path = path;
        this.fd = fd;
        this.blockDevice = blockDevice;
        this.readOnly = readOnly;
        this.scratch = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
    }

    /**
     * @param path     a regular file or a block device.
     * @param readOnly open for reading only.
     * @param direct   O_DIRECT: bypass the page cache (buffers, offsets and lengths must then be aligned).
     * @return the open file.
     * @throws IOException when it cannot be opened, with the errno.
     */
    public static NativeFile open(final Path path, final boolean readOnly, final boolean direct) throws IOException
    {
        final boolean blockDevice =
            !Files.isRegularFile(path) && Files.exists(path) && isBlockDevice(path);
        if (!blockDevice && !Files.isRegularFile(path))
        {
            throw new IOException(path + " is neither a regular file nor a block device");
        }
        final int flags = (readOnly ? Linux.O_RDONLY : Linux.O_RDWR) | Linux.O_CLOEXEC | (direct ? Linux.O_DIRECT : 0);
        try
        {
            return new NativeFile(path, Linux.open(path.toString(), flags, 0), blockDevice, readOnly, direct);
        }
        catch (final LinuxException ex)
        {
            throw error("open", path, ex);
        }
    }

    /**
     * Creates a sparse file of {@code size} bytes (a new disk image); fails if the file exists.
     *
     * @param path where.
     * @param size its size in bytes.
     * @return the path.
     * @throws IOException when it cannot be created or sized.
     */
    public static Path createSparse(final Path path, final long size) throws IOException
    {
        try (NativeFile f = open(Files.createFile(path), false, false))
        {
            f.truncate(size);
        }
        return path;
    }

    private static boolean isBlockDevice(final Path path) throws IOException
    {
        final int mode = (Integer)Files.getAttribute(path, "unix:mode");
        return (mode & 0170000) == 0060000;
    }

    /**
     * @return the path it was opened with.
     */
    public Path path()
    {
        return path;
    }

    /**
     * @return the descriptor, for io_uring submissions; valid until {@link #close}.
     */
    public int fd()
    {
        return fd;
    }

    /**
     * @return whether it is a block device (else a regular file).
     */
    public boolean isBlockDevice()
    {
        return blockDevice;
    }

    /**
     * @return whether it was opened with O_DIRECT (I/O bypasses the page cache and goes to the device).
     */
    public boolean isDirect()
    {
        return direct;
    }

    /**
     * @return whether it was opened read-only.
     */
    public boolean isReadOnly()
    {
        return readOnly;
    }

    /**
     * @return its size in bytes now (BLKGETSIZE64 for a block device).
     * @throws IOException when the size cannot be read.
     */
    public synchronized long size() throws IOException
    {
        try
        {
            if (blockDevice)
            {
                Linux.ioctl(fd, BLKGETSIZE64, scratch.addressOffset());
                return scratch.getLong(0, ByteOrder.nativeOrder());
            }
            return Linux.lseek(fd, 0, Linux.SEEK_END);
        }
        catch (final LinuxException ex)
        {
            throw error(blockDevice ? "ioctl(BLKGETSIZE64)" : "lseek", path, ex);
        }
    }

    /**
     * @return the logical sector size (BLKSSZGET) of a block device, 512 for a file.
     * @throws IOException when it cannot be read.
     */
    public synchronized int logicalBlockSize() throws IOException
    {
        return blockDevice ? intIoctl(BLKSSZGET, "ioctl(BLKSSZGET)") : 512;
    }

    /**
     * @return the physical sector size (BLKPBSZGET) of a block device, 4096 for a file.
     * @throws IOException when it cannot be read.
     */
    public synchronized int physicalBlockSize() throws IOException
    {
        return blockDevice ? intIoctl(BLKPBSZGET, "ioctl(BLKPBSZGET)") : 4096;
    }

    private int intIoctl(final long request, final String what) throws IOException
    {
        try
        {
            scratch.putInt(0, 0);
            Linux.ioctl(fd, request, scratch.addressOffset());
            return scratch.getInt(0, ByteOrder.nativeOrder());
        }
        catch (final LinuxException ex)
        {
            throw error(what, path, ex);
        }
    }

    /**
     * Reads into the buffers an iovec array describes, from {@code offset}.
     *
     * @param iovAddress address of {@code count} {@code struct iovec} (base, length), 16 bytes each.
     * @param count      number of iovecs.
     * @param offset     file offset.
     * @return bytes read.
     * @throws IOException on failure.
     */
    public long preadv(final long iovAddress, final int count, final long offset) throws IOException
    {
        final long n = Linux.preadv(fd, iovAddress, count, offset);
        if (n < 0)
        {
            throw error("preadv", path, (int)-n);
        }
        return n;
    }

    /**
     * Writes the buffers an iovec array describes, at {@code offset}.
     *
     * @param iovAddress address of {@code count} {@code struct iovec}.
     * @param count      number of iovecs.
     * @param offset     file offset.
     * @return bytes written.
     * @throws IOException on failure.
     */
    public long pwritev(final long iovAddress, final int count, final long offset) throws IOException
    {
        final long n = Linux.pwritev(fd, iovAddress, count, offset);
        if (n < 0)
        {
            throw error("pwritev", path, (int)-n);
        }
        return n;
    }

    /**
     * fdatasync(2): what has been written is on stable storage when this returns.
     *
     * @throws IOException on failure.
     */
    public void fdatasync() throws IOException
    {
        final int result = Linux.fdatasync(fd);
        if (result < 0)
        {
            throw error("fdatasync", path, -result);
        }
    }

    /**
     * Discards a byte range: punches a hole in a file (keeping its size), BLKDISCARD or BLKSECDISCARD on a
     * block device. Reads of the range return zeros afterwards for a file.
     *
     * @param offset byte offset.
     * @param length bytes.
     * @param secure make the old contents unrecoverable (block devices that support it).
     * @throws IOException on failure (EOPNOTSUPP when the file system or device cannot).
     */
    public synchronized void discard(final long offset, final long length, final boolean secure) throws IOException
    {
        try
        {
            if (blockDevice)
            {
                scratch.putLong(0, offset, ByteOrder.nativeOrder());
                scratch.putLong(8, length, ByteOrder.nativeOrder());
                Linux.ioctl(fd, secure ? BLKSECDISCARD : BLKDISCARD, scratch.addressOffset());
            }
            else
            {
                Linux.fallocate(fd, Linux.FALLOC_FL_PUNCH_HOLE | Linux.FALLOC_FL_KEEP_SIZE, offset, length);
            }
        }
        catch (final LinuxException ex)
        {
            throw error(blockDevice ? "ioctl(BLKDISCARD)" : "fallocate(PUNCH_HOLE)", path, ex);
        }
    }

    /**
     * Whether a secure discard (BLKSECDISCARD) can be done here, for {@code discard-secure}: never for a regular file
     * (a punched hole leaves the old blocks on the medium) or a read-only one; for a block device, asked of the
     * kernel without touching data. Since Linux 5.19 BLKSECDISCARD answers EOPNOTSUPP before it looks at the range
     * when the device cannot securely erase, and EINVAL for a range that is not sector-aligned; the probe sends
     * the range {1, 0}, so a capable device answers EINVAL and erases nothing. Older kernels checked the range
     * first, so there the answer is no.
     *
     * @return whether secure discard can be offered.
     */
    public synchronized boolean canSecureDiscard()
    {
        if (!blockDevice || readOnly || !kernelAtLeast(System.getProperty("os.version", ""), 5, 19))
        {
            return false;
        }
        scratch.putLong(0, 1, ByteOrder.nativeOrder());
        scratch.putLong(8, 0, ByteOrder.nativeOrder());
        try
        {
            Linux.ioctl(fd, BLKSECDISCARD, scratch.addressOffset());
            return false;
        }
        catch (final LinuxException ex)
        {
            return ex.errno() == Errno.EINVAL.number();
        }
    }

    /**
     * @return whether this is a regular file on tmpfs, where the page cache is the storage itself: no writeback, no
     *         blocks to allocate behind a mapped write (a block device is not, though its node may be on devtmpfs).
     * @throws IOException when fstatfs fails.
     */
    public boolean isOnTmpfs() throws IOException
    {
        if (blockDevice)
        {
            return false;
        }
        try
        {
            return Linux.fileSystemType(fd) == Linux.TMPFS_MAGIC;
        }
        catch (final LinuxException ex)
        {
            throw error("fstatfs", path, ex);
        }
    }

    /**
     * @param release a kernel release as uname -r prints it, e.g. "6.1.0-18-amd64".
     * @param major   the least major version.
     * @param minor   the least minor version with that major.
     * @return whether the release is at least major.minor (false when it cannot be read).
     */
    static boolean kernelAtLeast(final String release, final int major, final int minor)
    {
        final String[] parts = release.split("[.-]", 3);
        try
        {
            final int kernelMajor = Integer.parseInt(parts[0]);
            final int kernelMinor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
            return kernelMajor > major || (kernelMajor == major && kernelMinor >= minor);
        }
        catch (final NumberFormatException ex)
        {
            return false;
        }
    }

    /**
     * Sets the size of a regular file (online resize in tests and tools).
     *
     * @param length the new size in bytes.
     * @throws IOException on failure.
     */
    public void truncate(final long length) throws IOException
    {
        try
        {
            Linux.ftruncate(fd, length);
        }
        catch (final LinuxException ex)
        {
            throw error("ftruncate", path, ex);
        }
    }

    /**
     * Closes the descriptor; a second call does nothing.
     */
    @Override
    public synchronized void close()
    {
        if (!closed)
        {
            closed = true;
            // close(2) failing leaves nothing to retry: the descriptor is gone either way.
            Linux.close(fd);
        }
    }

    /**
     * @param buffer a direct buffer.
     * @return its native address, for iovecs.
     */
    public static long address(final ByteBuffer buffer)
    {
        return BufferUtil.address(buffer);
    }

    private static IOException error(final String call, final Path path, final LinuxException ex)
    {
        return new IOException(call + " on " + path + " failed: " + Errno.describe(ex.errno()), ex);
    }

    private static IOException error(final String call, final Path path, final int errno)
    {
        return new IOException(call + " on " + path + " failed: " + Errno.describe(errno));
    }
}
