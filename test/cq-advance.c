/* SPDX-License-Identifier: MIT */
/*
 * Description: giving buffers back straight from CQEs.
 * io_uring_kmbuf_cqe_seen() gives one CQE's buffer back and marks it seen;
 * io_uring_kmbuf_cq_advance() does it for the next N CQEs with one tail
 * update, skipping CQEs without a buffer, and refuses (changing nothing)
 * a CQE whose bid is out of range, a count beyond the ready CQEs, and with
 * IO_URING_KMBUF_CHECK_OWNER a bid twice in one batch.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		4
#define BGID		6

static int pipe_fds[2];
static size_t stream_pos;

/* Queue one read (its data already in the pipe), wait for its CQE, keep it */
static void read_keep(struct io_uring *ring, struct io_uring_kmbuf *kb,
		      __u64 user_data)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe *cqe;
	unsigned int before = io_uring_cq_ready(ring);
	char data[200];
	int i;

	t_fill(data, sizeof(data), 17, stream_pos);
	t_write_all(pipe_fds[1], data, sizeof(data));
	stream_pos += sizeof(data);
	io_uring_prep_read(sqe, pipe_fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->user_data = user_data;
	t_submit(ring, 1);
	for (i = 0; i < 5000 && io_uring_cq_ready(ring) == before; i++)
		usleep(1000);
	T_EXPECT(io_uring_cq_ready(ring), before + 1);
	T_EXPECT(io_uring_peek_cqe(ring, &cqe), 0);
}

static void nop_keep(struct io_uring *ring, __u64 user_data)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	unsigned int before = io_uring_cq_ready(ring);

	io_uring_prep_nop(sqe);
	sqe->user_data = user_data;
	t_submit(ring, 1);
	T_EXPECT(io_uring_cq_ready(ring), before + 1);
}

/* The CQE 'n' places after the head */
static struct io_uring_cqe *cqe_at(struct io_uring *ring, unsigned int n)
{
	struct io_uring_cqe *cqe;
	unsigned int head, i = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		if (i++ == n)
			return cqe;
	}
	t_fail("no CQE %u", n);
}

/* Read 'nr' chunks: each must land in the next bid of 'want' */
static void drain_order(struct io_uring *ring, struct io_uring_kmbuf *kb,
			const unsigned int *want, unsigned int nr)
{
	struct io_uring_cqe cqe;
	unsigned int i, bid;

	for (i = 0; i < nr; i++) {
		read_keep(ring, kb, i);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.res, 200);
		T_ASSERT(io_uring_kmbuf_cqe_buf(kb, &cqe, &bid) != NULL);
		T_EXPECT(bid, want[i]);
		t_check_data(io_uring_kmbuf_addr(kb, bid), 200, 17,
			     stream_pos - 200);
		T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
	}
}

