/*
 * netblast: the kernel side of 'dom0j bench net' for UDP frames: a raw AF_PACKET sender that blasts UDP/IPv4 frames of
 * one exact length onto an interface (sendmmsg, 64 frames a call, PACKET_QDISC_BYPASS, as a packet generator does),
 * and a raw AF_PACKET receiver that counts them (recvmmsg, 64 a call) and checks each one's length, flow and sequence
 * number. Several receivers share the frames by flow with PACKET_FANOUT_HASH. Built by the bench with cc -O2.
 *
 *   netblast send IFNAME DSTMAC SRCIP DSTIP LENGTH WARMUP SECONDS SRCPORT
 *   netblast recv IFNAME LENGTH WARMUP SECONDS FANOUT_GROUP
 *
 * The sender sends for WARMUP + SECONDS and prints "sent N cpu_ns C" (N frames and C ns of its CPU after WARMUP);
 * the receiver prints "frames N bytes B seconds S lost L bad X cpu_ns C" for the measured interval after WARMUP.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define DST_PORT 5201
#define MAX_FLOWS 65536

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t ip_checksum(const uint8_t *p, int n)
{
    uint32_t sum = 0;
    for (int i = 0; i < n; i += 2)
    {
        sum += (p[i] << 8) | p[i + 1];
    }
    while (sum >> 16)
    {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static int open_packet(const char *ifname, int protocol, int *ifindex)
{
    int fd = socket(AF_PACKET, SOCK_RAW, htons(protocol));
    if (fd < 0)
    {
        perror("socket(AF_PACKET)");
        exit(2);
    }
    *ifindex = if_nametoindex(ifname);
    if (*ifindex == 0)
    {
        perror(ifname);
        exit(2);
    }
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = *ifindex, .sll_protocol = htons(protocol) };
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
    {
        perror("bind");
        exit(2);
    }
    return fd;
}

static int blast(char **argv)
{
    const char *ifname = argv[2];
    unsigned mac[6];
    if (sscanf(argv[3], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6)
    {
        fprintf(stderr, "bad MAC %s\n", argv[3]);
        return 2;
    }
    in_addr_t src = inet_addr(argv[4]);
    in_addr_t dst = inet_addr(argv[5]);
    int length = atoi(argv[6]);
    double warmup = atof(argv[7]);
    double seconds = atof(argv[8]);
    int port = atoi(argv[9]);
    if (length < 50 || length > 1514)
    {
        fprintf(stderr, "length must be 50..1514\n");
        return 2;
    }
    int ifindex;
    int fd = open_packet(ifname, 0, &ifindex);
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
    {
        perror("SIOCGIFHWADDR");
        return 2;
    }
    static uint8_t frames[BATCH][1514];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };
    for (int i = 0; i < 6; i++)
    {
        to.sll_addr[i] = (uint8_t)mac[i];
    }
    for (int b = 0; b < BATCH; b++)
    {
        uint8_t *f = frames[b];
        for (int i = 0; i < 6; i++)
        {
            f[i] = (uint8_t)mac[i];
        }
        memcpy(f + 6, ifr.ifr_hwaddr.sa_data, 6);
        f[12] = 0x08;
        f[13] = 0x00;
        uint8_t *ip = f + 14;
        ip[0] = 0x45;
        ip[2] = (uint8_t)((length - 14) >> 8);
        ip[3] = (uint8_t)(length - 14);
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = 17;
        memcpy(ip + 12, &src, 4);
        memcpy(ip + 16, &dst, 4);
        uint16_t c = ip_checksum(ip, 20);
        ip[10] = (uint8_t)(c >> 8);
        ip[11] = (uint8_t)c;
        uint8_t *udp = ip + 20;
        udp[0] = (uint8_t)(port >> 8);
        udp[1] = (uint8_t)port;
        udp[2] = DST_PORT >> 8;
        udp[3] = DST_PORT & 0xFF;
        udp[4] = (uint8_t)((length - 34) >> 8);
        udp[5] = (uint8_t)(length - 34);
        /* UDP checksum 0: none (IPv4), so neither end computes one, as with a partial checksum on veth. */
        for (int i = 42 + 8; i < length; i++)
        {
            f[i] = (uint8_t)(i * 31);
        }
        iov[b].iov_base = f;
        iov[b].iov_len = length;
        memset(&msgs[b], 0, sizeof msgs[b]);
        msgs[b].msg_hdr.msg_iov = &iov[b];
        msgs[b].msg_hdr.msg_iovlen = 1;
        msgs[b].msg_hdr.msg_name = &to;
        msgs[b].msg_hdr.msg_namelen = sizeof to;
    }
    uint32_t seq = 0;
    long sent = 0;
    double cpu0 = 0;
    double measure = now(CLOCK_MONOTONIC) + warmup;
    double end = measure + seconds;
    int measuring = 0;
    for (;;)
    {
        double t = now(CLOCK_MONOTONIC);
        if (t >= end)
        {
            break;
        }
        if (!measuring && t >= measure)
        {
            measuring = 1;
            sent = 0;
            cpu0 = now(CLOCK_PROCESS_CPUTIME_ID);
        }
        for (int b = 0; b < BATCH; b++)
        {
            uint32_t s = htonl(seq + b);
            memcpy(frames[b] + 42, &s, 4);
            uint32_t tag = htonl((seq + b) * 2654435761u ^ (uint32_t)port);
            memcpy(frames[b] + 46, &tag, 4);
        }
        int n = sendmmsg(fd, msgs, BATCH, 0);
        if (n < 0)
        {
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
            {
                continue;
            }
            perror("sendmmsg");
            return 1;
        }
        /* A short send leaves the rest for the next call, with new numbers: what was not sent is not counted. */
        seq += n;
        sent += n;
    }
    printf("sent %ld cpu_ns %.0f\n", sent, (now(CLOCK_PROCESS_CPUTIME_ID) - cpu0) * 1e9);
    return 0;
}

