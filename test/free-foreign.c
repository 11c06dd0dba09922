/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_free_buf_ring_kernel_managed() given memory it did
 * not map. It must refuse and leave every mapping as it was: on a kernel
 * without kmbuf (-EOPNOTSUPP), for a range spanning two mappings, for a
 * mapping of the caller's own, and for a range running over a kmbuf
 * handle's area (which io_uring_kmbuf_free() must then still release).
 * On a kmbuf kernel the group it names stays registered and mapped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "helpers.h"

#define BGID	12

static unsigned int page;

/* Fail unless [p, p + len) is still mapped, readable and writable */
static void check_rw(const char *what, unsigned char *p, size_t len)
{
	size_t i;

	if (msync(p, len, MS_ASYNC))
		t_fail("%s: no longer mapped (msync: %s)", what,
		       strerror(errno));
	for (i = 0; i < len; i += page) {
		p[i] = (unsigned char) (i / page + 1);
		if (p[i] != (unsigned char) (i / page + 1))
			t_fail("%s: byte %zu not written", what, i);
	}
}

/* Fail unless [p, p + len) is still mapped and readable */
static void check_ro(const char *what, const unsigned char *p, size_t len)
{
	volatile unsigned char sum = 0;
	size_t i;

	if (msync((void *) p, len, MS_ASYNC))
		t_fail("%s: no longer mapped (msync: %s)", what,
		       strerror(errno));
	for (i = 0; i < len; i += page)
		sum += p[i];
	(void) sum;
}

/* The result of a refused free: -EOPNOTSUPP without kmbuf, else -EINVAL */
static void expect_refused(int ret, bool kmbuf, const char *what)
{
	int want = kmbuf ? -EINVAL : -EOPNOTSUPP;

	if (ret != want)
		t_fail("%s: got %d, want %d", what, ret, want);
}

int main(void)
{
	unsigned char *x, *a, *b, *own, *bufs = NULL;
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	bool kmbuf;
	int ret;

	t_init();
	page = (unsigned int) t_page_size();
	t_ring_init(&ring, 4);

	/* a group of ours, when the kernel can register one */
	bufs = io_uring_setup_buf_ring_kernel_managed(&ring, page, 4, BGID, 0,
						      &ret);
	kmbuf = bufs != NULL;
	if (!kmbuf)
		T_EXPECT(ret, -EOPNOTSUPP);
	printf("kmbuf registration: %s\n", kmbuf ? "yes" : "no");

	/* the caller's own mapping, with the right size for the arguments */
	own = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(own != MAP_FAILED);
	check_rw("own", own, 2 * page);
	ret = io_uring_free_buf_ring_kernel_managed(&ring, own, page, 2, BGID);
	expect_refused(ret, kmbuf, "own mapping");
	check_rw("own after free", own, 2 * page);
	T_EXPECT(munmap(own, 2 * page), 0);

	/* a range over two mappings: private read-write, shared read-only */
	x = mmap(NULL, 4 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	T_ASSERT(x != MAP_FAILED);
	a = mmap(x, 2 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	b = mmap(x + 2 * page, 2 * page, PROT_READ,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	T_ASSERT(a == x && b == x + 2 * page);
	ret = io_uring_free_buf_ring_kernel_managed(&ring, a, page, 4, BGID);
	expect_refused(ret, kmbuf, "two mappings");
	check_rw("first of two", a, 2 * page);
	check_ro("second of two", b, 2 * page);
	T_EXPECT(munmap(x, 4 * page), 0);

	/* a range running over an emulated handle's mappings */
	kb = io_uring_kmbuf_setup(&ring, 4, page, BGID + 1,
				  IO_URING_KMBUF_FORCE_EMULATION, &ret);
	T_ASSERT(kb != NULL);
	ret = io_uring_free_buf_ring_kernel_managed(&ring,
						    io_uring_kmbuf_addr(kb, 0),
						    page, 8, BGID + 1);
	if (ret >= 0)
		t_fail("free over a handle's area: got %d", ret);
	check_rw("handle area", io_uring_kmbuf_addr(kb, 0), 4 * page);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	if (kmbuf) {
		/* the real mapping, but twice its size: refused */
		T_EXPECT(io_uring_free_buf_ring_kernel_managed(&ring, bufs,
							       2 * page, 4,
							       BGID),
			 -EINVAL);
		/* the right size at the wrong bgid: refused */
		T_EXPECT(io_uring_free_buf_ring_kernel_managed(&ring, bufs,
							       page, 4,
							       BGID + 2),
			 -EINVAL);
		check_rw("kmbuf area", bufs, 4 * page);
		T_EXPECT(io_uring_free_buf_ring_kernel_managed(&ring, bufs,
							       page, 4, BGID),
			 0);
		T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, BGID), -ENOENT);
	}
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
