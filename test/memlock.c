/* SPDX-License-Identifier: MIT */
/*
 * Description: kmbuf regions are charged to RLIMIT_MEMLOCK for users
 * without CAP_IPC_LOCK. A child drops to uid/gid 65534 with a small limit
 * (so the test needs root to start): a group bigger than the limit gets
 * -ENOMEM (thin wrapper and handle API), groups within it succeed up to
 * exactly the limit, and the charge comes back on unregister, on ring
 * exit, but not while the buffers are still mapped: the pages stay charged
 * as long as they exist. A group can't be unregistered while a request
 * holds one of its buffers (EBUSY); once that request completed, it can.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "helpers.h"

#define LIMIT_PAGES	64
/*
 * The ring of a group of up to 256 entries takes one page, charged with
 * the buffers: the limit has room for the rings of two groups.
 */
#define RING_PAGES	1
#define LIMIT_TOTAL	(LIMIT_PAGES + 2 * RING_PAGES)

static unsigned int page;

/* Register 'pages' one-page buffers at 'bgid' */
static int unreg(struct io_uring *ring, int bgid)
{
	return io_uring_unregister_kmbuf_ring(ring, bgid);
}

static void test_limit(void)
{
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int err;

	t_ring_init(&ring, 4);
	/* over the limit, with the thin wrapper and the handle API */
	T_EXPECT(t_kmbuf_reg(&ring, 2 * LIMIT_PAGES, page, 1), -ENOMEM);
	kb = io_uring_kmbuf_setup(&ring, 2 * LIMIT_PAGES, page, 1,
				  IO_URING_KMBUF_NO_EMULATION, &err);
	T_ASSERT(kb == NULL);
	T_EXPECT(err, -ENOMEM);
	/* the failures charged nothing: up to exactly the limit fits */
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES / 2, page, 1), 0);
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES / 2, page, 2), 0);
	T_EXPECT(t_kmbuf_reg(&ring, 1, page, 3), -ENOMEM);
	/* unregister gives the charge back: 33 pages, then 17 + 9 + 5 + 2 */
	T_EXPECT(unreg(&ring, 1), 0);
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES / 4, page, 3), 0);
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES / 8, page, 4), 0);
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES / 16, page, 5), 0);
	T_EXPECT(t_kmbuf_reg(&ring, 1, page, 6), 0);
	T_EXPECT(t_kmbuf_reg(&ring, 1, page, 7), -ENOMEM);
	/* ring exit with groups registered gives it all back */
	io_uring_queue_exit(&ring);

	t_ring_init(&ring, 4);
	T_EXPECT(t_kmbuf_reg_eventually(&ring, LIMIT_PAGES, page, 1), 0);
	T_EXPECT(t_kmbuf_reg(&ring, 1, page, 2), -ENOMEM);
	T_EXPECT(unreg(&ring, 1), 0);
	/* the same through the handle API */
	kb = io_uring_kmbuf_setup(&ring, LIMIT_PAGES, page, 1,
				  IO_URING_KMBUF_NO_EMULATION, &err);
	if (!kb)
		t_fail("io_uring_kmbuf_setup within the limit: %s",
		       strerror(-err));
	T_EXPECT(t_kmbuf_reg(&ring, 1, page, 2), -ENOMEM);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES, page, 2), 0);
	T_EXPECT(unreg(&ring, 2), 0);
	io_uring_queue_exit(&ring);
}

/* A mapping that outlives the group keeps the charge until munmap */
static void test_mapped(void)
{
	struct io_uring ring;
	void *bufs;
	int err;

	t_ring_init(&ring, 4);
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES, page, 1), 0);
	bufs = io_uring_mmap_kmbuf_bufs(&ring, 1, (size_t) LIMIT_PAGES * page,
					PROT_READ | PROT_WRITE, &err);
	if (!bufs)
		t_fail("io_uring_mmap_kmbuf_bufs: %s", strerror(-err));
	memset(bufs, 1, (size_t) LIMIT_PAGES * page);
	T_EXPECT(unreg(&ring, 1), 0);
	T_EXPECT(t_kmbuf_reg(&ring, 1, page, 2), -ENOMEM);
	T_EXPECT(((unsigned char *) bufs)[LIMIT_PAGES * page - 1], 1);
	T_EXPECT(io_uring_munmap_kmbuf(bufs, (size_t) LIMIT_PAGES * page), 0);
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES, page, 2), 0);
	T_EXPECT(unreg(&ring, 2), 0);
	io_uring_queue_exit(&ring);
}

/*
 * A read parked in io-wq holds a buffer: the group can't be unregistered,
 * and stays charged, until the read completes.
 */
static void test_inflight(void)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	struct io_uring ring;
	int fds[2], i;

	t_ring_init(&ring, 4);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES / 2, page, 1), 0);
	sqe = t_get_sqe(&ring);
	io_uring_prep_read(sqe, fds[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_ASYNC;
	sqe->buf_group = 1;
	t_submit(&ring, 1);
	for (i = 0; i < 5000 && t_ring_head(&ring, 1) != 1; i++)
		usleep(1000);
	T_EXPECT(t_ring_head(&ring, 1), 1);
	T_EXPECT(unreg(&ring, 1), -EBUSY);
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES, page, 2), -ENOMEM);
	t_write_all(fds[1], "x", 1);
	t_wait_cqe(&ring, &cqe);
	T_EXPECT(cqe.res, 1);
	T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
	T_EXPECT(unreg(&ring, 1), 0);
	/* unregistering gave the charge back */
	T_EXPECT(t_kmbuf_reg(&ring, LIMIT_PAGES, page, 1), 0);
	T_EXPECT(unreg(&ring, 1), 0);
	close(fds[0]);
	close(fds[1]);
	io_uring_queue_exit(&ring);
}

static void run(void)
{
	test_limit();
	test_mapped();
	test_inflight();
}

int main(void)
{
	t_init();
	t_require_kmbuf_kernel();
	page = (unsigned int) t_page_size();
	return t_run_unprivileged((unsigned long) LIMIT_TOTAL * page, run);
}
