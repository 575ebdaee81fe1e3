/*
 * ringpeer: the other end of a dom0j ring, built by RingConformanceTest from Xen's own
 * xen/io/ring.h (DEFINE_RING_TYPES and the RING_* macros), working a ring in a shared file.
 *
 *   ringpeer layout                          prints the header offsets and slot sizes
 *   ringpeer sizes                           prints __CONST_RING_SIZE for 1..16 pages
 *   ringpeer run FILE blk|small PAGES
 *   ringpeer stress FILE blk|small PAGES front|back START COUNT
 *                                            runs one end freely, concurrently with the Java end, and
 *                                            checks every entry it takes; the Java side initialised the ring
 *                                            reads one command a line on stdin, answers one line
 *
 * Commands (see RingScript.java, which the Java side mirrors word for word):
 *   init START | attach START | fproduce N | fpush | fconsume N | ffinal
 *   bconsume N | brespond N | bpush | bfinal | quit
 */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sched.h>

/* ring.h (at the default interface version) maps xen_mb/xen_rmb/xen_wmb onto these. */
#define mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#include <xen/io/ring.h>

/* blkif-like: the x86_64 blkif_request (112 bytes) and blkif_response (16 bytes). */
struct blk_seg { uint32_t gref; uint8_t first_sect; uint8_t last_sect; uint16_t pad; };
struct blk_req {
    uint8_t operation; uint8_t nr_segments; uint16_t handle;
    uint64_t id; uint64_t sector_number; struct blk_seg seg[11];
};
struct blk_rsp { uint64_t id; uint8_t operation; int16_t status; };
DEFINE_RING_TYPES(blk, struct blk_req, struct blk_rsp);

/* small: 12-byte requests, 4-byte responses. */
struct small_req { uint32_t id; uint32_t a; uint32_t b; };
struct small_rsp { uint32_t id; };
DEFINE_RING_TYPES(small, struct small_req, struct small_rsp);

static int is_blk;
static blk_front_ring_t bf; static blk_back_ring_t bb;
static small_front_ring_t sf; static small_back_ring_t sb;
static void *shared;
static size_t ring_bytes;
/* what the back copied and has not answered yet, oldest first (16 pages hold at most 16384 small slots) */
static struct { uint64_t id; uint8_t operation; int16_t status; } pend[16384];
static unsigned pend_head, pend_tail;

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 16777619u; }
    return h;
}

static void make_blk_req(RING_IDX i, struct blk_req *r)
{
    memset(r, 0, sizeof(*r));
    r->operation = i & 3;
    r->nr_segments = i % 12;
    r->handle = (i >> 8) & 0xffff;
    r->id = ((uint64_t)i << 32) | (uint32_t)~i;
    r->sector_number = (uint64_t)i * 8;
    for (unsigned k = 0; k < r->nr_segments; k++) {
        r->seg[k].gref = i + k; r->seg[k].first_sect = k; r->seg[k].last_sect = 7;
    }
}

static void make_small_req(RING_IDX i, struct small_req *r)
{
    memset(r, 0, sizeof(*r));
    r->id = i; r->a = i * 3u; r->b = ~i;
}

