/* SPDX-License-Identifier: MIT */
/*
 * Description: the RLIMIT_MEMLOCK charge of a kmbuf region covers every
 * page the kernel allocated for it, the slack of chunked allocations too
 * (KMBUF-ABI.md section 3.3). Buffers of 2 MiB + 4 KiB do not pack into
 * power-of-two chunks: a kernel that gives each its own 4 MiB compound
 * page allocates twice what the buffers need.
 *
 * A child drops to uid/gid 65534 with RLIMIT_MEMLOCK = 24 MiB (so the test
 * needs root to start) and registers 8 such buffers (16 MiB + 32 KiB of
 * buffers). Either
 *  - the kernel charges what it allocates, more than the limit: ENOMEM; or
 *  - registration succeeds; then the memory it took (the drop of the guest's
 *    MemFree, within a 2 MiB tolerance) must not exceed what it charged
 *    (the room left under the limit before minus after, each found by
 *    registering groups of one-page buffers until ENOMEM).
 * Anything else fails. The guest is otherwise idle while the tests run,
 * so MemFree moves with this test's allocations only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define LIMIT_MIB	24
#define NR_BUFS		8
#define TOLERANCE_KIB	2048

static size_t page;

static long mem_free_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		t_fail("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		t_fail("no MemFree in /proc/meminfo");
	return kib;
}

/*
 * Pages a group of 'nr' one-page buffers is charged: the buffers and its
 * ring (16 bytes an entry, a power of two of pages, at least one).
 */
static unsigned long group_pages(unsigned int nr)
{
	size_t ring = (size_t) nr * sizeof(struct io_uring_buf);

	return nr + (ring <= page ? 1 : ring / page);
}

/*
 * Pages of RLIMIT_MEMLOCK left: register groups of one-page buffers, the
 * largest power of two that fits first, each charged exactly its pages
 * and its ring's (to within the last page or two, which no group fits).
 * Returns the room in pages (the groups are all unregistered).
 */
static unsigned long room_left(struct io_uring *ring, int bgid)
{
	unsigned long room = 0;
	unsigned int nr;
	int b = bgid, ret;

	for (nr = 32768; nr; nr >>= 1) {
		ret = t_kmbuf_reg(ring, nr, page, b);
		if (ret == -ENOMEM)
			continue;
		if (ret)
			t_fail("register %u x %zu: %s", nr, page,
			       strerror(-ret));
		room += group_pages(nr);
		b++;
	}
	while (b > bgid)
		T_EXPECT(io_uring_unregister_kmbuf_ring(ring, --b), 0);
	return room;
}

static void test_slack(void)
{
	const size_t buf_size = (2U << 20) + page;
	const unsigned long need_kib = NR_BUFS * buf_size / 1024;
	unsigned long room0, room1, charged_kib;
	long before, after, took_kib;
	struct io_uring ring;
	int ret;

	t_ring_init(&ring, 4);
	/* the room before, measured the same way as after */
	room0 = room_left(&ring, 10);
	T_ASSERT(room0 > 0);

	before = mem_free_kib();
	ret = t_kmbuf_reg(&ring, NR_BUFS, buf_size, 1);
	after = mem_free_kib();
	if (ret == -ENOMEM) {
		printf("%u x %zu KiB under a %d MiB limit: ENOMEM (charged "
		       "what it allocates)\n", NR_BUFS, buf_size >> 10,
		       LIMIT_MIB);
		io_uring_queue_exit(&ring);
		return;
	}
	if (ret)
		t_fail("register %u x %zu: %s", NR_BUFS, buf_size,
		       strerror(-ret));
	took_kib = before - after;
	room1 = room_left(&ring, 10);
	T_ASSERT(room1 <= room0);
	charged_kib = (room0 - room1) * (page / 1024);
	printf("%u x %zu KiB: %lu KiB needed, %lu KiB charged, MemFree "
	       "dropped by %ld KiB\n", NR_BUFS, buf_size >> 10, need_kib,
	       charged_kib, took_kib);
	if (charged_kib < need_kib)
		t_fail("charged %lu KiB for %lu KiB of buffers", charged_kib,
		       need_kib);
	if (took_kib > (long) (charged_kib + TOLERANCE_KIB))
		t_fail("the region took %ld KiB of memory but only %lu KiB "
		       "were charged to RLIMIT_MEMLOCK (limit %d MiB): "
		       "allocated and not charged", took_kib, charged_kib,
		       LIMIT_MIB);
	T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, 1), 0);
	io_uring_queue_exit(&ring);
}

static void run(void)
{
	test_slack();
}

int main(void)
{
	t_init();
	t_require_kmbuf_kernel();
	page = t_page_size();
	return t_run_unprivileged((unsigned long) LIMIT_MIB << 20, run);
}
