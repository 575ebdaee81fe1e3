package org.dom0j.sim;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The few libc calls the simulator needs that Java does not offer: {@code mmap} with {@code MAP_FIXED} (to map
 * scattered guest frames as one contiguous range, as gntdev does) and {@code futex} on shared file mappings (to
 * wake an event channel waiter in another process). x86_64 Linux constants.
 * <p>
 * Stateless; any thread.
 */
final class SimLibc
{
    static final int PROT_NONE = 0;
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_FIXED = 0x10;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 0x80000;
    static final long MAP_FAILED = -1L;

    private static final long SYS_FUTEX = sysFutex();
    private static final int FUTEX_WAIT = 0;
    private static final int FUTEX_WAKE = 1;

    /**
     * The JNA binding, one method per libc function.
     */
    interface LibC extends Library
    {
        Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset);

        int munmap(Pointer addr, long length);

        int open(String path, int flags);

        int close(int fd);
    }

    static final LibC LIBC = Native.load("c", LibC.class);

    private SimLibc()
    {
    }

    private static long sysFutex()
    {
        final String arch = System.getProperty("os.arch");
        if ("amd64".equals(arch) || "x86_64".equals(arch))
        {
            return 202;
        }
        if ("aarch64".equals(arch))
        {
            return 98;
        }
        throw new IllegalStateException("the simulator knows the futex syscall number only on x86_64 and aarch64");
    }

    /**
     * Waits while the int at {@code address} (in a MAP_SHARED mapping) still holds {@code expected}.
     *
     * @param address      the int's address.
     * @param expected     its value when the caller decided to sleep.
     * @param timeoutNanos at most this long.
     * @param timespec     16 bytes of scratch, owned by the calling thread.
     */
    static void futexWait(final long address, final int expected, final long timeoutNanos, final Memory timespec)
    {
        timespec.setLong(0, timeoutNanos / 1_000_000_000L);
        timespec.setLong(8, timeoutNanos % 1_000_000_000L);
        Syscall.syscall(SYS_FUTEX, address, FUTEX_WAIT, expected, Pointer.nativeValue(timespec), 0, 0);
    }

    /**
     * Wakes every waiter on the int at {@code address}, in any process.
     *
     * @param address the int's address.
     */
    static void futexWake(final long address)
    {
        Syscall.syscall(SYS_FUTEX, address, FUTEX_WAKE, Integer.MAX_VALUE, 0, 0, 0);
    }

    /**
     * {@code syscall(2)} bound with JNA's direct mapping: a wake or a wait costs no argument array, no boxing and
     * no allocation (the event channels call it on every sleep and every wake-up). Every argument is passed as a
     * long, as {@code syscall} reads them.
     */
    private static final class Syscall
    {
        static
        {
            Native.register(Syscall.class, NativeLibrary.getInstance("c"));
        }

        private Syscall()
        {
        }

        static native long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);
    }

    /**
     * Maps scattered pages of a file as one contiguous range: reserves the range, then maps each page over it.
     *
     * @param fd       an open file.
     * @param frames   page numbers within the file.
     * @param count    how many of them.
     * @param writable map for writing.
     * @return the address, or 0 when mmap failed (errno in {@link Native#getLastError()}).
     */
    static long mapFrames(final int fd, final int[] frames, final int count, final boolean writable)
    {
        final long length = (long)count * SimHost.PAGE_SIZE;
        final int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
        if (consecutive(frames, count))
        {
            // One run of frames (always so for one page): a single mmap, no reservation needed.
            final Pointer p = LIBC.mmap(null, length, prot, MAP_SHARED, fd, (long)frames[0] * SimHost.PAGE_SIZE);
            return Pointer.nativeValue(p) == MAP_FAILED ? 0 : Pointer.nativeValue(p);
        }
        final Pointer base = LIBC.mmap(
            null, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (Pointer.nativeValue(base) == MAP_FAILED)
        {
            return 0;
        }
        final long address = Pointer.nativeValue(base);
        int i = 0;
        while (i < count)
        {
            // Map runs of consecutive frames with one call.
            int run = 1;
            while (i + run < count && frames[i + run] == frames[i] + run)
            {
                run++;
            }
            final Pointer p = LIBC.mmap(new Pointer(address + (long)i * SimHost.PAGE_SIZE),
                (long)run * SimHost.PAGE_SIZE, prot, MAP_SHARED | MAP_FIXED, fd, (long)frames[i] * SimHost.PAGE_SIZE);
            if (Pointer.nativeValue(p) == MAP_FAILED)
            {
                final int errno = Native.getLastError();
                LIBC.munmap(base, length);
                Native.setLastError(errno);
                return 0;
            }
            i += run;
        }
        return address;
    }

    private static boolean consecutive(final int[] frames, final int count)
    {
        for (int i = 1; i < count; i++)
        {
            if (frames[i] != frames[0] + i)
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @param address what {@link #mapFrames} returned.
     * @param count   its page count.
     */
    static void unmap(final long address, final int count)
    {
        LIBC.munmap(new Pointer(address), (long)count * SimHost.PAGE_SIZE);
    }
}
