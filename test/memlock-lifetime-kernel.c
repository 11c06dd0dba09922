/* SPDX-License-Identifier: MIT */
/*
 * Description: the RLIMIT_MEMLOCK charge of a kmbuf region lasts as long
 * as its pages do, userspace mappings included (KMBUF-ABI.md section 3.3).
 * A child drops to uid/gid 65534 with RLIMIT_MEMLOCK = 1 MiB + 64 KiB (so
 * the test needs root to start) and loops: register 256 x 4 KiB ->
 * mmap(MAP_SHARED | MAP_POPULATE) the buffers -> unregister, keeping every
 * mapping. The first round fits the limit; the second must fail with
 * ENOMEM, since the first round's 1 MiB is still there. After munmap of
 * everything, registration works again. The same when the ring exits
 * instead of unregistering: a mapping that outlives the ring keeps the
 * charge until it is unmapped. And the same for the ring pages: a loop
 * that maps only the ring (IORING_OFF_PBUF_RING) of each group and keeps
 * those mappings must be refused too, since the ring pages are charged
 * with the group and the mapping keeps them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "helpers.h"

#define GROUP_PAGES	256
#define LIMIT_BYTES	((1U << 20) + (64U << 10))
#define ROUNDS		32

static size_t page;

/* The buffers of 'bgid', populated, written to through the mapping */
static void *map_bufs(struct io_uring *ring, int bgid, size_t len)
{
	off_t off = (off_t) (IORING_OFF_KMBUF_RING |
			     ((__u64) bgid << IORING_OFF_KMBUF_SHIFT));
	unsigned char *p;
	size_t i;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 ring->ring_fd, off);
	if (p == MAP_FAILED)
		t_fail("mmap of the buffers of group %d: %s", bgid,
		       strerror(errno));
	for (i = 0; i < len; i += page)
		p[i] = 0x5a;
	return p;
}

/* The ring entries of 'bgid', mapped read/write as liburing does */
static void *map_ring(struct io_uring *ring, int bgid, size_t len)
{
	off_t off = (off_t) (IORING_OFF_PBUF_RING |
			     ((__u64) bgid << IORING_OFF_PBUF_SHIFT));
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 ring->ring_fd, off);
	if (p == MAP_FAILED)
		t_fail("mmap of the ring of group %d: %s", bgid,
		       strerror(errno));
	return p;
}

/*
 * Register group 1 of GROUP_PAGES pages, map 'len' bytes of it with 'map',
 * unregister, again and again on one ring, keeping every mapping: the
 * first round must succeed and the second fail with ENOMEM, as the
 * mapping keeps the charge. Returns the mapping of the first round.
 */
static void *register_map_loop(struct io_uring *ring,
			       void *(*map)(struct io_uring *, int, size_t),
			       size_t len, const char *what)
{
	void *maps[ROUNDS];
	int round, nr = 0, ret = 0;

	for (round = 0; round < ROUNDS; round++) {
		ret = t_kmbuf_reg(ring, GROUP_PAGES, page, 1);
		if (ret)
			break;
		maps[nr++] = map(ring, 1, len);
		T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 1), 0);
	}
	if (ret && ret != -ENOMEM)
		t_fail("register in round %d: %s", round, strerror(-ret));
	if (!ret || nr != 1)
		t_fail("register -> mmap %s -> unregister: %d rounds "
		       "succeeded under a %u KiB RLIMIT_MEMLOCK, the mappings "
		       "kept (%zu KiB held); want exactly 1, then ENOMEM", what,
		       nr, LIMIT_BYTES >> 10, nr * (len >> 10));
	printf("register/mmap %s/unregister: ENOMEM in round %d\n", what,
	       round);
	return maps[0];
}

static void test_unregister_loop(void)
{
	const size_t len = GROUP_PAGES * page;
	struct io_uring ring;
	unsigned char *map;

	t_ring_init(&ring, 4);
	map = register_map_loop(&ring, map_bufs, len, "the buffers");
	/* the pages are still there and still ours */
	T_EXPECT(map[len - page], 0x5a);
	T_EXPECT(munmap(map, len), 0);
	/* gone with the last mapping: the whole limit is available again */
	T_EXPECT(t_kmbuf_reg_eventually(&ring, GROUP_PAGES, page, 1), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, 1), 0);
	io_uring_queue_exit(&ring);
}

static void test_ring_mapping_loop(void)
{
	const size_t len = GROUP_PAGES * sizeof(struct io_uring_buf);
	struct io_uring_buf_ring *br;
	struct io_uring ring;

	t_ring_init(&ring, 4);
	br = register_map_loop(&ring, map_ring, len, "the ring");
	/* the ring is still there: tail == ring_entries, as registered */
	T_EXPECT(br->tail, GROUP_PAGES);
	T_EXPECT(munmap(br, len), 0);
	T_EXPECT(t_kmbuf_reg_eventually(&ring, GROUP_PAGES, page, 1), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, 1), 0);
	io_uring_queue_exit(&ring);
}

/*
 * The ring exits with the group registered and its buffers mapped: the
 * mapping keeps the pages, so it keeps the charge. Exit frees from a
 * workqueue, so a kernel that drops the charge there would let a
 * registration through within a moment: try for a second.
 */
static void test_ring_exit(void)
{
	const size_t len = GROUP_PAGES * page;
	struct io_uring ring, ring2;
	void *map;
	int i, ret;

	t_ring_init(&ring, 4);
	T_EXPECT(t_kmbuf_reg(&ring, GROUP_PAGES, page, 1), 0);
	map = map_bufs(&ring, 1, len);
	io_uring_queue_exit(&ring);

	t_ring_init(&ring2, 4);
	for (i = 0; i < 100; i++) {
		ret = t_kmbuf_reg(&ring2, GROUP_PAGES, page, 1);
		if (ret != -ENOMEM)
			t_fail("register after ring exit, the old buffers still "
			       "mapped: got %d (%s), want -ENOMEM (attempt %d)",
			       ret, ret ? strerror(-ret) : "success", i);
		usleep(10000);
	}
	T_EXPECT(((unsigned char *) map)[0], 0x5a);
	T_EXPECT(munmap(map, len), 0);
	T_EXPECT(t_kmbuf_reg_eventually(&ring2, GROUP_PAGES, page, 1), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(&ring2, 1), 0);
	io_uring_queue_exit(&ring2);
}

static void run(void)
{
	test_unregister_loop();
	test_ring_exit();
	test_ring_mapping_loop();
}

int main(void)
{
	t_init();
	t_require_kmbuf_kernel();
	page = t_page_size();
	return t_run_unprivileged(LIMIT_BYTES, run);
}
