/* SPDX-License-Identifier: MIT */
/*
 * Description: a kmbuf registration that fails changes nothing. A bgid that
 * holds an empty classic provided-buffer group (PROVIDE_BUFFERS, then
 * REMOVE_BUFFERS of all of them) may be taken by a kmbuf ring, which
 * replaces that group; but a registration that then fails (ENOMEM under
 * RLIMIT_MEMLOCK) must leave the classic group where it was:
 * IORING_REGISTER_PBUF_STATUS still answers EINVAL ("not a ring"), not
 * ENOENT ("nothing there").
 *
 * A child drops to uid/gid 65534 with RLIMIT_MEMLOCK = 64 KiB (so the test
 * needs root to start).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "helpers.h"

#define LIMIT_BYTES	(64U << 10)
#define BGID		3

/* 0 or -errno of IORING_REGISTER_PBUF_STATUS for 'bgid' */
static int status(struct io_uring *ring, int bgid)
{
	return t_pbuf_status(ring, bgid, NULL);
}

static int reg(struct io_uring *ring, unsigned int nr)
{
	struct io_uring_kmbuf_reg r = { };

	r.buf_size = (__u32) t_page_size();
	r.ring_entries = nr;
	r.bgid = BGID;
	return io_uring_register_kmbuf_ring(ring, &r, 0);
}

/* A classic group at BGID that is empty again */
static void empty_classic_group(struct io_uring *ring)
{
	static char buf[64];
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;

	sqe = t_get_sqe(ring);
	io_uring_prep_provide_buffers(sqe, buf, sizeof(buf), 1, BGID, 0);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 0);
	sqe = t_get_sqe(ring);
	io_uring_prep_remove_buffers(sqe, 1, BGID);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 1);
}

static void test_failed_register(void)
{
	struct io_uring ring;
	int ret;

	t_ring_init(&ring, 4);
	empty_classic_group(&ring);
	T_EXPECT(status(&ring, BGID), -EINVAL);
	T_EXPECT(status(&ring, BGID + 1), -ENOENT);

	/* 64 pages do not fit a 16-page limit */
	T_EXPECT(reg(&ring, 64), -ENOMEM);
	ret = status(&ring, BGID);
	if (ret != -EINVAL)
		t_fail("a kmbuf registration failed with ENOMEM and the empty "
		       "classic group at its bgid is gone: PBUF_STATUS -> %s, "
		       "want EINVAL as before", ret ? strerror(-ret) : "0");
	printf("failed registration: the empty classic group is still there\n");

	/* a registration that fits takes the bgid over */
	T_EXPECT(reg(&ring, 4), 0);
	T_EXPECT(status(&ring, BGID), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, BGID), 0);
	T_EXPECT(status(&ring, BGID), -ENOENT);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	t_init();
	t_require_kmbuf_kernel();
	return t_run_unprivileged(LIMIT_BYTES, test_failed_register);
}
