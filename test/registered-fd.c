/* SPDX-License-Identifier: MIT */
/*
 * Description: groups on a ring whose fd was registered with
 * io_uring_register_ring_fd(), before and after the real fd is closed.
 * Registration goes through the registered index; mapping kernel memory
 * needs the real fd, so the kernel backend then reports -EBADF and leaves
 * nothing behind.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define BGID	9

static void read_check(struct io_uring *ring, struct io_uring_kmbuf *kb,
		       int fds[2], unsigned int seed)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;
	char data[512];
	unsigned int bid;
	void *buf;

	t_fill(data, sizeof(data), seed, 0);
	t_write_all(fds[1], data, sizeof(data));
	io_uring_prep_read(sqe, fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, sizeof(data));
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	T_ASSERT(buf != NULL);
	t_check_data(buf, sizeof(data), seed, 0);
	T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
}

static void close_ring_fd(struct io_uring *ring)
{
#if HAVE_DECL_IO_URING_CLOSE_RING_FD
	T_EXPECT(io_uring_close_ring_fd(ring), 1);
#else
	/* liburing before 2.4: what io_uring_close_ring_fd() does */
	close(ring->ring_fd);
	ring->ring_fd = -1;
#endif
}

int main(void)
{
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int fds[2], ret;

	t_init();
	t_ring_init(&ring, 8);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	ret = io_uring_register_ring_fd(&ring);
	if (ret == -EINVAL)
		t_skip("kernel cannot register ring fds (Linux 5.18+)");
	T_EXPECT(ret, 1);

	/* registered but still open: everything as usual */
	kb = t_kb_setup(&ring, TEST_BACKEND, 4, (unsigned int) t_page_size(),
			BGID);
	read_check(&ring, kb, fds, 1);

	close_ring_fd(&ring);

	/* the group set up before keeps working and can be freed */
	read_check(&ring, kb, fds, 2);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	kb = io_uring_kmbuf_setup(&ring, 4, (unsigned int) t_page_size(),
				  BGID, TEST_BACKEND == T_BACKEND_KERNEL ?
				  IO_URING_KMBUF_NO_EMULATION :
				  IO_URING_KMBUF_FORCE_EMULATION, &ret);
	if (TEST_BACKEND == T_BACKEND_KERNEL) {
		/* no fd to mmap the kernel's buffers through */
		T_ASSERT(kb == NULL);
		T_EXPECT(ret, -EBADF);
		/* and nothing was left registered: the bgid is free */
		kb = t_kb_setup(&ring, T_BACKEND_EMULATED, 4,
				(unsigned int) t_page_size(), BGID);
	}
	T_ASSERT(kb != NULL);
	read_check(&ring, kb, fds, 3);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	close(fds[0]);
	close(fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
