package org.dom0j.linux;

import org.dom0j.common.Errno;
import org.dom0j.test.Await;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * Real TAP devices: frames written into a queue's descriptor arrive on the interface (seen by a packet socket bound
 * to it), frames sent on the interface come out of the descriptor, with and without the virtio-net header. Needs
 * /dev/net/tun, CAP_NET_ADMIN and CAP_NET_RAW; without them each test is skipped and says why. Every wait has a
 * deadline; none sleeps. Interfaces are named dj&lt;pid&gt;t&lt;n&gt; and deleted when their last descriptor
 * closes, also when a test fails.
 */
@Timeout(60)
class TapDeviceTest
{
    static final int AF_PACKET = 17;
    static final int SOCK_RAW = 3;
    static final int SOCK_NONBLOCK = 0x800;
    static final int ETH_P_ALL = 0x0003;
    static final int SOCKADDR_LL_SIZE = 20;

    private static final int CAP_NET_ADMIN = 12;
    private static final int CAP_NET_RAW = 13;
    /** IEEE 802 local experimental ethertype: nothing else on the interface sends it. */
    private static final int ETHERTYPE = 0x88B5;
    private static final int FRAME_BYTES = 64;
    private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final AtomicInteger NEXT = new AtomicInteger();
    private static final Set<Integer> UNAVAILABLE = Set.of(Errno.EPERM.number(), Errno.EACCES.number(),
        Errno.ENOENT.number(), Errno.ENODEV.number(), Errno.ENXIO.number());

    private final ByteBuffer buffer = LibC.allocate(4096);
    private final long address = LibC.address(buffer);

