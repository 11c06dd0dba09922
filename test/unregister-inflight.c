/* SPDX-License-Identifier: MIT */
/*
 * Description: unregister a kmbuf group (io_uring_unregister_kmbuf_ring()
 * or io_uring_kmbuf_free()) while reads and receives using it are parked
 * in poll, then give them data, cancel them or exit the ring.
 *
 * What the series documents (kernel/SERIES.md, "Lifetime"): unregister
 * fails with EBUSY while a request that took a buffer of the group has not
 * completed, so that no CQE names a bid of a group that is gone. A request
 * that went to io-wq (IOSQE_ASYNC) selects and commits its buffer there, so
 * it parks in poll holding it: unregister (and io_uring_kmbuf_free(), which
 * then keeps the handle) gets EBUSY until data or a cancellation completes
 * it, naming its bid. A request parked from the inline issue gave its
 * buffer back when it got -EAGAIN and selects again when woken: it does not
 * hold the group, unregister succeeds, and the woken request completes with
 * -ENOBUFS, the data staying in the file. Ring exit cancels everything,
 * whether the group is registered or not. Nothing here may crash or leave
 * a KASAN report (runtests.sh scans the kernel log as root).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "helpers.h"

#define BGID		5
#define NR_BUFS		4
#define NR_PARKED	3

enum how { BY_UNREGISTER, BY_FREE };

static const char *how_name(enum how how)
{
	return how == BY_FREE ? "io_uring_kmbuf_free" :
		"io_uring_unregister_kmbuf_ring";
}

/* Wait until io-wq has taken 'want' buffers off the group */
static void wait_head(struct io_uring *ring, int bgid, unsigned int want)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (t_ring_head(ring, bgid) == want)
			return;
		usleep(1000);
	}
	t_fail("the kernel's head of group %d stayed at %u, want %u", bgid,
	       t_ring_head(ring, bgid), want);
}

/* Fail if a CQE is there: the parked requests must still be parked */
static void expect_no_cqe(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	usleep(20000);
	if (!io_uring_peek_cqe(ring, &cqe))
		t_fail("unexpected CQE: user_data %llu res %d",
		       (unsigned long long) cqe->user_data, cqe->res);
}

static void submit_read(struct io_uring *ring, int fd, unsigned int sqe_flags,
			__u64 user_data)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);

	io_uring_prep_read(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT | sqe_flags;
	sqe->buf_group = BGID;
	sqe->user_data = user_data;
	t_submit(ring, 1);
}

static void submit_recv(struct io_uring *ring, int fd, unsigned int sqe_flags,
			__u64 user_data)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);

	io_uring_prep_recv(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT | sqe_flags;
	sqe->buf_group = BGID;
	sqe->user_data = user_data;
	t_submit(ring, 1);
}

/* Take the group away; the handle is gone after BY_FREE */
static void drop_group(struct io_uring_kmbuf *kb, enum how how)
{
	if (how == BY_FREE)
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
	else
		T_EXPECT(io_uring_unregister_kmbuf_ring(kb->ring, kb->bgid),
			 0);
}

/*
 * Try to take the group away while a request holds one of its buffers:
 * EBUSY, and the group is still there (its bgid can't be registered
 * again), the handle intact either way.
 */
static void drop_group_busy(struct io_uring_kmbuf *kb, enum how how)
{
	struct io_uring_kmbuf *kb2;
	int err;

	if (how == BY_FREE)
		T_EXPECT(io_uring_kmbuf_free(kb), -EBUSY);
	else
		T_EXPECT(io_uring_unregister_kmbuf_ring(kb->ring, kb->bgid),
			 -EBUSY);
	kb2 = io_uring_kmbuf_setup(kb->ring, NR_BUFS, t_page_size(), BGID,
				   IO_URING_KMBUF_NO_EMULATION, &err);
	T_ASSERT(kb2 == NULL);
	T_EXPECT(err, -EEXIST);
}

/* Free a handle whose group was unregistered already */
static void free_unregistered(struct io_uring_kmbuf *kb)
{
	T_EXPECT(io_uring_kmbuf_free(kb), -ENOENT);
}

/* Read what is left in a pipe or socket; it must be stream 'seed' */
static void expect_left(int fd, size_t len, unsigned int seed)
{
	char buf[256];

	T_ASSERT(len <= sizeof(buf));
	T_EXPECT(read(fd, buf, sizeof(buf)), (long long) len);
	t_check_data(buf, len, seed, 0);
}

/*
 * Reads parked from the inline issue hold no buffer: the kernel's head
 * does not move. After the group is gone, data wakes them into -ENOBUFS
 * and stays in the pipe; a group registered again on the bgid serves it.
 */
