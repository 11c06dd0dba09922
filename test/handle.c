/* SPDX-License-Identifier: MIT */
/*
 * Description: the library's own argument checks (every bad input gets
 * -EINVAL before the kernel is asked), the backend choice by flags and by
 * LIBURING_KMBUF_BACKEND, errno left alone, and huge-page emulation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "helpers.h"

#define ERRNO_MARK	4242

static unsigned int page;

static void expect_setup_fails(struct io_uring *ring, unsigned int nentries,
			       unsigned int buf_size, int bgid,
			       unsigned int flags, int want)
{
	struct io_uring_kmbuf *kb;
	int ret = 1;

	errno = ERRNO_MARK;
	kb = io_uring_kmbuf_setup(ring, nentries, buf_size, bgid, flags, &ret);
	if (kb)
		t_fail("setup(%u, %u, %d, %#x) succeeded, want %d", nentries,
		       buf_size, bgid, flags, want);
	if (ret != want)
		t_fail("setup(%u, %u, %d, %#x): got %d, want %d", nentries,
		       buf_size, bgid, flags, ret, want);
	T_EXPECT(errno, ERRNO_MARK);
}

static void test_setup_args(struct io_uring *ring)
{
	expect_setup_fails(NULL, 4, page, 0, 0, -EINVAL);
	expect_setup_fails(ring, 0, page, 0, 0, -EINVAL);
	expect_setup_fails(ring, 3, page, 0, 0, -EINVAL);
	expect_setup_fails(ring, 65536, page, 0, 0, -EINVAL);
	expect_setup_fails(ring, IO_URING_KMBUF_MAX_ENTRIES * 2, page, 0, 0,
			   -EINVAL);
	expect_setup_fails(ring, 4, 0, 0, 0, -EINVAL);
	expect_setup_fails(ring, 4, 100, 0, 0, -EINVAL);
	expect_setup_fails(ring, 4, page + 1, 0, 0, -EINVAL);
	expect_setup_fails(ring, 4, page, -1, 0, -EINVAL);
	expect_setup_fails(ring, 4, page, IO_URING_KMBUF_MAX_BGID + 1, 0,
			   -EINVAL);
	expect_setup_fails(ring, 4, page, 65535, 0, -EINVAL);
	expect_setup_fails(ring, 4, page, 0, 1U << 10, -EINVAL);
	expect_setup_fails(ring, 4, page, 0, IO_URING_KMBUF_NO_EMULATION |
			   IO_URING_KMBUF_FORCE_EMULATION, -EINVAL);
}

static void test_thin_args(struct io_uring *ring)
{
	struct io_uring_kmbuf_reg reg = { };
	int ret = 1;

	errno = ERRNO_MARK;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &reg, 1), -EINVAL);
	T_EXPECT(io_uring_register_kmbuf_ring(NULL, &reg, 0), -EINVAL);
	reg.buf_size = page;
	reg.ring_entries = 4;
	reg.bgid = IO_URING_KMBUF_MAX_BGID + 1;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &reg, 0), -EINVAL);
	reg.bgid = 65535;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &reg, 0), -EINVAL);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, -1), -EINVAL);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 65536), -EINVAL);
	T_EXPECT(io_uring_unregister_kmbuf_ring(NULL, 0), -EINVAL);

	T_ASSERT(!io_uring_mmap_kmbuf_bufs(ring, 2048, page, PROT_READ, &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_mmap_kmbuf_bufs(ring, -1, page, PROT_READ, &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_mmap_kmbuf_bufs(ring, 0, 0, PROT_READ, &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_mmap_kmbuf_bufs(ring, 0, page, PROT_WRITE, &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_mmap_kmbuf_bufs(ring, 0, page,
					   PROT_READ | PROT_EXEC, &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_mmap_kmbuf_bufs(NULL, 0, page, PROT_READ, &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_mmap_kmbuf_ring(ring, 0, 3, &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_mmap_kmbuf_ring(ring, 0, 0, &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_mmap_kmbuf_ring(ring, 4096, 4, &ret));
	T_EXPECT(ret, -EINVAL);
	T_EXPECT(io_uring_munmap_kmbuf(NULL, page), -EINVAL);
	T_EXPECT(io_uring_munmap_kmbuf(&reg, 0), -EINVAL);

	/* the compatibility pair */
	ret = 1;
	T_ASSERT(!io_uring_setup_buf_ring_kernel_managed(ring, page, 4, 0, 1,
							 &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_setup_buf_ring_kernel_managed(ring, 100, 4, 0, 0,
							 &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_setup_buf_ring_kernel_managed(ring, page, 6, 0, 0,
							 &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_setup_buf_ring_kernel_managed(ring, page, 4, 2048,
							 0, &ret));
	T_EXPECT(ret, -EINVAL);
	ret = 1;
	T_ASSERT(!io_uring_setup_buf_ring_kernel_managed(NULL, page, 4, 0, 0,
							 &ret));
	T_EXPECT(ret, -EINVAL);
	T_EXPECT(io_uring_free_buf_ring_kernel_managed(ring, NULL, page, 4, 0),
		 -EINVAL);
	T_EXPECT(io_uring_free_buf_ring_kernel_managed(ring, &reg, 100, 4, 0),
		 -EINVAL);
	T_EXPECT(io_uring_kmbuf_free(NULL), -EINVAL);
	T_EXPECT(errno, ERRNO_MARK);
}

static void test_env(struct io_uring *ring)
{
	struct io_uring_kmbuf *kb;
	int ret, kernel = !t_kernel_missing();

	setenv(IO_URING_KMBUF_ENV, "bogus", 1);
	expect_setup_fails(ring, 4, page, 0, 0, -EINVAL);

	/* "emulated" wins over the flags */
	setenv(IO_URING_KMBUF_ENV, "emulated", 1);
	kb = io_uring_kmbuf_setup(ring, 4, page, 0,
				  IO_URING_KMBUF_NO_EMULATION, &ret);
	T_ASSERT(kb != NULL);
	T_EXPECT(io_uring_kmbuf_backend(kb), IO_URING_KMBUF_BACKEND_EMULATED);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	/*
	 * A program's own conflicting flags are refused whatever the
	 * environment says: the variable replaces a valid choice, it does
	 * not hide an invalid one.
	 */
	expect_setup_fails(ring, 4, page, 0, IO_URING_KMBUF_NO_EMULATION |
			   IO_URING_KMBUF_FORCE_EMULATION, -EINVAL);
	setenv(IO_URING_KMBUF_ENV, "kernel", 1);
	expect_setup_fails(ring, 4, page, 0, IO_URING_KMBUF_NO_EMULATION |
			   IO_URING_KMBUF_FORCE_EMULATION, -EINVAL);

	/* "kernel" forbids emulation */
	kb = io_uring_kmbuf_setup(ring, 4, page, 0,
				  IO_URING_KMBUF_FORCE_EMULATION, &ret);
	if (kernel) {
		T_ASSERT(kb != NULL);
		T_EXPECT(io_uring_kmbuf_backend(kb),
			 IO_URING_KMBUF_BACKEND_KERNEL);
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
	} else {
		T_ASSERT(kb == NULL);
		T_EXPECT(ret, -EOPNOTSUPP);
	}

	/* "auto" hands the choice back to the flags */
	setenv(IO_URING_KMBUF_ENV, "auto", 1);
	kb = io_uring_kmbuf_setup(ring, 4, page, 0,
				  IO_URING_KMBUF_FORCE_EMULATION, &ret);
	T_ASSERT(kb != NULL);
	T_EXPECT(io_uring_kmbuf_backend(kb), IO_URING_KMBUF_BACKEND_EMULATED);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	unsetenv(IO_URING_KMBUF_ENV);
}

static void test_names(void)
{
	T_ASSERT(!strcmp(io_uring_kmbuf_backend_name(
			IO_URING_KMBUF_BACKEND_KERNEL), "kernel"));
	T_ASSERT(!strcmp(io_uring_kmbuf_backend_name(
			IO_URING_KMBUF_BACKEND_EMULATED), "emulated"));
	T_ASSERT(!strcmp(io_uring_kmbuf_backend_name(
			IO_URING_KMBUF_BACKEND_NONE), "none"));
	T_ASSERT(!strcmp(io_uring_kmbuf_backend_name(99), "unknown"));
}

/* Emulation with huge pages: hugetlb if reserved, else THP; same API */
static void test_huge(struct io_uring *ring)
{
	const unsigned int nr = 4, size = 64 * 1024;
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;
	unsigned int bid;
	char data[1000];
	int fds[2], ret;
	void *buf;

	kb = io_uring_kmbuf_setup(ring, nr, size, 12,
				  IO_URING_KMBUF_FORCE_EMULATION |
				  IO_URING_KMBUF_HUGE_PAGES, &ret);
	if (!kb)
		t_fail("huge-page setup: %s", strerror(-ret));
	T_EXPECT(io_uring_kmbuf_backend(kb), IO_URING_KMBUF_BACKEND_EMULATED);
	T_ASSERT(kb->area_size >= (size_t) nr * size);
	T_EXPECT((uintptr_t) kb->base % page, 0);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	t_fill(data, sizeof(data), 5, 0);
	t_write_all(fds[1], data, sizeof(data));
	sqe = t_get_sqe(ring);
	io_uring_prep_read(sqe, fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, sizeof(data));
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	T_ASSERT(buf != NULL);
	T_EXPECT(bid, 0);
	t_check_data(buf, sizeof(data), 5, 0);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	close(fds[0]);
	close(fds[1]);
}

/* Helpers that touch no kernel state */
static void test_inline(void)
{
	struct io_uring_kmbuf kb = { };
	struct io_uring_cqe cqe = { };
	struct io_uring_sqe sqe = { };
	unsigned int bid = 0;
	char area[4 * 64];

	kb.base = area;
	kb.buf_size = 64;
	kb.nentries = 4;
	kb.mask = 3;
	kb.bgid = 77;
	T_ASSERT(io_uring_kmbuf_addr(&kb, 0) == area);
	T_ASSERT(io_uring_kmbuf_addr(&kb, 3) == area + 192);
	T_ASSERT(io_uring_kmbuf_addr(&kb, 4) == NULL);

	cqe.flags = IORING_CQE_F_BUFFER | (2U << IORING_CQE_BUFFER_SHIFT);
	T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 2);
	T_ASSERT(io_uring_kmbuf_cqe_buf(&kb, &cqe, &bid) == area + 128);
	T_EXPECT(bid, 2);
	cqe.flags = IORING_CQE_F_BUFFER | (9U << IORING_CQE_BUFFER_SHIFT);
	T_ASSERT(io_uring_kmbuf_cqe_buf(&kb, &cqe, &bid) == NULL);
	cqe.flags = IORING_CQE_F_MORE;
	T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), -ENOBUFS);

	sqe.flags = IOSQE_ASYNC;
	io_uring_kmbuf_prep_select(&sqe, &kb);
	T_EXPECT(sqe.flags, IOSQE_ASYNC | IOSQE_BUFFER_SELECT);
	T_EXPECT(sqe.buf_group, 77);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	page = (unsigned int) t_page_size();
	t_ring_init(&ring, 4);
	test_setup_args(&ring);
	test_thin_args(&ring);
	test_env(&ring);
	test_names();
	test_huge(&ring);
	test_inline();
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
