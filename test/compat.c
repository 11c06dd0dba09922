/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_setup_buf_ring_kernel_managed() and its free call,
 * as the kmbuf series' own userspace uses them: register and map in one
 * call, nothing left behind on failure, bgid reusable after free.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "helpers.h"

#define NR	8
#define BGID	10

int main(void)
{
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	unsigned char *bufs, *again;
	char data[777];
	int fds[2], ret;
	unsigned int i;

	t_init();
	t_require_kmbuf_registration();
	t_ring_init(&ring, 4);

	bufs = io_uring_setup_buf_ring_kernel_managed(&ring, 2 * page, NR,
						      BGID, 0, &ret);
	T_ASSERT(bufs != NULL);
	T_EXPECT(ret, 0);
	for (i = 0; i < NR * 2 * page; i++)
		if (bufs[i])
			t_fail("byte %u of a new group is %#x", i, bufs[i]);

	/* a second group on the same bgid fails and leaves the first alone */
	again = io_uring_setup_buf_ring_kernel_managed(&ring, page, NR, BGID,
						       0, &ret);
	T_ASSERT(again == NULL);
	T_EXPECT(ret, -EEXIST);

	/* a read selecting from the group, when the kernel can do that */
	if (!t_kernel_missing()) {
		if (pipe(fds))
			t_fail("pipe: %s", strerror(errno));
		t_fill(data, sizeof(data), 13, 0);
		t_write_all(fds[1], data, sizeof(data));
		sqe = t_get_sqe(&ring);
		io_uring_prep_read(sqe, fds[0], NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
		t_submit(&ring, 1);
		t_wait_cqe(&ring, &cqe);
		T_EXPECT(cqe.res, sizeof(data));
		T_ASSERT(cqe.flags & IORING_CQE_F_BUFFER);
		T_EXPECT(cqe.flags >> IORING_CQE_BUFFER_SHIFT, 0);
		t_check_data(bufs, sizeof(data), 13, 0);
		close(fds[0]);
		close(fds[1]);
	} else {
		printf("selection not checked: %s\n", t_kernel_missing());
	}

	/* the free call checks what it is given */
	T_EXPECT(io_uring_free_buf_ring_kernel_managed(&ring, bufs, 100, NR,
						       BGID), -EINVAL);
	/*
	 * A pointer that is not the mapping (unaligned, or nothing mapped
	 * there) is refused before anything is undone: the group stays
	 * registered and mapped.
	 */
	T_EXPECT(io_uring_free_buf_ring_kernel_managed(&ring, bufs + 1,
						       2 * page, NR, BGID),
		 -EINVAL);
	again = mmap(NULL, (size_t) NR * 2 * page, PROT_READ,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(again != MAP_FAILED);
	munmap(again, (size_t) NR * 2 * page);
	T_EXPECT(io_uring_free_buf_ring_kernel_managed(&ring, again, 2 * page,
						       NR, BGID), -EINVAL);
	T_ASSERT(io_uring_setup_buf_ring_kernel_managed(&ring, page, NR, BGID,
							0, &ret) == NULL);
	T_EXPECT(ret, -EEXIST);
	T_EXPECT(io_uring_free_buf_ring_kernel_managed(&ring, bufs, 2 * page,
						       NR, BGID), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, BGID), -ENOENT);

	/* the bgid is free again */
	bufs = io_uring_setup_buf_ring_kernel_managed(&ring, page, NR, BGID, 0,
						      &ret);
	T_ASSERT(bufs != NULL);
	T_EXPECT(io_uring_free_buf_ring_kernel_managed(&ring, bufs, page, NR,
						       BGID), 0);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
