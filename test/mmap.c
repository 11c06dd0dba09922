/* SPDX-License-Identifier: MIT */
/*
 * Description: mapping a kmbuf group's buffers at IORING_OFF_KMBUF_RING and
 * its ring at IORING_OFF_PBUF_RING: sizes, bgid/offset mismatches, initial
 * contents, and mappings that outlive the group. On any kernel: the errno
 * of a mapping of a group that has nothing mappable (ENOMEM from a stock
 * kernel, EINVAL from the project's kernel at the kmbuf offset), and that
 * io_uring_mmap_kmbuf_ring() maps a kernel-allocated pbuf ring too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "helpers.h"

#define NR	4

static size_t page;

static int reg(struct io_uring *ring, size_t size, unsigned int nr, int bgid)
{
	struct io_uring_kmbuf_reg r = { };

	r.buf_size = (__u32) size;
	r.ring_entries = nr;
	r.bgid = (__u16) bgid;
	return io_uring_register_kmbuf_ring(ring, &r, 0);
}

static void expect_map_fails(struct io_uring *ring, int bgid, size_t len,
			     int want)
{
	void *p;
	int ret = 1;

	p = io_uring_mmap_kmbuf_bufs(ring, bgid, len, PROT_READ, &ret);
	if (p)
		t_fail("mapping bgid %d, %zu bytes succeeded, want %d", bgid,
		       len, want);
	T_EXPECT(ret, want);
}

static void test_sizes_and_offsets(struct io_uring *ring)
{
	struct io_uring_buf_ring *pbr;
	unsigned char *bufs;
	size_t i;
	int ret;

	T_EXPECT(reg(ring, 2 * page, NR, 3), 0);
	/* the whole region, zeroed */
	bufs = io_uring_mmap_kmbuf_bufs(ring, 3, NR * 2 * page,
					PROT_READ | PROT_WRITE, &ret);
	T_ASSERT(bufs != NULL);
	for (i = 0; i < NR * 2 * page; i++)
		if (bufs[i])
			t_fail("byte %zu of a new region is %#x", i, bufs[i]);
	/* writable through the mapping, buffer by buffer */
	for (i = 0; i < NR; i++)
		t_fill(bufs + i * 2 * page, 2 * page, (unsigned int) i, 0);
	T_EXPECT(io_uring_munmap_kmbuf(bufs, NR * 2 * page), 0);

	/* longer than the region */
	expect_map_fails(ring, 3, NR * 2 * page + page, -EINVAL);
	/* other bgids have no region */
	expect_map_fails(ring, 4, NR * 2 * page, -EINVAL);
	expect_map_fails(ring, 2, page, -EINVAL);

	/* a second view sees what the first wrote */
	bufs = io_uring_mmap_kmbuf_bufs(ring, 3, NR * 2 * page, PROT_READ,
					&ret);
	T_ASSERT(bufs != NULL);
	for (i = 0; i < NR; i++)
		t_check_data(bufs + i * 2 * page, 2 * page, (unsigned int) i,
			     0);
	T_EXPECT(io_uring_munmap_kmbuf(bufs, NR * 2 * page), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 3), 0);

	/* a pbuf ring is not reachable through the kmbuf offset */
	pbr = t_pbuf_ring_setup(ring, NR, 5);
	expect_map_fails(ring, 5, page, -EINVAL);
	t_pbuf_ring_free(ring, pbr, NR, 5);

	/* nor is anything once the group is gone */
	expect_map_fails(ring, 3, page, -EINVAL);
}

static void test_ring(struct io_uring *ring)
{
	struct io_uring_buf_ring *br;
	unsigned int i;
	int ret;

	T_EXPECT(reg(ring, page, NR, 6), 0);
	br = io_uring_mmap_kmbuf_ring(ring, 6, NR, &ret);
	if (!br)
		t_skip("kernel cannot map a kmbuf ring for recycling "
		       "(series completion 2 missing): %s", strerror(-ret));
	T_EXPECT(br->tail, NR);
	for (i = 0; i < NR; i++) {
		T_EXPECT(br->bufs[i].bid, i);
		/* never a kernel pointer: an offset into the region, or 0 */
		if (br->bufs[i].addr && br->bufs[i].addr != i * page)
			t_fail("ring entry %u has addr %#llx", i,
			       (unsigned long long) br->bufs[i].addr);
	}
	T_EXPECT(io_uring_munmap_kmbuf(br, page), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 6), 0);
}