static void run(struct io_uring *ring, unsigned int flags)
{
	unsigned int order[NR_BUFS];
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe *cqe;
	__u32 saved;
	__u16 tail;
	int ret;

	if (TEST_BACKEND == T_BACKEND_KERNEL)
		flags |= IO_URING_KMBUF_NO_EMULATION;
	else
		flags |= IO_URING_KMBUF_FORCE_EMULATION;
	kb = io_uring_kmbuf_setup(ring, NR_BUFS, (unsigned int) t_page_size(),
				  BGID, flags, &ret);
	if (!kb && ret == -EOPNOTSUPP && TEST_BACKEND == T_BACKEND_KERNEL)
		t_skip("kernel backend: %s", t_kernel_missing());
	T_ASSERT(kb != NULL);

	/* one CQE: its buffer goes back at once, the CQE is consumed */
	read_keep(ring, kb, 1);
	cqe = cqe_at(ring, 0);
	T_EXPECT(io_uring_kmbuf_cqe_bid(cqe), 0);
	tail = kb->br->tail;
	T_EXPECT(io_uring_kmbuf_cqe_seen(kb, cqe), 0);
	T_EXPECT(io_uring_cq_ready(ring), 0);
	T_EXPECT(kb->br->tail, (__u16) (tail + 1));
	/* a CQE without a buffer is only marked seen */
	nop_keep(ring, 2);
	T_EXPECT(io_uring_kmbuf_cqe_seen(kb, cqe_at(ring, 0)), 0);
	T_EXPECT(io_uring_cq_ready(ring), 0);
	T_EXPECT(kb->br->tail, (__u16) (tail + 1));

	/* the ring is now 1 2 3 0: four reads and a NOP pile up */
	read_keep(ring, kb, 10);
	read_keep(ring, kb, 11);
	nop_keep(ring, 12);
	read_keep(ring, kb, 13);
	read_keep(ring, kb, 14);
	T_EXPECT(io_uring_cq_ready(ring), 5);
	T_EXPECT(io_uring_kmbuf_cqe_bid(cqe_at(ring, 0)), 1);
	T_EXPECT(io_uring_kmbuf_cqe_bid(cqe_at(ring, 4)), 0);
	tail = kb->br->tail;

	/* more than are ready: refused */
	T_EXPECT(io_uring_kmbuf_cq_advance(kb, 6), -EINVAL);
	/* a bid out of range in the batch: refused, nothing changed */
	cqe = cqe_at(ring, 2);
	saved = cqe->flags;
	cqe->flags = IORING_CQE_F_BUFFER | (NR_BUFS << IORING_CQE_BUFFER_SHIFT);
	T_EXPECT(io_uring_kmbuf_cq_advance(kb, 5), -EINVAL);
	T_EXPECT(io_uring_cq_ready(ring), 5);
	T_EXPECT(kb->br->tail, tail);
	if (flags & IO_URING_KMBUF_CHECK_OWNER) {
		/* the same bid twice: one of them was given back already */
		cqe->flags = IORING_CQE_F_BUFFER |
			     (2 << IORING_CQE_BUFFER_SHIFT);
		T_EXPECT(io_uring_kmbuf_cq_advance(kb, 5), -EALREADY);
		T_EXPECT(io_uring_cq_ready(ring), 5);
		T_EXPECT(kb->br->tail, tail);
	}
	cqe->flags = saved;

	/* the first two only: two buffers back, two CQEs seen */
	T_EXPECT(io_uring_kmbuf_cq_advance(kb, 2), 2);
	T_EXPECT(kb->br->tail, (__u16) (tail + 2));
	T_EXPECT(io_uring_cq_ready(ring), 3);
	T_EXPECT(cqe_at(ring, 0)->user_data, 12);
	/* the NOP and the last two: two buffers back */
	T_EXPECT(io_uring_kmbuf_cq_advance(kb, 3), 2);
	T_EXPECT(kb->br->tail, (__u16) (tail + 4));
	T_EXPECT(io_uring_cq_ready(ring), 0);
	T_EXPECT(io_uring_kmbuf_cq_advance(kb, 0), 0);
	if (flags & IO_URING_KMBUF_CHECK_OWNER)
		T_EXPECT(io_uring_kmbuf_held(kb, NULL, 0), 0);

	/* given back in CQE order: 1 2 3 0, each once */
	order[0] = 1;
	order[1] = 2;
	order[2] = 3;
	order[3] = 0;
	drain_order(ring, kb, order, NR_BUFS);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	t_ring_init(&ring, 8);
	if (pipe(pipe_fds))
		t_fail("pipe: %s", strerror(errno));
	T_EXPECT(io_uring_kmbuf_cq_advance(NULL, 0), -EINVAL);
	/*
	 * cqe_seen(NULL, cqe) is -EINVAL, as cq_advance(NULL, n) is, and
	 * leaves the CQE alone: with and without a buffer in the CQE.
	 */
	{
		struct io_uring_cqe cqe = { .flags = 0 };
		unsigned int ready = io_uring_cq_ready(&ring);

		T_EXPECT(io_uring_kmbuf_cqe_seen(NULL, &cqe), -EINVAL);
		cqe.flags = IORING_CQE_F_BUFFER | (1U << IORING_CQE_BUFFER_SHIFT);
		T_EXPECT(io_uring_kmbuf_cqe_seen(NULL, &cqe), -EINVAL);
		T_EXPECT(io_uring_cq_ready(&ring), ready);
	}
	run(&ring, 0);
	run(&ring, IO_URING_KMBUF_CHECK_OWNER);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
