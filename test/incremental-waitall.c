/* SPDX-License-Identifier: MIT */
/*
 * Description: MSG_WAITALL receives on incremental groups. Such a
 * receive may take its data in parts, and its CQE cannot say where they
 * are: on the emulated backend, a stock kernel completes it without
 * IORING_CQE_F_BUF_MORE while the buffer is still in the ring (giving it
 * back duplicates it in the ring, and later data lands elsewhere than the
 * library says); the kernel backend completes it short. So
 * io_uring_kmbuf_prep_select() refuses RECV with MSG_WAITALL on
 * incremental groups of both backends (RECVMSG is refused whatever its
 * flags, see incremental-recvmsg.c), with -EINVAL and the SQE untouched;
 * io_uring_kmbuf_prep_recv_multishot() returns the refusal too. A group
 * without INCREMENTAL takes it and waits for all the bytes. The data sent
 * meanwhile stays in the socket: the next plain receive gets it where the
 * library says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		2
#define BGID		13
#define SEED		67
#define WANT		1000

static unsigned int buf_size;

static void expect_refused(struct io_uring *ring, struct io_uring_kmbuf *kb,
			   int fd)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);

	io_uring_prep_recv(sqe, fd, NULL, WANT, MSG_WAITALL);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), -EINVAL);
	T_EXPECT(sqe->flags & IOSQE_BUFFER_SELECT, 0);
	T_EXPECT(sqe->buf_group, 0);
	io_uring_prep_recv(sqe, fd, NULL, 0, MSG_WAITALL | MSG_DONTWAIT);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), -EINVAL);
	/* the multishot helper says so too */
	T_EXPECT(io_uring_kmbuf_prep_recv_multishot(sqe, kb, fd, MSG_WAITALL),
		 -EINVAL);
	T_EXPECT(sqe->flags & IOSQE_BUFFER_SELECT, 0);
	/* newer liburing's prep helpers keep ioprio: start clean */
	memset(sqe, 0, sizeof(*sqe));
	io_uring_prep_nop(sqe);
	t_submit(ring, 1);
}

/*
 * Send WANT bytes (in two parts around a MSG_WAITALL receive), receive,
 * check where the data is
 */
static void round_trip(struct io_uring *ring, struct io_uring_kmbuf *kb,
		       const int fds[2], int msg_flags, size_t *pos,
		       unsigned int bid, size_t off)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;
	char data[WANT];

	t_fill(data, WANT, SEED, *pos);
	/* a plain receive takes what is there: all of it */
	t_write_all(fds[0], data, msg_flags ? 100 : WANT);
	io_uring_prep_recv(sqe, fds[1], NULL, msg_flags ? WANT : 0,
			   msg_flags);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
	t_submit(ring, 1);
	if (msg_flags) {
		/* the receive must wait for the rest */
		usleep(20000);
		T_EXPECT(io_uring_cq_ready(ring), 0);
	}
	if (msg_flags)
		t_write_all(fds[0], data + 100, WANT - 100);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, WANT);
	t_check_data(t_cqe_buf_at(kb, &cqe, bid, off), WANT, SEED, *pos);
	*pos += WANT;
}

static void run(struct io_uring *ring, int backend)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;
	size_t pos = 0;
	int fds[2];

	kb = t_kb_setup_inc(ring, backend, NR_BUFS, buf_size, BGID, 0);
	if (!kb)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		t_fail("socketpair: %s", strerror(errno));
	expect_refused(ring, kb, fds[1]);
	t_wait_cqe(ring, &cqe);
	/* refused, so nothing was consumed: plain receives share bid 0 */
	round_trip(ring, kb, fds, 0, &pos, 0, 0);
	round_trip(ring, kb, fds, 0, &pos, 0, WANT);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	/* without INCREMENTAL, MSG_WAITALL is taken and honoured */
	kb = t_kb_setup(ring, backend, NR_BUFS, buf_size, BGID);
	round_trip(ring, kb, fds, MSG_WAITALL, &pos, 0, 0);
	round_trip(ring, kb, fds, MSG_WAITALL, &pos, 1, 0);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	close(fds[0]);
	close(fds[1]);
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
