package org.dom0j.blkback.jna;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.linux.Linux;
import org.dom0j.linux.LinuxException;
import org.dom0j.ring.Zeroing;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.nio.ByteOrder;

/**
 * An io_uring instance (Linux 5.1 and later) driven through its three system calls (linux-native's
 * {@code syscall} and {@code mmap}) and its shared rings, with no native library beyond libc: submission queue
 * entries are written into the mapped SQE array, published with a release store of the SQ tail, submitted with one
 * {@code io_uring_enter}, and their completions read from the mapped CQ ring. A batch of reads and writes then
 * costs one system call instead of one each, and on a device opened with {@code O_DIRECT} they are all in flight
 * at once, which one {@code preadv} after another cannot do.
 * <p>
 * Only what block storage needs: {@code READV}, {@code WRITEV} and {@code FSYNC}, each with an optional
 * {@link #IOSQE_ASYNC} (hand the operation to the kernel's io-wq workers at once, so that a large copy runs on
 * another CPU while the caller goes on). Completions carry the 64-bit user data given at preparation.
 * <p>
 * Not thread safe: one thread prepares, submits and reaps (a queue's agent). No allocation after {@link #open}.
 */
public final class IoUring implements AutoCloseable
{
    /** Flag of a submission: do not try it inline, punt it to an io-wq worker thread. */
    public static final int IOSQE_ASYNC = 1 << 4;
    /** Flag of a submission: start it only when every submission before it has completed. */
    public static final int IOSQE_IO_DRAIN = 1 << 1;

    static final int IORING_OP_READV = 1;
    static final int IORING_OP_WRITEV = 2;
    static final int IORING_OP_FSYNC = 3;
    static final int IORING_FSYNC_DATASYNC = 1;
    static final int IORING_ENTER_GETEVENTS = 1;
    static final int IORING_FEAT_SINGLE_MMAP = 1;
    static final long IORING_OFF_SQ_RING = 0;
    static final long IORING_OFF_CQ_RING = 0x8000000L;
    static final long IORING_OFF_SQES = 0x10000000L;

    /** io_uring_setup(2): 425 on x86_64, as on aarch64. */
    static final long SYS_IO_URING_SETUP = 425;
    /** io_uring_enter(2). */
    static final long SYS_IO_URING_ENTER = 426;
    /** Releases what a ring, a {@link NativeMemory} or a {@link MappedFile} dropped without closing held. */
    static final Cleaner CLEANER = Cleaner.create();

    static final int SQE_SIZE = 64;
    static final int CQE_SIZE = 16;
    static final int PARAMS_SIZE = 120;

    private static final int PROT_READ_WRITE = Linux.PROT_READ | Linux.PROT_WRITE;
    private static final int MAP_SHARED_POPULATE = Linux.MAP_SHARED | Linux.MAP_POPULATE;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private final int ringFd;
    private final int entries;
    private final UnsafeBuffer sqRing;
    private final UnsafeBuffer cqRing;
    private final UnsafeBuffer sqes;
    private final int sqHeadOffset;
    private final int sqTailOffset;
    private final int sqMask;
    private final int sqArrayOffset;
    private final int cqHeadOffset;
    private final int cqTailOffset;
    private final int cqMask;
    private final int cqesOffset;
    private final Cleaner.Cleanable cleanable;
    private int sqTail;
    private int inFlight;

    /**
     * Reads one completion.
     */
    @FunctionalInterface
    public interface CompletionHandler
    {
        /**
         * @param userData what the submission carried.
         * @param result   its result: bytes moved, 0, or minus an errno.
         */
        void onCompletion(long userData, int result);
    }

