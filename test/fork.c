/* SPDX-License-Identifier: MIT */
/*
 * Description: a group survives fork() the way the kernel backend's shared
 * mappings make it: data the kernel writes into a buffer after the fork is
 * seen by the child, a bid the child gives back reaches the kernel, and the
 * parent's own recycle after that goes behind it rather than over it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "helpers.h"

#define NR_BUFS		2
#define BGID		6
#define LEN		256

static int data_fds[2];

/* A read through the group of LEN bytes of stream 'seed'; returns the bid */
static unsigned int read_one(struct io_uring *ring, struct io_uring_kmbuf *kb,
			     unsigned int seed)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	char data[LEN];
	unsigned int bid;
	void *buf;

	t_fill(data, sizeof(data), seed, 0);
	t_write_all(data_fds[1], data, sizeof(data));
	sqe = t_get_sqe(ring);
	io_uring_prep_read(sqe, data_fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, LEN);
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	T_ASSERT(buf != NULL);
	t_check_data(buf, LEN, seed, 0);
	return bid;
}

static void child(struct io_uring_kmbuf *kb, int to_child, int to_parent)
{
	unsigned int bid;
	char ok = 'y';

	/* the parent read into this bid after the fork */
	if (read(to_child, &bid, sizeof(bid)) != sizeof(bid))
		t_fail("child: reading the bid: %s", strerror(errno));
	T_ASSERT(bid < NR_BUFS);
	t_check_data(io_uring_kmbuf_addr(kb, bid), LEN, 3, 0);
	/* give it back from here; the group stays the parent's to free */
	T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
	t_write_all(to_parent, &ok, 1);
	_exit(T_EXIT_PASS);
}

int main(void)
{
	int to_child[2], to_parent[2], status;
	struct io_uring_kmbuf *kb;
	unsigned int first, second, bid;
	struct io_uring ring;
	pid_t pid;
	char ok;

	t_init();
	t_ring_init(&ring, 8);
	if (pipe(data_fds) || pipe(to_child) || pipe(to_parent))
		t_fail("pipe: %s", strerror(errno));
	kb = t_kb_setup(&ring, TEST_BACKEND, NR_BUFS,
			(unsigned int) t_page_size(), BGID);

	/* one buffer out before the fork, one after */
	first = read_one(&ring, kb, 2);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (!pid) {
		close(to_parent[0]);
		close(to_child[1]);
		child(kb, to_child[0], to_parent[1]);
	}
	close(to_parent[1]);
	close(to_child[0]);

	second = read_one(&ring, kb, 3);
	T_ASSERT(second != first);
	t_write_all(to_child[1], &second, sizeof(second));
	if (read(to_parent[0], &ok, 1) != 1)
		t_fail("the child did not answer");
	if (waitpid(pid, &status, 0) != pid)
		t_fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != T_EXIT_PASS)
		t_fail("child failed: status %#x", status);

	/* the parent's recycle goes after the child's, not over it */
	T_EXPECT(io_uring_kmbuf_recycle(kb, first), 0);
	bid = read_one(&ring, kb, 4);
	T_EXPECT(bid, second);
	bid = read_one(&ring, kb, 5);
	T_EXPECT(bid, first);
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, (unsigned int[]){ first,
					      second }, 2), 2);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	close(data_fds[0]);
	close(data_fds[1]);
	close(to_child[1]);
	close(to_parent[0]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
