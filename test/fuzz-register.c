/* SPDX-License-Identifier: MIT */
/*
 * Description: a bounded, seeded fuzz run of IORING_REGISTER_KMBUF_RING
 * (38) and IORING_UNREGISTER_KMBUF_RING (39) with random io_uring_kmbuf_reg
 * contents (sizes including huge and overflowing ones, entry counts, bgids,
 * flags, reserved words, the unused half of the union), through the thin
 * wrappers and through the raw syscall (which bypasses the library's bgid
 * check, and also gets bad pointers, bad nr_args and bad fds), mixed with
 * mmap() at the kmbuf and pbuf offsets with random bgids, offset bits and
 * lengths. Every call must return success or an errno from an explicit
 * allowed set for its kind, and exactly what a model of the ABI
 * (kernel/SERIES.md's errno table) predicts. Successful registrations are
 * unregistered and mappings unmapped; at the end, with everything gone,
 * every bgid 0..2047 registers again (no bgid leaked). kmemleak is scanned
 * after the run by kernel/run-tests.sh.
 *
 * TEST_FUZZ_SEED and TEST_FUZZ_ITERS override the seed (printed) and the
 * number of iterations.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "helpers.h"

#define DEFAULT_SEED	0x6b6d627566ULL
#define DEFAULT_ITERS	50000
#define MAX_BGID	2047
#define MAX_ENTRIES	32768U
#define MAX_REGION	(1ULL << 30)
/* one buffer is one physically contiguous allocation */
#define MAX_BUF_SIZE	(4U << 20)
/* valid registrations are shrunk to this, to keep the run light */
#define FUZZ_REGION_CAP	(1U << 20)
#define MAX_LIVE	24
/* pbuf rings that sit on bgids in the fuzzed range */
#define PB_MMAP_BGID	7
#define PB_USER_BGID	8
#define PB_ENTRIES	8
#define T_REGISTER_PBUF_RING	22
#define T_UNREGISTER_PBUF_RING	23

/* What each kind of call may return: 0 or one of these errnos */
static const int reg_allowed[] = { 0, EINVAL, EEXIST, ENOMEM, EFAULT, -1 };
static const int unreg_allowed[] = { 0, EINVAL, ENOENT, EFAULT, -1 };
static const int mmap_allowed[] = { 0, EINVAL, ENOMEM, EOVERFLOW, -1 };
static const int fd_allowed[] = { EBADF, EOPNOTSUPP, -1 };
#define REG_ALLOWED	reg_allowed
#define UNREG_ALLOWED	unreg_allowed
#define MMAP_ALLOWED	mmap_allowed
#define FD_ALLOWED	fd_allowed

static uint64_t rng_state;
static unsigned int page;
static struct io_uring ring;
static unsigned char *fault_area;	/* one RW page, then a PROT_NONE one */
static int pipe_fds[2];
static unsigned long iter;

static struct {
	bool live;
	unsigned int buf_size;
	unsigned int entries;
} groups[MAX_BGID + 1];
static unsigned int nr_live;

#define MAX_ERRNO	256
static unsigned long stats[5][MAX_ERRNO];
enum { K_REG, K_UNREG, K_MMAP_KM, K_MMAP_PB, K_FD };
static const char *const kind_names[] = {
	"register", "unregister", "mmap kmbuf", "mmap pbuf", "bad fd"
};

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static bool one_in(unsigned int n)
{
	return below(n) == 0;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	char *end;
	uint64_t v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		t_fail("%s=%s is not a number", name, s);
	return v;
}

static int raw_register(int fd, unsigned int op, void *arg, unsigned int nr)
{
	int ret = (int) syscall(__NR_io_uring_register, fd, op, arg, nr);

	return ret < 0 ? -errno : ret;
}

/* Check one result: in the kind's allowed set, and what the model says */
static void check(int kind, const int *allowed, int got, int want,
		  const char *what)
{
	int e = -got, i;

	for (i = 0; allowed[i] >= 0; i++)
		if (allowed[i] == e)
			break;
	if (got > 0 || allowed[i] < 0)
		t_fail("iteration %lu: %s: %d (%s) is not in the allowed set",
		       iter, what, got, strerror(e));
	if (got != want)
		t_fail("iteration %lu: %s: got %d (%s), model says %d (%s)",
		       iter, what, got, strerror(e), want, strerror(-want));
	stats[kind][e]++;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t random_buf_size(void)
{
	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return (uint32_t) rnd();
	case 2:
		return page * (uint32_t) (1 + below(1U << 20));
	case 3:
		return page + (one_in(2) ? 1 : -1);
	case 4:
		return 0xffffffffU & ~(page - 1);
	case 5:
		return 1U << (30 + below(2));
	default:
		return page * (uint32_t) (1 + below(16));
	}
}