static void test_inline_read(struct io_uring *ring, enum how how)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;
	int fds[NR_PARKED][2];
	unsigned int seen = 0;
	char data[64];
	int i;

	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	for (i = 0; i < NR_PARKED; i++) {
		if (pipe(fds[i]))
			t_fail("pipe: %s", strerror(errno));
		submit_read(ring, fds[i][0], 0, (__u64) i);
	}
	expect_no_cqe(ring);
	T_EXPECT(t_ring_head(ring, BGID), 0);
	drop_group(kb, how);
	for (i = 0; i < NR_PARKED; i++) {
		t_fill(data, sizeof(data), (unsigned int) i, 0);
		t_write_all(fds[i][1], data, sizeof(data));
	}
	for (i = 0; i < NR_PARKED; i++) {
		t_wait_cqe(ring, &cqe);
		T_ASSERT(cqe.user_data < NR_PARKED);
		seen |= 1U << cqe.user_data;
		T_EXPECT(cqe.res, -ENOBUFS);
		T_EXPECT(cqe.flags & IORING_CQE_F_BUFFER, 0);
	}
	T_EXPECT(seen, (1U << NR_PARKED) - 1);
	if (how == BY_UNREGISTER)
		free_unregistered(kb);

	/* the bgid is free again; the data was not consumed */
	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	submit_read(ring, fds[1][0], 0, 10);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, sizeof(data));
	T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
	t_check_data(io_uring_kmbuf_addr(kb, 0), sizeof(data), 1, 0);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	expect_left(fds[0][0], sizeof(data), 0);
	expect_left(fds[2][0], sizeof(data), 2);
	for (i = 0; i < NR_PARKED; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
}

/*
 * Reads forced to io-wq hold their buffer while parked (the head moves):
 * the group can't be taken away. Data completes them, each in its own bid
 * of the group, seen through its mapping; then the group goes, and the
 * bgid can be registered again.
 */
static void test_async_read(struct io_uring *ring, enum how how)
{
	const size_t bs = t_page_size();
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;
	int fds[NR_PARKED][2];
	unsigned int bids_seen = 0;
	char data[200];
	int i;

	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, bs, BGID);
	for (i = 0; i < NR_PARKED; i++) {
		if (pipe(fds[i]))
			t_fail("pipe: %s", strerror(errno));
		submit_read(ring, fds[i][0], IOSQE_ASYNC, (__u64) i);
	}
	wait_head(ring, BGID, NR_PARKED);
	expect_no_cqe(ring);
	drop_group_busy(kb, how);
	T_EXPECT(t_ring_head(ring, BGID), NR_PARKED);
	expect_no_cqe(ring);

	for (i = 0; i < NR_PARKED; i++) {
		/* still busy until the last one completed */
		drop_group_busy(kb, how);
		t_fill(data, sizeof(data), 20 + (unsigned int) i, 0);
		t_write_all(fds[i][1], data, sizeof(data));
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.user_data, (__u64) i);
		if (cqe.res < 0)
			t_fail("parked read %d: %s", i, strerror(-cqe.res));
		T_EXPECT(cqe.res, sizeof(data));
		T_ASSERT(io_uring_kmbuf_cqe_bid(&cqe) >= 0 &&
			 io_uring_kmbuf_cqe_bid(&cqe) < NR_PARKED);
		T_ASSERT(!(bids_seen & (1U << io_uring_kmbuf_cqe_bid(&cqe))));
		bids_seen |= 1U << io_uring_kmbuf_cqe_bid(&cqe);
		t_check_data(io_uring_kmbuf_addr(kb, (unsigned int)
						 io_uring_kmbuf_cqe_bid(&cqe)),
			     sizeof(data), 20 + (unsigned int) i, 0);
	}
	drop_group(kb, how);
	if (how == BY_UNREGISTER)
		free_unregistered(kb);

	/* the bgid is free again and works as usual */
	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, bs, BGID);
	t_fill(data, sizeof(data), 30, 0);
	t_write_all(fds[0][1], data, sizeof(data));
	submit_read(ring, fds[0][0], IOSQE_ASYNC, 10);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, sizeof(data));
	T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
	t_check_data(io_uring_kmbuf_addr(kb, 0), sizeof(data), 30, 0);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	for (i = 0; i < NR_PARKED; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
}

/* Parked receives: the same two behaviours as for reads */
static void test_recv(struct io_uring *ring, bool async, enum how how)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;
	char data[100];
	int sv[2];

	t_tcp_pair(sv);
	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	submit_recv(ring, sv[1], async ? IOSQE_ASYNC : 0, 1);
	if (async)
		wait_head(ring, BGID, 1);
	expect_no_cqe(ring);
	T_EXPECT(t_ring_head(ring, BGID), async ? 1 : 0);
	if (async)
		drop_group_busy(kb, how);
	else
		drop_group(kb, how);
	t_fill(data, sizeof(data), 40, 0);
	T_EXPECT(send(sv[0], data, sizeof(data), 0), sizeof(data));
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.user_data, 1);
	if (async) {
		T_EXPECT(cqe.res, sizeof(data));
		T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
		t_check_data(io_uring_kmbuf_addr(kb, 0), sizeof(data), 40, 0);
		/* completed and reaped: now the group can go */
		drop_group(kb, how);
	} else {
		T_EXPECT(cqe.res, -ENOBUFS);
		T_EXPECT(cqe.flags & IORING_CQE_F_BUFFER, 0);
		expect_left(sv[1], sizeof(data), 40);
	}
	if (how == BY_UNREGISTER)
		free_unregistered(kb);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Cancel a parked request: -ECANCELED, with the bid of the buffer it held,
 * if any. A request holding a buffer keeps the group until then.
 */