    private IoUring(final int ringFd, final UnsafeBuffer params) throws IOException
    {
        this.ringFd = ringFd;
        entries = params.getInt(0, NATIVE);
        final int cqEntries = params.getInt(4, NATIVE);
        final int features = params.getInt(20, NATIVE);
        // struct io_sqring_offsets at 40: head, tail, ring_mask, ring_entries, flags, dropped, array.
        sqHeadOffset = params.getInt(40, NATIVE);
        sqTailOffset = params.getInt(44, NATIVE);
        final int sqMaskOffset = params.getInt(48, NATIVE);
        sqArrayOffset = params.getInt(64, NATIVE);
        // struct io_cqring_offsets at 80: head, tail, ring_mask, ring_entries, overflow, cqes.
        cqHeadOffset = params.getInt(80, NATIVE);
        cqTailOffset = params.getInt(84, NATIVE);
        final int cqMaskOffset = params.getInt(88, NATIVE);
        cqesOffset = params.getInt(100, NATIVE);

        long sqLength = sqArrayOffset + (long)entries * 4;
        long cqLength = cqesOffset + (long)cqEntries * CQE_SIZE;
        final boolean single = (features & IORING_FEAT_SINGLE_MMAP) != 0;
        if (single)
        {
            sqLength = Math.max(sqLength, cqLength);
            cqLength = sqLength;
        }
        long sq = 0;
        long cq = 0;
        long sqe = 0;
        try
        {
            sq = map(ringFd, sqLength, IORING_OFF_SQ_RING, "SQ ring");
            cq = single ? sq : map(ringFd, cqLength, IORING_OFF_CQ_RING, "CQ ring");
            sqe = map(ringFd, (long)entries * SQE_SIZE, IORING_OFF_SQES, "SQE array");
        }
        catch (final IOException ex)
        {
            unmap(sq, sqLength);
            if (!single)
            {
                unmap(cq, cqLength);
            }
            throw ex;
        }
        final long sqesLength = (long)entries * SQE_SIZE;
        sqRing = new UnsafeBuffer(sq, (int)sqLength);
        cqRing = new UnsafeBuffer(cq, (int)cqLength);
        sqes = new UnsafeBuffer(sqe, (int)sqesLength);
        sqMask = sqRing.getInt(sqMaskOffset, NATIVE);
        cqMask = cqRing.getInt(cqMaskOffset, NATIVE);
        sqTail = sqRing.getIntVolatile(sqTailOffset);
        cleanable = CLEANER.register(this, new Release(ringFd, new long[]{ sqe, sqesLength,
            single ? 0 : cq, cqLength, sq, sqLength }));
        // Each slot of the SQ ring's index array names the SQE of the same number, once and for all.
        for (int i = 0; i < entries; i++)
        {
            sqRing.putInt(sqArrayOffset + i * 4, i, NATIVE);
        }
    }

    /**
     * @param entries submission queue entries (rounded up to a power of two by the kernel; at most 32768): the most
     *                operations in flight at once.
     * @return the ring.
     * @throws IOException when the kernel has no io_uring, refuses it (kernel.io_uring_disabled, a seccomp filter)
     *                     or cannot map it; the message says which and what to do.
     */
    public static IoUring open(final int entries) throws IOException
    {
        final UnsafeBuffer params = new UnsafeBuffer(BufferUtil.allocateDirectAligned(PARAMS_SIZE, 8));
        final long fd = Linux.syscall(SYS_IO_URING_SETUP, entries, params.addressOffset(), 0, 0, 0, 0);
        if (fd < 0)
        {
            final int errno = (int)-fd;
            throw new IOException("io_uring_setup failed: " + Errno.describe(errno) +
                (errno == Errno.ENOSYS.number() || errno == Errno.EPERM.number() ?
                " (this kernel or its sysctl kernel.io_uring_disabled, or a seccomp filter, refuses io_uring; " +
                "blkback then reads and writes with preadv/pwritev)" : ""));
        }
        try
        {
            return new IoUring((int)fd, params);
        }
        catch (final IOException | RuntimeException ex)
        {
            Linux.close((int)fd);
            throw ex;
        }
    }

    /**
     * @return whether io_uring can be set up here (a small ring is made and closed).
     */
    public static boolean isAvailable()
    {
        try (IoUring ignored = open(2))
        {
            return true;
        }
        catch (final IOException | LinkageError ex)
        {
            return false;
        }
    }

    private static long map(final int fd, final long length, final long offset, final String what) throws IOException
    {
        try
        {
            return Linux.mmap(0, length, PROT_READ_WRITE, MAP_SHARED_POPULATE, fd, offset);
        }
        catch (final LinuxException ex)
        {
            throw new IOException("mmap of the io_uring " + what + " failed: " + Errno.describe(ex.errno()), ex);
        }
    }

    private static void unmap(final long address, final long length)
    {
        if (address != 0)
        {
            // munmap fails only for a bad range, which ours is not: nothing to retry.
            Linux.munmap(address, length);
        }
    }

    /**
     * @return submission queue entries, the most operations in flight at once.
     */
    public int entries()
    {
        return entries;
    }

    /**
     * @return operations submitted or prepared whose completion has not been reaped.
     */
    public int inFlight()
    {
        return inFlight;
    }

    /**
     * Prepares a {@code preadv} of {@code count} iovecs at {@code iovAddress}, which must stay valid until
     * {@link #submit} returns.
     *
     * @param fd         the file.
     * @param iovAddress its iovecs.
     * @param count      how many.
     * @param offset     file offset.
     * @param userData   carried to the completion.
     * @param flags      0, {@link #IOSQE_ASYNC}, {@link #IOSQE_IO_DRAIN}.
     * @return false when the submission queue is full (submit or reap first).
     */
    public boolean prepareReadv(
        final int fd, final long iovAddress, final int count, final long offset, final long userData, final int flags)
    {
        return prepare(IORING_OP_READV, fd, iovAddress, count, offset, 0, userData, flags);
    }