static uint32_t random_entries(void)
{
	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return (uint32_t) rnd();
	case 2:
		return 3 + 2 * (uint32_t) below(20000);
	case 3:
		return MAX_ENTRIES << below(4);
	default:
		return 1U << below(16);
	}
}

static unsigned int random_bgid(void)
{
	switch (below(10)) {
	case 0:
		return (unsigned int) below(65536);
	case 1:
	case 2:
		return (unsigned int) below(MAX_BGID + 1);
	default:
		return (unsigned int) below(16);
	}
}

/* Would the kernel accept these fields (bgid occupancy aside)? */
static bool fields_valid(const struct io_uring_kmbuf_reg *r)
{
	const unsigned char *u = (const unsigned char *) &r->ring_addr;
	uint64_t size = (uint64_t) r->buf_size * r->ring_entries;
	unsigned int i;

	for (i = sizeof(r->buf_size); i < sizeof(r->ring_addr); i++)
		if (u[i])
			return false;
	/*
	 * IOU_PBUF_RING_INC is the one flag; min_left, the __u32 at the start
	 * of resv in this tree's struct, is allowed with it only.
	 */
	if ((r->flags & ~IOU_PBUF_RING_INC) || r->resv[1] || r->resv[2])
		return false;
	for (i = sizeof(__u32); i < sizeof(r->resv[0]); i++)
		if (((const unsigned char *) r->resv)[i])
			return false;
	if (!(r->flags & IOU_PBUF_RING_INC) && r->resv[0])
		return false;
	if (!pow2(r->ring_entries) || r->ring_entries > MAX_ENTRIES)
		return false;
	if (!r->buf_size || r->buf_size % page || r->buf_size > MAX_BUF_SIZE)
		return false;
	if (size > MAX_REGION)
		return false;
	return r->bgid <= MAX_BGID;
}

static bool bgid_busy(unsigned int bgid)
{
	return bgid == PB_MMAP_BGID || bgid == PB_USER_BGID ||
	       (bgid <= MAX_BGID && groups[bgid].live);
}

static void random_reg(struct io_uring_kmbuf_reg *r)
{
	memset(r, 0, sizeof(*r));
	r->buf_size = random_buf_size();
	r->ring_entries = random_entries();
	r->bgid = (__u16) random_bgid();
	if (one_in(16))
		r->ring_addr |= (uint64_t) (1 + below(0xffffffffU)) << 32;
	if (one_in(12))
		r->flags = (__u16) (1 + below(0xffff));
	else if (one_in(6))
		r->flags = IOU_PBUF_RING_INC;
	/* min_left, valid with IOU_PBUF_RING_INC only */
	if (one_in(12)) {
		__u32 min_left = (__u32) rnd();

		memcpy(r->resv, &min_left, sizeof(min_left));
	}
	if (one_in(12))
		r->resv[below(3)] = rnd() | (1ULL << below(64));
	/* a valid registration stays small */
	if (fields_valid(r) &&
	    (uint64_t) r->buf_size * r->ring_entries > FUZZ_REGION_CAP) {
		if (r->buf_size > FUZZ_REGION_CAP)
			r->buf_size = page * (uint32_t) (1 + below(16));
		while ((uint64_t) r->buf_size * r->ring_entries >
		       FUZZ_REGION_CAP)
			r->ring_entries >>= 1;
	}
}

static void model_register(const struct io_uring_kmbuf_reg *r)
{
	T_ASSERT(!groups[r->bgid].live);
	groups[r->bgid].live = true;
	groups[r->bgid].buf_size = r->buf_size;
	groups[r->bgid].entries = r->ring_entries;
	nr_live++;
}

static void model_unregister(unsigned int bgid)
{
	groups[bgid].live = false;
	nr_live--;
}

/* What registering 'r' gives, by the model */
static int predict_register(const struct io_uring_kmbuf_reg *r)
{
	if (!fields_valid(r))
		return -EINVAL;
	if (bgid_busy(r->bgid))
		return -EEXIST;
	return 0;
}

