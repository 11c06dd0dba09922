/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_kmbuf_free() while a request holds a buffer of the
 * group. A pipe read with IOSQE_ASYNC on a one-buffer group takes the
 * buffer in io-wq and waits for data; the group is freed; the application
 * then maps new memory, at the old address if it can; the pipe is written.
 * No byte may land in the new mapping.
 *
 * Emulated backend: free succeeds and leaves the old range reserved and
 * inaccessible, so nothing can be mapped there and the late read fails with
 * -EFAULT. Kernel backend: the kernel's buffers outlive the mapping, so the
 * read completes into them; a kernel that refuses to unregister while a
 * request holds a buffer makes free return -EBUSY and leave the handle
 * whole, and the group is freed once the read has completed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "helpers.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

#define BGID		7
#define LEN		512
#define READ_DATA	0x5eed

/*
 * Wait until the read has taken the group's only buffer: the kernel's head
 * moves to 1. Kernels without IORING_REGISTER_PBUF_STATUS get a pause.
 */
static void wait_buffer_taken(struct io_uring *ring, int bgid)
{
	unsigned int head = 0;
	int i, ret;

	/* io-wq may be slow to start a worker on a loaded (UML) machine */
	for (i = 0; i < 2000; i++) {
		ret = t_pbuf_status(ring, bgid, &head);
		if (ret) {
			if (ret != -EINVAL)
				t_fail("PBUF_STATUS: %s", strerror(-ret));
			usleep(200 * 1000);
			return;
		}
		if (head == 1)
			return;
		usleep(10 * 1000);
	}
	t_fail("the read never took the buffer (head %u after 20 s)", head);
}

/* The new mapping must still hold nothing but zeros */
static void check_untouched(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			t_fail("byte %zu of the new mapping is %#x: the late "
			       "read wrote into memory the application uses "
			       "for something else", i, p[i]);
}

/*
 * Emulated backend, misuse: a bid given back that was never received puts
 * a duplicate in the ring, so the ring looks full (available() ==
 * nentries) while a request still holds the other buffer. Free must not
 * take that for 'no buffer out': the range must stay reserved, and the
 * late read must not reach a new mapping at the old address.
 */
static void free_after_duplicate(struct io_uring *ring)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	unsigned char data[LEN];
	size_t area_size;
	void *old, *p;
	int fds[2];

	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	kb = t_kb_setup(ring, TEST_BACKEND, 2, (unsigned int) t_page_size(),
			BGID + 1);
	old = kb->base;
	area_size = kb->area_size;
	sqe = t_get_sqe(ring);
	io_uring_prep_read(sqe, fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->flags |= IOSQE_ASYNC;
	sqe->user_data = READ_DATA + 1;
	t_submit(ring, 1);
	wait_buffer_taken(ring, BGID + 1);
	/* bid 1 was never received: a duplicate, the ring looks full */
	T_EXPECT(io_uring_kmbuf_recycle(kb, 1), 0);
	if (io_uring_kmbuf_available(kb) != -EOPNOTSUPP)
		T_EXPECT(io_uring_kmbuf_available(kb), 2);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	/* new memory, at the old address if that was given up */
	p = mmap(old, area_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED) {
		if (errno != EEXIST)
			t_fail("mmap: %s", strerror(errno));
		p = mmap(NULL, area_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			t_fail("mmap: %s", strerror(errno));
	}
	t_fill(data, LEN, 7, 0);
	t_write_all(fds[1], data, LEN);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.user_data, READ_DATA + 1);
	check_untouched(p, area_size);
	if (p == old)
		t_fail("free released the area while a read held a buffer "
		       "(read res %d)", cqe.res);
	T_EXPECT(cqe.res, -EFAULT);
	munmap(p, area_size);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	struct io_uring ring;
	unsigned char data[LEN];
	size_t area_size;
	int fds[2], ret;
	void *old, *p;

	t_init();
	t_ring_init(&ring, 4);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	kb = t_kb_setup(&ring, TEST_BACKEND, 1, (unsigned int) t_page_size(),
			BGID);
	old = kb->base;
	area_size = kb->area_size;

	sqe = t_get_sqe(&ring);
	io_uring_prep_read(sqe, fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->flags |= IOSQE_ASYNC;
	sqe->user_data = READ_DATA;
	t_submit(&ring, 1);
	wait_buffer_taken(&ring, BGID);

	ret = io_uring_kmbuf_free(kb);
	/* the project's kernel refuses while a request holds a buffer */
	if (TEST_BACKEND == T_BACKEND_KERNEL)
		T_EXPECT(ret, -EBUSY);
	if (TEST_BACKEND == T_BACKEND_KERNEL && ret == -EBUSY) {
		/* refused: the handle and its mapping are intact */
		T_EXPECT(io_uring_kmbuf_backend(kb),
			 IO_URING_KMBUF_BACKEND_KERNEL);
		T_ASSERT(kb->base == old);
		t_fill(data, LEN, 5, 0);
		t_write_all(fds[1], data, LEN);
		t_wait_cqe(&ring, &cqe);
		T_EXPECT(cqe.user_data, READ_DATA);
		T_EXPECT(cqe.res, LEN);
		T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
		t_check_data(old, LEN, 5, 0);
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
		printf("kernel backend: free refused with EBUSY while the "
		       "read held the buffer\n");
		goto out;
	}
	T_EXPECT(ret, 0);

	/* something else wants memory, ideally right where the group was */
	p = mmap(old, area_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED) {
		if (errno != EEXIST)
			t_fail("mmap: %s", strerror(errno));
		if (TEST_BACKEND == T_BACKEND_KERNEL)
			t_fail("the old range is still mapped after free");
		/* the range is still reserved: map anywhere else */
		p = mmap(NULL, area_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			t_fail("mmap: %s", strerror(errno));
	}
	printf("new mapping %s the old address\n", p == old ? "at" : "away from");

	t_fill(data, LEN, 6, 0);
	t_write_all(fds[1], data, LEN);
	t_wait_cqe(&ring, &cqe);
	T_EXPECT(cqe.user_data, READ_DATA);
	check_untouched(p, area_size);
	if (TEST_BACKEND == T_BACKEND_KERNEL) {
		/* into the kernel's buffer, which the request kept alive */
		T_EXPECT(cqe.res, LEN);
		T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
	} else {
		/* nowhere: the old range is inaccessible */
		T_ASSERT(p != old);
		T_EXPECT(cqe.res, -EFAULT);
		if (cqe.flags & IORING_CQE_F_BUFFER)
			T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
	}
	munmap(p, area_size);
	free_after_duplicate(&ring);
out:
	close(fds[0]);
	close(fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