static int count(char **argv)
{
    const char *ifname = argv[2];
    int length = atoi(argv[3]);
    double warmup = atof(argv[4]);
    double seconds = atof(argv[5]);
    int group = atoi(argv[6]);
    int ifindex;
    int fd = open_packet(ifname, ETH_P_IP, &ifindex);
    int size = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    if (group > 0)
    {
        int fanout = group | (PACKET_FANOUT_HASH << 16);
        if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof fanout) < 0)
        {
            perror("PACKET_FANOUT");
            return 2;
        }
    }
    /* A UDP socket on the port, never read, with the smallest buffer: the stack drops there, no ICMP unreachable. */
    int sink = socket(AF_INET, SOCK_DGRAM, 0);
    int small = 1;
    setsockopt(sink, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(DST_PORT) };
    int reuse = 1;
    setsockopt(sink, SOL_SOCKET, SO_REUSEPORT, &reuse, sizeof reuse);
    bind(sink, (struct sockaddr *)&sin, sizeof sin);
    struct timeval tv = { 0, 100000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static uint8_t bufs[BATCH][2048];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    for (int b = 0; b < BATCH; b++)
    {
        iov[b].iov_base = bufs[b];
        iov[b].iov_len = sizeof bufs[b];
        memset(&msgs[b], 0, sizeof msgs[b]);
        msgs[b].msg_hdr.msg_iov = &iov[b];
        msgs[b].msg_hdr.msg_iovlen = 1;
    }
    static uint32_t expected[MAX_FLOWS];
    static uint8_t seen[MAX_FLOWS];
    printf("ready\n");
    fflush(stdout);
    double start = now(CLOCK_MONOTONIC);
    double measure = start + warmup;
    double end = measure + seconds;
    int measuring = 0;
    long frames = 0, bytes = 0, lost = 0, bad = 0;
    double cpu0 = 0;
    for (;;)
    {
        double t = now(CLOCK_MONOTONIC);
        if (!measuring && t >= measure)
        {
            measuring = 1;
            frames = bytes = lost = bad = 0;
            cpu0 = now(CLOCK_PROCESS_CPUTIME_ID);
            measure = t;
        }
        if (t >= end)
        {
            break;
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0)
        {
            continue;
        }
        for (int i = 0; i < n; i++)
        {
            const uint8_t *f = bufs[i];
            int len = (int)msgs[i].msg_len;
            if (len != length || f[23] != 17 || ((f[36] << 8) | f[37]) != DST_PORT)
            {
                continue;
            }
            int port = (f[34] << 8) | f[35];
            uint32_t seq, tag;
            memcpy(&seq, f + 42, 4);
            memcpy(&tag, f + 46, 4);
            seq = ntohl(seq);
            if (ntohl(tag) != (seq * 2654435761u ^ (uint32_t)port))
            {
                bad++;
                continue;
            }
            if (seen[port] && (int32_t)(seq - expected[port]) < 0)
            {
                bad++;
                continue;
            }
            if (seen[port])
            {
                lost += seq - expected[port];
            }
            seen[port] = 1;
            expected[port] = seq + 1;
            frames++;
            bytes += len;
        }
    }
    double elapsed = now(CLOCK_MONOTONIC) - measure;
    printf("frames %ld bytes %ld seconds %.6f lost %ld bad %ld cpu_ns %.0f\n", frames, bytes, elapsed, lost, bad,
        (now(CLOCK_PROCESS_CPUTIME_ID) - cpu0) * 1e9);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 10 && strcmp(argv[1], "send") == 0)
    {
        return blast(argv);
    }
    if (argc == 7 && strcmp(argv[1], "recv") == 0)
    {
        return count(argv);
    }
    fprintf(stderr, "usage: netblast send IFNAME DSTMAC SRCIP DSTIP LENGTH WARMUP SECONDS SRCPORT\n"
        "       netblast recv IFNAME LENGTH WARMUP SECONDS FANOUT_GROUP\n");
    return 2;
}
