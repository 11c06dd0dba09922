/* SPDX-License-Identifier: MIT */
/*
 * Description: a kmbuf group, a pbuf ring (application-allocated) and
 * classic provided buffers (IORING_OP_PROVIDE_BUFFERS) in one ring. Reads
 * interleaved over the three groups, one at a time and several parked at
 * once, each land in their own group with the expected bid and data.
 * Requests the series refuses on a kmbuf group (RECVMSG, SEND with buffer
 * select, PROVIDE_BUFFERS into it, bundles and incremental consumption
 * where the headers can express them) fail with -EINVAL before any buffer
 * is consumed: the kernel's head does not move and the next read gets the
 * bid it would have got anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "helpers.h"

#define NR_BUFS		4
#define KM_BGID		1
#define PB_BGID		2
#define CL_BGID		3
#define PB_SIZE		256
#define CL_SIZE		128

struct groups {
	struct io_uring *ring;
	struct io_uring_kmbuf *kb;
	struct io_uring_buf_ring *pbr;
	char pbufs[NR_BUFS][PB_SIZE];
	char cbufs[NR_BUFS][CL_SIZE];
	/*
	 * The groups hand out bids in order (ring order; classic buffers
	 * first provided, first taken): a model of each group's queue, oldest
	 * first. For every group, the
	 * bids taken since the last refill, in the order they were taken.
	 */
	unsigned int queue[3][NR_BUFS];
	unsigned int queued[3];
	unsigned int taken[3][NR_BUFS];
	unsigned int nr_taken[3];
};

static int group_bgid(int g)
{
	static const int bgids[] = { KM_BGID, PB_BGID, CL_BGID };

	return bgids[g];
}

static void provide_classic(struct groups *gr)
{
	struct io_uring_sqe *sqe = t_get_sqe(gr->ring);
	struct io_uring_cqe cqe;
	unsigned int i;

	io_uring_prep_provide_buffers(sqe, gr->cbufs, CL_SIZE, NR_BUFS,
				      CL_BGID, 0);
	t_submit(gr->ring, 1);
	t_wait_cqe(gr->ring, &cqe);
	T_EXPECT(cqe.res, 0);
	for (i = 0; i < NR_BUFS; i++)
		gr->queue[2][i] = i;
	gr->queued[2] = NR_BUFS;
}

static void setup_groups(struct io_uring *ring, struct groups *gr)
{
	unsigned int i;

	memset(gr, 0, sizeof(*gr));
	gr->ring = ring;
	gr->kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(),
			    KM_BGID);
	gr->pbr = t_pbuf_ring_setup(ring, NR_BUFS, PB_BGID);
	for (i = 0; i < NR_BUFS; i++)
		io_uring_buf_ring_add(gr->pbr, gr->pbufs[i], PB_SIZE, i,
				      io_uring_buf_ring_mask(NR_BUFS), i);
	io_uring_buf_ring_advance(gr->pbr, NR_BUFS);
	provide_classic(gr);
	for (i = 0; i < NR_BUFS; i++)
		gr->queue[0][i] = gr->queue[1][i] = i;
	gr->queued[0] = gr->queued[1] = NR_BUFS;
}

static void free_groups(struct groups *gr)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;

	T_EXPECT(io_uring_kmbuf_free(gr->kb), 0);
	t_pbuf_ring_free(gr->ring, gr->pbr, NR_BUFS, PB_BGID);
	sqe = t_get_sqe(gr->ring);
	io_uring_prep_remove_buffers(sqe, NR_BUFS, CL_BGID);
	t_submit(gr->ring, 1);
	t_wait_cqe(gr->ring, &cqe);
	/* whatever is left of the classic group */
	T_ASSERT(cqe.res >= 0 && cqe.res <= NR_BUFS);
}

