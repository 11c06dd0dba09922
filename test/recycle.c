/* SPDX-License-Identifier: MIT */
/*
 * Description: exhausting a group gives ENOBUFS without a buffer; recycling
 * one bid or a batch makes exactly those buffers reusable, in order; bad
 * bids are refused without touching the ring. io_uring_kmbuf_available()
 * counts what the kernel can still hand out all along.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		4
#define BGID		3

static int pipe_fds[2];
static size_t stream_pos;
static bool have_status;

/* The kernel's count, where it has IORING_REGISTER_PBUF_STATUS (6.8) */
static void expect_available(struct io_uring_kmbuf *kb, int want)
{
	if (have_status)
		T_EXPECT(io_uring_kmbuf_available(kb), want);
}

/* One read through the group, its CQE copied to 'cqe' */
static void read_one(struct io_uring *ring, struct io_uring_kmbuf *kb,
		     struct io_uring_cqe *cqe)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);

	io_uring_prep_read(sqe, pipe_fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, cqe);
}

static unsigned int read_chunk(struct io_uring *ring,
			       struct io_uring_kmbuf *kb)
{
	struct io_uring_cqe cqe;
	char data[64];
	unsigned int bid;
	void *buf;

	t_fill(data, sizeof(data), 11, stream_pos);
	t_write_all(pipe_fds[1], data, sizeof(data));
	read_one(ring, kb, &cqe);
	T_EXPECT(cqe.res, sizeof(data));
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	T_ASSERT(buf != NULL);
	t_check_data(buf, sizeof(data), 11, stream_pos);
	stream_pos += sizeof(data);
	return bid;
}

static void expect_enobufs(struct io_uring *ring, struct io_uring_kmbuf *kb)
{
	struct io_uring_cqe cqe;
	unsigned int bid = 12345;
	char c = 'x';

	/* data is waiting, so only the missing buffer can fail the read */
	t_write_all(pipe_fds[1], &c, 1);
	read_one(ring, kb, &cqe);
	T_EXPECT(cqe.res, -ENOBUFS);
	T_EXPECT(cqe.flags & IORING_CQE_F_BUFFER, 0);
	T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), -ENOBUFS);
	T_ASSERT(io_uring_kmbuf_cqe_buf(kb, &cqe, &bid) == NULL);
	T_EXPECT(bid, 12345);
	/* drain the byte so the stream stays in step */
	T_EXPECT(read(pipe_fds[0], &c, 1), 1);
}

int main(void)
{
	unsigned int bids[NR_BUFS], bad[3], i;
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	__u16 tail;

	t_init();
	t_ring_init(&ring, 8);
	if (pipe(pipe_fds))
		t_fail("pipe: %s", strerror(errno));
	kb = t_kb_setup(&ring, TEST_BACKEND, NR_BUFS,
			(unsigned int) t_page_size(), BGID);
	T_EXPECT(io_uring_kmbuf_available(NULL), -EINVAL);
	have_status = io_uring_kmbuf_available(kb) != -EOPNOTSUPP;
	if (!have_status)
		printf("no IORING_REGISTER_PBUF_STATUS (Linux 6.8): "
		       "io_uring_kmbuf_available() gives -EOPNOTSUPP\n");
	expect_available(kb, NR_BUFS);

	for (i = 0; i < NR_BUFS; i++) {
		T_EXPECT(read_chunk(&ring, kb), i);
		expect_available(kb, NR_BUFS - 1 - (int) i);
	}
	expect_enobufs(&ring, kb);
	expect_available(kb, 0);

	/* one bid back: the next read gets exactly that one */
	T_EXPECT(io_uring_kmbuf_recycle(kb, 2), 0);
	expect_available(kb, 1);
	T_EXPECT(read_chunk(&ring, kb), 2);
	expect_enobufs(&ring, kb);
	expect_available(kb, 0);

	/* a batch comes back in the order given */
	bids[0] = 3;
	bids[1] = 0;
	bids[2] = 2;
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, 3), 3);
	expect_available(kb, 3);
	T_EXPECT(read_chunk(&ring, kb), 3);
	T_EXPECT(read_chunk(&ring, kb), 0);
	T_EXPECT(read_chunk(&ring, kb), 2);
	expect_enobufs(&ring, kb);

	/* bad bids are refused and leave the ring as it was */
	tail = kb->br->tail;
	T_EXPECT(io_uring_kmbuf_recycle(kb, NR_BUFS), -EINVAL);
	T_EXPECT(io_uring_kmbuf_recycle(kb, ~0U), -EINVAL);
	bad[0] = 1;
	bad[1] = NR_BUFS;
	bad[2] = 0;
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bad, 3), -EINVAL);
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, NR_BUFS + 1), -EINVAL);
	T_EXPECT(kb->br->tail, tail);
	expect_available(kb, 0);
	T_ASSERT(io_uring_kmbuf_addr(kb, NR_BUFS) == NULL);
	expect_enobufs(&ring, kb);

	/* an empty batch is a no-op */
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, 0), 0);
	T_EXPECT(kb->br->tail, tail);

	/* everything back, then a full round again */
	for (i = 0; i < NR_BUFS; i++)
		bids[i] = NR_BUFS - 1 - i;
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, NR_BUFS), NR_BUFS);
	expect_available(kb, NR_BUFS);
	for (i = 0; i < NR_BUFS; i++)
		T_EXPECT(read_chunk(&ring, kb), NR_BUFS - 1 - i);
	expect_enobufs(&ring, kb);

	/*
	 * A read at end of file can complete with res 0 and still carry a
	 * buffer (ring-provided buffers are taken before the read): it is
	 * out of the ring until given back.
	 */
	for (i = 0; i < NR_BUFS; i++)
		bids[i] = i;
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, bids, NR_BUFS), NR_BUFS);
	close(pipe_fds[1]);
	{
		struct io_uring_cqe cqe;
		unsigned int bid;

		read_one(&ring, kb, &cqe);
		T_EXPECT(cqe.res, 0);
		if (io_uring_kmbuf_cqe_buf(kb, &cqe, &bid)) {
			printf("read at EOF: res 0 with bid %u\n", bid);
			T_EXPECT(bid, 0);
			expect_available(kb, NR_BUFS - 1);
			T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
		} else {
			printf("read at EOF: res 0 without a buffer\n");
		}
		expect_available(kb, NR_BUFS);
	}

	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	close(pipe_fds[0]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
