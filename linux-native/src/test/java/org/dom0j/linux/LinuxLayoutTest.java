package org.dom0j.linux;

import org.dom0j.test.CProgram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every constant, ioctl number, struct size and offset the module hard-codes, checked against this machine's
 * glibc and kernel headers by a C program that prints what the headers say.
 */
@Timeout(120)
class LinuxLayoutTest
{
    /**
     * One value: its name, the C expression that computes it from the headers, and what the Java code uses.
     */
    private record Check(String name, String c, long java)
    {
    }

    private static final List<Check> CHECKS = List.of(
        new Check("O_RDONLY", "O_RDONLY", Linux.O_RDONLY),
        new Check("O_WRONLY", "O_WRONLY", Linux.O_WRONLY),
        new Check("O_RDWR", "O_RDWR", Linux.O_RDWR),
        new Check("O_CREAT", "O_CREAT", Linux.O_CREAT),
        new Check("O_NOCTTY", "O_NOCTTY", Linux.O_NOCTTY),
        new Check("O_NONBLOCK", "O_NONBLOCK", Linux.O_NONBLOCK),
        new Check("O_DIRECT", "O_DIRECT", Linux.O_DIRECT),
        new Check("O_CLOEXEC", "O_CLOEXEC", Linux.O_CLOEXEC),
        new Check("SEEK_SET", "SEEK_SET", Linux.SEEK_SET),
        new Check("SEEK_END", "SEEK_END", Linux.SEEK_END),
        new Check("FALLOC_FL_KEEP_SIZE", "FALLOC_FL_KEEP_SIZE", Linux.FALLOC_FL_KEEP_SIZE),
        new Check("FALLOC_FL_PUNCH_HOLE", "FALLOC_FL_PUNCH_HOLE", Linux.FALLOC_FL_PUNCH_HOLE),
        new Check("PROT_NONE", "PROT_NONE", Linux.PROT_NONE),
        new Check("PROT_READ", "PROT_READ", Linux.PROT_READ),
        new Check("PROT_WRITE", "PROT_WRITE", Linux.PROT_WRITE),
        new Check("MAP_SHARED", "MAP_SHARED", Linux.MAP_SHARED),
        new Check("MAP_PRIVATE", "MAP_PRIVATE", Linux.MAP_PRIVATE),
        new Check("MAP_FIXED", "MAP_FIXED", Linux.MAP_FIXED),
        new Check("MAP_ANONYMOUS", "MAP_ANONYMOUS", Linux.MAP_ANONYMOUS),
        new Check("MAP_NORESERVE", "MAP_NORESERVE", Linux.MAP_NORESERVE),
        new Check("MAP_POPULATE", "MAP_POPULATE", Linux.MAP_POPULATE),
        new Check("MADV_WILLNEED", "MADV_WILLNEED", Linux.MADV_WILLNEED),
        new Check("CLOCK_MONOTONIC_COARSE", "CLOCK_MONOTONIC_COARSE", CoarseClock.CLOCK_MONOTONIC_COARSE),
        new Check("MADV_POPULATE_READ", "22 /* MADV_POPULATE_READ, newer than some glibc headers */",
            Linux.MADV_POPULATE_READ),
        new Check("MADV_POPULATE_WRITE", "23 /* MADV_POPULATE_WRITE */", Linux.MADV_POPULATE_WRITE),
        new Check("POLLIN", "POLLIN", Linux.POLLIN),
        new Check("POLLOUT", "POLLOUT", Linux.POLLOUT),
        new Check("POLLERR", "POLLERR", Linux.POLLERR),
        new Check("POLLHUP", "POLLHUP", Linux.POLLHUP),
        new Check("TMPFS_MAGIC", "TMPFS_MAGIC", Linux.TMPFS_MAGIC),
        new Check("sizeof(struct pollfd)", "sizeof(struct pollfd)", PollFd.SIZE),
        new Check("offsetof(struct pollfd, events)", "offsetof(struct pollfd, events)", PollFd.EVENTS_OFFSET),
        new Check("offsetof(struct pollfd, revents)", "offsetof(struct pollfd, revents)", PollFd.REVENTS_OFFSET),
        new Check("sizeof(struct iovec)", "sizeof(struct iovec)", 16),
        new Check("sizeof(struct termios) fits", "sizeof(struct termios) <= 128", 1),
        new Check("sizeof(struct statfs)", "sizeof(struct statfs)", 120),
        new Check("offsetof(struct statfs, f_type)", "offsetof(struct statfs, f_type)", 0),
        new Check("SYS_futex", "SYS_futex", Futex.SYS_FUTEX),
        new Check("EPOLLIN", "EPOLLIN", Epoll.EPOLLIN),
        new Check("EPOLLPRI", "EPOLLPRI", Epoll.EPOLLPRI),
        new Check("EPOLLOUT", "EPOLLOUT", Epoll.EPOLLOUT),
        new Check("EPOLLERR", "EPOLLERR", Epoll.EPOLLERR),
        new Check("EPOLLHUP", "EPOLLHUP", Epoll.EPOLLHUP),
        new Check("EPOLLRDHUP", "EPOLLRDHUP", Epoll.EPOLLRDHUP),
        new Check("EPOLLONESHOT", "EPOLLONESHOT", Epoll.EPOLLONESHOT),
        new Check("EPOLLET", "(int)EPOLLET", Epoll.EPOLLET),
        new Check("EPOLL_CLOEXEC", "EPOLL_CLOEXEC", 0x80000),
        new Check("sizeof(struct epoll_event)", "sizeof(struct epoll_event)", Epoll.EVENT_SIZE),
        new Check("offsetof(struct epoll_event, data)", "offsetof(struct epoll_event, data)", Epoll.DATA_OFFSET),
        new Check("EFD_NONBLOCK", "EFD_NONBLOCK", 0x800),
        new Check("EFD_CLOEXEC", "EFD_CLOEXEC", 0x80000),
        new Check("TUNSETIFF", "TUNSETIFF", TapDevice.TUNSETIFF),
        new Check("TUNSETOFFLOAD", "TUNSETOFFLOAD", TapDevice.TUNSETOFFLOAD),
        new Check("TUNSETVNETHDRSZ", "TUNSETVNETHDRSZ", TapDevice.TUNSETVNETHDRSZ),
        new Check("TUNSETCARRIER", "TUNSETCARRIER", TapDevice.TUNSETCARRIER),
        new Check("IFF_TAP", "IFF_TAP", TapDevice.IFF_TAP),
        new Check("IFF_NO_PI", "IFF_NO_PI", TapDevice.IFF_NO_PI),
        new Check("IFF_VNET_HDR", "IFF_VNET_HDR", TapDevice.IFF_VNET_HDR),
        new Check("IFF_MULTI_QUEUE", "IFF_MULTI_QUEUE", TapDevice.IFF_MULTI_QUEUE),
        new Check("TUN_F_CSUM", "TUN_F_CSUM", TapDevice.TUN_F_CSUM),
        new Check("TUN_F_TSO4", "TUN_F_TSO4", TapDevice.TUN_F_TSO4),
        new Check("TUN_F_TSO6", "TUN_F_TSO6", TapDevice.TUN_F_TSO6),
        new Check("TUN_F_TSO_ECN", "TUN_F_TSO_ECN", TapDevice.TUN_F_TSO_ECN),
        new Check("sizeof(struct virtio_net_hdr_mrg_rxbuf)", "sizeof(struct virtio_net_hdr_mrg_rxbuf)",
            TapDevice.VNET_HDR_SIZE),
        new Check("sizeof(struct virtio_net_hdr_v1)", "sizeof(struct virtio_net_hdr_v1)", TapDevice.VNET_HDR_SIZE),
        new Check("IFNAMSIZ", "IFNAMSIZ", TapDevice.IFNAMSIZ),
        new Check("SIOCGIFFLAGS", "SIOCGIFFLAGS", TapDevice.SIOCGIFFLAGS),
        new Check("SIOCSIFFLAGS", "SIOCSIFFLAGS", TapDevice.SIOCSIFFLAGS),
        new Check("SIOCSIFMTU", "SIOCSIFMTU", TapDevice.SIOCSIFMTU),
        new Check("SIOCSIFHWADDR", "SIOCSIFHWADDR", TapDevice.SIOCSIFHWADDR),
        new Check("SIOCGIFINDEX", "SIOCGIFINDEX", TapDevice.SIOCGIFINDEX),
        new Check("IFF_UP", "IFF_UP", TapDevice.IFF_UP),
        new Check("ARPHRD_ETHER", "ARPHRD_ETHER", TapDevice.ARPHRD_ETHER),
        new Check("AF_INET", "AF_INET", TapDevice.AF_INET),
        new Check("SOCK_DGRAM", "SOCK_DGRAM", TapDevice.SOCK_DGRAM),
        new Check("SOCK_CLOEXEC", "SOCK_CLOEXEC", TapDevice.SOCK_CLOEXEC),
        new Check("sizeof(struct ifreq)", "sizeof(struct ifreq)", TapDevice.IFREQ_SIZE),
        new Check("offsetof(struct ifreq, ifr_flags)", "offsetof(struct ifreq, ifr_flags)",
            TapDevice.IFREQ_UNION_OFFSET),
        new Check("offsetof(struct ifreq, ifr_mtu)", "offsetof(struct ifreq, ifr_mtu)", TapDevice.IFREQ_UNION_OFFSET),
        new Check("offsetof(struct ifreq, ifr_ifindex)", "offsetof(struct ifreq, ifr_ifindex)",
            TapDevice.IFREQ_UNION_OFFSET),
        new Check("offsetof(struct ifreq, ifr_hwaddr.sa_family)", "offsetof(struct ifreq, ifr_hwaddr.sa_family)",
            TapDevice.IFREQ_UNION_OFFSET),
        new Check("offsetof(struct ifreq, ifr_hwaddr.sa_data)", "offsetof(struct ifreq, ifr_hwaddr.sa_data)",
            TapDevice.IFREQ_HWADDR_DATA_OFFSET),
        new Check("AF_UNIX", "AF_UNIX", UnixDatagramSocket.AF_UNIX),
        new Check("SOCK_DGRAM (AF_UNIX)", "SOCK_DGRAM", UnixDatagramSocket.SOCK_DGRAM),
        new Check("MSG_DONTWAIT", "MSG_DONTWAIT", UnixDatagramSocket.MSG_DONTWAIT),
        new Check("MSG_NOSIGNAL", "MSG_NOSIGNAL", UnixDatagramSocket.MSG_NOSIGNAL),
        new Check("sizeof(struct sockaddr_un)", "sizeof(struct sockaddr_un)", UnixDatagramSocket.SOCKADDR_UN_SIZE),
        new Check("offsetof(struct sockaddr_un, sun_path)", "offsetof(struct sockaddr_un, sun_path)",
            UnixDatagramSocket.SUN_PATH_OFFSET),
        new Check("AF_PACKET", "AF_PACKET", TapDeviceTest.AF_PACKET),
        new Check("SOCK_RAW", "SOCK_RAW", TapDeviceTest.SOCK_RAW),
        new Check("SOCK_NONBLOCK", "SOCK_NONBLOCK", TapDeviceTest.SOCK_NONBLOCK),
        new Check("ETH_P_ALL", "ETH_P_ALL", TapDeviceTest.ETH_P_ALL),
        new Check("sizeof(struct sockaddr_ll)", "sizeof(struct sockaddr_ll)", TapDeviceTest.SOCKADDR_LL_SIZE),
        new Check("offsetof(struct sockaddr_ll, sll_protocol)", "offsetof(struct sockaddr_ll, sll_protocol)", 2),
        new Check("offsetof(struct sockaddr_ll, sll_ifindex)", "offsetof(struct sockaddr_ll, sll_ifindex)", 4));

