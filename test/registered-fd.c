/* SPDX-License-Identifier: MIT */
/*
 * Description: groups on a ring whose fd was registered with
 * io_uring_register_ring_fd(), before and after the real fd is closed.
 * Registration goes through the registered index; mapping kernel memory
 * needs the real fd, so the kernel backend then reports -EBADF and leaves
 * nothing behind. The library reads that state from liburing's public
 * fields only.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

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

/*
 * What a ring whose fd was registered and then closed looks like in
 * liburing's public fields: ring_fd is -1 and enter_ring_fd holds the
 * registered index. How liburing marks this in its private int_flags has
 * changed between versions (2.8 moved the bit), so the library must go by
 * these two fields alone. Build that state here from a ring fd registered
 * with the raw syscall, which liburing's private flags know nothing about,
 * in a copy of the ring whose real fd stays open for submitting.
 */
static void test_public_state(int fds[2])
{
	struct io_uring_rsrc_update upd = { .offset = -1U };
	struct io_uring ring, view;
	struct io_uring_kmbuf *kb;
	unsigned int flags;
	int ret;

	if (TEST_BACKEND == T_BACKEND_KERNEL)
		t_require_kmbuf_kernel();
	t_ring_init(&ring, 8);
	upd.data = (__u64) ring.ring_fd;
	ret = (int) syscall(__NR_io_uring_register, ring.ring_fd,
			    IORING_REGISTER_RING_FDS, &upd, 1);
	if (ret < 0 && errno == EINVAL)
		t_skip("kernel cannot register ring fds (Linux 5.18+)");
	T_EXPECT(ret, 1);
	view = ring;
	view.ring_fd = -1;
	view.enter_ring_fd = (int) upd.offset;

	flags = TEST_BACKEND == T_BACKEND_KERNEL ?
		IO_URING_KMBUF_NO_EMULATION : IO_URING_KMBUF_FORCE_EMULATION;
	kb = io_uring_kmbuf_setup(&view, 4, (unsigned int) t_page_size(), BGID,
				  flags, &ret);
	if (TEST_BACKEND == T_BACKEND_KERNEL) {
		/* registered through the index, then no fd to map with */
		T_ASSERT(kb == NULL);
		T_EXPECT(ret, -EBADF);
		/* and undone: the bgid is free on the real ring */
		kb = t_kb_setup(&ring, T_BACKEND_EMULATED, 4,
				(unsigned int) t_page_size(), BGID);
		read_check(&ring, kb, fds, 4);
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
	} else {
		if (!kb)
			t_fail("setup through the registered index: %s",
			       strerror(-ret));
		/* the group is on the real ring, submitted through its fd */
		read_check(&ring, kb, fds, 4);
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
		/* and freeing it unregistered it there */
		T_EXPECT(io_uring_unregister_buf_ring(&ring, BGID), -ENOENT);
	}

	upd.data = 0;
	ret = (int) syscall(__NR_io_uring_register, ring.ring_fd,
			    IORING_UNREGISTER_RING_FDS, &upd, 1);
	if (ret < 0)
		t_fail("IORING_UNREGISTER_RING_FDS: %s", strerror(errno));
	T_EXPECT(ret, 1);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int fds[2], ret;

	t_init();
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	test_public_state(fds);

	t_ring_init(&ring, 8);
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