static void cmd(char *line)
{
    char op[32]; unsigned long long arg = 0;
    if (sscanf(line, "%31s %llu", op, &arg) < 1) { printf("error empty\n"); return; }
    RING_IDX n = (RING_IDX)arg;
    if (!strcmp(op, "init")) {
        if (is_blk) { blk_sring_t *s = shared; SHARED_RING_INIT(s); s->req_prod = s->rsp_prod = n;
                      s->req_event = s->rsp_event = n + 1; FRONT_RING_ATTACH(&bf, s, n, ring_bytes);
                      printf("init size=%u\n", RING_SIZE(&bf)); }
        else        { small_sring_t *s = shared; SHARED_RING_INIT(s); s->req_prod = s->rsp_prod = n;
                      s->req_event = s->rsp_event = n + 1; FRONT_RING_ATTACH(&sf, s, n, ring_bytes);
                      printf("init size=%u\n", RING_SIZE(&sf)); }
    } else if (!strcmp(op, "attach")) {
        if (is_blk) { BACK_RING_ATTACH(&bb, (blk_sring_t *)shared, n, ring_bytes); printf("attach size=%u\n", RING_SIZE(&bb)); }
        else        { BACK_RING_ATTACH(&sb, (small_sring_t *)shared, n, ring_bytes); printf("attach size=%u\n", RING_SIZE(&sb)); }
        pend_head = pend_tail = 0;
    } else if (!strcmp(op, "fproduce")) {
        unsigned k = 0;
        if (is_blk) { while (k < n && !RING_FULL(&bf)) { make_blk_req(bf.req_prod_pvt, RING_GET_REQUEST(&bf, bf.req_prod_pvt)); bf.req_prod_pvt++; k++; } }
        else        { while (k < n && !RING_FULL(&sf)) { make_small_req(sf.req_prod_pvt, RING_GET_REQUEST(&sf, sf.req_prod_pvt)); sf.req_prod_pvt++; k++; } }
        printf("fproduce n=%u\n", k);
    } else if (!strcmp(op, "fpush")) {
        int notify;
        if (is_blk) { RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&bf, notify); printf("fpush notify=%d req_prod=%u\n", notify, bf.sring->req_prod); }
        else        { RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&sf, notify); printf("fpush notify=%d req_prod=%u\n", notify, sf.sring->req_prod); }
    } else if (!strcmp(op, "bconsume")) {
        RING_IDX rp, rc; unsigned k = 0; uint32_t h = 2166136261u;
        if (is_blk) {
            rp = bb.sring->req_prod; xen_rmb();
            if (RING_REQUEST_PROD_OVERFLOW(&bb, rp)) { printf("bconsume overflow\n"); return; }
            rc = bb.req_cons;
            while (rc != rp && k < n) {
                struct blk_req r;
                if (RING_REQUEST_CONS_OVERFLOW(&bb, rc)) break;
                RING_COPY_REQUEST(&bb, rc, &r);
                bb.req_cons = ++rc; k++;
                h = fnv(h, &r, sizeof(r));
                pend[pend_tail % 16384].id = r.id;
                pend[pend_tail % 16384].operation = r.operation;
                pend[pend_tail % 16384].status = r.nr_segments > 8 ? -1 : 0;
                pend_tail++;
            }
        } else {
            rp = sb.sring->req_prod; xen_rmb();
            if (RING_REQUEST_PROD_OVERFLOW(&sb, rp)) { printf("bconsume overflow\n"); return; }
            rc = sb.req_cons;
            while (rc != rp && k < n) {
                struct small_req r;
                if (RING_REQUEST_CONS_OVERFLOW(&sb, rc)) break;
                RING_COPY_REQUEST(&sb, rc, &r);
                sb.req_cons = ++rc; k++;
                h = fnv(h, &r, sizeof(r));
                pend[pend_tail % 16384].id = r.id ^ r.a ^ r.b;
                pend_tail++;
            }
        }
        printf("bconsume n=%u sum=%08x\n", k, h);
    } else if (!strcmp(op, "brespond")) {
        unsigned k = 0;
        while (k < n && pend_head != pend_tail) {
            unsigned p = pend_head++ % 16384;
            if (is_blk) {
                struct blk_rsp r; memset(&r, 0, sizeof(r));
                r.id = pend[p].id; r.operation = pend[p].operation; r.status = pend[p].status;
                *RING_GET_RESPONSE(&bb, bb.rsp_prod_pvt) = r; bb.rsp_prod_pvt++;
            } else {
                struct small_rsp r; r.id = (uint32_t)pend[p].id;
                *RING_GET_RESPONSE(&sb, sb.rsp_prod_pvt) = r; sb.rsp_prod_pvt++;
            }
            k++;
        }
        printf("brespond n=%u\n", k);
    } else if (!strcmp(op, "bpush")) {
        int notify;
        if (is_blk) { RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&bb, notify); printf("bpush notify=%d rsp_prod=%u\n", notify, bb.sring->rsp_prod); }
        else        { RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&sb, notify); printf("bpush notify=%d rsp_prod=%u\n", notify, sb.sring->rsp_prod); }
    } else if (!strcmp(op, "bfinal")) {
        int work;
        if (is_blk) { RING_FINAL_CHECK_FOR_REQUESTS(&bb, work); printf("bfinal work=%d req_event=%u\n", !!work, bb.sring->req_event); }
        else        { RING_FINAL_CHECK_FOR_REQUESTS(&sb, work); printf("bfinal work=%d req_event=%u\n", !!work, sb.sring->req_event); }
    } else if (!strcmp(op, "fconsume")) {
        RING_IDX rp, rc; unsigned k = 0; uint32_t h = 2166136261u;
        if (is_blk) {
            rp = bf.sring->rsp_prod; xen_rmb();
            if (RING_RESPONSE_PROD_OVERFLOW(&bf, rp)) { printf("fconsume overflow\n"); return; }
            rc = bf.rsp_cons;
            while (rc != rp && k < n) { struct blk_rsp r; RING_COPY_RESPONSE(&bf, rc, &r); bf.rsp_cons = ++rc; k++; h = fnv(h, &r, sizeof(r)); }
        } else {
            rp = sf.sring->rsp_prod; xen_rmb();
            if (RING_RESPONSE_PROD_OVERFLOW(&sf, rp)) { printf("fconsume overflow\n"); return; }
            rc = sf.rsp_cons;
            while (rc != rp && k < n) { struct small_rsp r; RING_COPY_RESPONSE(&sf, rc, &r); sf.rsp_cons = ++rc; k++; h = fnv(h, &r, sizeof(r)); }
        }
        printf("fconsume n=%u sum=%08x\n", k, h);
    } else if (!strcmp(op, "ffinal")) {
        int work;
        if (is_blk) { RING_FINAL_CHECK_FOR_RESPONSES(&bf, work); printf("ffinal work=%d rsp_event=%u\n", !!work, bf.sring->rsp_event); }
        else        { RING_FINAL_CHECK_FOR_RESPONSES(&sf, work); printf("ffinal work=%d rsp_event=%u\n", !!work, sf.sring->rsp_event); }
    } else {
        printf("error unknown command %s\n", op);
    }
}