    private static final String HEADERS = """
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <stddef.h>
        #include <fcntl.h>
        #include <poll.h>
        #include <termios.h>
        #include <time.h>
        #include <sys/mman.h>
        #include <sys/epoll.h>
        #include <sys/eventfd.h>
        #include <sys/ioctl.h>
        #include <sys/socket.h>
        #include <sys/statfs.h>
        #include <sys/syscall.h>
        #include <sys/uio.h>
        #include <sys/un.h>
        #include <net/if.h>
        #include <net/if_arp.h>
        #include <linux/falloc.h>
        #include <linux/if_ether.h>
        #include <linux/if_packet.h>
        #include <linux/if_tun.h>
        #include <linux/magic.h>
        #include <linux/sockios.h>
        #include <linux/virtio_net.h>
        int main(void)
        {
        """;

    @TempDir
    Path dir;

    @Test
    void shouldUseTheValuesOfThisMachinesHeaders() throws Exception
    {
        final StringBuilder program = new StringBuilder(HEADERS);
        for (int i = 0; i < CHECKS.size(); i++)
        {
            program.append("    printf(\"c").append(i).append(" %lld\\n\", (long long)(")
                .append(CHECKS.get(i).c()).append("));\n");
        }
        program.append("    return 0;\n}\n");

        final Map<String, Long> c = CProgram.run(dir, "linux/if_tun.h", program.toString());

        for (int i = 0; i < CHECKS.size(); i++)
        {
            final Check check = CHECKS.get(i);
            assertThat(c.get("c" + i)).as(check.name()).isEqualTo(check.java());
        }
    }
}
