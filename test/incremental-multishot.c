/* SPDX-License-Identifier: MIT */
/*
 * Description: IO_URING_KMBUF_INCREMENTAL under a multishot receive,
 * through the library only, on both backends. A TCP stream of messages of
 * 1 to 700 bytes goes into a group of four 64 KiB buffers: each CQE's data
 * is at the address io_uring_kmbuf_cqe_buf() returns (checked against an
 * offset this test keeps per bid), a message crossing a buffer's end goes
 * on at offset 0 of the next; io_uring_kmbuf_cqe_seen() gives back only
 * buffers a CQE retired. Then the group runs dry: the receive ends with
 * -ENOBUFS and no buffer, and once buffers are back and it is armed again
 * the stream goes on, each recycled buffer from offset 0, with nothing
 * lost or repeated. With IO_URING_KMBUF_CHECK_OWNER, a buffer still being
 * filled cannot be given back, and io_uring_kmbuf_held() counts the
 * retired ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		4
#define BGID		9
#define SEED		53

static unsigned int buf_size;

struct state {
	struct io_uring *ring;
	struct io_uring_kmbuf *kb;
	int fds[2];
	size_t wpos, rpos;
	unsigned int off[NR_BUFS];	/* this test's own offset per bid */
	unsigned int retired;		/* CQEs without BUF_MORE */
	bool owner;
};

static void arm(struct state *s)
{
	struct io_uring_sqe *sqe = t_get_sqe(s->ring);

	T_EXPECT(io_uring_kmbuf_prep_recv_multishot(sqe, s->kb, s->fds[1], 0),
		 0);
	t_submit(s->ring, 1);
}

static void send_msg(struct state *s, size_t len)
{
	char *data = malloc(len);

	T_ASSERT(data);
	t_fill(data, len, SEED, s->wpos);
	t_write_all(s->fds[0], data, len);
	s->wpos += len;
	free(data);
}

/*
 * Check a CQE that carries data and consume it; give its buffer back if
 * 'give_back' and the CQE retired it. Returns the bid.
 */
static unsigned int take(struct state *s, struct io_uring_cqe *cqe,
			 bool give_back)
{
	unsigned int bid = ~0U;
	bool more = cqe->flags & IORING_CQE_F_BUF_MORE;
	char *buf;

	T_ASSERT(cqe->res > 0);
	T_ASSERT(cqe->flags & IORING_CQE_F_MORE);
	buf = io_uring_kmbuf_cqe_buf(s->kb, cqe, &bid);
	T_ASSERT(buf != NULL);
	T_ASSERT(bid < NR_BUFS);
	T_ASSERT(buf == (char *) io_uring_kmbuf_addr(s->kb, bid) +
			s->off[bid]);
	T_ASSERT(s->off[bid] + (unsigned int) cqe->res <= buf_size);
	t_check_data(buf, (size_t) cqe->res, SEED, s->rpos);
	s->rpos += (size_t) cqe->res;
	s->off[bid] += (unsigned int) cqe->res;
	if (more) {
		/* still the kernel's: it cannot be given back */
		if (s->owner)
			T_EXPECT(io_uring_kmbuf_recycle(s->kb, bid), -EALREADY);
	} else {
		s->retired++;
	}
	if (give_back) {
		T_EXPECT(io_uring_kmbuf_cqe_seen(s->kb, cqe), 0);
		if (!more)
			s->off[bid] = 0;
	} else {
		io_uring_cqe_seen(s->ring, cqe);
	}
	return bid;
}

/* Send messages until 'total' bytes went out, reaping as they come */
static void stream(struct state *s, size_t total, bool give_back)
{
	struct io_uring_cqe *cqe;
	int ret;

	while (s->wpos < total) {
		size_t len = 1 + (size_t) rand() % 700;

		if (len > total - s->wpos)
			len = total - s->wpos;
		send_msg(s, len);
		while (s->rpos < s->wpos) {
			ret = io_uring_wait_cqe(s->ring, &cqe);
			T_EXPECT(ret, 0);
			take(s, cqe, give_back);
		}
	}
}