/* Give every buffer back, in order, so each group starts over at bid 0 */
static void refill_groups(struct groups *gr)
{
	unsigned int i;

	for (i = 0; i < gr->nr_taken[0]; i++) {
		unsigned int bid = gr->taken[0][i];

		T_EXPECT(io_uring_kmbuf_recycle(gr->kb, bid), 0);
		gr->queue[0][gr->queued[0]++] = bid;
	}
	for (i = 0; i < gr->nr_taken[1]; i++) {
		unsigned int bid = gr->taken[1][i];

		io_uring_buf_ring_add(gr->pbr, gr->pbufs[bid], PB_SIZE, bid,
				      io_uring_buf_ring_mask(NR_BUFS), (int) i);
		gr->queue[1][gr->queued[1]++] = bid;
	}
	io_uring_buf_ring_advance(gr->pbr, (int) gr->nr_taken[1]);
	if (gr->nr_taken[2]) {
		struct io_uring_sqe *sqe;
		struct io_uring_cqe cqe;

		sqe = t_get_sqe(gr->ring);
		io_uring_prep_remove_buffers(sqe, NR_BUFS, CL_BGID);
		t_submit(gr->ring, 1);
		t_wait_cqe(gr->ring, &cqe);
		T_EXPECT(cqe.res, NR_BUFS - gr->nr_taken[2]);
		provide_classic(gr);
	}
	memset(gr->nr_taken, 0, sizeof(gr->nr_taken));
}

