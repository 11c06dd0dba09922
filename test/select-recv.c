/* SPDX-License-Identifier: MIT */
/*
 * Description: IORING_OP_RECV with IOSQE_BUFFER_SELECT from a kmbuf group,
 * on a UNIX socketpair and on a loopback TCP connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "helpers.h"

#define NR_BUFS		4
#define BGID		7

static void prep_recv(struct io_uring *ring, struct io_uring_kmbuf *kb,
		      int fd, __u64 user_data)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);

	io_uring_prep_recv(sqe, fd, NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->user_data = user_data;
}

/*
 * Send 'total' bytes in 'msg'-sized messages and receive them all through
 * the group, recycling each buffer after checking it. Stream sockets may
 * merge or split messages, so only the byte stream is checked.
 */
static void stream(struct io_uring *ring, struct io_uring_kmbuf *kb,
		   int fds[2], size_t msg, size_t total, unsigned int seed)
{
	char *data = malloc(msg);
	size_t sent = 0, got = 0;
	struct io_uring_cqe cqe;
	unsigned int bid;

	T_ASSERT(data);
	while (got < total) {
		void *buf;

		if (sent < total && sent - got < (size_t) kb->buf_size) {
			size_t n = total - sent < msg ? total - sent : msg;

			t_fill(data, n, seed, sent);
			t_write_all(fds[0], data, n);
			sent += n;
		}
		prep_recv(ring, kb, fds[1], got);
		t_submit(ring, 1);
		t_wait_cqe(ring, &cqe);
		if (cqe.res <= 0)
			t_fail("recv: %d (%s)", cqe.res,
			       strerror(cqe.res < 0 ? -cqe.res : 0));
		T_ASSERT((unsigned int) cqe.res <= kb->buf_size);
		buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
		T_ASSERT(buf != NULL);
		t_check_data(buf, (size_t) cqe.res, seed, got);
		got += (size_t) cqe.res;
		T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
	}
	T_EXPECT(got, total);
	free(data);
}

/* A recv waiting for data (parked in poll) gets the next buffer */
static void parked(struct io_uring *ring, struct io_uring_kmbuf *kb,
		   int fds[2])
{
	struct io_uring_cqe cqe;
	char data[300];
	unsigned int bid;
	void *buf;

	prep_recv(ring, kb, fds[1], 77);
	t_submit(ring, 1);
	usleep(20000);
	T_EXPECT(io_uring_cq_ready(ring), 0);
	t_fill(data, sizeof(data), 9, 0);
	t_write_all(fds[0], data, sizeof(data));
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.user_data, 77);
	T_EXPECT(cqe.res, sizeof(data));
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	T_ASSERT(buf != NULL);
	t_check_data(buf, sizeof(data), 9, 0);
	T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
}

static void run(struct io_uring *ring, int fds[2], const char *what)
{
	struct io_uring_kmbuf *kb;
	size_t page = t_page_size();

	kb = t_kb_setup(ring, TEST_BACKEND, NR_BUFS, (unsigned int) page,
			BGID);
	stream(ring, kb, fds, 100, 10 * page, 3);
	stream(ring, kb, fds, page, 8 * page, 4);
	stream(ring, kb, fds, 3 * page, 9 * page, 5);
	parked(ring, kb, fds);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	printf("%s: ok\n", what);
}

int main(void)
{
	struct io_uring ring;
	int fds[2];

	t_init();
	t_ring_init(&ring, 8);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		t_fail("socketpair: %s", strerror(errno));
	run(&ring, fds, "socketpair");
	close(fds[0]);
	close(fds[1]);

	t_tcp_pair(fds);
	run(&ring, fds, "tcp loopback");
	close(fds[0]);
	close(fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
