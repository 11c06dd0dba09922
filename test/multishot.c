/* SPDX-License-Identifier: MIT */
/*
 * Description: multishot recv and multishot read on a group, the end-and-
 * rearm contract: a multishot request that finds the group empty ends with
 * -ENOBUFS, no buffer and no IORING_CQE_F_MORE; the data it could not take
 * stays in the socket or pipe; armed again after recycling, it delivers
 * exactly the rest of the stream. io_uring_kmbuf_available() follows the
 * group on the way.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "helpers.h"

#define NR_BUFS		4
#define BGID		9

enum kind { K_RECV, K_READ };

struct stream {
	struct io_uring *ring;
	struct io_uring_kmbuf *kb;
	enum kind kind;
	int fds[2];		/* [0] written by the test, [1] read by io_uring */
	unsigned int seed;
	size_t written, got;
	unsigned int held[NR_BUFS], nr_held;
	bool have_available;
};

static const char *kind_name(enum kind k)
{
	return k == K_RECV ? "recv multishot" : "read multishot";
}

static size_t pending(struct stream *st)
{
	int n = -1;

	if (ioctl(st->fds[1], FIONREAD, &n))
		t_fail("FIONREAD: %s", strerror(errno));
	return (size_t) n;
}

/*
 * Write 'len' more bytes of the stream; with no request armed, wait until
 * all of them are readable.
 */
static void produce(struct stream *st, size_t len, bool armed)
{
	char *data = malloc(len);
	int i;

	T_ASSERT(data);
	t_fill(data, len, st->seed, st->written);
	t_write_all(st->fds[0], data, len);
	st->written += len;
	free(data);
	if (armed)
		return;
	for (i = 0; i < 500 && pending(st) != st->written - st->got; i++)
		usleep(1000);
	T_EXPECT(pending(st), st->written - st->got);
}

static void expect_available(struct stream *st, unsigned int want)
{
	if (st->have_available)
		T_EXPECT(io_uring_kmbuf_available(st->kb), want);
}

static void arm(struct stream *st)
{
	struct io_uring_sqe *sqe = t_get_sqe(st->ring);

	if (st->kind == K_RECV)
		io_uring_kmbuf_prep_recv_multishot(sqe, st->kb, st->fds[1], 0);
	else
		io_uring_kmbuf_prep_read_multishot(sqe, st->kb, st->fds[1], 0);
	T_EXPECT(sqe->flags & IOSQE_BUFFER_SELECT, IOSQE_BUFFER_SELECT);
	T_EXPECT(sqe->buf_group, BGID);
	sqe->user_data = 42;
	t_submit(st->ring, 1);
}

/*
 * Reap CQEs until one ends the request; check and keep every buffer.
 * Returns the final CQE's res.
 */
static int reap(struct stream *st, unsigned int *nbufs)
{
	struct io_uring_cqe cqe;
	unsigned int bid;
	void *buf;

	*nbufs = 0;
	for (;;) {
		t_wait_cqe(st->ring, &cqe);
		T_EXPECT(cqe.user_data, 42);
		if (!(cqe.flags & IORING_CQE_F_MORE))
			break;
		if (cqe.res <= 0)
			t_fail("%s: res %d with F_MORE", kind_name(st->kind),
			       cqe.res);
		T_ASSERT((unsigned int) cqe.res <= st->kb->buf_size);
		buf = io_uring_kmbuf_cqe_buf(st->kb, &cqe, &bid);
		T_ASSERT(buf != NULL);
		t_check_data(buf, (size_t) cqe.res, st->seed, st->got);
		st->got += (size_t) cqe.res;
		T_ASSERT(st->nr_held < NR_BUFS);
		st->held[st->nr_held++] = bid;
		(*nbufs)++;
	}
	/* the last CQE may carry data and a buffer too */
	buf = io_uring_kmbuf_cqe_buf(st->kb, &cqe, &bid);
	if (buf) {
		T_ASSERT(cqe.res >= 0);
		t_check_data(buf, (size_t) cqe.res, st->seed, st->got);
		st->got += (size_t) cqe.res;
		st->held[st->nr_held++] = bid;
		(*nbufs)++;
	}
	return cqe.res;
}

static void recycle_some(struct stream *st, unsigned int nr)
{
	T_ASSERT(nr <= st->nr_held);
	T_EXPECT(io_uring_kmbuf_recycle_batch(st->kb, st->held, nr), nr);
	memmove(st->held, st->held + nr,
		(st->nr_held - nr) * sizeof(st->held[0]));
	st->nr_held -= nr;
}