    @BeforeEach
    void requireTun() throws IOException
    {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/net/tun")),
            "/dev/net/tun is missing (no tun driver here); TAP devices not tested");
        Assumptions.assumeTrue(hasCapability(CAP_NET_ADMIN), "no CAP_NET_ADMIN; TAP devices not tested");
        Assumptions.assumeTrue(hasCapability(CAP_NET_RAW),
            "no CAP_NET_RAW for a packet socket; TAP devices not tested");
    }

    private static boolean hasCapability(final int capability) throws IOException
    {
        for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
        {
            if (line.startsWith("CapEff:"))
            {
                return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << capability)) != 0;
            }
        }
        return false;
    }

    private static String newName()
    {
        return "dj" + ProcessHandle.current().pid() % 10000 + "t" + NEXT.getAndIncrement();
    }

    private static TapDevice open(final String name, final int queues, final boolean vnetHeader)
    {
        try
        {
            return TapDevice.open(name, queues, vnetHeader);
        }
        catch (final LinuxException ex)
        {
            Assumptions.assumeFalse(UNAVAILABLE.contains(ex.errno()), "cannot make a TAP device here: " +
                ex.getMessage());
            throw ex;
        }
    }

    @Test
    void shouldRejectANameLongerThanFifteenBytes()
    {
        assertThatThrownBy(() -> TapDevice.open("dj-0123456789abc", 1, false))
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldSetTheLinkUpWithItsMtuAndMacAndDeleteTheInterfaceOnClose() throws Exception
    {
        final String name = newName();
        final Path sys = Path.of("/sys/class/net", name);
        try (TapDevice tap = open(name, 1, false))
        {
            assertThat(tap.name()).isEqualTo(name);
            assertThat(tap.queues()).isEqualTo(1);
            assertThat(tap.hasVnetHeader()).isFalse();
            assertThat(tap.ifindex()).isEqualTo(Integer.parseInt(Files.readString(sys.resolve("ifindex")).trim()));
            assertThat(tunFlags(sys)).isEqualTo(TapDevice.IFF_TAP | TapDevice.IFF_NO_PI);

            tap.setMtu(1400);
            tap.setMacAddress(new byte[]{ 0x02, 0x64, 0x6a, 0x00, 0x00, 0x01 });
            tap.setLinkUp(true);

            assertThat(Files.readString(sys.resolve("mtu")).trim()).isEqualTo("1400");
            assertThat(Files.readString(sys.resolve("address")).trim()).isEqualTo("02:64:6a:00:00:01");
            assertThat(Integer.decode(Files.readString(sys.resolve("flags")).trim()) & TapDevice.IFF_UP).isOne();

            tap.setCarrier(false);
            assertThat(Files.readString(sys.resolve("carrier")).trim()).as("carrier off").isEqualTo("0");
            tap.setCarrier(true);
            assertThat(Files.readString(sys.resolve("carrier")).trim()).as("carrier on").isEqualTo("1");

            tap.setLinkUp(false);
            assertThat(Integer.decode(Files.readString(sys.resolve("flags")).trim()) & TapDevice.IFF_UP).isZero();
            assertThatThrownBy(() -> tap.setMtu(1)).isInstanceOfSatisfying(LinuxException.class, ex ->
                assertThat(ex.errno()).isEqualTo(Errno.EINVAL.number()));
        }
        assertThat(Await.until(() -> !Files.exists(sys), 5_000)).as("interface deleted").isTrue();
    }

    @Test
    void shouldKeepAPersistentInterfaceWhenClosedAndAttachToItAgain() throws Exception
    {
        final String name = newName();
        final Path sys = Path.of("/sys/class/net", name);
        final int ifindex;
        try (TapDevice tap = open(name, 2, true))
        {
            tap.setMtu(1400);
            tap.persist(true);
            ifindex = tap.ifindex();
        }
        assertThat(Files.exists(sys)).as("a persistent interface outlives its descriptors").isTrue();

        try (TapDevice again = open(name, 2, true))
        {
            assertThat(again.ifindex()).as("the same interface").isEqualTo(ifindex);
            assertThat(Files.readString(sys.resolve("mtu")).trim()).isEqualTo("1400");
            again.persist(false);
        }
        assertThat(Await.until(() -> !Files.exists(sys), 5_000)).as("deleted once no longer persistent").isTrue();
    }

    @Test
    void shouldLetTheKernelNumberTheInterfaceFromAPattern() throws Exception
    {
        try (TapDevice tap = open("dj" + ProcessHandle.current().pid() % 10000 + "p%d", 1, false))
        {
            assertThat(tap.name()).doesNotContain("%").matches("dj\\d+p\\d+");
            assertThat(Files.exists(Path.of("/sys/class/net", tap.name()))).isTrue();
        }
    }

    @Test
    void shouldDeliverAFrameWrittenIntoTheTapToThePacketSocketOnTheInterface()
    {
        try (TapDevice tap = open(newName(), 1, false))
        {
            tap.setLinkUp(true);
            final int socket = packetSocket(tap.ifindex());
            try
            {
                final byte[] frame = frame();
                buffer.put(0, frame);

                assertThat(tap.write(0, address, frame.length)).isEqualTo(frame.length);

                assertThat(receive(socket, frame, 0)).isEqualTo(frame.length);
            }
            finally
            {
                Linux.close(socket);
            }
        }
    }

    @Test
    void shouldHandAFrameSentOnTheInterfaceToTheTapsReader()
    {
        try (TapDevice tap = open(newName(), 1, false))
        {
            tap.setLinkUp(true);
            final int socket = packetSocket(tap.ifindex());
            try
            {
                final byte[] frame = frame();
                buffer.put(0, frame);

                assertThat(Linux.write(socket, address, frame.length)).isEqualTo(frame.length);

                assertThat(receive(tap.fd(0), frame, 0)).isEqualTo(frame.length);
            }
            finally
            {
                Linux.close(socket);
            }
        }
    }

    @Test
    void shouldCarryAVirtioNetHeaderBeforeEachFrameInVnetMode() throws Exception
    {
        final String name = newName();
        try (TapDevice tap = open(name, 1, true))
        {
            assertThat(tap.hasVnetHeader()).isTrue();
            assertThat(tunFlags(Path.of("/sys/class/net", name)) & TapDevice.IFF_VNET_HDR)
                .isEqualTo(TapDevice.IFF_VNET_HDR);
            tap.setOffload(TapDevice.TUN_F_CSUM | TapDevice.TUN_F_TSO4 | TapDevice.TUN_F_TSO6 |
                TapDevice.TUN_F_TSO_ECN);
            tap.setLinkUp(true);
            final int socket = packetSocket(tap.ifindex());
            try
            {
                // Out of the TAP: read with readv, the header into one iovec and the frame into the next.
                final byte[] out = frame();
                buffer.put(0, out);
                assertThat(Linux.write(socket, address, out.length)).isEqualTo(out.length);
                final ByteBuffer scatter = LibC.allocate(32);
                scatter.putLong(0, address).putLong(8, TapDevice.VNET_HDR_SIZE);
                scatter.putLong(16, address + TapDevice.VNET_HDR_SIZE).putLong(24, 2048);
                final int length = receive(tap.fd(0), out, TapDevice.VNET_HDR_SIZE,
                    () -> tap.readv(0, LibC.address(scatter), 2));
                assertThat(length).isEqualTo(TapDevice.VNET_HDR_SIZE + out.length);
                // Written by the kernel over our 0x55s: flags 0, gso_type VIRTIO_NET_HDR_GSO_NONE (a whole frame,
                // its checksum done), hdr_len, gso_size, csum_start, csum_offset 0.
                for (int i = 0; i < 10; i++)
                {
                    assertThat(buffer.get(i)).as("virtio_net_hdr byte " + i).isZero();
                }

                // Into the TAP: gathered from two iovecs, a zero header and the frame.
                final byte[] in = frame();
                final ByteBuffer header = LibC.allocate(TapDevice.VNET_HDR_SIZE);
                final ByteBuffer body = LibC.allocate(in.length);
                body.put(0, in);
                final ByteBuffer iov = LibC.allocate(32);
                iov.putLong(0, LibC.address(header)).putLong(8, TapDevice.VNET_HDR_SIZE);
                iov.putLong(16, LibC.address(body)).putLong(24, in.length);
                assertThat(tap.writev(0, LibC.address(iov), 2)).isEqualTo(TapDevice.VNET_HDR_SIZE + in.length);
                assertThat(receive(socket, in, 0)).isEqualTo(in.length);
            }
            finally
            {
                Linux.close(socket);
            }
        }
    }

    @Test
    void shouldOpenOneNonBlockingDescriptorPerQueueOfAMultiQueueDevice() throws Exception
    {
        final String name = newName();
        try (TapDevice tap = open(name, 2, false))
        {
            assertThat(tap.queues()).isEqualTo(2);
            assertThat(tap.fd(0)).isNotEqualTo(tap.fd(1));
            assertThat(tunFlags(Path.of("/sys/class/net", name)) & TapDevice.IFF_MULTI_QUEUE)
                .isEqualTo(TapDevice.IFF_MULTI_QUEUE);
            assertThat(tap.read(0, address, 4096)).isEqualTo(-Errno.EAGAIN.number());
            assertThat(tap.read(1, address, 4096)).isEqualTo(-Errno.EAGAIN.number());
            tap.setLinkUp(true);
            final int socket = packetSocket(tap.ifindex());
            try
            {
                final byte[] frame = frame();
                final ByteBuffer iov = LibC.allocate(16);
                iov.putLong(0, address).putLong(8, frame.length);
                buffer.put(0, frame);

                assertThat(tap.writev(1, LibC.address(iov), 1)).isEqualTo(frame.length);

                assertThat(receive(socket, frame, 0)).isEqualTo(frame.length);
            }
            finally
            {
                Linux.close(socket);
            }
        }
    }

    @Test
    void shouldReadNothingWithoutAllocating()
    {
        try (TapDevice tap = open(newName(), 1, true))
        {
            final long[] leastAndSum = LinuxTest.leastAllocatedPerRound(20_000, () -> tap.read(0, address, 4096));

            assertThat(leastAndSum[1]).isEqualTo(LinuxTest.ROUNDS * 20_000L * -Errno.EAGAIN.number());
            assertThat(leastAndSum[0]).isLessThan(1024);
        }
    }

    private static int tunFlags(final Path sys) throws IOException
    {
        return Integer.decode(Files.readString(sys.resolve("tun_flags")).trim());
    }

    /**
     * @return a broadcast Ethernet frame of our own ethertype with a random payload, so that nothing else on the
     *         interface (IPv6 router solicitations, say) can be taken for it.
     */
    private static byte[] frame()
    {
        final byte[] frame = new byte[FRAME_BYTES];
        Arrays.fill(frame, 0, 6, (byte)0xff);
        System.arraycopy(new byte[]{ 0x02, 0x64, 0x6a, 0x00, 0x00, 0x02 }, 0, frame, 6, 6);
        frame[12] = (byte)(ETHERTYPE >>> 8);
        frame[13] = (byte)ETHERTYPE;
        final byte[] tag = "dom0j linux-native".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(tag, 0, frame, 14, tag.length);
        final byte[] nonce = new byte[FRAME_BYTES - 14 - tag.length];
        ThreadLocalRandom.current().nextBytes(nonce);
        System.arraycopy(nonce, 0, frame, 14 + tag.length, nonce.length);
        return frame;
    }

    /**
     * An AF_PACKET raw socket (non-blocking) bound to the interface, for every protocol: it sees what arrives on
     * the interface and sends frames out of it.
     */
    private static int packetSocket(final int ifindex)
    {
        final short ethPAll = Short.reverseBytes((short)ETH_P_ALL);
        final int fd = LibC.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | TapDevice.SOCK_CLOEXEC, ethPAll & 0xFFFF);
        if (fd < 0)
        {
            final int errno = LibC.errno();
            Assumptions.assumeFalse(errno == Errno.EPERM.number() || errno == Errno.EACCES.number(),
                "cannot open a packet socket here: " + Errno.describe(errno));
            fail("socket(AF_PACKET): " + Errno.describe(errno));
        }
        final ByteBuffer sll = LibC.allocate(SOCKADDR_LL_SIZE);
        sll.putShort(0, (short)AF_PACKET);
        sll.putShort(2, ethPAll);
        sll.putInt(4, ifindex);
        if (LibC.bind(fd, LibC.address(sll), SOCKADDR_LL_SIZE) != 0)
        {
            final int errno = LibC.errno();
            Linux.close(fd);
            fail("bind a packet socket to ifindex " + ifindex + ": " + Errno.describe(errno));
        }
        return fd;
    }

    /**
     * Reads frames from a non-blocking descriptor into {@link #buffer} until one holds {@code frame} at
     * {@code offset}, waiting in poll(2) until a deadline.
     *
     * @return the length read for that frame.
     */
    private int receive(final int fd, final byte[] frame, final int offset)
    {
        return receive(fd, frame, offset, () -> Linux.read(fd, address, buffer.capacity()));
    }

    /**
     * As {@link #receive(int, byte[], int)}, reading each frame with {@code reader}.
     */
    private int receive(final int fd, final byte[] frame, final int offset, final LongSupplier reader)
    {
        final PollFd readable = new PollFd(fd, Linux.POLLIN);
        final long deadline = System.nanoTime() + DEADLINE_NANOS;
        final byte[] got = new byte[frame.length];
        while (true)
        {
            final long left = deadline - System.nanoTime();
            if (left <= 0)
            {
                return fail("no frame of ours arrived on fd " + fd + " within " + DEADLINE_NANOS / 1_000_000 + " ms");
            }
            final int ready = readable.poll((int)Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            if (ready <= 0)
            {
                assertThat(ready).as("poll").isIn(0, -Errno.EINTR.number());
                continue;
            }
            for (int i = 0; i < offset; i++)
            {
                buffer.put(i, (byte)0x55);
            }
            final long n = reader.getAsLong();
            if (n == -Errno.EAGAIN.number())
            {
                continue;
            }
            assertThat(n).as("read").isNotNegative();
            if (n >= offset + frame.length)
            {
                buffer.get(offset, got);
                if (Arrays.equals(got, frame))
                {
                    return (int)n;
                }
            }
        }
    }
}