/* A bad pointer: NULL, low, unmapped, or a struct running into it */
static void *bad_pointer(void)
{
	switch (below(4)) {
	case 0:
		return NULL;
	case 1:
		return (void *) (uintptr_t) (8 + 8 * below(64));
	case 2:
		return fault_area + page + 8 * below(page / 8);
	default:
		return fault_area + page - 8 * (1 + below(4));
	}
}

static void do_register(void)
{
	struct io_uring_kmbuf_reg r;
	int want, got;

	random_reg(&r);
	want = predict_register(&r);
	if (one_in(2)) {
		unsigned int flags = one_in(32) ? 1U << below(32) : 0;

		if (flags)
			want = -EINVAL;
		got = io_uring_register_kmbuf_ring(&ring, &r, flags);
		check(K_REG, REG_ALLOWED, got, want, "register (wrapper)");
	} else {
		unsigned int nr = one_in(16) ? (unsigned int) rnd() : 1;
		void *arg = &r;

		if (nr != 1) {
			want = -EINVAL;
		} else if (one_in(16)) {
			arg = bad_pointer();
			want = -EFAULT;
		}
		got = raw_register(ring.ring_fd, IORING_REGISTER_KMBUF_RING,
				   arg, nr);
		check(K_REG, REG_ALLOWED, got, want, "register (raw)");
	}
	if (!got)
		model_register(&r);
}

static int predict_unregister(unsigned int bgid)
{
	if (bgid == PB_MMAP_BGID || bgid == PB_USER_BGID)
		return -EINVAL;
	if (bgid > MAX_BGID || !groups[bgid].live)
		return -ENOENT;
	return 0;
}

/* A bgid to unregister: mostly a live one */
static unsigned int unregister_target(void)
{
	unsigned int bgid = random_bgid();

	if (nr_live && one_in(2)) {
		unsigned int i, n = (unsigned int) below(nr_live);

		for (i = 0; i <= MAX_BGID; i++)
			if (groups[i].live && !n--)
				return i;
	}
	return bgid;
}

static void do_unregister(void)
{
	unsigned int bgid = unregister_target();
	int want = predict_unregister(bgid), got;

	if (one_in(2)) {
		int arg = (int) bgid;

		if (one_in(16)) {
			arg = one_in(2) ? -1 - (int) below(1000) :
			      65536 + (int) below(1000000);
			want = -EINVAL;
		}
		got = io_uring_unregister_kmbuf_ring(&ring, arg);
		check(K_UNREG, UNREG_ALLOWED, got, want,
		      "unregister (wrapper)");
	} else {
		struct io_uring_kmbuf_reg r;
		unsigned int nr = one_in(16) ? (unsigned int) rnd() : 1;
		void *arg = &r;

		/* only the bgid may be set, anything else is refused */
		if (one_in(2))
			memset(&r, 0, sizeof(r));
		else
			random_reg(&r);
		r.bgid = (__u16) bgid;
		if (r.ring_addr || r.ring_entries || r.flags || r.resv[0] ||
		    r.resv[1] || r.resv[2])
			want = -EINVAL;
		if (nr != 1) {
			want = -EINVAL;
		} else if (one_in(16)) {
			arg = bad_pointer();
			want = -EFAULT;
		}
		got = raw_register(ring.ring_fd, IORING_UNREGISTER_KMBUF_RING,
				   arg, nr);
		check(K_UNREG, UNREG_ALLOWED, got, want,
		      "unregister (raw)");
	}
	if (!got)
		model_unregister(bgid);
}

static size_t random_len(size_t region)
{
	switch (below(8)) {
	case 0:
		return 0;
	case 1:
		return (size_t) 1 << (47 + below(10));
	case 2:
		return region;
	case 3:
		return region + 1 + below(4 * (size_t) page);
	default:
		return 1 + below(region ? region : 4 * (size_t) page);
	}
}

static size_t page_align(size_t len)
{
	return (len + page - 1) & ~((size_t) page - 1);
}

/* Touch a fresh mapping where the model says pages are, then unmap it */
static void use_mapping(void *p, size_t len, size_t backed, int prot)
{
	volatile unsigned char *b = p;
	size_t last = (len < backed ? len : backed) - 1;

	(void) b[0];
	(void) b[last];
	if (prot & PROT_WRITE) {
		b[0] = (unsigned char) iter;
		b[last] = (unsigned char) iter;
	}
	if (munmap(p, len))
		t_fail("iteration %lu: munmap: %s", iter, strerror(errno));
}

