/* SPDX-License-Identifier: MIT */
/*
 * Description: IO_URING_KMBUF_INCREMENTAL. One buffer takes the data of
 * several reads; io_uring_kmbuf_cqe_buf() returns where each CQE's data
 * starts (the buffer's consumed offset), a CQE with IORING_CQE_F_BUF_MORE
 * leaves the buffer in the ring and one without retires it; a message
 * straddles two buffers; the group runs dry; a recycled buffer starts
 * from 0 again; with ownership checks a buffer still being filled cannot
 * be given back; io_uring_kmbuf_cq_advance() gives back retired buffers
 * only. Emulated backend (pbuf rings with IOU_PBUF_RING_INC, Linux 6.12);
 * the kernel backend where the kernel takes the flag for kmbuf rings, which
 * the project's series does (a failure in its UML guest if it does not).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		2
#define BGID		4

static int pipe_fds[2];
static size_t stream_pos, write_pos;
static unsigned int page;

/* Write 'len' stream bytes, read once through the group, wait */
static void read_once(struct io_uring *ring, struct io_uring_kmbuf *kb,
		      size_t len, bool keep, struct io_uring_cqe *out)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	char *data = malloc(len);
	unsigned int ready = io_uring_cq_ready(ring);
	struct io_uring_cqe *cqe;
	int ret;

	T_ASSERT(data);
	t_fill(data, len, 31, write_pos);
	t_write_all(pipe_fds[1], data, len);
	write_pos += len;
	free(data);
	io_uring_prep_read(sqe, pipe_fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	if (!keep) {
		t_wait_cqe(ring, out);
		return;
	}
	ret = io_uring_wait_cqe_nr(ring, &cqe, ready + 1);
	T_EXPECT(ret, 0);
}

/* Check one CQE: result, bid, where its data is, whether it retires */
static void check(struct io_uring_kmbuf *kb, const struct io_uring_cqe *cqe,
		  int res, unsigned int bid, unsigned int off, bool more)
{
	char *buf;

	T_EXPECT(cqe->res, res);
	T_EXPECT(io_uring_kmbuf_cqe_bid(cqe), bid);
	T_EXPECT(!!(cqe->flags & IORING_CQE_F_BUF_MORE), more);
	buf = t_cqe_buf_at(kb, cqe, bid, off);
	t_check_data(buf, (size_t) res, 31, stream_pos);
	stream_pos += (size_t) res;
}

static void expect_available(struct io_uring_kmbuf *kb, int want)
{
	int ret = io_uring_kmbuf_available(kb);

	if (ret != -EOPNOTSUPP)
		T_EXPECT(ret, want);
}

