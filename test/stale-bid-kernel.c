/* SPDX-License-Identifier: MIT */
/*
 * Description: no stale bids (KMBUF-ABI.md section 3.3). Once
 * IORING_UNREGISTER_KMBUF_RING has succeeded, no CQE may name a bid of the
 * old ring: an application that registers the bgid again would read the
 * new region at that bid while the data went to the old one, and would
 * give back a bid the new ring already holds.
 *
 * A request holds a buffer: a MSG_WAITALL recv that took bid 0 and parked
 * after a partial transfer, or a pipe read parked in io-wq (IOSQE_ASYNC).
 * Then unregister:
 *  - EBUSY (the ABI's simple design): the group is still there (its bgid
 *    gives EEXIST); the request, completed by the rest of its data or
 *    cancelled, names bid 0 with the data in it; after it was reaped,
 *    unregister succeeds.
 *  - success: the bgid is registered again at once and the request is given
 *    its data; its CQE must not carry a bid unless that bid really was taken
 *    from the new ring (the new ring's head moved).
 * Any other unregister result fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "helpers.h"

#define BGID		4
#define NR_BUFS		4
#define FIRST		100	/* bytes of the partial transfer */

enum kind { K_WAITALL_RECV, K_ASYNC_READ };
enum finish { F_DATA, F_CANCEL };

static const char *kind_name(enum kind k)
{
	return k == K_WAITALL_RECV ? "MSG_WAITALL recv after a partial "
	       "transfer" : "pipe read parked in io-wq";
}

struct pair {
	int rfd, wfd;
	int sv[2];
};

static void wait_head(struct io_uring *ring, unsigned int want)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (t_ring_head(ring, BGID) == want)
			return;
		usleep(1000);
	}
	t_fail("the kernel's head stayed at %u, want %u",
	       t_ring_head(ring, BGID), want);
}

static void expect_no_cqe(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	usleep(20000);
	if (!io_uring_peek_cqe(ring, &cqe))
		t_fail("unexpected CQE: user_data %llu res %d flags %#x",
		       (unsigned long long) cqe->user_data, cqe->res,
		       cqe->flags);
}

/* Park a request holding bid 0; 'len' is what it reads in all */
static void park(struct io_uring *ring, struct io_uring_kmbuf *kb,
		 enum kind k, struct pair *p, size_t len)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	char data[FIRST];

	if (k == K_WAITALL_RECV) {
		t_tcp_pair(p->sv);
		p->rfd = p->sv[1];
		p->wfd = p->sv[0];
		io_uring_prep_recv(sqe, p->rfd, NULL, len, MSG_WAITALL);
	} else {
		int fds[2];

		if (pipe(fds))
			t_fail("pipe: %s", strerror(errno));
		p->rfd = fds[0];
		p->wfd = fds[1];
		io_uring_prep_read(sqe, p->rfd, NULL, len, 0);
		sqe->flags |= IOSQE_ASYNC;
	}
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->user_data = 1;
	t_submit(ring, 1);
	if (k == K_WAITALL_RECV) {
		/* a partial transfer: the recv keeps bid 0 and waits */
		t_fill(data, FIRST, 60, 0);
		t_write_all(p->wfd, data, FIRST);
	}
	wait_head(ring, 1);
	expect_no_cqe(ring);
}

/* Send what is left of the stream the parked request is waiting for */
static void send_rest(enum kind k, struct pair *p, size_t len)
{
	char data[4096];
	size_t from = k == K_WAITALL_RECV ? FIRST : 0;

	T_ASSERT(len <= sizeof(data));
	t_fill(data, len - from, 60, from);
	t_write_all(p->wfd, data, len - from);
}

static void close_pair(enum kind k, struct pair *p)
{
	if (k == K_WAITALL_RECV) {
		close(p->sv[0]);
		close(p->sv[1]);
	} else {
		close(p->rfd);
		close(p->wfd);
	}
}

static int unregister(struct io_uring *ring)
{
	return io_uring_unregister_kmbuf_ring(ring, BGID);
}

/* The ABI's simple design: unregister waits for the application */
static void after_ebusy(struct io_uring *ring, struct io_uring_kmbuf *kb,
			enum kind k, enum finish f, struct pair *p, size_t len)
{
	struct io_uring_kmbuf_reg r = { };
	struct io_uring_cqe cqe;
	bool got_req = false, got_cancel = false;
	int i;

