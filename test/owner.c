/* SPDX-License-Identifier: MIT */
/*
 * Description: IO_URING_KMBUF_CHECK_OWNER. A buffer taken from a CQE with
 * io_uring_kmbuf_cqe_buf() is held; giving back a bid that is not held
 * (never received, or given back already) fails with -EALREADY and leaves
 * the ring alone; a batch is all or nothing; io_uring_kmbuf_held() lists
 * the held bids. Afterwards the ring holds every bid exactly once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		4
#define BGID		5

static int pipe_fds[2];
static size_t stream_pos;

/* One read through the group; its CQE is copied to 'cqe' */
static void read_one(struct io_uring *ring, struct io_uring_kmbuf *kb,
		     struct io_uring_cqe *cqe)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	char data[100];

	t_fill(data, sizeof(data), 13, stream_pos);
	t_write_all(pipe_fds[1], data, sizeof(data));
	io_uring_prep_read(sqe, pipe_fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, cqe);
	T_EXPECT(cqe->res, sizeof(data));
	T_EXPECT(cqe->flags & IORING_CQE_F_BUFFER, IORING_CQE_F_BUFFER);
	t_check_data(io_uring_kmbuf_addr(kb, io_uring_kmbuf_cqe_bid(cqe)),
		     sizeof(data), 13, stream_pos);
	stream_pos += sizeof(data);
}

/* Read and claim a buffer, return its bid */
static unsigned int take(struct io_uring *ring, struct io_uring_kmbuf *kb)
{
	struct io_uring_cqe cqe;
	unsigned int bid = ~0U;

	read_one(ring, kb, &cqe);
	T_ASSERT(io_uring_kmbuf_cqe_buf(kb, &cqe, &bid) != NULL);
	return bid;
}

static void expect_held(struct io_uring_kmbuf *kb, const unsigned int *want,
			unsigned int nr)
{
	unsigned int got[NR_BUFS] = { 0 }, i;

	T_EXPECT(io_uring_kmbuf_held(kb, NULL, 0), nr);
	T_EXPECT(io_uring_kmbuf_held(kb, got, NR_BUFS), nr);
	for (i = 0; i < nr; i++)
		T_EXPECT(got[i], want[i]);
	/* a short array gets the first bids and the full count */
	if (nr > 1) {
		got[1] = 999;
		T_EXPECT(io_uring_kmbuf_held(kb, got, 1), nr);
		T_EXPECT(got[0], want[0]);
		T_EXPECT(got[1], 999);
	}
}

static void expect_enobufs(struct io_uring *ring, struct io_uring_kmbuf *kb)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;
	char c = 'x';

	t_write_all(pipe_fds[1], &c, 1);
	io_uring_prep_read(sqe, pipe_fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, -ENOBUFS);
	T_EXPECT(read(pipe_fds[0], &c, 1), 1);
}