static void run(struct io_uring *ring, int backend, unsigned int flags)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe, *c;
	unsigned int head, n;
	bool owner = flags & IO_URING_KMBUF_CHECK_OWNER;
	char rest[404];

	kb = t_kb_setup_inc(ring, backend, NR_BUFS, page, BGID, flags);
	if (!kb)
		return;
	T_EXPECT(kb->fast_bids, 0);

	/* small reads share bid 0, each at the end of the one before */
	read_once(ring, kb, 100, false, &cqe);
	check(kb, &cqe, 100, 0, 0, true);
	read_once(ring, kb, 200, false, &cqe);
	check(kb, &cqe, 200, 0, 100, true);
	expect_available(kb, NR_BUFS);
	/* still filling: not the application's to give back */
	if (owner) {
		T_EXPECT(io_uring_kmbuf_recycle(kb, 0), -EALREADY);
		T_EXPECT(io_uring_kmbuf_held(kb, NULL, 0), 0);
	}
	/* exactly the rest of the buffer retires it */
	read_once(ring, kb, page - 300, false, &cqe);
	check(kb, &cqe, (int) page - 300, 0, 300, false);
	expect_available(kb, NR_BUFS - 1);
	if (owner)
		T_EXPECT(io_uring_kmbuf_held(kb, NULL, 0), 1);

	/* a message straddling the end of bid 1 */
	read_once(ring, kb, 500, false, &cqe);
	check(kb, &cqe, 500, 1, 0, true);
	read_once(ring, kb, page - 500 + sizeof(rest), false, &cqe);
	check(kb, &cqe, (int) page - 500, 1, 500, false);
	expect_available(kb, 0);
	/* both retired and held: the rest waits in the pipe */
	{
		struct io_uring_sqe *sqe = t_get_sqe(ring);

		io_uring_prep_read(sqe, pipe_fds[0], NULL, 0, 0);
		io_uring_kmbuf_prep_select(sqe, kb);
		t_submit(ring, 1);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.res, -ENOBUFS);
		T_EXPECT(cqe.flags & IORING_CQE_F_BUFFER, 0);
	}

	/* bid 0 back: it is filled from its start again */
	T_EXPECT(io_uring_kmbuf_recycle(kb, 0), 0);
	if (owner)
		T_EXPECT(io_uring_kmbuf_recycle(kb, 0), -EALREADY);
	read_once(ring, kb, 0, false, &cqe);
	check(kb, &cqe, sizeof(rest), 0, 0, true);

	/*
	 * Giving back from CQEs: one that leaves its buffer in the ring and
	 * one that retires it; only the second buffer goes back.
	 */
	T_EXPECT(io_uring_kmbuf_recycle(kb, 1), 0);
	read_once(ring, kb, 100, true, NULL);
	read_once(ring, kb, page - sizeof(rest) - 100, true, NULL);
	T_EXPECT(io_uring_cq_ready(ring), 2);
	n = 0;
	io_uring_for_each_cqe(ring, head, c) {
		if (n++ == 0)
			check(kb, c, 100, 0, sizeof(rest), true);
		else
			check(kb, c, (int) page - (int) sizeof(rest) - 100,
			      0, sizeof(rest) + 100, false);
	}
	head = kb->br->tail;
	T_EXPECT(io_uring_kmbuf_cq_advance(kb, 2), 1);
	T_EXPECT(io_uring_cq_ready(ring), 0);
	T_EXPECT(kb->br->tail, (__u16) (head + 1));
	if (owner)
		T_EXPECT(io_uring_kmbuf_held(kb, NULL, 0), 0);
	expect_available(kb, NR_BUFS);
	/* the ring is 1, 0: each starts from 0 */
	read_once(ring, kb, 10, false, &cqe);
	check(kb, &cqe, 10, 1, 0, true);
	read_once(ring, kb, page - 10, false, &cqe);
	check(kb, &cqe, (int) page - 10, 1, 10, false);
	/* a CQE that leaves its buffer in the ring is only marked seen */
	read_once(ring, kb, 20, true, NULL);
	T_EXPECT(io_uring_peek_cqe(ring, &c), 0);
	check(kb, c, 20, 0, 0, true);
	head = kb->br->tail;
	T_EXPECT(io_uring_kmbuf_cqe_seen(kb, c), 0);
	T_EXPECT(io_uring_cq_ready(ring), 0);
	T_EXPECT(kb->br->tail, head);
	/*
	 * Decoding a CQE twice is misuse; the second time its data would
	 * run past the buffer's end: NULL, and nothing counted, so the next
	 * CQE is still where it should be.
	 */
	n = (page - 20) / 4 * 3;
	read_once(ring, kb, n, false, &cqe);
	check(kb, &cqe, (int) n, 0, 20, true);
	T_ASSERT(io_uring_kmbuf_cqe_buf(kb, &cqe, &head) == NULL);
	read_once(ring, kb, page - 20 - n, false, &cqe);
	check(kb, &cqe, (int) (page - 20 - n), 0, 20 + n, false);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	printf("%s backend%s: ok\n", t_backend_name(backend),
	       owner ? ", ownership checks" : "");
}

/*
 * A CQE naming a bid out of range is refused by cqe_seen and cq_advance
 * (-EINVAL, nothing consumed), with IORING_CQE_F_BUF_MORE set too. The
 * kernel never posts one: the test rewrites a NOP's CQE in the CQ ring.
 */
static void bogus_bid(struct io_uring *ring, int backend)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;

	kb = t_kb_setup_inc(ring, backend, NR_BUFS, page, BGID, 0);
	if (!kb)
		return;
	sqe = t_get_sqe(ring);
	io_uring_prep_nop(sqe);
	t_submit(ring, 1);
	T_EXPECT(io_uring_wait_cqe(ring, &cqe), 0);
	cqe->flags = IORING_CQE_F_BUFFER | IORING_CQE_F_BUF_MORE |
		     (NR_BUFS << IORING_CQE_BUFFER_SHIFT);
	T_EXPECT(io_uring_kmbuf_cqe_seen(kb, cqe), -EINVAL);
	T_EXPECT(io_uring_kmbuf_cq_advance(kb, 1), -EINVAL);
	T_EXPECT(io_uring_cq_ready(ring), 1);
	cqe->flags = 0;
	T_EXPECT(io_uring_kmbuf_cq_advance(kb, 1), 0);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	page = (unsigned int) t_page_size();
	t_ring_init(&ring, 8);
	if (pipe(pipe_fds))
		t_fail("pipe: %s", strerror(errno));
	run(&ring, T_BACKEND_EMULATED, 0);
	run(&ring, T_BACKEND_EMULATED, IO_URING_KMBUF_CHECK_OWNER);
	t_each_backend(&ring, bogus_bid);
	if (t_kernel_missing())
		printf("kernel backend: not available here, not checked\n");
	else
		run(&ring, T_BACKEND_KERNEL, 0);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
