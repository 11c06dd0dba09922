/* SPDX-License-Identifier: MIT */
/*
 * Description: several groups in one ring, with different sizes and bgids
 * (including the highest mappable one); reads land in the group they name;
 * freeing one leaves the others working; a busy bgid is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NR_GROUPS	3

static const int bgids[NR_GROUPS] = { 0, 5, IO_URING_KMBUF_MAX_BGID };
static const unsigned int entries[NR_GROUPS] = { 2, 4, 8 };
static const unsigned int pages[NR_GROUPS] = { 1, 2, 4 };

static size_t pos;

static void read_into(struct io_uring *ring, struct io_uring_kmbuf *kb,
		      int fds[2], unsigned int want_bid)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	/* more than a page, to show the group's own buffer size is used */
	size_t len = kb->buf_size > 4096 ? 4096 + 17 : 1000;
	struct io_uring_cqe cqe;
	char data[8192];
	unsigned int bid;
	void *buf;

	t_fill(data, len, 21, pos);
	t_write_all(fds[1], data, len);
	io_uring_prep_read(sqe, fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, len);
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	T_ASSERT(buf != NULL);
	T_EXPECT(bid, want_bid);
	t_check_data(buf, len, 21, pos);
	pos += len;
}

int main(void)
{
	struct io_uring_kmbuf *kb[NR_GROUPS], *dup;
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring ring;
	int fds[2], i, ret;
	unsigned int round;

	t_init();
	t_ring_init(&ring, 8);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	for (i = 0; i < NR_GROUPS; i++)
		kb[i] = t_kb_setup(&ring, TEST_BACKEND, entries[i],
				   pages[i] * page, bgids[i]);

	/* the areas of different groups never overlap */
	for (i = 1; i < NR_GROUPS; i++) {
		char *a = kb[i - 1]->base, *b = kb[i]->base;

		T_ASSERT(a + kb[i - 1]->area_size <= b ||
			 b + kb[i]->area_size <= a);
	}

	/* interleave reads across groups */
	for (round = 0; round < 2; round++)
		for (i = 0; i < NR_GROUPS; i++)
			read_into(&ring, kb[i], fds, round);

	/* a busy bgid is refused, whatever the backend */
	dup = io_uring_kmbuf_setup(&ring, 2, page, bgids[1],
				   TEST_BACKEND == T_BACKEND_KERNEL ?
				   IO_URING_KMBUF_NO_EMULATION :
				   IO_URING_KMBUF_FORCE_EMULATION, &ret);
	T_ASSERT(dup == NULL);
	T_EXPECT(ret, -EEXIST);
	/* and the group it collided with still works */
	read_into(&ring, kb[1], fds, 2);

	/* free the middle group; the others keep going */
	T_EXPECT(io_uring_kmbuf_free(kb[1]), 0);
	read_into(&ring, kb[2], fds, 2);
	T_EXPECT(io_uring_kmbuf_recycle(kb[0], 1), 0);
	read_into(&ring, kb[0], fds, 1);

	/* the freed bgid can be set up again, fresh */
	kb[1] = t_kb_setup(&ring, TEST_BACKEND, 2, page, bgids[1]);
	read_into(&ring, kb[1], fds, 0);

	for (i = 0; i < NR_GROUPS; i++)
		T_EXPECT(io_uring_kmbuf_free(kb[i]), 0);
	close(fds[0]);
	close(fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
