/* SPDX-License-Identifier: MIT */
/*
 * Description: IO_URING_KMBUF_INCREMENTAL across fork(). The count of the
 * bytes each buffer has taken lives in a shared mapping, like the ring and
 * the buffers: a child that decodes a completion of a partly filled buffer
 * finds its data after what the parent decoded, and the parent, after the
 * child exits, finds the next completion's data after what the child
 * decoded. A child also retires a buffer and gives it back; the parent
 * sees it filled from offset 0 again. The parent does the submitting
 * (liburing keeps the SQ tail in process memory). Both backends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "helpers.h"

#define NR_BUFS		2
#define BGID		14
#define SEED		71

static int pipe_fds[2];
static size_t wpos, rpos;

/* Write 'len' bytes and submit a read of them through the group */
static void submit_read(struct io_uring *ring, struct io_uring_kmbuf *kb,
			size_t len)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	char *data = malloc(len);

	T_ASSERT(data);
	t_fill(data, len, SEED, wpos);
	t_write_all(pipe_fds[1], data, len);
	wpos += len;
	free(data);
	io_uring_prep_read(sqe, pipe_fds[0], NULL, 0, 0);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
	t_submit(ring, 1);
}

/* Take the next CQE: its data 'len' bytes at 'off' in 'bid' */
static void check_next(struct io_uring *ring, struct io_uring_kmbuf *kb,
		       size_t len, unsigned int bid, size_t off, bool more)
{
	struct io_uring_cqe cqe;

	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, (int) len);
	T_EXPECT(!!(cqe.flags & IORING_CQE_F_BUF_MORE), more);
	t_check_data(t_cqe_buf_at(kb, &cqe, bid, off), len, SEED, rpos);
	rpos += len;
}

static void read_check(struct io_uring *ring, struct io_uring_kmbuf *kb,
		       size_t len, unsigned int bid, size_t off, bool more)
{
	submit_read(ring, kb, len);
	check_next(ring, kb, len, bid, off, more);
}

/*
 * The parent submits (liburing's SQ tail is private to each process);
 * a child takes the completion of a read the parent submitted: decodes
 * it (bid, offset from the shared count), optionally gives its buffer
 * back, and exits.
 */
static void in_child(struct io_uring *ring, struct io_uring_kmbuf *kb,
		     size_t len, unsigned int bid, size_t off, bool more,
		     bool give_back)
{
	struct io_uring_cqe *cqe;
	int status;
	pid_t pid;

	submit_read(ring, kb, len);
	T_EXPECT(io_uring_wait_cqe(ring, &cqe), 0);
	pid = t_fork();
	if (pid == 0) {
		check_next(ring, kb, len, bid, off, more);
		if (give_back)
			T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
		_exit(0);
	}
	status = t_wait(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		t_fail("child failed (status %#x)", status);
	/* the child took it, and marked it seen in the shared CQ ring */
	T_EXPECT(io_uring_cq_ready(ring), 0);
	rpos += len;
}

static void run(struct io_uring *ring, int backend)
{
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring_kmbuf *kb;

	kb = t_kb_setup_inc(ring, backend, NR_BUFS, page, BGID, 0);
	if (!kb)
		return;
	read_check(ring, kb, 100, 0, 0, true);
	/* the parent's 100 bytes are counted in the child */
	in_child(ring, kb, 200, 0, 100, true, false);
	/* and the child's 200 in the parent */
	read_check(ring, kb, 20, 0, 300, true);
	/* the child retires bid 0 and gives it back */
	in_child(ring, kb, page - 320, 0, 320, false, true);
	read_check(ring, kb, 10, 1, 0, true);
	read_check(ring, kb, page - 10, 1, 10, false);
	/* bid 0 starts again at 0 */
	read_check(ring, kb, 40, 0, 0, true);
	T_EXPECT(io_uring_kmbuf_recycle(kb, 1), 0);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	printf("%s backend: ok\n", t_backend_name(backend));
}

int main(void)
{
	struct io_uring ring;

	t_init();
	t_ring_init(&ring, 8);
	if (pipe(pipe_fds))
		t_fail("pipe: %s", strerror(errno));
	t_each_backend(&ring, run);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
