/* SPDX-License-Identifier: MIT */
/*
 * Description: bundles (IORING_RECVSEND_BUNDLE) on incremental groups.
 * A bundle's one CQE covers data spread over several buffers, the first
 * from its consumed offset on, which io_uring_kmbuf_cqe_buf() cannot
 * describe. io_uring_kmbuf_prep_select() refuses it with -EINVAL, SQE
 * untouched, on both backends: on the emulated one a stock kernel would
 * serve it and consume from several buffers; the kernel backend refuses
 * bundles on kmbuf groups anyway (prepared by hand, the CQE gives -EINVAL
 * and no buffer, nothing consumed).
 * Either way the data stays in the socket for the next plain receive,
 * which lands where the library says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		4
#define BGID		12
#define SEED		61

static unsigned int buf_size;

/* Receive once, plain, and check the data at the library's address */
static void recv_plain(struct io_uring *ring, struct io_uring_kmbuf *kb,
		       int fd, size_t len, size_t pos, unsigned int bid,
		       unsigned int off)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;
	char *buf;

	io_uring_prep_recv(sqe, fd, NULL, 0, 0);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, (int) len);
	buf = t_cqe_buf_at(kb, &cqe, bid, off);
	t_check_data(buf, len, SEED, pos);
}

static void run(struct io_uring *ring, int backend)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	size_t len = buf_size + buf_size / 2;
	char *data;
	int fds[2], ret;

	kb = t_kb_setup_inc(ring, backend, NR_BUFS, buf_size, BGID, 0);
	if (!kb)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		t_fail("socketpair: %s", strerror(errno));
	data = malloc(len);
	T_ASSERT(data);
	t_fill(data, len, SEED, 0);
	/* 100 bytes, so that bid 0 is partly consumed */
	t_write_all(fds[0], data, 100);
	recv_plain(ring, kb, fds[1], 100, 0, 0, 0);
	t_write_all(fds[0], data + 100, len - 100);

	sqe = t_get_sqe(ring);
	io_uring_prep_recv(sqe, fds[1], NULL, 0, 0);
	sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	ret = io_uring_kmbuf_prep_select(sqe, kb);
	T_EXPECT(ret, -EINVAL);
	T_EXPECT(sqe->flags & IOSQE_BUFFER_SELECT, 0);
	T_EXPECT(sqe->buf_group, 0);
	if (backend == T_BACKEND_KERNEL) {
		/* and so would the kernel, when the CQE comes */
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
		t_submit(ring, 1);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.res, -EINVAL);
		T_EXPECT(cqe.flags & IORING_CQE_F_BUFFER, 0);
	} else {
		/* newer liburing's prep helpers keep ioprio: start clean */
		memset(sqe, 0, sizeof(*sqe));
		io_uring_prep_nop(sqe);
		t_submit(ring, 1);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.res, 0);
	}
	/* nothing consumed: the rest of bid 0, then bid 1 */
	recv_plain(ring, kb, fds[1], buf_size - 100, 100, 0, 100);
	recv_plain(ring, kb, fds[1], len - buf_size, buf_size, 1, 0);

	free(data);
	close(fds[0]);
	close(fds[1]);
	T_EXPECT(io_uring_kmbuf_recycle(kb, 0), 0);
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