    /**
     * Prepares a {@code pwritev}; see {@link #prepareReadv}.
     *
     * @param fd         the file.
     * @param iovAddress its iovecs.
     * @param count      how many.
     * @param offset     file offset.
     * @param userData   carried to the completion.
     * @param flags      0, {@link #IOSQE_ASYNC}, {@link #IOSQE_IO_DRAIN}.
     * @return false when the submission queue is full.
     */
    public boolean prepareWritev(
        final int fd, final long iovAddress, final int count, final long offset, final long userData, final int flags)
    {
        return prepare(IORING_OP_WRITEV, fd, iovAddress, count, offset, 0, userData, flags);
    }

    /**
     * Prepares an {@code fdatasync}.
     *
     * @param fd       the file.
     * @param userData carried to the completion.
     * @return false when the submission queue is full.
     */
    public boolean prepareFdatasync(final int fd, final long userData)
    {
        return prepare(IORING_OP_FSYNC, fd, 0, 0, 0, IORING_FSYNC_DATASYNC, userData, 0);
    }

    private boolean prepare(
        final int opcode,
        final int fd,
        final long address,
        final int length,
        final long offset,
        final int opFlags,
        final long userData,
        final int flags)
    {
        if (inFlight == entries)
        {
            return false;
        }
        final int at = (sqTail & sqMask) * SQE_SIZE;
        Zeroing.zero(sqes, at, SQE_SIZE);
        sqes.putByte(at, (byte)opcode);
        sqes.putByte(at + 1, (byte)flags);
        sqes.putInt(at + 4, fd, NATIVE);
        sqes.putLong(at + 8, offset, NATIVE);
        sqes.putLong(at + 16, address, NATIVE);
        sqes.putInt(at + 24, length, NATIVE);
        sqes.putInt(at + 28, opFlags, NATIVE);
        sqes.putLong(at + 32, userData, NATIVE);
        sqTail++;
        inFlight++;
        return true;
    }

    /**
     * Publishes what was prepared and hands it to the kernel, waiting until at least {@code waitFor} completions
     * are ready (0: do not wait). Interrupted waits are resumed.
     *
     * @param waitFor completions to wait for, at most {@link #inFlight()}.
     * @throws IOException when io_uring_enter fails (the ring is then unusable).
     */
    public void submit(final int waitFor) throws IOException
    {
        if (waitFor > inFlight)
        {
            throw new IllegalArgumentException("waiting for " + waitFor + " completions with " + inFlight +
                " in flight");
        }
        // The kernel reads SQEs only after it sees the tail: release.
        sqRing.putIntRelease(sqTailOffset, sqTail);
        while (true)
        {
            final int toSubmit = sqTail - sqRing.getIntVolatile(sqHeadOffset);
            final int wanted = waitFor - ready();
            if (toSubmit == 0 && wanted <= 0)
            {
                return;
            }
            final long result = Linux.syscall(SYS_IO_URING_ENTER, ringFd, toSubmit, Math.max(0, wanted),
                wanted > 0 ? IORING_ENTER_GETEVENTS : 0, 0, 0);
            if (result < 0)
            {
                // Interrupted, or the kernel is short of room for completions: enter again (no allocation).
                final int errno = (int)-result;
                if (errno != Errno.EINTR.number() && errno != Errno.EAGAIN.number() &&
                    errno != Errno.EBUSY.number())
                {
                    throw new IOException("io_uring_enter failed: " + Errno.describe(errno));
                }
            }
        }
    }

    /**
     * @return completions ready to be reaped.
     */
    public int ready()
    {
        return cqRing.getIntVolatile(cqTailOffset) - cqRing.getInt(cqHeadOffset, NATIVE);
    }

    /**
     * Hands every ready completion to {@code handler} and frees its slot.
     *
     * @param handler told of each.
     * @return completions reaped.
     */
    public int reap(final CompletionHandler handler)
    {
        int head = cqRing.getInt(cqHeadOffset, NATIVE);
        final int tail = cqRing.getIntAcquire(cqTailOffset);
        int reaped = 0;
        while (head != tail)
        {
            final int at = cqesOffset + (head & cqMask) * CQE_SIZE;
            final long userData = cqRing.getLong(at, NATIVE);
            final int result = cqRing.getInt(at + 8, NATIVE);
            head++;
            reaped++;
            // The slot is the kernel's again once the head passes it: read first, then release.
            cqRing.putIntRelease(cqHeadOffset, head);
            inFlight--;
            handler.onCompletion(userData, result);
        }
        return reaped;
    }

    /**
     * Unmaps the rings and closes the descriptor (the kernel cancels what is still in flight); a second call does
     * nothing.
     */
    @Override
    public void close()
    {
        cleanable.clean();
    }

    /**
     * What closing does, also run by the cleaner when a ring is dropped without {@link #close} (a queue whose
     * connection failed half way), so that neither the descriptor nor the mappings leak.
     */
    private record Release(int fd, long[] mappings) implements Runnable
    {
        @Override
        public void run()
        {
            for (int i = 0; i < mappings.length; i += 2)
            {
                unmap(mappings[i], mappings[i + 1]);
            }
            Linux.close(fd);
        }
    }
}
