package org.dom0j.linux;

import org.dom0j.common.Errno;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A TAP network interface (Ethernet frames in and out through descriptors) made with {@code /dev/net/tun}: one
 * descriptor per queue ({@code IFF_MULTI_QUEUE} when there are several), each non-blocking and close-on-exec,
 * frames without the packet-information prefix ({@code IFF_NO_PI}) and, optionally, each frame preceded by a
 * 12-byte virtio-net header ({@code IFF_VNET_HDR}, {@code struct virtio_net_hdr_mrg_rxbuf}) that carries checksum
 * and segmentation offload. The link's state, MTU and MAC address are set with the SIOCxIFx ioctls on a datagram
 * socket. The interface is not persistent: closing its last descriptor deletes it.
 * <pre>
 *   struct ifreq (x86_64, 40 bytes)
 *   0                16      18                     40
 *   +----------------+-------+----------------------+
 *   | ifr_name[16]   | union: ifr_flags (short),    |
 *   |                | ifr_mtu, ifr_ifindex (int),  |
 *   |                | ifr_hwaddr (sa_family, data) |
 *   +----------------+------------------------------+
 * </pre>
 * Needs CAP_NET_ADMIN. x86_64 ioctl numbers, checked against {@code linux/if_tun.h} and {@code linux/sockios.h}.
 * <p>
 * <b>Threads</b>: {@link #open}, the link setters and {@link #close} from one control thread; {@link #read},
 * {@link #readv}, {@link #write} and {@link #writev} on a queue from that queue's thread (one per queue), with no
 * allocation; {@link #close} after every queue's thread has stopped.
 */
public final class TapDevice implements AutoCloseable
{
    /** TUNSETIFF flag: a TAP (Ethernet) device. */
    public static final int IFF_TAP = 0x0002;
    /** TUNSETIFF flag: several queues, one descriptor each. */
    public static final int IFF_MULTI_QUEUE = 0x0100;
    /** TUNSETIFF flag: no packet-information prefix. */
    public static final int IFF_NO_PI = 0x1000;
    /** TUNSETIFF flag: a virtio-net header before each frame. */
    public static final int IFF_VNET_HDR = 0x4000;

    /** TUNSETOFFLOAD: frames may come with a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM). */
    public static final int TUN_F_CSUM = 0x01;
    /** TUNSETOFFLOAD: TCP segmentation offload for IPv4. */
    public static final int TUN_F_TSO4 = 0x02;
    /** TUNSETOFFLOAD: TCP segmentation offload for IPv6. */
    public static final int TUN_F_TSO6 = 0x04;
    /** TUNSETOFFLOAD: TSO with ECN. */
    public static final int TUN_F_TSO_ECN = 0x08;

    /** Bytes of {@code struct virtio_net_hdr_mrg_rxbuf} (virtio 1.0's header) before each frame with IFF_VNET_HDR. */
    public static final int VNET_HDR_SIZE = 12;
    /** IFNAMSIZ: an interface name is at most 15 bytes and a NUL. */
    public static final int IFNAMSIZ = 16;

    /** _IOW('T', 202, int). */
    static final long TUNSETIFF = 0x400454caL;
    /** _IOW('T', 203, int): keep the interface when its last descriptor closes. */
    static final long TUNSETPERSIST = 0x400454cbL;
    /** _IOW('T', 208, unsigned int): the argument is the flags themselves, not a pointer. */
    static final long TUNSETOFFLOAD = 0x400454d0L;
    /** _IOW('T', 216, int). */
    static final long TUNSETVNETHDRSZ = 0x400454d8L;
    /** _IOW('T', 226, int). */
    static final long TUNSETCARRIER = 0x400454e2L;
    static final long SIOCGIFFLAGS = 0x8913;
    static final long SIOCSIFFLAGS = 0x8914;
    static final long SIOCSIFMTU = 0x8922;
    static final long SIOCSIFHWADDR = 0x8924;
    static final long SIOCGIFINDEX = 0x8933;
    static final int IFF_UP = 0x1;
    static final int ARPHRD_ETHER = 1;

    static final int IFREQ_SIZE = 40;
    /** ifr_flags, ifr_mtu, ifr_ifindex and ifr_hwaddr's sa_family all sit at the union's start. */
    static final int IFREQ_UNION_OFFSET = 16;
    static final int IFREQ_HWADDR_DATA_OFFSET = 18;

    static final int AF_INET = 2;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_CLOEXEC = 0x80000;

    private static final String CLONE_DEVICE = "/dev/net/tun";

    private final String name;
    private final int[] fds;
    private final boolean vnetHeader;
    private final int ifindex;
    private boolean closed;

    private TapDevice(final String name, final int[] fds, final boolean vnetHeader, final int ifindex)
    {
        this.name = name;
        this.fds = fds;
        this.vnetHeader = vnetHeader;
        this.ifindex = ifindex;
    }

    /**
     * Creates the interface (or attaches to a persistent one of that name), down, with one descriptor per queue.
     *
     * @param name       the interface's name, at most 15 bytes; a pattern such as "dj%d" lets the kernel number it.
     * @param queues     descriptors to open, at least 1; more than 1 makes it multi-queue.
     * @param vnetHeader whether each frame read or written is preceded by a {@link #VNET_HDR_SIZE}-byte virtio-net
     *                   header.
     * @return the device.
     * @throws LinuxException when it cannot be made (EPERM without CAP_NET_ADMIN; ENOENT without /dev/net/tun;
     *                        EBUSY when a non-multi-queue device of that name is in use; EINVAL for a device of that
     *                        name with other flags).
     */
    public static TapDevice open(final String name, final int queues, final boolean vnetHeader)
    {
        final byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
        if (nameBytes.length == 0 || nameBytes.length >= IFNAMSIZ)
        {
            throw new IllegalArgumentException("interface name '" + name + "' is not 1 to 15 bytes");
        }
        if (queues < 1)
        {
            throw new IllegalArgumentException(queues + " queues");
        }
        final short flags = (short)(IFF_TAP | IFF_NO_PI | (vnetHeader ? IFF_VNET_HDR : 0) |
            (queues > 1 ? IFF_MULTI_QUEUE : 0));
        final ByteBuffer ifreq = LibC.allocate(IFREQ_SIZE);
        final long ifreqAddress = LibC.address(ifreq);
        final int[] fds = new int[queues];
        Arrays.fill(fds, -1);
        String actualName = name;
        try
        {
            for (int queue = 0; queue < queues; queue++)
            {
                fds[queue] = Linux.open(CLONE_DEVICE, Linux.O_RDWR | Linux.O_NONBLOCK | Linux.O_CLOEXEC, 0);
                // Queues after the first attach to the interface by the name the kernel gave it.
                putName(ifreq, queue == 0 ? nameBytes : actualName.getBytes(StandardCharsets.US_ASCII));
                ifreq.putShort(IFREQ_UNION_OFFSET, flags);
                if (LibC.ioctl(fds[queue], TUNSETIFF, ifreqAddress) < 0)
                {
                    final int errno = LibC.errno();
                    throw new LinuxException(errno, "TUNSETIFF " + name + " queue " + queue +
                        (errno == Errno.EPERM.number() ? " (a TAP device needs CAP_NET_ADMIN)" : ""));
                }
                actualName = getName(ifreq);
            }
            if (vnetHeader)
            {
                ifreq.putInt(0, VNET_HDR_SIZE);
                if (LibC.ioctl(fds[0], TUNSETVNETHDRSZ, ifreqAddress) < 0)
                {
                    throw new LinuxException(LibC.errno(), "TUNSETVNETHDRSZ " + VNET_HDR_SIZE + " on " + actualName);
                }
            }
            final ByteBuffer index = ifreq(actualName);
            interfaceIoctl(index, SIOCGIFINDEX, "SIOCGIFINDEX " + actualName);
            return new TapDevice(actualName, fds, vnetHeader, index.getInt(IFREQ_UNION_OFFSET));
        }
        catch (final RuntimeException ex)
        {
            closeAll(fds);
            throw ex;
        }
    }

    private static void putName(final ByteBuffer ifreq, final byte[] name)
    {
        for (int i = 0; i < IFREQ_SIZE; i++)
        {
            ifreq.put(i, (byte)0);
        }
        ifreq.put(0, name);
    }

    private static String getName(final ByteBuffer ifreq)
    {
        int length = 0;
        while (length < IFNAMSIZ - 1 && ifreq.get(length) != 0)
        {
            length++;
        }
        final byte[] bytes = new byte[length];
        ifreq.get(0, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    private static void closeAll(final int[] fds)
    {
        for (final int fd : fds)
        {
            if (fd >= 0)
            {
                Linux.close(fd);
            }
        }
    }

    /**
     * @return a zeroed ifreq naming the interface.
     */
    private static ByteBuffer ifreq(final String name)
    {
        final ByteBuffer ifreq = LibC.allocate(IFREQ_SIZE);
        putName(ifreq, name.getBytes(StandardCharsets.US_ASCII));
        return ifreq;
    }

    /**
     * One SIOCxIFx ioctl on a datagram socket opened for it; the kernel's answer, if any, is left in the ifreq.
     */
    private static void interfaceIoctl(final ByteBuffer ifreq, final long request, final String what)
    {
        final int socket = LibC.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (socket < 0)
        {
            throw new LinuxException(LibC.errno(), "socket(AF_INET, SOCK_DGRAM) for " + what);
        }
        try
        {
            if (LibC.ioctl(socket, request, LibC.address(ifreq)) < 0)
            {
                throw new LinuxException(LibC.errno(), what);
            }
        }
        finally
        {
            Linux.close(socket);
        }
    }

    /**
     * @return the interface's name (as the kernel gave it, when a pattern was asked for).
     */
    public String name()
    {
        return name;
    }

    /**
     * Keeps the interface (with its addresses, bridge port and link state) when the last descriptor closes, also when
     * the process dies, so that a restarted service attaches to it again with {@link #open} ({@code TUNSETPERSIST});
     * false lets closing delete it again.
     *
     * @param persistent whether the interface outlives its descriptors.
     */
    public void persist(final boolean persistent)
    {
        if (LibC.ioctl(fds[0], TUNSETPERSIST, persistent ? 1L : 0L) < 0)
        {
            throw new LinuxException(LibC.errno(), "TUNSETPERSIST " + (persistent ? 1 : 0) + " on " + name);
        }
    }

    /**
     * @return its interface index (SIOCGIFINDEX), as packet sockets and netlink name it.
     */
    public int ifindex()
    {
        return ifindex;
    }

    /**
     * @return how many queues (descriptors) it has.
     */
    public int queues()
    {
        return fds.length;
    }

    /**
     * @param queue a queue, below {@link #queues()}.
     * @return its descriptor (non-blocking), for {@link Epoll}; valid until {@link #close}.
     */
    public int fd(final int queue)
    {
        return fds[queue];
    }

    /**
     * @return whether each frame carries a {@link #VNET_HDR_SIZE}-byte virtio-net header.
     */
    public boolean hasVnetHeader()
    {
        return vnetHeader;
    }

    /**
     * TUNSETOFFLOAD: which offloads the side that writes into the device (the guest) may leave to the stack, and so
     * which the stack may hand out in frames read from it. Needs the virtio-net header.
     *
     * @param offloads {@link #TUN_F_CSUM}, {@link #TUN_F_TSO4}, {@link #TUN_F_TSO6}, {@link #TUN_F_TSO_ECN}, or 0.
     * @throws LinuxException when the kernel refuses them (EINVAL).
     */
    public void setOffload(final int offloads)
    {
        if (LibC.ioctl(fds[0], TUNSETOFFLOAD, offloads & 0xFFFFFFFFL) < 0)
        {
            throw new LinuxException(LibC.errno(), "TUNSETOFFLOAD 0x" + Integer.toHexString(offloads) + " on " + name);
        }
    }

    /**
     * TUNSETCARRIER: the interface's carrier, as a NIC's link state (Linux 4.20 and later): with it off the stack
     * sends nothing to the device and reports NO-CARRIER.
     *
     * @param on carrier on, or off.
     * @throws LinuxException when the kernel refuses it (EINVAL on a kernel without TUNSETCARRIER).
     */
    public void setCarrier(final boolean on)
    {
        final ByteBuffer value = LibC.allocate(4);
        value.putInt(0, on ? 1 : 0);
        if (LibC.ioctl(fds[0], TUNSETCARRIER, LibC.address(value)) < 0)
        {
            throw new LinuxException(LibC.errno(), "TUNSETCARRIER " + (on ? 1 : 0) + " on " + name);
        }
    }

    /**
     * Brings the link up or down (SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP set or cleared).
     *
     * @param up up, or down.
     * @throws LinuxException when the flags cannot be read or set.
     */
    public void setLinkUp(final boolean up)
    {
        final ByteBuffer ifr = ifreq(name);
        interfaceIoctl(ifr, SIOCGIFFLAGS, "SIOCGIFFLAGS " + name);
        final short flags = ifr.getShort(IFREQ_UNION_OFFSET);
        ifr.putShort(IFREQ_UNION_OFFSET, (short)(up ? flags | IFF_UP : flags & ~IFF_UP));
        interfaceIoctl(ifr, SIOCSIFFLAGS, "SIOCSIFFLAGS " + name);
    }

    /**
     * SIOCSIFMTU.
     *
     * @param mtu the largest frame payload in bytes (68 to 65535 for a TAP).
     * @throws LinuxException when the kernel refuses it (EINVAL).
     */
    public void setMtu(final int mtu)
    {
        final ByteBuffer ifr = ifreq(name);
        ifr.putInt(IFREQ_UNION_OFFSET, mtu);
        interfaceIoctl(ifr, SIOCSIFMTU, "SIOCSIFMTU " + mtu + " on " + name);
    }

    /**
     * SIOCSIFHWADDR with an Ethernet address (ARPHRD_ETHER).
     *
     * @param mac six bytes, a unicast address.
     * @throws LinuxException when the kernel refuses it (EADDRNOTAVAIL for a multicast one).
     */
    public void setMacAddress(final byte[] mac)
    {
        if (mac.length != 6)
        {
            throw new IllegalArgumentException("a MAC address is 6 bytes, not " + mac.length);
        }
        final ByteBuffer ifr = ifreq(name);
        ifr.putShort(IFREQ_UNION_OFFSET, (short)ARPHRD_ETHER);
        ifr.put(IFREQ_HWADDR_DATA_OFFSET, mac);
        interfaceIoctl(ifr, SIOCSIFHWADDR, "SIOCSIFHWADDR on " + name);
    }

    /**
     * Reads one frame (with its virtio-net header first, when the device has one).
     *
     * @param queue   the queue.
     * @param address where to.
     * @param length  room there; a longer frame is cut.
     * @return the frame's bytes, or minus the errno (-EAGAIN: no frame waiting).
     */
    public long read(final int queue, final long address, final long length)
    {
        return Linux.read(fds[queue], address, length);
    }

    /**
     * Reads one frame into the buffers an iovec array describes.
     *
     * @param queue the queue.
     * @param iov   address of {@code count} {@code struct iovec}.
     * @param count number of iovecs.
     * @return the frame's bytes, or minus the errno (-EAGAIN: no frame waiting).
     */
    public long readv(final int queue, final long iov, final int count)
    {
        return Linux.readv(fds[queue], iov, count);
    }

    /**
     * Writes one frame (after its virtio-net header, when the device has one): the stack receives it as if it had
     * arrived on the interface.
     *
     * @param queue   the queue.
     * @param address the frame.
     * @param length  its bytes.
     * @return bytes written, or minus the errno (-EIO while the link is down; -EINVAL for a malformed frame).
     */
    public long write(final int queue, final long address, final long length)
    {
        return Linux.write(fds[queue], address, length);
    }

    /**
     * Writes one frame gathered from the buffers an iovec array describes.
     *
     * @param queue the queue.
     * @param iov   address of {@code count} {@code struct iovec}.
     * @param count number of iovecs.
     * @return bytes written, or minus the errno.
     */
    public long writev(final int queue, final long iov, final int count)
    {
        return Linux.writev(fds[queue], iov, count);
    }

    /**
     * Closes every queue's descriptor, which deletes the interface; a second call does nothing.
     */
    @Override
    public synchronized void close()
    {
        if (!closed)
        {
            closed = true;
            closeAll(fds);
        }
    }
}
