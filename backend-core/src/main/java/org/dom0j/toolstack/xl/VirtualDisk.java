package org.dom0j.toolstack.xl;

/**
 * A guest's disk name ({@code vdev}) and the number that names its xenstore device ({@code virtual-device}), as
 * libxl computes it ({@code libxl__device_disk_dev_number}) and Linux's blkfront reads it:
 * <ul>
 *   <li>{@code xvd<letters>[partition]} and {@code d<disk>p<partition>}: {@code 202 << 8 | disk << 4 | partition}
 *       for disks 0-15 and partitions 0-15 ({@code xvda} is 51712, {@code xvdb} 51728); otherwise the extended form
 *       {@code 1 << 28 | disk << 8 | partition} (disks up to 2^20 - 1, partitions up to 255; {@code xvdq} is
 *       268439552);</li>
 *   <li>{@code hd<letter>[partition]}, disks a-d, partitions up to 63: major 3 for hda/hdb and 22 for hdc/hdd,
 *       {@code major << 8 | (disk & 1) << 6 | partition} ({@code hda} 768, {@code hdc} 5632);</li>
 *   <li>{@code sd<letters>[partition]}, disks a-p, partitions up to 15: {@code 8 << 8 | disk << 4 | partition}
 *       ({@code sda} 2048);</li>
 *   <li>a number (decimal, {@code 0x} hex or {@code 0} octal, up to 2^31 - 1) is taken as it is.</li>
 * </ul>
 * Letters count as in base 26 the way Linux names disks ({@code xvdz} is disk 25, {@code xvdaa} 26); partition
 * numbers have no leading zero.
 * <p>
 * Stateless; any thread.
 */
public final class VirtualDisk
{
    /** Xen's major number for xvd disks. */
    public static final int XVD_MAJOR = 202;
    /** The flag of the extended numbering. */
    public static final int EXTENDED = 1 << 28;

    private VirtualDisk()
    {
    }

    /**
     * @param vdev a disk name as a config file writes it.
     * @return its device number, or -1 when libxl would not know the name.
     */
    public static int deviceNumber(final String vdev)
    {
        int[] xvd = dNpN(vdev);
        if (null == xvd)
        {
            xvd = letters(vdev, "xvd", (1 << 20) - 1, 255);
        }
        if (null != xvd)
        {
            final int disk = xvd[0];
            final int partition = xvd[1];
            return disk <= 15 && partition <= 15 ? XVD_MAJOR << 8 | disk << 4 | partition :
                EXTENDED | disk << 8 | partition;
        }
        final long number = number(vdev);
        if (number >= 0)
        {
            return (int)number;
        }
        final int[] hd = letters(vdev, "hd", 3, 63);
        if (null != hd)
        {
            return (hd[0] < 2 ? 3 : 22) << 8 | (hd[0] & 1) << 6 | hd[1];
        }
        final int[] sd = letters(vdev, "sd", 15, 15);
        if (null != sd)
        {
            return 8 << 8 | sd[0] << 4 | sd[1];
        }
        return -1;
    }

    /**
     * {@code d<disk>p<partition>}: decimal numbers, disk below 2^20, partition below 256.
     */
    private static int[] dNpN(final String vdev)
    {
        if (vdev.length() < 4 || vdev.charAt(0) != 'd')
        {
            return null;
        }
        final int p = vdev.indexOf('p');
        if (p < 2 || p == vdev.length() - 1 || !decimal(vdev, 1, p) || !decimal(vdev, p + 1, vdev.length()) ||
            p - 1 > 7 || vdev.length() - p - 1 > 3)
        {
            return null;
        }
        final int disk = Integer.parseInt(vdev, 1, p, 10);
        final int partition = Integer.parseInt(vdev, p + 1, vdev.length(), 10);
        return disk < 1 << 20 && partition < 256 ? new int[]{ disk, partition } : null;
    }

    private static boolean decimal(final String s, final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            if (s.charAt(i) < '0' || s.charAt(i) > '9')
            {
                return false;
            }
        }
        return to > from;
    }

    /**
     * {@code <prefix><letters>[partition]}, letters in base 26 as Linux counts them.
     */
    private static int[] letters(final String vdev, final String prefix, final int maxDisk, final int maxPartition)
    {
        if (!vdev.startsWith(prefix))
        {
            return null;
        }
        int i = prefix.length();
        long disk = -1;
        while (i < vdev.length() && vdev.charAt(i) >= 'a' && vdev.charAt(i) <= 'z')
        {
            disk = (disk + 1) * 26 + (vdev.charAt(i) - 'a');
            if (disk > maxDisk)
            {
                return null;
            }
            i++;
        }
        if (disk < 0)
        {
            // libxl lets "xvd" through as disk -1; no guest can use that name.
            return null;
        }
        if (i == vdev.length())
        {
            return new int[]{ (int)disk, 0 };
        }
        if (vdev.charAt(i) == '0' || !decimal(vdev, i, vdev.length()) || vdev.length() - i > 3)
        {
            return null;
        }
        final int partition = Integer.parseInt(vdev, i, vdev.length(), 10);
        return partition <= maxPartition ? new int[]{ (int)disk, partition } : null;
    }

    /**
     * strtoul with base 0, up to INT_MAX; -1 when it is not all a number.
     */
    private static long number(final String s)
    {
        try
        {
            final long value;
            if (s.startsWith("0x") || s.startsWith("0X"))
            {
                value = Long.parseLong(s.substring(2), 16);
            }
            else if (s.length() > 1 && s.startsWith("0"))
            {
                value = Long.parseLong(s.substring(1), 8);
            }
            else
            {
                value = Long.parseLong(s, 10);
            }
            return value >= 0 && value <= Integer.MAX_VALUE && !s.startsWith("+") && !s.startsWith("0x-") ?
                value : -1;
        }
        catch (final NumberFormatException ex)
        {
            return -1;
        }
    }

    /**
     * What Linux and libxl call a device number ({@code libxl__devid_to_vdev}): {@code xvd<letters>[partition]}.
     *
     * @param deviceNumber a device number in the xvd or extended range.
     * @return its xvd name, or null for other majors.
     */
    public static String name(final int deviceNumber)
    {
        final int minor;
        final int parts;
        if ((deviceNumber & EXTENDED) != 0)
        {
            minor = deviceNumber & ~EXTENDED;
            parts = 256;
        }
        else if (deviceNumber >> 8 == XVD_MAJOR)
        {
            minor = deviceNumber & 0xFF;
            parts = 16;
        }
        else
        {
            return null;
        }
        final StringBuilder letters = new StringBuilder();
        int n = minor / parts;
        while (true)
        {
            letters.insert(0, (char)('a' + n % 26));
            if (n < 26)
            {
                break;
            }
            n = n / 26 - 1;
        }
        final int partition = minor % parts;
        return "xvd" + letters + (partition == 0 ? "" : Integer.toString(partition));
    }
}
