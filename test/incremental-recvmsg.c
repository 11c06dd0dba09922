/* SPDX-License-Identifier: MIT */
/*
 * Description: IORING_OP_RECVMSG on incremental groups. Its length is in
 * the msghdr's iovec, not in sqe->len, so io_uring_kmbuf_prep_select()
 * cannot apply the emulated backend's length rule to it: a RECVMSG asking
 * for 100 bytes through its iovec, served by io-wq, made a stock kernel
 * consume 100 bytes while its CQE said 50 with IORING_CQE_F_BUF_MORE, and
 * the next CQE of that buffer was decoded at the wrong address. The kernel
 * backend refuses RECVMSG on kmbuf groups anyway. So prep_select refuses
 * RECVMSG on incremental groups of both backends (-EINVAL, SQE untouched),
 * whatever sqe->len says; RECV serves the same stream, and the next read
 * finds its data where the library says. READV, whose length is in its
 * iovec too, is refused on the emulated backend and served on the kernel
 * backend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		2
#define BGID		15
#define SEED		73

static void run(struct io_uring *ring, int backend)
{
	struct iovec iov = { .iov_base = NULL, .iov_len = 100 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int page = (unsigned int) t_page_size();
	unsigned int lens[] = { 0, 1, page };
	struct io_uring_kmbuf *kb;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	char data[55];
	unsigned int i;
	int fds[2];

	kb = t_kb_setup_inc(ring, backend, NR_BUFS, page, BGID, 0);
	if (!kb)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		t_fail("socketpair: %s", strerror(errno));
	t_fill(data, sizeof(data), SEED, 0);
	t_write_all(fds[0], data, 50);

	sqe = t_get_sqe(ring);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		io_uring_prep_recvmsg(sqe, fds[1], &msg, 0);
		sqe->len = lens[i];
		sqe->flags |= IOSQE_ASYNC;
		T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), -EINVAL);
		T_EXPECT(sqe->flags, IOSQE_ASYNC);
		T_EXPECT(sqe->buf_group, 0);
	}
	/* the same stream through RECV */
	io_uring_prep_recv(sqe, fds[1], NULL, 0, 0);
	sqe->flags |= IOSQE_ASYNC;
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 50);
	t_check_data(t_cqe_buf_at(kb, &cqe, 0, 0), 50, SEED, 0);
	/* from io-wq: took the rest of bid 0 on both backends */
	T_EXPECT(cqe.flags & IORING_CQE_F_BUF_MORE, 0);

	t_write_all(fds[0], data + 50, 5);
	sqe = t_get_sqe(ring);
	io_uring_prep_recv(sqe, fds[1], NULL, 0, 0);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 5);
	t_check_data(t_cqe_buf_at(kb, &cqe, 1, 0), 5, SEED, 50);

	/*
	 * READV keeps its length in its iovec too: refused on the emulated
	 * backend; the kernel backend serves it like a READ (shares bid 1).
	 */
	{
		struct iovec riov = { .iov_base = NULL, .iov_len = 0 };

		t_fill(data, sizeof(data), SEED, 55);
		t_write_all(fds[0], data, 20);
		sqe = t_get_sqe(ring);
		io_uring_prep_readv(sqe, fds[1], &riov, 1, 0);
		if (backend == T_BACKEND_EMULATED) {
			T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), -EINVAL);
			T_EXPECT(sqe->flags & IOSQE_BUFFER_SELECT, 0);
			memset(sqe, 0, sizeof(*sqe));
			io_uring_prep_recv(sqe, fds[1], NULL, 0, 0);
		}
		T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
		t_submit(ring, 1);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.res, 20);
		t_check_data(t_cqe_buf_at(kb, &cqe, 1, 5), 20, SEED, 55);
	}

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
	t_ring_init(&ring, 8);
	t_each_backend(&ring, run);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