static void test_cancel(struct io_uring *ring, bool async)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	bool read_done = false, cancel_done = false;
	int fds[2], i;

	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	submit_read(ring, fds[0], async ? IOSQE_ASYNC : 0, 1);
	if (async)
		wait_head(ring, BGID, 1);
	expect_no_cqe(ring);
	if (async) {
		drop_group_busy(kb, BY_FREE);
	} else {
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
		kb = NULL;
	}

	sqe = t_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	t_submit(ring, 1);
	for (i = 0; i < 2; i++) {
		t_wait_cqe(ring, &cqe);
		if (cqe.user_data == 1) {
			T_EXPECT(cqe.res, -ECANCELED);
			/*
			 * A read from io-wq had committed bid 0: its CQE
			 * names it, as for a pbuf ring, so the application
			 * knows the buffer left the ring.
			 */
			T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe),
				 async ? 0 : -ENOBUFS);
			read_done = true;
		} else {
			T_EXPECT(cqe.user_data, 2);
			T_EXPECT(cqe.res, 0);
			cancel_done = true;
		}
	}
	T_ASSERT(read_done && cancel_done);
	if (kb)
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
	/* the bgid can be used again */
	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	close(fds[0]);
	close(fds[1]);
}

/*
 * Ring exit with requests parked, inline and in io-wq, with the group
 * still registered or already unregistered, with and without the
 * application's own mappings: the exit cancels them and frees everything
 * (kmemleak is scanned after the run); no request read the pipe.
 */
static void test_exit(bool unregister_first, bool keep_mapping)
{
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	void *extra = NULL;
	size_t area = 0;
	char data[32];
	int fds[2][2], i, err;

	t_ring_init(&ring, 8);
	kb = t_kb_setup(&ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	if (keep_mapping) {
		/* a second view of the buffers that outlives the handle */
		area = kb->area_size;
		extra = io_uring_mmap_kmbuf_bufs(&ring, BGID, area,
						 PROT_READ | PROT_WRITE, &err);
		if (!extra)
			t_fail("io_uring_mmap_kmbuf_bufs: %s", strerror(-err));
	}
	for (i = 0; i < 2; i++) {
		if (pipe(fds[i]))
			t_fail("pipe: %s", strerror(errno));
		submit_read(&ring, fds[i][0], i ? IOSQE_ASYNC : 0,
			    (__u64) i);
	}
	wait_head(&ring, BGID, 1);
	expect_no_cqe(&ring);
	if (unregister_first) {
		/* the read in io-wq holds bid 0 */
		T_EXPECT(io_uring_kmbuf_free(kb), -EBUSY);
		/* one of the group's mappings goes before the exit */
		T_EXPECT(io_uring_munmap_kmbuf(kb->br, kb->ring_size), 0);
		kb->br = NULL;
	}
	io_uring_queue_exit(&ring);
	if (kb) {
		/* the ring is gone; only the handle's mappings are left */
		if (kb->br)
			T_EXPECT(io_uring_munmap_kmbuf(kb->br, kb->ring_size),
				 0);
		T_EXPECT(io_uring_munmap_kmbuf(kb->base, kb->area_size), 0);
		free(kb);
	}
	if (extra) {
		/* still readable and writable until unmapped */
		memset(extra, 0x33, area);
		T_EXPECT(((unsigned char *) extra)[area - 1], 0x33);
		T_EXPECT(io_uring_munmap_kmbuf(extra, area), 0);
	}
	for (i = 0; i < 2; i++) {
		t_fill(data, sizeof(data), 50 + (unsigned int) i, 0);
		t_write_all(fds[i][1], data, sizeof(data));
		expect_left(fds[i][0], sizeof(data), 50 + (unsigned int) i);
		close(fds[i][0]);
		close(fds[i][1]);
	}
}

int main(void)
{
	static const enum how hows[] = { BY_UNREGISTER, BY_FREE };
	struct io_uring ring;
	unsigned int i;

	t_init();
	t_require_kmbuf_kernel();
	t_ring_init(&ring, 16);
	for (i = 0; i < 2; i++) {
		printf("dropping the group with %s\n", how_name(hows[i]));
		test_inline_read(&ring, hows[i]);
		test_async_read(&ring, hows[i]);
		test_recv(&ring, false, hows[i]);
		test_recv(&ring, true, hows[i]);
	}
	test_cancel(&ring, false);
	test_cancel(&ring, true);
	io_uring_queue_exit(&ring);
	for (i = 0; i < 4; i++)
		test_exit(i & 1, i & 2);
	return T_EXIT_PASS;
}