	/* nothing was unregistered */
	r.buf_size = kb->buf_size;
	r.ring_entries = NR_BUFS;
	r.bgid = BGID;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &r, 0), -EEXIST);
	T_EXPECT(t_ring_head(ring, BGID), 1);
	T_EXPECT(unregister(ring), -EBUSY);

	if (f == F_DATA) {
		send_rest(k, p, len);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.user_data, 1);
		T_EXPECT(cqe.res, (long long) len);
		T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
		t_check_data(io_uring_kmbuf_addr(kb, 0), len, 60, 0);
	} else {
		struct io_uring_sqe *sqe = t_get_sqe(ring);

		io_uring_prep_cancel64(sqe, 1, 0);
		sqe->user_data = 2;
		t_submit(ring, 1);
		for (i = 0; i < 2; i++) {
			t_wait_cqe(ring, &cqe);
			if (cqe.user_data == 2) {
				T_EXPECT(cqe.res, 0);
				got_cancel = true;
				continue;
			}
			T_EXPECT(cqe.user_data, 1);
			got_req = true;
			if (cqe.res == -ECANCELED ||
			    (cqe.res == -EINTR && k == K_ASYNC_READ)) {
				/* bid 0 left the ring: it may be named */
				if (cqe.flags & IORING_CQE_F_BUFFER)
					T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe),
						 0);
				continue;
			}
			/* the partial transfer reported as the result */
			T_EXPECT(k, K_WAITALL_RECV);
			T_EXPECT(cqe.res, FIRST);
			T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
			t_check_data(io_uring_kmbuf_addr(kb, 0), FIRST, 60, 0);
		}
		T_ASSERT(got_req && got_cancel);
	}
	/* reaped: now the group can go */
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	T_EXPECT(unregister(ring), -ENOENT);
}

/*
 * Another design: unregister succeeded while bid 0 was held. Whatever the
 * request does then, its CQE must not name a bid of the old ring.
 */
static void after_success(struct io_uring *ring, struct io_uring_kmbuf *kb,
			  enum kind k, struct pair *p, size_t len)
{
	struct io_uring_kmbuf *kb2;
	struct io_uring_cqe cqe;
	unsigned int head;

	kb2 = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, kb->buf_size, BGID);
	T_EXPECT(t_ring_head(ring, BGID), 0);
	send_rest(k, p, len);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.user_data, 1);
	head = t_ring_head(ring, BGID);
	if ((cqe.flags & IORING_CQE_F_BUFFER) && head == 0)
		t_fail("%s: unregister succeeded while it held bid 0, the bgid "
		       "was registered again, and then its CQE (res %d) named "
		       "bid %d, which the new ring never gave out (its head is "
		       "still 0): a stale bid", kind_name(k), cqe.res,
		       io_uring_kmbuf_cqe_bid(&cqe));
	if (cqe.flags & IORING_CQE_F_BUFFER) {
		/* taken from the new ring: then it holds the data */
		T_EXPECT(head, 1);
		T_ASSERT(cqe.res > 0);
		T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), 0);
	}
	/* the old handle's mappings only; the bgid is the new group's */
	T_EXPECT(io_uring_munmap_kmbuf(kb->br, kb->ring_size), 0);
	T_EXPECT(io_uring_munmap_kmbuf(kb->base, kb->area_size), 0);
	free(kb);
	T_EXPECT(io_uring_kmbuf_free(kb2), 0);
}

static void run(struct io_uring *ring, enum kind k, enum finish f)
{
	const size_t len = t_page_size();
	struct io_uring_kmbuf *kb;
	struct pair p;
	int ret;

	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	park(ring, kb, k, &p, len);
	ret = unregister(ring);
	if (ret == -EBUSY) {
		after_ebusy(ring, kb, k, f, &p, len);
	} else if (!ret) {
		after_success(ring, kb, k, &p, len);
	} else {
		t_fail("%s: unregister while it holds bid 0: %s", kind_name(k),
		       strerror(-ret));
	}
	printf("%s, %s: unregister %s\n", kind_name(k),
	       f == F_DATA ? "then data" : "then cancel",
	       ret ? "refused with EBUSY" : "succeeded, no stale bid");
	close_pair(k, &p);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	t_require_kmbuf_kernel();
	t_ring_init(&ring, 8);
	run(&ring, K_WAITALL_RECV, F_DATA);
	run(&ring, K_WAITALL_RECV, F_CANCEL);
	run(&ring, K_ASYNC_READ, F_DATA);
	run(&ring, K_ASYNC_READ, F_CANCEL);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
