/* SPDX-License-Identifier: MIT */
/*
 * Description: the size of a single kmbuf buffer is bounded
 * (kernel/SERIES.md): each buffer is one physically contiguous allocation,
 * so a buf_size above 4 MiB is refused with EINVAL at registration, while
 * the region as a whole may still be up to 1 GiB. Exactly 4 MiB works, and
 * so do sizes that are not a power of two and regions spread over several
 * allocations: a read into every buffer lands where the mapping says, bytes
 * checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define BGID		3
#define MAX_BUF		(4U << 20)

static int reg(struct io_uring *ring, unsigned int buf_size,
	       unsigned int entries)
{
	struct io_uring_kmbuf_reg r = { };

	r.buf_size = buf_size;
	r.ring_entries = entries;
	r.bgid = BGID;
	return io_uring_register_kmbuf_ring(ring, &r, 0);
}

static void test_refused(struct io_uring *ring)
{
	const unsigned int page = (unsigned int) t_page_size();
	static const unsigned int sizes_mib[] = { 8, 16, 64, 256, 1024 };
	unsigned int i;

	T_EXPECT(reg(ring, MAX_BUF + page, 1), -EINVAL);
	T_EXPECT(reg(ring, MAX_BUF + page, 2), -EINVAL);
	T_EXPECT(reg(ring, 2 * MAX_BUF, 4), -EINVAL);
	for (i = 0; i < sizeof(sizes_mib) / sizeof(sizes_mib[0]); i++)
		T_EXPECT(reg(ring, sizes_mib[i] << 20, 1), -EINVAL);
	/* nothing was registered: the bgid is free */
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, BGID), -ENOENT);
}

/*
 * Register nbufs buffers of buf_size, read a file of nbufs * buf_size
 * bytes into them one buffer per read, and check every buffer through the
 * mapping at bid * buf_size.
 */
static void test_reads(struct io_uring *ring, unsigned int buf_size,
		       unsigned int nbufs, unsigned int seed)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;
	unsigned int i, seen = 0;
	int fd;

	printf("%u buffers of %u KiB\n", nbufs, buf_size >> 10);
	fd = t_create_file((size_t) nbufs * buf_size, seed);
	kb = t_kb_setup(ring, T_BACKEND_KERNEL, nbufs, buf_size, BGID);
	for (i = 0; i < nbufs; i++) {
		struct io_uring_sqe *sqe = t_get_sqe(ring);

		io_uring_prep_read(sqe, fd, NULL, buf_size,
				   (__u64) i * buf_size);
		io_uring_kmbuf_prep_select(sqe, kb);
		sqe->user_data = i;
		t_submit(ring, 1);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.user_data, i);
		if (cqe.res < 0)
			t_fail("read %u: %s", i, strerror(-cqe.res));
		T_EXPECT(cqe.res, (int) buf_size);
		T_ASSERT(cqe.flags & IORING_CQE_F_BUFFER);
		T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), (int) i);
		T_ASSERT(io_uring_kmbuf_addr(kb, i) ==
			 (char *) kb->base + (size_t) i * buf_size);
		t_check_data(io_uring_kmbuf_addr(kb, i), buf_size, seed,
			     (size_t) i * buf_size);
		seen++;
	}
	T_EXPECT(seen, nbufs);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	close(fd);
}

int main(void)
{
	const unsigned int page = (unsigned int) t_page_size();
	struct io_uring ring;

	t_init();
	t_require_kmbuf_kernel();
	t_ring_init(&ring, 4);
	test_refused(&ring);
	/* the largest buffer there is */
	test_reads(&ring, MAX_BUF, 2, 1);
	/* not a power of two: blocks of whole buffers, no slack */
	test_reads(&ring, 3 * page, 8, 2);
	test_reads(&ring, 5 * page, 16, 3);
	/* more than one block of 4 MiB */
	test_reads(&ring, 1U << 20, 16, 4);
	test_reads(&ring, 3U << 20, 4, 5);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