/* The group runs dry with data left: -ENOBUFS, the rest stays put */
static void expect_exhausted(struct stream *st, unsigned int nbufs)
{
	unsigned int got_bufs;
	int res;

	res = reap(st, &got_bufs);
	T_EXPECT(res, -ENOBUFS);
	T_EXPECT(got_bufs, nbufs);
	T_EXPECT(st->nr_held, NR_BUFS);
	T_ASSERT(st->got < st->written);
	T_EXPECT(pending(st), st->written - st->got);
	expect_available(st, 0);
}

static void run(struct io_uring *ring, enum kind kind, int fds[2])
{
	size_t page = t_page_size();
	struct stream st = { .ring = ring, .kind = kind, .seed = 20 + kind };
	unsigned int got_bufs;
	int ret;

	memcpy(st.fds, fds, sizeof(st.fds));
	st.kb = t_kb_setup(ring, TEST_BACKEND, NR_BUFS, (unsigned int) page,
			   BGID);
	ret = io_uring_kmbuf_available(st.kb);
	if (ret == -EOPNOTSUPP)
		printf("%s: IORING_REGISTER_PBUF_STATUS missing, "
		       "io_uring_kmbuf_available() not checked\n",
		       kind_name(kind));
	else
		T_EXPECT(ret, NR_BUFS);
	st.have_available = ret != -EOPNOTSUPP;

	/* more data than buffers: every buffer is filled, then ENOBUFS */
	produce(&st, 7 * page, false);
	arm(&st);
	ret = reap(&st, &got_bufs);
	if (kind == K_READ && ret == -EINVAL && !got_bufs) {
		/* IORING_OP_READ_MULTISHOT arrived in Linux 6.7 */
		printf("%s: not supported by this kernel, not checked\n",
		       kind_name(kind));
		T_EXPECT(io_uring_kmbuf_free(st.kb), 0);
		close(st.fds[0]);
		close(st.fds[1]);
		return;
	}
	T_EXPECT(ret, -ENOBUFS);
	T_EXPECT(got_bufs, NR_BUFS);
	T_EXPECT(pending(&st), st.written - st.got);
	expect_available(&st, 0);

	/* two buffers back: armed again, it takes exactly those two */
	recycle_some(&st, 2);
	expect_available(&st, 2);
	arm(&st);
	expect_exhausted(&st, 2);

	/* all back: the rest of the stream, then data that arrives later */
	recycle_some(&st, NR_BUFS);
	expect_available(&st, NR_BUFS);
	arm(&st);
	while (st.got < st.written) {
		struct io_uring_cqe cqe;
		unsigned int bid;
		void *buf;

		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.flags & IORING_CQE_F_MORE, IORING_CQE_F_MORE);
		buf = io_uring_kmbuf_cqe_buf(st.kb, &cqe, &bid);
		T_ASSERT(buf != NULL && cqe.res > 0);
		t_check_data(buf, (size_t) cqe.res, st.seed, st.got);
		st.got += (size_t) cqe.res;
		T_EXPECT(io_uring_kmbuf_recycle(st.kb, bid), 0);
	}
	T_EXPECT(pending(&st), 0);
	usleep(20000);
	T_EXPECT(io_uring_cq_ready(ring), 0);
	produce(&st, page / 2 + 5, true);
	while (st.got < st.written) {
		struct io_uring_cqe cqe;
		unsigned int bid;
		void *buf;

		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.flags & IORING_CQE_F_MORE, IORING_CQE_F_MORE);
		buf = io_uring_kmbuf_cqe_buf(st.kb, &cqe, &bid);
		T_ASSERT(buf != NULL && cqe.res > 0);
		t_check_data(buf, (size_t) cqe.res, st.seed, st.got);
		st.got += (size_t) cqe.res;
		T_EXPECT(io_uring_kmbuf_recycle(st.kb, bid), 0);
	}

	/* end of stream ends the request; a buffer it carries goes back */
	close(st.fds[0]);
	st.nr_held = 0;
	ret = reap(&st, &got_bufs);
	T_EXPECT(ret, 0);
	T_EXPECT(st.got, st.written);
	if (st.nr_held)
		recycle_some(&st, st.nr_held);
	expect_available(&st, NR_BUFS);
	T_EXPECT(io_uring_kmbuf_free(st.kb), 0);
	close(st.fds[1]);
	printf("%s: %zu bytes, exhausted twice, re-armed\n", kind_name(kind),
	       st.written);
}

int main(void)
{
	struct io_uring ring;
	int fds[2], ret;

	t_init();
	t_ring_init(&ring, 16);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		t_fail("socketpair: %s", strerror(errno));
	run(&ring, K_RECV, fds);
	t_tcp_pair(fds);
	run(&ring, K_RECV, fds);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	/* run() writes to [0] and reads [1] */
	ret = fds[0];
	fds[0] = fds[1];
	fds[1] = ret;
	run(&ring, K_READ, fds);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
