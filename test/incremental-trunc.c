/* SPDX-License-Identifier: MIT */
/*
 * Description: IO_URING_KMBUF_INCREMENTAL with datagrams received with
 * MSG_TRUNC, whose CQE res is the datagram's length, not what was copied.
 * Kernel backend: a datagram longer than the rest of the buffer fills the
 * rest and retires the buffer (no IORING_CQE_F_BUF_MORE); shorter ones
 * share it, each where io_uring_kmbuf_cqe_buf() says. Emulated backend:
 * stock kernels count a truncated datagram's whole length as consumed,
 * spilling into the next buffer of the ring while the CQE says BUF_MORE
 * for the first one, so the library refuses MSG_TRUNC receives at
 * io_uring_kmbuf_prep_select() (and io_uring_kmbuf_prep_recv_multishot())
 * with -EINVAL, SQE untouched.
 * On the kernel backend a request may also ask for fewer bytes than a
 * datagram holds: what does not fit is dropped, and the buffer's offset
 * moves by res all the same (the project's series, patch 9), so the next
 * datagram is where the library says.
 * AF_UNIX datagrams: no network needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		2
#define BGID		11

static unsigned int buf_size;
static unsigned int seed;

/* Send one datagram of 'len' bytes of stream 'seed + 1', 'seed + 2'... */
static unsigned int send_dgram(int fd, size_t len)
{
	char *data = malloc(len);
	ssize_t ret;

	T_ASSERT(data);
	t_fill(data, len, ++seed, 0);
	ret = send(fd, data, len, 0);
	if (ret != (ssize_t) len)
		t_fail("send %zu: %zd (%s)", len, ret, strerror(errno));
	free(data);
	return seed;
}

/* Receive one datagram asking for 'len' bytes, with MSG_TRUNC; check it */
static void recv_check(struct io_uring *ring, struct io_uring_kmbuf *kb,
		       int fd, unsigned int len, size_t dgram,
		       unsigned int dseed, unsigned int bid, unsigned int off,
		       size_t copied, bool more)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;
	char *buf;

	io_uring_prep_recv(sqe, fd, NULL, len, MSG_TRUNC);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, (int) dgram);
	buf = t_cqe_buf_at(kb, &cqe, bid, off);
	t_check_data(buf, copied, dseed, 0);
	T_EXPECT(!!(cqe.flags & IORING_CQE_F_BUF_MORE), more);
}

/*
 * The emulated backend runs on stock kernels, whose incremental commit
 * takes a truncated datagram's full length: past the end of the buffer
 * it eats into the next one in the ring, and the CQE of the first says
 * IORING_CQE_F_BUF_MORE although the kernel is done with it. The library
 * refuses MSG_TRUNC receives there, leaving the SQE alone; without the
 * flag, the same receive is taken.
 */
static void refused(struct io_uring *ring, struct io_uring_kmbuf *kb,
		    const int fds[2])
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;
	unsigned int s;
	char *buf;

	io_uring_prep_recv(sqe, fds[1], NULL, 0, MSG_TRUNC);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), -EINVAL);
	T_EXPECT(sqe->flags & IOSQE_BUFFER_SELECT, 0);
	T_EXPECT(sqe->buf_group, 0);
	T_EXPECT(io_uring_kmbuf_prep_recv_multishot(sqe, kb, fds[1],
						    MSG_TRUNC), -EINVAL);
	T_EXPECT(sqe->flags & IOSQE_BUFFER_SELECT, 0);
	/* without MSG_TRUNC: taken */
	io_uring_prep_recv(sqe, fds[1], NULL, 0, 0);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
	T_EXPECT(sqe->flags & IOSQE_BUFFER_SELECT, IOSQE_BUFFER_SELECT);
	T_EXPECT(sqe->buf_group, BGID);
	s = send_dgram(fds[0], 300);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 300);
	buf = t_cqe_buf_at(kb, &cqe, 0, 0);
	t_check_data(buf, 300, s, 0);
}

static void run(struct io_uring *ring, int backend)
{
	struct io_uring_kmbuf *kb;
	unsigned int s;
	int fds[2];

	kb = t_kb_setup_inc(ring, backend, NR_BUFS, buf_size, BGID, 0);
	if (!kb)
		return;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, fds))
		t_fail("socketpair: %s", strerror(errno));
	if (backend == T_BACKEND_EMULATED) {
		refused(ring, kb, fds);
		goto out;
	}

	/* the whole rest of the buffer asked for (length 0) */
	s = send_dgram(fds[0], 300);
	recv_check(ring, kb, fds[1], 0, 300, s, 0, 0, 300, true);
	/* longer than the rest: fills it, truncated, retires bid 0 */
	s = send_dgram(fds[0], buf_size);
	recv_check(ring, kb, fds[1], 0, buf_size, s, 0, 300,
		   buf_size - 300, false);
	s = send_dgram(fds[0], 50);
	recv_check(ring, kb, fds[1], 0, 50, s, 1, 0, 50, true);
	s = send_dgram(fds[0], 70);
	recv_check(ring, kb, fds[1], 0, 70, s, 1, 50, 70, true);

	if (backend == T_BACKEND_KERNEL) {
		/*
		 * 100 bytes asked for, 300 sent: res 300, 100 copied, and
		 * the buffer's offset moves by res, as userspace counts.
		 */
		s = send_dgram(fds[0], 300);
		recv_check(ring, kb, fds[1], 100, 300, s, 1, 120, 100, true);
		s = send_dgram(fds[0], 40);
		recv_check(ring, kb, fds[1], 0, 40, s, 1, 420, 40, true);
	}

	T_EXPECT(io_uring_kmbuf_recycle(kb, 0), 0);
out:
	close(fds[0]);
	close(fds[1]);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	printf("%s backend: ok\n", t_backend_name(backend));
}

int main(void)
{
	struct io_uring ring;

	t_init();
	buf_size = (unsigned int) t_page_size();
	t_ring_init(&ring, 8);
	t_each_backend(&ring, run);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