/* A mapping stays valid after unregister, until munmap */
static void test_after_unregister(struct io_uring *ring)
{
	unsigned char *bufs;
	int ret;

	T_EXPECT(reg(ring, page, NR, 7), 0);
	bufs = io_uring_mmap_kmbuf_bufs(ring, 7, NR * page,
					PROT_READ | PROT_WRITE, &ret);
	T_ASSERT(bufs != NULL);
	t_fill(bufs, NR * page, 8, 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 7), 0);
	t_check_data(bufs, NR * page, 8, 0);
	t_fill(bufs, NR * page, 9, 0);
	t_check_data(bufs, NR * page, 9, 0);
	/* the bgid is free again, with a fresh zeroed region */
	T_EXPECT(reg(ring, page, NR, 7), 0);
	t_check_data(bufs, NR * page, 9, 0);
	T_EXPECT(io_uring_munmap_kmbuf(bufs, NR * page), 0);
	bufs = io_uring_mmap_kmbuf_bufs(ring, 7, NR * page, PROT_READ, &ret);
	T_ASSERT(bufs != NULL);
	T_EXPECT(bufs[0], 0);
	T_EXPECT(bufs[NR * page - 1], 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 7), 0);
	T_EXPECT(io_uring_munmap_kmbuf(bufs, NR * page), 0);
}

/* A mapping can outlive the ring itself */
static void test_after_exit(void)
{
	struct io_uring ring;
	unsigned char *bufs;
	int ret;

	t_ring_init(&ring, 2);
	T_EXPECT(reg(&ring, page, NR, 1), 0);
	bufs = io_uring_mmap_kmbuf_bufs(&ring, 1, NR * page,
					PROT_READ | PROT_WRITE, &ret);
	T_ASSERT(bufs != NULL);
	io_uring_queue_exit(&ring);
	t_fill(bufs, NR * page, 10, 0);
	t_check_data(bufs, NR * page, 10, 0);
	T_EXPECT(io_uring_munmap_kmbuf(bufs, NR * page), 0);
}

/* What the mappings answer on every kernel, kmbuf or not */
static void test_any_kernel(void)
{
	struct io_uring_kmbuf_reg r = { };
	struct io_uring_buf_ring *br, *pbr;
	struct io_uring ring;
	bool kmbuf;
	int ret;

	t_ring_init(&ring, 2);
	kmbuf = reg(&ring, page, NR, 9) == 0;
	if (kmbuf)
		T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, 9), 0);

	/*
	 * Nothing registered: a stock kernel fails every unknown offset or
	 * group with ENOMEM; the project's kernel answers the kmbuf offset
	 * with EINVAL. The pbuf ring offset is ENOMEM on both.
	 */
	expect_map_fails(&ring, 9, page, kmbuf ? -EINVAL : -ENOMEM);
	ret = 1;
	T_ASSERT(io_uring_mmap_kmbuf_ring(&ring, 9, NR, &ret) == NULL);
	T_EXPECT(ret, -ENOMEM);
	/* a ring in application memory has no mapping either */
	pbr = t_pbuf_ring_setup(&ring, NR, 9);
	ret = 1;
	T_ASSERT(io_uring_mmap_kmbuf_ring(&ring, 9, NR, &ret) == NULL);
	T_EXPECT(ret, -ENOMEM);
	expect_map_fails(&ring, 9, page, kmbuf ? -EINVAL : -ENOMEM);
	t_pbuf_ring_free(&ring, pbr, NR, 9);

	/* a pbuf ring the kernel allocated (IOU_PBUF_RING_MMAP, 6.4) maps */
	r.ring_entries = NR;
	r.bgid = 9;
	r.flags = IOU_PBUF_RING_MMAP;
	ret = io_uring_register_buf_ring(&ring, (struct io_uring_buf_reg *) &r,
					 0);
	if (ret == -EINVAL) {
		printf("no IOU_PBUF_RING_MMAP (Linux 6.4): not checked\n");
	} else {
		T_EXPECT(ret, 0);
		br = io_uring_mmap_kmbuf_ring(&ring, 9, NR, &ret);
		T_ASSERT(br != NULL);
		T_EXPECT(ret, 0);
		/* an ordinary pbuf ring starts empty */
		T_EXPECT(br->tail, 0);
		T_EXPECT(io_uring_munmap_kmbuf(br, page), 0);
		T_EXPECT(io_uring_unregister_buf_ring(&ring, 9), 0);
	}
	io_uring_queue_exit(&ring);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	page = t_page_size();
	test_any_kernel();
	t_require_kmbuf_registration();
	page = t_page_size();
	t_ring_init(&ring, 4);
	test_sizes_and_offsets(&ring);
	test_after_unregister(&ring);
	test_after_exit();
	/* last: it skips on a kernel without the ring mapping */
	test_ring(&ring);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
