/*
 * A minimal block frontend written against Xen's own public headers (xen/io/blkif.h, xen/io/ring.h), working a
 * simulated guest's memory (an mmap of its memory file) as the other end of dom0j's blkback. The Java test
 * allocated and granted the pages; this program fills the ring with the C macros, writes a pattern, reads it back
 * and compares. Event channel notifications are printed ("NOTIFY") for the test to send: the simulator's event
 * channels are not a C API.
 *
 * usage: blkfront <memory-file> <ring-frame> <data-frame> <data-gref> <read-frame> <read-gref> <sector>
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#include <xen/xen.h>
#include <xen/io/blkif.h>

static void notify_if(int notify)
{
    if (notify)
    {
        printf("NOTIFY\n");
        fflush(stdout);
    }
}

static int await_response(blkif_front_ring_t *ring, blkif_response_t *out)
{
    for (int i = 0; i < 20000; i++)
    {
        if (RING_HAS_UNCONSUMED_RESPONSES(ring))
        {
            xen_rmb();
            *out = *RING_GET_RESPONSE(ring, ring->rsp_cons);
            ring->rsp_cons++;
            return 0;
        }
        struct timespec ts = { 0, 500000 };
        nanosleep(&ts, NULL);
    }
    return -1;
}

/*
 * Posts one request (a whole-page segment when gref is not 0), waits for its response and checks id, operation
 * and status. Prints "OK <what>" or "FAIL <what> ...".
 */
static int one_request(blkif_front_ring_t *ring, uint8_t op, uint64_t id, blkif_sector_t sector, grant_ref_t gref,
                       int16_t want, const char *what)
{
    blkif_request_t *req = RING_GET_REQUEST(ring, ring->req_prod_pvt);
    memset(req, 0, sizeof(*req));
    req->operation = op;
    req->handle = 51712;
    req->id = id;
    req->sector_number = sector;
    if (gref != 0)
    {
        req->nr_segments = 1;
        req->seg[0].gref = gref;
        req->seg[0].first_sect = 0;
        req->seg[0].last_sect = 7;
    }
    ring->req_prod_pvt++;
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(ring, notify);
    notify_if(notify);
    blkif_response_t rsp;
    if (await_response(ring, &rsp) || rsp.id != id || rsp.operation != op || rsp.status != want)
    {
        printf("FAIL %s: id %llx operation %u status %d\n", what, (unsigned long long)rsp.id, rsp.operation,
               rsp.status);
        return 1;
    }
    printf("OK %s\n", what);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 8)
    {
        fprintf(stderr, "usage: %s memory ring-frame data-frame data-gref read-frame read-gref sector\n", argv[0]);
        return 2;
    }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0)
    {
        perror("open");
        return 2;
    }
    struct stat st;
    fstat(fd, &st);
    uint8_t *mem = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED)
    {
        perror("mmap");
        return 2;
    }
    long ring_frame = atol(argv[2]), data_frame = atol(argv[3]), read_frame = atol(argv[5]);
    grant_ref_t data_gref = (grant_ref_t)atol(argv[4]), read_gref = (grant_ref_t)atol(argv[6]);
    blkif_sector_t sector = (blkif_sector_t)atoll(argv[7]);

    /* The test initialised the shared ring (SHARED_RING_INIT) before publishing it; attach our private indices. */
    blkif_sring_t *sring = (blkif_sring_t *)(mem + ring_frame * 4096);
    blkif_front_ring_t ring;
    FRONT_RING_INIT(&ring, sring, 4096);
    printf("RING_SIZE %u\n", RING_SIZE(&ring));

    uint8_t *data = mem + data_frame * 4096;
    for (int i = 0; i < 4096; i++)
    {
        data[i] = (uint8_t)(i * 13 + 7);
    }

    /* A write of the whole page, then a flush, then a read into another page, then a reserved op. */
    if (one_request(&ring, BLKIF_OP_WRITE, 0xC0FFEE, sector, data_gref, BLKIF_RSP_OKAY, "write"))
    {
        return 1;
    }
    if (one_request(&ring, BLKIF_OP_FLUSH_DISKCACHE, 2, 0, 0, BLKIF_RSP_OKAY, "flush"))
    {
        return 1;
    }
    if (one_request(&ring, BLKIF_OP_READ, 3, sector, read_gref, BLKIF_RSP_OKAY, "read"))
    {
        return 1;
    }
    if (memcmp(mem + read_frame * 4096, data, 4096) != 0)
    {
        printf("FAIL read back differs\n");
        return 1;
    }
    printf("OK read back\n");
    /* An unknown operation must be answered EOPNOTSUPP. */
    if (one_request(&ring, BLKIF_OP_RESERVED_1, 4, 0, 0, BLKIF_RSP_EOPNOTSUPP, "eopnotsupp"))
    {
        return 1;
    }
    printf("DONE\n");
    return 0;
}