static void run(struct io_uring *ring, int backend, unsigned int flags)
{
	struct state s = { .ring = ring };
	struct io_uring_cqe *cqe;
	unsigned int bids[NR_BUFS], i, retired;
	int ret;

	s.owner = flags & IO_URING_KMBUF_CHECK_OWNER;
	s.kb = t_kb_setup_inc(ring, backend, NR_BUFS, buf_size, BGID, flags);
	if (!s.kb)
		return;
	t_tcp_pair(s.fds);
	srand(7);
	arm(&s);

	/* ten buffers' worth, buffers given back as CQEs retire them */
	stream(&s, 10 * (size_t) buf_size + 321, true);
	T_ASSERT(s.retired >= 10);

	/*
	 * Now keep every retired buffer: the group runs dry, the receive
	 * ends with -ENOBUFS and what it could not take waits in the socket.
	 */
	retired = s.retired;
	for (;;) {
		send_msg(&s, 1 + (size_t) rand() % 700);
		T_ASSERT(s.wpos - s.rpos <= 2 * (size_t) buf_size);
		ret = io_uring_wait_cqe(ring, &cqe);
		T_EXPECT(ret, 0);
		if (cqe->res == -ENOBUFS)
			break;
		take(&s, cqe, false);
		while (s.rpos < s.wpos) {
			ret = io_uring_wait_cqe(ring, &cqe);
			T_EXPECT(ret, 0);
			if (cqe->res == -ENOBUFS)
				goto dry;
			take(&s, cqe, false);
		}
	}
dry:
	T_EXPECT(cqe->flags & (IORING_CQE_F_MORE | IORING_CQE_F_BUFFER), 0);
	io_uring_cqe_seen(ring, cqe);
	T_ASSERT(s.rpos < s.wpos);
	T_EXPECT(s.retired - retired, NR_BUFS);
	T_EXPECT(io_uring_kmbuf_available(s.kb), 0);
	if (s.owner)
		T_EXPECT(io_uring_kmbuf_held(s.kb, bids, NR_BUFS), NR_BUFS);

	/* all back, armed again: the stream goes on from offset 0 */
	for (i = 0; i < NR_BUFS; i++) {
		bids[i] = i;
		s.off[i] = 0;
	}
	T_EXPECT(io_uring_kmbuf_recycle_batch(s.kb, bids, NR_BUFS), NR_BUFS);
	if (s.owner)
		T_EXPECT(io_uring_kmbuf_held(s.kb, NULL, 0), 0);
	arm(&s);
	while (s.rpos < s.wpos) {
		ret = io_uring_wait_cqe(ring, &cqe);
		T_EXPECT(ret, 0);
		take(&s, cqe, true);
	}
	stream(&s, s.wpos + 2 * (size_t) buf_size, true);

	/* end of stream ends the receive, without a buffer */
	shutdown(s.fds[0], SHUT_WR);
	ret = io_uring_wait_cqe(ring, &cqe);
	T_EXPECT(ret, 0);
	T_EXPECT(cqe->res, 0);
	T_EXPECT(cqe->flags & (IORING_CQE_F_MORE | IORING_CQE_F_BUFFER), 0);
	io_uring_cqe_seen(ring, cqe);
	T_EXPECT(io_uring_kmbuf_free(s.kb), 0);
	close(s.fds[0]);
	close(s.fds[1]);
	printf("%s backend%s: %zu bytes, %u buffers retired: ok\n",
	       t_backend_name(backend), s.owner ? ", ownership checks" : "",
	       s.rpos, s.retired);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	buf_size = 16 * (unsigned int) t_page_size();
	t_ring_init(&ring, 64);
	run(&ring, T_BACKEND_EMULATED, 0);
	run(&ring, T_BACKEND_EMULATED, IO_URING_KMBUF_CHECK_OWNER);
	if (t_kernel_missing()) {
		printf("kernel backend: not available here, not checked\n");
	} else {
		run(&ring, T_BACKEND_KERNEL, 0);
		run(&ring, T_BACKEND_KERNEL, IO_URING_KMBUF_CHECK_OWNER);
	}
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