static void do_mmap_kmbuf(void)
{
	int prot = one_in(2) ? PROT_READ : PROT_READ | PROT_WRITE;
	unsigned int bgid = unregister_target() & MAX_BGID;
	uint64_t off = IORING_OFF_KMBUF_RING |
		       ((uint64_t) bgid << IORING_OFF_KMBUF_SHIFT);
	size_t region = 0, len;
	bool bad_off = false;
	int want = 0, got;
	void *p;

	if (groups[bgid].live)
		region = (size_t) groups[bgid].buf_size * groups[bgid].entries;
	len = random_len(region);
	if (one_in(10)) {
		/* page-aligned garbage below bit 16, or bits above 31 */
		off |= one_in(2) ? (uint64_t) page * (1 + below(15)) :
		       (uint64_t) (1 + below(255)) << 32;
		bad_off = true;
	}
	if (!len)
		want = -EINVAL;
	else if (len >= (size_t) 1 << 47)
		want = -ENOMEM;
	else if (bad_off || !groups[bgid].live || page_align(len) > region)
		want = -EINVAL;

	p = mmap(NULL, len, prot, MAP_SHARED, ring.ring_fd, (off_t) off);
	got = p == MAP_FAILED ? -errno : 0;
	check(K_MMAP_KM, MMAP_ALLOWED, got, want, "mmap at the kmbuf offset");
	if (!got)
		use_mapping(p, len, region, prot);
}

static void do_mmap_pbuf(void)
{
	int prot = one_in(2) ? PROT_READ : PROT_READ | PROT_WRITE;
	unsigned int bgid;
	uint64_t off;
	size_t ring_bytes = 0, len;
	bool mappable = false;
	int want = 0, got;
	void *p;

	switch (below(4)) {
	case 0:
		bgid = PB_MMAP_BGID;
		break;
	case 1:
		bgid = PB_USER_BGID;
		break;
	default:
		bgid = unregister_target() & MAX_BGID;
		break;
	}
	off = IORING_OFF_PBUF_RING | ((uint64_t) bgid << IORING_OFF_PBUF_SHIFT);
	if (bgid == PB_MMAP_BGID) {
		mappable = true;
		ring_bytes = PB_ENTRIES * sizeof(struct io_uring_buf);
	} else if (bgid != PB_USER_BGID && groups[bgid].live) {
		/* a kmbuf group's ring maps here like an mmap'ed pbuf ring */
		mappable = true;
		ring_bytes = groups[bgid].entries *
			     sizeof(struct io_uring_buf);
	}
	ring_bytes = page_align(ring_bytes);
	len = random_len(ring_bytes);
	if (one_in(10)) {
		/* bits above 31 make the bgid one that has no ring */
		off |= (uint64_t) (1 + below(255)) << 32;
		mappable = false;
	}
	/*
	 * The pbuf offset keeps the 6.12 rules: an unknown bgid is -ENOMEM
	 * from io_uring_get_unmapped_area(), a mapping longer than the ring
	 * succeeds with only the ring's pages behind it.
	 */
	if (!len)
		want = -EINVAL;
	else if (len >= (size_t) 1 << 47 || !mappable)
		want = -ENOMEM;

	p = mmap(NULL, len, prot, MAP_SHARED, ring.ring_fd, (off_t) off);
	got = p == MAP_FAILED ? -errno : 0;
	check(K_MMAP_PB, MMAP_ALLOWED, got, want, "mmap at the pbuf offset");
	if (!got)
		use_mapping(p, len, ring_bytes, prot);
}

/* The opcodes on something that is not an io_uring fd */
static void do_bad_fd(void)
{
	struct io_uring_kmbuf_reg r;
	unsigned int op = one_in(2) ? IORING_REGISTER_KMBUF_RING :
			  IORING_UNREGISTER_KMBUF_RING;
	int fd, want, got;

	random_reg(&r);
	if (one_in(2)) {
		fd = one_in(2) ? -1 : 100000;
		want = -EBADF;
	} else {
		fd = pipe_fds[below(2)];
		want = -EOPNOTSUPP;
	}
	got = raw_register(fd, op, &r, 1);
	check(K_FD, FD_ALLOWED, got, want, "register on a bad fd");
}