static void prep_select_read(struct groups *gr, int g, int fd, __u64 ud)
{
	struct io_uring_sqe *sqe = t_get_sqe(gr->ring);

	io_uring_prep_read(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (__u16) group_bgid(g);
	sqe->user_data = ud;
}

/*
 * A read CQE of group 'g' holding 'len' bytes of stream 'seed', in the
 * group's next bid, or with 'any_bid' in one not handed out yet.
 */
static void check_read_bid(struct groups *gr, int g,
			   const struct io_uring_cqe *cqe, int len,
			   unsigned int seed, bool any_bid)
{
	int bid = io_uring_kmbuf_cqe_bid(cqe);
	const void *buf;
	unsigned int i;

	if (cqe->res < 0)
		t_fail("read from group %d: %s", group_bgid(g),
		       strerror(-cqe->res));
	T_EXPECT(cqe->res, len);
	if (bid < 0 || bid >= NR_BUFS)
		t_fail("read from group %d: bid %d", group_bgid(g), bid);
	/* where the bid is in the group's queue: it must be there */
	for (i = 0; i < gr->queued[g]; i++)
		if (gr->queue[g][i] == (unsigned int) bid)
			break;
	if (i == gr->queued[g])
		t_fail("read from group %d: bid %d is not in the group",
		       group_bgid(g), bid);
	/* and unless any will do, it is the oldest one */
	if (!any_bid && i)
		t_fail("read from group %d: bid %d, want %u", group_bgid(g),
		       bid, gr->queue[g][0]);
	memmove(gr->queue[g] + i, gr->queue[g] + i + 1,
		(--gr->queued[g] - i) * sizeof(gr->queue[g][0]));
	gr->taken[g][gr->nr_taken[g]++] = (unsigned int) bid;
	if (g == 0)
		buf = io_uring_kmbuf_addr(gr->kb, (unsigned int) bid);
	else if (g == 1)
		buf = gr->pbufs[bid];
	else
		buf = gr->cbufs[bid];
	t_check_data(buf, (size_t) len, seed, 0);
}

static void check_read(struct groups *gr, int g,
		       const struct io_uring_cqe *cqe, int len,
		       unsigned int seed)
{
	check_read_bid(gr, g, cqe, len, seed, false);
}

/* One read at a time, cycling over the groups */
static void test_interleaved(struct groups *gr)
{
	unsigned int km_head = t_ring_head(gr->ring, KM_BGID);
	unsigned int pb_head = t_ring_head(gr->ring, PB_BGID);
	char data[100];
	int fds[2], i;

	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	for (i = 0; i < 3 * NR_BUFS; i++) {
		struct io_uring_cqe cqe;
		int g = i % 3, len = 40 + i;

		t_fill(data, (size_t) len, (unsigned int) i, 0);
		t_write_all(fds[1], data, (size_t) len);
		prep_select_read(gr, g, fds[0], (__u64) i);
		t_submit(gr->ring, 1);
		t_wait_cqe(gr->ring, &cqe);
		T_EXPECT(cqe.user_data, i);
		check_read(gr, g, &cqe, len, (unsigned int) i);
	}
	T_EXPECT(t_ring_head(gr->ring, KM_BGID), (km_head + NR_BUFS) & 0xffff);
	T_EXPECT(t_ring_head(gr->ring, PB_BGID), (pb_head + NR_BUFS) & 0xffff);
	close(fds[0]);
	close(fds[1]);
	refill_groups(gr);
}

/*
 * Six reads parked at once, two per group, woken in reverse order. Reads
 * parked on a ring group (kmbuf or pbuf) hold no buffer while parked, so
 * they get the group's bids in wake order. Classic provided buffers are
 * upstream's business (6.12 keeps the one taken at issue): there only
 * "a bid of its own" is checked.
 */
static void test_parked(struct groups *gr)
{
	const int nr = 6;
	int fds[6][2], i;
	char data[64];

	for (i = 0; i < nr; i++) {
		if (pipe(fds[i]))
			t_fail("pipe: %s", strerror(errno));
		prep_select_read(gr, i % 3, fds[i][0], (__u64) i);
	}
	t_submit(gr->ring, nr);
	for (i = nr - 1; i >= 0; i--) {
		struct io_uring_cqe cqe;
		int len = 30 + i;

		t_fill(data, (size_t) len, 100 + (unsigned int) i, 0);
		t_write_all(fds[i][1], data, (size_t) len);
		t_wait_cqe(gr->ring, &cqe);
		T_EXPECT(cqe.user_data, i);
		check_read_bid(gr, i % 3, &cqe, len, 100 + (unsigned int) i,
			       i % 3 == 2);
	}
	for (i = 0; i < nr; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	refill_groups(gr);
}

static void expect_refused(struct groups *gr, const char *what,
			   unsigned int head)
{
	struct io_uring_cqe cqe;

	t_wait_cqe(gr->ring, &cqe);
	if (cqe.res != -EINVAL)
		t_fail("%s on a kmbuf group: got %d, want -EINVAL", what,
		       cqe.res);
	T_EXPECT(cqe.flags & IORING_CQE_F_BUFFER, 0);
	/* nothing consumed */
	T_EXPECT(t_ring_head(gr->ring, KM_BGID), head);
}

/* A recv from the kmbuf group gets the next bid and the bytes */
static void recv_expect(struct groups *gr, int fd, int len, unsigned int seed)
{
	struct io_uring_sqe *sqe = t_get_sqe(gr->ring);
	struct io_uring_cqe cqe;

	io_uring_prep_recv(sqe, fd, NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, gr->kb);
	t_submit(gr->ring, 1);
	t_wait_cqe(gr->ring, &cqe);
	check_read(gr, 0, &cqe, len, seed);
}

static void test_refusals(struct groups *gr, struct io_uring *ring)
{
	struct io_uring_sqe *sqe;
	struct msghdr msg = { };
	struct iovec iov = { };
	unsigned int head, pb_head;
	char data[64];
	int sv[2];

	t_tcp_pair(sv);
	/* one buffer taken, so the head is not at its start */
	t_fill(data, sizeof(data), 200, 0);
	T_EXPECT(send(sv[0], data, sizeof(data), 0), sizeof(data));
	pb_head = t_ring_head(ring, PB_BGID);
	recv_expect(gr, sv[1], sizeof(data), 200);
	head = t_ring_head(ring, KM_BGID);

	/* data is waiting: a refusal must not take it or a buffer */
	t_fill(data, sizeof(data), 201, 0);
	T_EXPECT(send(sv[0], data, sizeof(data), 0), sizeof(data));
	usleep(10000);

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	sqe = t_get_sqe(ring);
	io_uring_prep_recvmsg(sqe, sv[1], &msg, 0);
	io_uring_kmbuf_prep_select(sqe, gr->kb);
	t_submit(ring, 1);
	expect_refused(gr, "RECVMSG with buffer select", head);

	sqe = t_get_sqe(ring);
	io_uring_prep_recvmsg(sqe, sv[1], &msg, 0);
	io_uring_kmbuf_prep_select(sqe, gr->kb);
	sqe->flags |= IOSQE_ASYNC;
	t_submit(ring, 1);
	expect_refused(gr, "RECVMSG with buffer select from io-wq", head);

	sqe = t_get_sqe(ring);
	io_uring_prep_send(sqe, sv[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, gr->kb);
	t_submit(ring, 1);
	expect_refused(gr, "SEND with buffer select", head);

#ifdef IORING_RECVSEND_BUNDLE
	sqe = t_get_sqe(ring);
	io_uring_prep_recv(sqe, sv[1], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, gr->kb);
	sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	t_submit(ring, 1);
	expect_refused(gr, "RECV bundle", head);
	sqe = t_get_sqe(ring);
	io_uring_prep_recv(sqe, sv[1], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, gr->kb);
	sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	sqe->flags |= IOSQE_ASYNC;
	t_submit(ring, 1);
	expect_refused(gr, "RECV bundle from io-wq", head);
#else
	printf("headers lack IORING_RECVSEND_BUNDLE: bundles not tested\n");
#endif

	/* classic buffers cannot be added to a kmbuf group */
	sqe = t_get_sqe(ring);
	io_uring_prep_provide_buffers(sqe, gr->cbufs, CL_SIZE, 1, KM_BGID, 0);
	t_submit(ring, 1);
	expect_refused(gr, "PROVIDE_BUFFERS", head);

	/* the waiting data goes to the bid after the one taken before */
	recv_expect(gr, sv[1], sizeof(data), 201);
	T_EXPECT(t_ring_head(ring, KM_BGID), (head + 1) & 0xffff);

	/* the pbuf group was not disturbed either */
	T_EXPECT(t_ring_head(ring, PB_BGID), pb_head);
	close(sv[0]);
	close(sv[1]);
	refill_groups(gr);
}

/*
 * Incremental consumption is asked for at registration. Its flag,
 * IOU_PBUF_RING_INC, is an enumerator that arrived (Linux 6.12, liburing
 * 2.8) with the IORING_CQE_F_BUF_MORE macro; <liburing/kmbuf.h> supplies
 * both for older headers, so this runs against liburing 2.3 too.
 */
static void test_incremental(struct io_uring *ring)
{
#ifdef IORING_CQE_F_BUF_MORE
	struct io_uring_kmbuf_reg reg = { };

	reg.buf_size = (__u32) t_page_size();
	reg.ring_entries = NR_BUFS;
	reg.bgid = 9;
	/* taken since the series' incremental patch (ABI section 3.5) */
	reg.flags = IOU_PBUF_RING_INC;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &reg, 0), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 9), 0);
	/* the pbuf-only flag stays refused, with INC or without */
	reg.flags = IOU_PBUF_RING_INC | IOU_PBUF_RING_MMAP;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &reg, 0), -EINVAL);
	reg.flags = 0;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &reg, 0), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, 9), 0);
#else
	(void) ring;
	printf("headers lack IOU_PBUF_RING_INC: incremental consumption "
	       "not tested\n");
#endif
}

int main(void)
{
	struct io_uring ring;
	struct groups *gr;

	t_init();
	t_require_kmbuf_kernel();
	t_ring_init(&ring, 16);
	gr = malloc(sizeof(*gr));
	T_ASSERT(gr);
	setup_groups(&ring, gr);
	test_interleaved(gr);
	test_parked(gr);
	test_interleaved(gr);
	test_refusals(gr, &ring);
	test_incremental(&ring);
	free_groups(gr);
	free(gr);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
