/* SPDX-License-Identifier: MIT */
/*
 * Description: IORING_OP_READ with IOSQE_BUFFER_SELECT from a kmbuf group,
 * from a pipe and from a regular file: every CQE's bid and the bytes at
 * that bid's address are checked against what was written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		8
#define BGID		1

static void prep_read(struct io_uring *ring, struct io_uring_kmbuf *kb,
		      int fd, unsigned int len, __u64 off, __u64 user_data)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);

	io_uring_prep_read(sqe, fd, NULL, len, off);
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->user_data = user_data;
}

/* Check a read CQE, return its bid */
static unsigned int check_cqe(struct io_uring_kmbuf *kb,
			      const struct io_uring_cqe *cqe, int want_res,
			      unsigned int seed, size_t pos)
{
	unsigned int bid = ~0U;
	void *buf;

	if (cqe->res < 0)
		t_fail("read failed: %s", strerror(-cqe->res));
	T_EXPECT(cqe->res, want_res);
	buf = io_uring_kmbuf_cqe_buf(kb, cqe, &bid);
	T_ASSERT(buf != NULL);
	T_ASSERT(bid < kb->nentries);
	T_ASSERT(buf == io_uring_kmbuf_addr(kb, bid));
	t_check_data(buf, (size_t) cqe->res, seed, pos);
	return bid;
}

/*
 * A fresh group hands out its buffers in ring order; after recycling,
 * in the order they were given back.
 */
static void test_pipe(struct io_uring *ring, struct io_uring_kmbuf *kb)
{
	const unsigned int chunk = kb->buf_size / 2 + 3;
	struct io_uring_cqe cqe;
	unsigned int i, bid;
	size_t pos = 0;
	char *data;
	int fds[2];

	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	data = malloc(chunk);
	T_ASSERT(data);

	/* two rounds over the whole ring, recycling in reverse order */
	for (i = 0; i < 2 * NR_BUFS; i++) {
		unsigned int want = i < NR_BUFS ? i :
				    NR_BUFS - 1 - (i - NR_BUFS);

		t_fill(data, chunk, 1, pos);
		t_write_all(fds[1], data, chunk);
		prep_read(ring, kb, fds[0], 0, 0, i);
		t_submit(ring, 1);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.user_data, i);
		bid = check_cqe(kb, &cqe, (int) chunk, 1, pos);
		T_EXPECT(bid, want);
		pos += chunk;
		if (i == NR_BUFS - 1) {
			int b;

			for (b = NR_BUFS - 1; b >= 0; b--)
				T_EXPECT(io_uring_kmbuf_recycle(kb, b), 0);
		}
	}
	for (i = 0; i < NR_BUFS; i++)
		T_EXPECT(io_uring_kmbuf_recycle(kb, i), 0);

	/* a read parked on an empty pipe completes when data arrives */
	prep_read(ring, kb, fds[0], 0, 0, 100);
	t_submit(ring, 1);
	usleep(10000);
	t_fill(data, chunk, 1, pos);
	t_write_all(fds[1], data, chunk);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.user_data, 100);
	bid = check_cqe(kb, &cqe, (int) chunk, 1, pos);
	T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
	pos += chunk;

	/* a read asking for less than a buffer gets only that much */
	t_fill(data, chunk, 1, pos);
	t_write_all(fds[1], data, chunk);
	prep_read(ring, kb, fds[0], 100, 0, 101);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	bid = check_cqe(kb, &cqe, 100, 1, pos);
	T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);

	free(data);
	close(fds[0]);
	close(fds[1]);
}

/* Reads at several offsets in flight at once; each lands in its own bid */
static void test_file(struct io_uring *ring, struct io_uring_kmbuf *kb)
{
	const size_t bs = kb->buf_size;
	const size_t len = 5 * bs + 1234;
	unsigned int seen = 0, i, nr = 6;
	struct io_uring_cqe cqe;
	int fd;

	fd = t_create_file(len, 2);
	for (i = 0; i < nr; i++)
		prep_read(ring, kb, fd, 0, i * bs, i);
	t_submit(ring, (int) nr);
	for (i = 0; i < nr; i++) {
		unsigned int idx, bid;
		size_t want;

		t_wait_cqe(ring, &cqe);
		idx = (unsigned int) cqe.user_data;
		T_ASSERT(idx < nr);
		want = len - idx * bs < bs ? len - idx * bs : bs;
		bid = check_cqe(kb, &cqe, (int) want, 2, idx * bs);
		if (seen & (1U << bid))
			t_fail("bid %u handed out twice", bid);
		seen |= 1U << bid;
	}
	for (i = 0; i < NR_BUFS; i++)
		if (seen & (1U << i))
			T_EXPECT(io_uring_kmbuf_recycle(kb, i), 0);

	/* end of file: zero bytes, and a consumed buffer is reported */
	prep_read(ring, kb, fd, 0, len, 50);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 0);
	if (cqe.flags & IORING_CQE_F_BUFFER)
		T_EXPECT(io_uring_kmbuf_recycle(kb,
				io_uring_kmbuf_cqe_bid(&cqe)), 0);
	close(fd);
}

int main(void)
{
	const unsigned int sizes[] = { 1, 4, 16 };
	struct io_uring ring;
	unsigned int i;

	t_init();
	t_ring_init(&ring, 16);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct io_uring_kmbuf *kb;

		kb = t_kb_setup(&ring, TEST_BACKEND, NR_BUFS,
				sizes[i] * (unsigned int) t_page_size(), BGID);
		test_pipe(&ring, kb);
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
		kb = t_kb_setup(&ring, TEST_BACKEND, NR_BUFS,
				sizes[i] * (unsigned int) t_page_size(), BGID);
		test_file(&ring, kb);
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
	}
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
