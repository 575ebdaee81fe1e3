package org.dom0j.sim;

import org.dom0j.linux.Linux;
import org.dom0j.linux.LinuxException;

/**
 * Maps scattered frames of a domain's memory file as one contiguous range, as gntdev maps granted pages: a single
 * {@code mmap} for one run of consecutive frames, otherwise a reserved range with each run mapped over it
 * ({@code MAP_FIXED}). The system calls are linux-native's.
 * <p>
 * Stateless; any thread.
 */
final class SimFrames
{
    private SimFrames()
    {
    }

    /**
     * @param fd       an open memory file.
     * @param frames   page numbers within the file.
     * @param count    how many of them.
     * @param writable map for writing.
     * @return the address of the first.
     * @throws LinuxException when mmap fails (nothing stays mapped).
     */
    static long map(final int fd, final int[] frames, final int count, final boolean writable)
    {
        final long length = (long)count * SimHost.PAGE_SIZE;
        final int prot = writable ? Linux.PROT_READ | Linux.PROT_WRITE : Linux.PROT_READ;
        if (consecutive(frames, count))
        {
            // One run of frames (always so for one page): a single mmap, no reservation needed.
            return Linux.mmap(0, length, prot, Linux.MAP_SHARED, fd, (long)frames[0] * SimHost.PAGE_SIZE);
        }
        final long address = Linux.mmap(0, length, Linux.PROT_NONE,
            Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS | Linux.MAP_NORESERVE, -1, 0);
        try
        {
            int i = 0;
            while (i < count)
            {
                // Map runs of consecutive frames with one call.
                int run = 1;
                while (i + run < count && frames[i + run] == frames[i] + run)
                {
                    run++;
                }
                Linux.mmap(address + (long)i * SimHost.PAGE_SIZE, (long)run * SimHost.PAGE_SIZE, prot,
                    Linux.MAP_SHARED | Linux.MAP_FIXED, fd, (long)frames[i] * SimHost.PAGE_SIZE);
                i += run;
            }
        }
        catch (final LinuxException ex)
        {
            Linux.munmap(address, length);
            throw ex;
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
     * @param address what {@link #map} returned.
     * @param count   its page count.
     */
    static void unmap(final long address, final int count)
    {
        Linux.munmap(address, (long)count * SimHost.PAGE_SIZE);
    }
}