/* Free-running end for the concurrency test: spins (yielding) instead of waiting for events. */
static int stress(int front, RING_IDX start, unsigned count)
{
    unsigned produced = 0, taken = 0, bad = 0, notifies = 0, spins = 0;
    if (is_blk) {
        if (front) FRONT_RING_ATTACH(&bf, (blk_sring_t *)shared, start, ring_bytes);
        else       BACK_RING_ATTACH(&bb, (blk_sring_t *)shared, start, ring_bytes);
    } else {
        if (front) FRONT_RING_ATTACH(&sf, (small_sring_t *)shared, start, ring_bytes);
        else       BACK_RING_ATTACH(&sb, (small_sring_t *)shared, start, ring_bytes);
    }
    while (taken < count) {
        int progress = 0, notify;
        if (front) {
            if (is_blk) {
                while (produced < count && !RING_FULL(&bf)) { make_blk_req(bf.req_prod_pvt, RING_GET_REQUEST(&bf, bf.req_prod_pvt)); bf.req_prod_pvt++; produced++; progress = 1; }
                RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&bf, notify); notifies += notify;
                RING_IDX rp = bf.sring->rsp_prod; xen_rmb();
                if (RING_RESPONSE_PROD_OVERFLOW(&bf, rp)) { printf("front overflow\n"); return 1; }
                while (bf.rsp_cons != rp) {
                    struct blk_rsp r, e; struct blk_req q; RING_IDX i = bf.rsp_cons;
                    RING_COPY_RESPONSE(&bf, i, &r); make_blk_req(i, &q);
                    memset(&e, 0, sizeof(e)); e.id = q.id; e.operation = q.operation; e.status = q.nr_segments > 8 ? -1 : 0;
                    bad += memcmp(&r, &e, sizeof(r)) != 0; bf.rsp_cons++; taken++; progress = 1;
                }
            } else {
                while (produced < count && !RING_FULL(&sf)) { make_small_req(sf.req_prod_pvt, RING_GET_REQUEST(&sf, sf.req_prod_pvt)); sf.req_prod_pvt++; produced++; progress = 1; }
                RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&sf, notify); notifies += notify;
                RING_IDX rp = sf.sring->rsp_prod; xen_rmb();
                if (RING_RESPONSE_PROD_OVERFLOW(&sf, rp)) { printf("front overflow\n"); return 1; }
                while (sf.rsp_cons != rp) {
                    struct small_rsp r; struct small_req q; RING_IDX i = sf.rsp_cons;
                    RING_COPY_RESPONSE(&sf, i, &r); make_small_req(i, &q);
                    bad += r.id != (q.id ^ q.a ^ q.b); sf.rsp_cons++; taken++; progress = 1;
                }
            }
        } else {
            if (is_blk) {
                RING_IDX rp = bb.sring->req_prod; xen_rmb();
                if (RING_REQUEST_PROD_OVERFLOW(&bb, rp)) { printf("back overflow\n"); return 1; }
                while (bb.req_cons != rp && !RING_REQUEST_CONS_OVERFLOW(&bb, bb.req_cons)) {
                    struct blk_req q, e; struct blk_rsp r; RING_IDX i = bb.req_cons;
                    RING_COPY_REQUEST(&bb, i, &q); bb.req_cons++; make_blk_req(i, &e);
                    bad += memcmp(&q, &e, sizeof(q)) != 0;
                    memset(&r, 0, sizeof(r)); r.id = q.id; r.operation = q.operation; r.status = q.nr_segments > 8 ? -1 : 0;
                    *RING_GET_RESPONSE(&bb, bb.rsp_prod_pvt) = r; bb.rsp_prod_pvt++; taken++; progress = 1;
                }
                RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&bb, notify); notifies += notify;
            } else {
                RING_IDX rp = sb.sring->req_prod; xen_rmb();
                if (RING_REQUEST_PROD_OVERFLOW(&sb, rp)) { printf("back overflow\n"); return 1; }
                while (sb.req_cons != rp && !RING_REQUEST_CONS_OVERFLOW(&sb, sb.req_cons)) {
                    struct small_req q, e; struct small_rsp r; RING_IDX i = sb.req_cons;
                    RING_COPY_REQUEST(&sb, i, &q); sb.req_cons++; make_small_req(i, &e);
                    bad += memcmp(&q, &e, sizeof(q)) != 0;
                    r.id = q.id ^ q.a ^ q.b;
                    *RING_GET_RESPONSE(&sb, sb.rsp_prod_pvt) = r; sb.rsp_prod_pvt++; taken++; progress = 1;
                }
                RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&sb, notify); notifies += notify;
            }
        }
        if (!progress) { sched_yield(); spins++; }
    }
    printf("%s done n=%u bad=%u\n", front ? "front" : "back", taken, bad);
    (void)notifies; (void)spins;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "layout")) {
        printf("req_prod=%zu req_event=%zu rsp_prod=%zu rsp_event=%zu pvt=%zu pad=%zu ring=%zu "
               "blk_req=%zu blk_rsp=%zu blk_slot=%zu small_req=%zu small_rsp=%zu small_slot=%zu\n",
               offsetof(blk_sring_t, req_prod), offsetof(blk_sring_t, req_event),
               offsetof(blk_sring_t, rsp_prod), offsetof(blk_sring_t, rsp_event),
               offsetof(blk_sring_t, pvt), offsetof(blk_sring_t, __pad), offsetof(blk_sring_t, ring),
               sizeof(struct blk_req), sizeof(struct blk_rsp), sizeof(union blk_sring_entry),
               sizeof(struct small_req), sizeof(struct small_rsp), sizeof(union small_sring_entry));
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "sizes")) {
        for (unsigned p = 1; p <= 16; p++)
            printf("pages=%u blk=%lu small=%lu\n", p,
                   (unsigned long)__CONST_RING_SIZE(blk, p * 4096), (unsigned long)__CONST_RING_SIZE(small, p * 4096));
        return 0;
    }
    if (argc == 8 && !strcmp(argv[1], "stress")) {
        is_blk = !strcmp(argv[3], "blk");
        ring_bytes = (size_t)atoi(argv[4]) * 4096;
        int sfd = open(argv[2], O_RDWR);
        if (sfd < 0) { perror("open"); return 1; }
        shared = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
        if (shared == MAP_FAILED) { perror("mmap"); return 1; }
        return stress(!strcmp(argv[5], "front"), (RING_IDX)strtoul(argv[6], NULL, 10), (unsigned)strtoul(argv[7], NULL, 10));
    }
    if (argc != 5 || strcmp(argv[1], "run")) {
        fprintf(stderr, "usage: ringpeer layout | sizes | run FILE blk|small PAGES | stress FILE blk|small PAGES front|back START COUNT\n");
        return 2;
    }
    is_blk = !strcmp(argv[3], "blk");
    ring_bytes = (size_t)atoi(argv[4]) * 4096;
    int fd = open(argv[2], O_RDWR);
    if (fd < 0) { perror("open"); return 1; }
    shared = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared == MAP_FAILED) { perror("mmap"); return 1; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char line[256];
    while (fgets(line, sizeof(line), stdin)) {
        if (!strncmp(line, "quit", 4)) break;
        cmd(line);
        fflush(stdout);
    }
    munmap(shared, ring_bytes);
    close(fd);
    return 0;
}