static void test_checked(struct io_uring *ring)
{
	unsigned int bids[NR_BUFS], want[NR_BUFS], i;
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;
	__u16 tail;
	int ret;

	kb = io_uring_kmbuf_setup(ring, NR_BUFS, (unsigned int) t_page_size(),
				  BGID, IO_URING_KMBUF_CHECK_OWNER |
				  (TEST_BACKEND == T_BACKEND_KERNEL ?
				   IO_URING_KMBUF_NO_EMULATION :
				   IO_URING_KMBUF_FORCE_EMULATION), &ret);
	if (!kb && ret == -EOPNOTSUPP && TEST_BACKEND == T_BACKEND_KERNEL)
		t_skip("kernel backend: %s", t_kernel_missing());
	T_ASSERT(kb != NULL);
	T_EXPECT(ret, 0);
	T_EXPECT(io_uring_kmbuf_backend(kb), TEST_BACKEND);
	T_EXPECT(kb->fast_bids, 0);
	expect_held(kb, NULL, 0);

	/* never received: refused, nothing written */
	tail = kb->br->tail;
	T_EXPECT(io_uring_kmbuf_recycle(kb, 0), -EALREADY);
	T_EXPECT(io_uring_kmbuf_add(kb, 3, 0), -EALREADY);
	bids[0] = 1;
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, 1), -EALREADY);
	T_EXPECT(kb->br->tail, tail);
	/* out of range is still EINVAL */
	T_EXPECT(io_uring_kmbuf_recycle(kb, NR_BUFS), -EINVAL);
	T_EXPECT(io_uring_kmbuf_recycle(kb, ~0U), -EINVAL);

	/* two buffers received: both held */
	T_EXPECT(take(ring, kb), 0);
	T_EXPECT(take(ring, kb), 1);
	want[0] = 0;
	want[1] = 1;
	expect_held(kb, want, 2);
	/* claiming the same CQE again changes nothing */
	read_one(ring, kb, &cqe);
	T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 2);
	/* io_uring_kmbuf_cqe_bid() only decodes: bid 2 is not held yet */
	T_EXPECT(io_uring_kmbuf_recycle(kb, 2), -EALREADY);
	T_ASSERT(io_uring_kmbuf_cqe_buf(kb, &cqe, &i) != NULL);
	T_EXPECT(i, 2);
	T_ASSERT(io_uring_kmbuf_cqe_buf(kb, &cqe, &i) != NULL);
	want[2] = 2;
	expect_held(kb, want, 3);

	/* one back, then the same again: refused */
	T_EXPECT(io_uring_kmbuf_recycle(kb, 1), 0);
	T_EXPECT(kb->br->tail, (__u16) (tail + 1));
	T_EXPECT(io_uring_kmbuf_recycle(kb, 1), -EALREADY);
	T_EXPECT(kb->br->tail, (__u16) (tail + 1));
	want[1] = 2;
	expect_held(kb, want, 2);

	/* a batch with a duplicate or a bid not held: nothing changes */
	bids[0] = 0;
	bids[1] = 2;
	bids[2] = 0;
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, 3), -EALREADY);
	bids[2] = 3;
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, 3), -EALREADY);
	bids[2] = NR_BUFS;
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, 3), -EINVAL);
	T_EXPECT(kb->br->tail, (__u16) (tail + 1));
	expect_held(kb, want, 2);

	/* the good batch */
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, 2), 2);
	T_EXPECT(kb->br->tail, (__u16) (tail + 3));
	expect_held(kb, NULL, 0);

	/* add + advance follow the same rule */
	T_EXPECT(take(ring, kb), 3);
	T_EXPECT(io_uring_kmbuf_add(kb, 3, 0), 0);
	T_EXPECT(io_uring_kmbuf_add(kb, 3, 1), -EALREADY);
	io_uring_kmbuf_advance(kb, 1);
	expect_held(kb, NULL, 0);

	/*
	 * The ring now holds 1, 0, 2, 3 once each: four reads get exactly
	 * those, a fifth finds it empty.
	 */
	T_EXPECT(take(ring, kb), 1);
	T_EXPECT(take(ring, kb), 0);
	T_EXPECT(take(ring, kb), 2);
	T_EXPECT(take(ring, kb), 3);
	expect_enobufs(ring, kb);
	for (i = 0; i < NR_BUFS; i++)
		want[i] = i;
	expect_held(kb, want, NR_BUFS);
	if (io_uring_kmbuf_available(kb) != -EOPNOTSUPP)
		T_EXPECT(io_uring_kmbuf_available(kb), 0);

	/* shutdown leak check: the application still holds all four */
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
}

/* Without the flag nothing is tracked and nothing changes on the fast path */
static void test_unchecked(struct io_uring *ring)
{
	struct io_uring_kmbuf *kb;
	unsigned int bid;

	kb = t_kb_setup(ring, TEST_BACKEND, NR_BUFS,
			(unsigned int) t_page_size(), BGID);
	T_EXPECT(kb->fast_bids, NR_BUFS);
	T_ASSERT(kb->track == NULL);
	T_EXPECT(io_uring_kmbuf_held(kb, NULL, 0), -EINVAL);
	bid = take(ring, kb);
	T_EXPECT(bid, 0);
	T_EXPECT(io_uring_kmbuf_held(kb, &bid, 1), -EINVAL);
	T_EXPECT(io_uring_kmbuf_recycle(kb, 0), 0);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	t_ring_init(&ring, 8);
	if (pipe(pipe_fds))
		t_fail("pipe: %s", strerror(errno));
	T_EXPECT(io_uring_kmbuf_held(NULL, NULL, 0), -EINVAL);
	test_checked(&ring);
	test_unchecked(&ring);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