static void setup_pbuf_rings(void)
{
	struct io_uring_kmbuf_reg r = { };

	/* a kernel-allocated (IOU_PBUF_RING_MMAP) pbuf ring */
	r.ring_entries = PB_ENTRIES;
	r.bgid = PB_MMAP_BGID;
	r.flags = IOU_PBUF_RING_MMAP;
	T_EXPECT(raw_register(ring.ring_fd, T_REGISTER_PBUF_RING, &r, 1), 0);
}

static const char *errname(int e)
{
	switch (e) {
	case 0:		return "ok";
	case EINVAL:	return "EINVAL";
	case EEXIST:	return "EEXIST";
	case ENOENT:	return "ENOENT";
	case ENOMEM:	return "ENOMEM";
	case EFAULT:	return "EFAULT";
	case EBADF:	return "EBADF";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EOVERFLOW:	return "EOVERFLOW";
	default:	return "?";
	}
}

static void print_stats(void)
{
	int k, e;

	for (k = 0; k < 5; k++) {
		printf("  %-11s", kind_names[k]);
		for (e = 0; e < MAX_ERRNO; e++)
			if (stats[k][e])
				printf(" %s:%lu", errname(e), stats[k][e]);
		printf("\n");
	}
}

int main(void)
{
	struct io_uring_buf_ring *pbr;
	struct timespec t0, t1;
	unsigned long iters;
	uint64_t seed;
	unsigned int i;

	t_init();
	t_require_kmbuf_registration();
	page = (unsigned int) t_page_size();
	seed = env_u64("TEST_FUZZ_SEED", DEFAULT_SEED);
	iters = (unsigned long) env_u64("TEST_FUZZ_ITERS", DEFAULT_ITERS);
	printf("fuzz-register: seed %#" PRIx64 " (TEST_FUZZ_SEED), %lu "
	       "iterations (TEST_FUZZ_ITERS)\n", seed, iters);
	fflush(stdout);
	rng_state = seed ? seed : 1;

	fault_area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fault_area == MAP_FAILED)
		t_fail("mmap: %s", strerror(errno));
	if (mprotect(fault_area + page, page, PROT_NONE))
		t_fail("mprotect: %s", strerror(errno));
	memset(fault_area, 0, page);
	if (pipe(pipe_fds))
		t_fail("pipe: %s", strerror(errno));

	t_ring_init(&ring, 4);
	setup_pbuf_rings();
	pbr = t_pbuf_ring_setup(&ring, PB_ENTRIES, PB_USER_BGID);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (iter = 0; iter < iters; iter++) {
		unsigned int op = (unsigned int) below(100);

		if (nr_live >= MAX_LIVE)
			op = 40;	/* an unregister */
		if (op < 40)
			do_register();
		else if (op < 65)
			do_unregister();
		else if (op < 82)
			do_mmap_kmbuf();
		else if (op < 97)
			do_mmap_pbuf();
		else
			do_bad_fd();
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lu iterations in %.2f s\n", iters,
	       (double) (t1.tv_sec - t0.tv_sec) +
	       (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);
	print_stats();

	/* take everything down */
	for (i = 0; i <= MAX_BGID; i++) {
		if (!groups[i].live)
			continue;
		T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, (int) i), 0);
		model_unregister(i);
	}
	T_EXPECT(nr_live, 0);
	t_pbuf_ring_free(&ring, pbr, PB_ENTRIES, PB_USER_BGID);
	{
		struct io_uring_kmbuf_reg r = { };

		r.bgid = PB_MMAP_BGID;
		T_EXPECT(raw_register(ring.ring_fd, T_UNREGISTER_PBUF_RING,
				      &r, 1), 0);
	}

	/* no bgid was leaked: every one is free and registers again */
	for (i = 0; i <= MAX_BGID; i++) {
		struct io_uring_kmbuf_reg r = { };

		T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, (int) i),
			 -ENOENT);
		r.buf_size = page;
		r.ring_entries = 1;
		r.bgid = (__u16) i;
		T_EXPECT(io_uring_register_kmbuf_ring(&ring, &r, 0), 0);
		T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, (int) i), 0);
	}
	io_uring_queue_exit(&ring);
	munmap(fault_area, 2 * page);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	return T_EXIT_PASS;
}
