/* SPDX-License-Identifier: MIT */
/*
 * Description: IORING_(UN)REGISTER_KMBUF_RING through the thin wrappers,
 * every validation rule of the ABI with its exact errno.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static unsigned int page;

static int reg(struct io_uring *ring, unsigned int size, unsigned int nr,
	       int bgid)
{
	struct io_uring_kmbuf_reg r = { };

	r.buf_size = size;
	r.ring_entries = nr;
	r.bgid = (__u16) bgid;
	return io_uring_register_kmbuf_ring(ring, &r, 0);
}

static void test_rules(struct io_uring *ring)
{
	struct io_uring_kmbuf_reg r = { };

	/* sizes and counts */
	T_EXPECT(reg(ring, 0, 4, 1), -EINVAL);
	T_EXPECT(reg(ring, 100, 4, 1), -EINVAL);
	T_EXPECT(reg(ring, page + 1, 4, 1), -EINVAL);
	T_EXPECT(reg(ring, page / 2, 4, 1), -EINVAL);
	T_EXPECT(reg(ring, page, 0, 1), -EINVAL);
	T_EXPECT(reg(ring, page, 3, 1), -EINVAL);
	T_EXPECT(reg(ring, page, 65536, 1), -EINVAL);
	T_EXPECT(reg(ring, page, 32768 * 2 - 1, 1), -EINVAL);
	/* a region no kernel will allocate: overflow or too large */
	T_EXPECT(reg(ring, 0xfffff000U & ~(page - 1), 32768, 1), -EINVAL);

	/* flags and reserved fields */
	r.buf_size = page;
	r.ring_entries = 4;
	r.bgid = 1;
	r.flags = 1;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &r, 0), -EINVAL);
	r.flags = 0x8000;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &r, 0), -EINVAL);
	r.flags = 0;
	r.resv[2] = 1;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &r, 0), -EINVAL);
	r.resv[2] = 0;
	r.resv[0] = 1;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &r, 0), -EINVAL);
	r.resv[0] = 0;

	/* bad user pointer */
	T_EXPECT(io_uring_register_kmbuf_ring(ring, NULL, 0), -EFAULT);

	/* the largest entry count is fine */
	T_EXPECT(reg(ring, page, 32768, 2), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 2), 0);

	/* after all those refusals, the bgid is still free */
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &r, 0), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 1), 0);
}

static void test_busy(struct io_uring *ring)
{
	struct io_uring_buf_ring *br;

	/* a bgid holds one group at a time */
	T_EXPECT(reg(ring, page, 4, 3), 0);
	T_EXPECT(reg(ring, page, 4, 3), -EEXIST);
	T_EXPECT(reg(ring, 2 * page, 8, 3), -EEXIST);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 3), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 3), -ENOENT);

	/* unregister of a bgid that never had anything */
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 1000), -ENOENT);

	/* a pbuf ring on the bgid: EEXIST, and it is not ours to remove */
	br = t_pbuf_ring_setup(ring, 4, 5);
	T_EXPECT(reg(ring, page, 4, 5), -EEXIST);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 5), -EINVAL);
	t_pbuf_ring_free(ring, br, 4, 5);

	/* a kmbuf ring is not removed by the pbuf unregister either */
	T_EXPECT(reg(ring, page, 4, 6), 0);
	T_EXPECT(io_uring_unregister_buf_ring(ring, 6), -EINVAL);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 6), 0);
}

/* Classic provided buffers (IORING_OP_PROVIDE_BUFFERS) on the bgid */
static void test_classic(struct io_uring *ring)
{
	static char bufs[4][64];
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;

	io_uring_prep_provide_buffers(sqe, bufs, 64, 4, 8, 0);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 0);
	T_EXPECT(reg(ring, page, 4, 8), -EEXIST);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 8), -EINVAL);

	sqe = t_get_sqe(ring);
	io_uring_prep_remove_buffers(sqe, 4, 8);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 4);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	t_require_kmbuf_registration();
	page = (unsigned int) t_page_size();
	t_ring_init(&ring, 4);
	test_rules(&ring);
	test_busy(&ring);
	test_classic(&ring);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
