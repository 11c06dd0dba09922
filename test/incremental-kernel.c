/* SPDX-License-Identifier: MIT */
/*
 * Description: incremental consumption of kmbuf rings in the kernel
 * (KMBUF-ABI.md section 3.5), through raw registration with
 * IOU_PBUF_RING_INC. Each CQE's data starts at its buffer's consumed offset
 * (0 when the bid enters the ring, plus res per CQE naming it), which this
 * test tracks; IORING_CQE_F_BUF_MORE leaves the buffer in the ring, a CQE
 * without it retires the buffer.
 *  - many small messages into one 64 KiB buffer: recv, read from a socket,
 *    read from a pipe, multishot recv; bytes, bids and offsets checked;
 *    the message that straddles the end of the buffer ends it (no
 *    BUF_MORE) and goes on at offset 0 of the next bid;
 *  - exhaustion (ENOBUFS, nothing named), recycle (from offset 0 again);
 *  - min_left: a buffer with less than min_left bytes left is retired;
 *  - recv with MSG_TRUNC: res is the whole datagram, and the offset moves
 *    on by res all the same (the rest of a datagram that doesn't fit is
 *    dropped and the buffer retired);
 *  - the kernel keeps the offset itself: it neither writes the ring
 *    entries nor reads addr/len back from them;
 *  - a bogus entry at the head while its buffer is partly consumed (another
 *    bid, or one out of range): -EFAULT, nothing consumed, the offset kept;
 *    with the bid restored, the data goes on where it stopped;
 *  - a request issued from io-wq (IOSQE_ASYNC) takes the rest of the
 *    buffer: its CQE retires it, whatever it reads;
 *  - unregister: EBUSY while such a request holds a buffer, and success
 *    once its CQE is out, partly consumed buffers or not;
 *  - registration: only IOU_PBUF_RING_INC is a valid flag, min_left needs
 *    it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "helpers.h"

#define BGID		5
#define BIG		65536U

struct grp {
	struct io_uring *ring;
	char *bufs;
	struct io_uring_buf_ring *br;
	unsigned int nentries;
	unsigned int buf_size;
	/* what userspace tracks: bytes filled so far, per bid */
	unsigned int off[16];
	size_t pos;	/* stream position of the next byte expected */
	unsigned int seed;
};

static int reg_inc(struct io_uring *ring, unsigned int nentries,
		   unsigned int buf_size, __u16 flags, __u32 min_left)
{
	struct io_uring_kmbuf_reg r;

	memset(&r, 0, sizeof(r));
	r.buf_size = buf_size;
	r.ring_entries = nentries;
	r.bgid = BGID;
	r.flags = flags;
	/* this tree's io_uring_buf_reg: __u32 min_left where resv starts */
	memcpy(r.resv, &min_left, sizeof(min_left));
	return io_uring_register_kmbuf_ring(ring, &r, 0);
}

static void grp_setup(struct grp *g, struct io_uring *ring,
		      unsigned int nentries, unsigned int buf_size,
		      __u32 min_left, unsigned int seed)
{
	int ret;

	memset(g, 0, sizeof(*g));
	g->ring = ring;
	g->nentries = nentries;
	g->buf_size = buf_size;
	g->seed = seed;
	ret = reg_inc(ring, nentries, buf_size, IOU_PBUF_RING_INC, min_left);
	if (ret)
		t_fail("register with IOU_PBUF_RING_INC: %s", strerror(-ret));
	g->bufs = io_uring_mmap_kmbuf_bufs(ring, BGID,
					   (size_t) nentries * buf_size,
					   PROT_READ | PROT_WRITE, &ret);
	if (!g->bufs)
		t_fail("mmap bufs: %s", strerror(-ret));
	g->br = io_uring_mmap_kmbuf_ring(ring, BGID, nentries, &ret);
	if (!g->br)
		t_fail("mmap ring: %s", strerror(-ret));
}

static void grp_free(struct grp *g)
{
	size_t page = t_page_size();

	T_EXPECT(io_uring_unregister_kmbuf_ring(g->ring, BGID), 0);
	T_EXPECT(io_uring_munmap_kmbuf(g->bufs,
				       (size_t) g->nentries * g->buf_size), 0);
	T_EXPECT(io_uring_munmap_kmbuf(g->br, (g->nentries *
				       sizeof(struct io_uring_buf) + page - 1) &
				       ~(page - 1)), 0);
}

/* Give 'bid' back: the kernel fills it from offset 0 again */
static void recycle(struct grp *g, unsigned int bid)
{
	io_uring_buf_ring_add(g->br, NULL, 0, (unsigned short) bid,
			      io_uring_buf_ring_mask(g->nentries), 0);
	io_uring_buf_ring_advance(g->br, 1);
	g->off[bid] = 0;
}

static void prep(struct io_uring_sqe *sqe, int op, int fd, unsigned int len)
{
	if (op == IORING_OP_RECV)
		io_uring_prep_recv(sqe, fd, NULL, len, 0);
	else
		io_uring_prep_read(sqe, fd, NULL, len, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
}

static void submit(struct grp *g, int op, int fd, unsigned int len,
		   unsigned int sqe_flags)
{
	struct io_uring_sqe *sqe = t_get_sqe(g->ring);

	prep(sqe, op, fd, len);
	sqe->flags |= sqe_flags;
	t_submit(g->ring, 1);
}

static void send_msg(struct grp *g, int wfd, size_t wpos, size_t len)
{
	char *data = malloc(len);

	T_ASSERT(data);
	t_fill(data, len, g->seed, wpos);
	t_write_all(wfd, data, len);
	free(data);
}

/*
 * Check a CQE that should carry 'res' bytes in buffer 'bid' and whether it
 * leaves the buffer in the ring; the data must be at the offset tracked.
 */
static void check_cqe(struct grp *g, const struct io_uring_cqe *cqe, int res,
		      unsigned int bid, bool more)
{
	if (cqe->res < 0)
		t_fail("CQE: %s", strerror(-cqe->res));
	T_EXPECT(cqe->res, res);
	T_ASSERT(cqe->flags & IORING_CQE_F_BUFFER);
	T_EXPECT(cqe->flags >> IORING_CQE_BUFFER_SHIFT, bid);
	T_EXPECT(!!(cqe->flags & IORING_CQE_F_BUF_MORE), more);
	T_ASSERT(g->off[bid] + (unsigned int) res <= g->buf_size);
	t_check_data(g->bufs + (size_t) bid * g->buf_size + g->off[bid],
		     (size_t) res, g->seed, g->pos);
	g->pos += (size_t) res;
	g->off[bid] += (unsigned int) res;
}

static void expect_err(struct io_uring *ring, int err)
{
	struct io_uring_cqe cqe;

	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, err);
	T_EXPECT(cqe.flags & IORING_CQE_F_BUFFER, 0);
}

/*
 * Small messages of 1..1500 bytes, one request each, until the stream has
 * gone past the end of bid 0 and on into bid 1: the request that reaches
 * the end of bid 0 gets what fits, without BUF_MORE; the rest of that
 * message goes to bid 1 at offset 0.
 */
static void test_small(struct io_uring *ring, int op, bool pipe_fd)
{
	struct grp g;
	int fds[2];
	size_t wpos = 0;
	unsigned int n = 0, rfd, wfd;
	struct io_uring_cqe cqe;

	grp_setup(&g, ring, 2, BIG, 0, 11 + (unsigned int) op);
	if (pipe_fd) {
		if (pipe(fds))
			t_fail("pipe: %s", strerror(errno));
		rfd = (unsigned int) fds[0];
		wfd = (unsigned int) fds[1];
	} else {
		t_tcp_pair(fds);
		rfd = (unsigned int) fds[1];
		wfd = (unsigned int) fds[0];
	}
	srand(op * 7 + pipe_fd);
	while (g.off[0] < BIG) {
		size_t len = 1 + (size_t) rand() % 1500;
		unsigned int left = BIG - g.off[0];

		send_msg(&g, (int) wfd, wpos, len);
		wpos += len;
		submit(&g, op, (int) rfd, 0, 0);
		t_wait_cqe(ring, &cqe);
		if (len < left) {
			check_cqe(&g, &cqe, (int) len, 0, true);
		} else {
			/* the end of bid 0, then the rest in bid 1 */
			check_cqe(&g, &cqe, (int) left, 0, false);
			T_EXPECT(g.off[0], BIG);
			if (len > left) {
				submit(&g, op, (int) rfd, 0, 0);
				t_wait_cqe(ring, &cqe);
				check_cqe(&g, &cqe, (int) (len - left), 1,
					  true);
			}
		}
		n++;
	}
	T_ASSERT(n > 40);
	/* the kernel never wrote the entries: no offsets, no pointers */
	T_EXPECT(g.br->bufs[0].addr, 0);
	T_EXPECT(g.br->bufs[0].len, BIG);
	T_EXPECT(g.br->bufs[1].addr, BIG);
	T_EXPECT(g.br->bufs[1].len, BIG);
	T_EXPECT(t_ring_head(ring, BGID), 1);
	close(fds[0]);
	close(fds[1]);
	grp_free(&g);
	printf("%s on a %s: %u messages into one 64 KiB buffer: ok\n",
	       op == IORING_OP_RECV ? "recv" : "read",
	       pipe_fd ? "pipe" : "TCP socket", n);
}

/* Multishot recv: CQEs of whatever the socket gives, offsets tracked */
static void test_multishot(struct io_uring *ring)
{
	struct grp g;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	size_t wpos = 0, total = 3 * (size_t) BIG + 1234;
	unsigned int bid = 0, ncqe = 0;
	int fds[2];

	grp_setup(&g, ring, 4, BIG, 0, 23);
	t_tcp_pair(fds);
	sqe = t_get_sqe(ring);
	prep(sqe, IORING_OP_RECV, fds[1], 0);
	sqe->ioprio |= IORING_RECV_MULTISHOT;
	t_submit(ring, 1);

	srand(99);
	while (g.pos < total) {
		size_t len = 1 + (size_t) rand() % 700;

		if (wpos < total) {
			if (len > total - wpos)
				len = total - wpos;
			send_msg(&g, fds[0], wpos, len);
			wpos += len;
		}
		/* reap what is there; wait when everything is sent */
		while (g.pos < wpos) {
			struct io_uring_cqe *c;
			bool more;

			if (wpos < total && io_uring_peek_cqe(ring, &c))
				break;
			t_wait_cqe(ring, &cqe);
			T_ASSERT(cqe.flags & IORING_CQE_F_MORE);
			T_ASSERT(cqe.res > 0);
			more = cqe.flags & IORING_CQE_F_BUF_MORE;
			T_ASSERT(cqe.flags & IORING_CQE_F_BUFFER);
			T_EXPECT(cqe.flags >> IORING_CQE_BUFFER_SHIFT, bid);
			check_cqe(&g, &cqe, cqe.res, bid, more);
			if (!more)
				bid++;
			ncqe++;
		}
	}
	T_EXPECT(bid, 3);
	T_EXPECT(g.off[3], 1234);
	T_ASSERT(ncqe > 4);
	/* stop it: shutdown ends the multishot recv with a final CQE */
	shutdown(fds[0], SHUT_WR);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 0);
	T_EXPECT(cqe.flags & (IORING_CQE_F_MORE | IORING_CQE_F_BUFFER), 0);
	close(fds[0]);
	close(fds[1]);
	grp_free(&g);
	printf("multishot recv: %u CQEs over 4 buffers: ok\n", ncqe);
}

/*
 * Two 4 KiB buffers: fill both, ENOBUFS, recycle bid 1 and it starts at 0;
 * then min_left. And a request from io-wq takes the rest of the buffer.
 */
static void test_exhaust_recycle_async(struct io_uring *ring)
{
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring_cqe cqe;
	size_t wpos = 0;
	struct grp g;
	int fds[2];

	grp_setup(&g, ring, 2, page, 0, 31);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	send_msg(&g, fds[1], wpos, 2 * (size_t) page + 100);
	wpos += 2 * (size_t) page + 100;
	submit(&g, IORING_OP_READ, fds[0], 1000, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 1000, 0, true);
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, (int) page - 1000, 0, false);
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, (int) page, 1, false);
	/* both retired: nothing is taken, the 100 bytes wait */
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	expect_err(ring, -ENOBUFS);
	T_EXPECT(t_ring_head(ring, BGID), 2);

	/* bid 1 back: from offset 0 again */
	recycle(&g, 1);
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 100, 1, true);

	/*
	 * From io-wq, the request can't know beforehand what it will fill:
	 * it takes the rest of bid 1 and its CQE retires it, though it asked
	 * for 10 bytes and got 10. Userspace's offset still holds: the data
	 * is at 100.
	 */
	send_msg(&g, fds[1], wpos, 10);
	wpos += 10;
	submit(&g, IORING_OP_READ, fds[0], 10, IOSQE_ASYNC);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 10);
	T_EXPECT(cqe.flags >> IORING_CQE_BUFFER_SHIFT, 1);
	T_EXPECT(cqe.flags & IORING_CQE_F_BUF_MORE, 0);
	t_check_data(g.bufs + page + 100, 10, g.seed, g.pos);
	g.pos += 10;
	T_EXPECT(t_ring_head(ring, BGID), 3);
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	expect_err(ring, -ENOBUFS);
	send_msg(&g, fds[1], wpos, 1);

	/*
	 * Unregister rules: a read parked in io-wq holds bid 0 (given back
	 * just before): EBUSY until its CQE is out; then success, though no
	 * CQE retired bid 0 yet.
	 */
	recycle(&g, 0);
	submit(&g, IORING_OP_READ, fds[0], 0, IOSQE_ASYNC);
	/* the byte sent above */
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 1, 0, false);
	recycle(&g, 1);
	submit(&g, IORING_OP_READ, fds[0], 0, IOSQE_ASYNC);
	usleep(50000);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, BGID), -EBUSY);
	send_msg(&g, fds[1], g.pos, 50);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 50, 1, false);
	recycle(&g, 0);
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	send_msg(&g, fds[1], g.pos, 30);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 30, 0, true);
	close(fds[0]);
	close(fds[1]);
	/* bid 0 is partly filled, but no request holds a buffer */
	grp_free(&g);
	printf("exhaustion, recycle, io-wq, unregister: ok\n");
}

static void test_min_left(struct io_uring *ring)
{
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring_cqe cqe;
	struct grp g;
	int fds[2];

	grp_setup(&g, ring, 2, page, 1000, 41);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	send_msg(&g, fds[1], 0, 10000);
	/* page - 3000 >= 1000 left: stays */
	submit(&g, IORING_OP_READ, fds[0], page - 3000, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, (int) page - 3000, 0, true);
	/* 1000 left: still stays */
	submit(&g, IORING_OP_READ, fds[0], 2000, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 2000, 0, true);
	/* 999 left: retired, the 999 bytes are not used */
	submit(&g, IORING_OP_READ, fds[0], 1, 0);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 1);
	T_EXPECT(cqe.flags >> IORING_CQE_BUFFER_SHIFT, 0);
	T_EXPECT(cqe.flags & IORING_CQE_F_BUF_MORE, 0);
	t_check_data(g.bufs + g.off[0], 1, g.seed, g.pos);
	g.pos++;
	/* the next data is at offset 0 of bid 1 */
	submit(&g, IORING_OP_READ, fds[0], 100, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 100, 1, true);
	close(fds[0]);
	close(fds[1]);
	grp_free(&g);
	printf("min_left: ok\n");
}

/* A UDP socket pair on loopback: fds[0] sends to fds[1] */
static void udp_pair(int fds[2])
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	fds[1] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0 || fds[1] < 0)
		t_fail("socket: %s", strerror(errno));
	if (bind(fds[1], (struct sockaddr *) &addr, sizeof(addr)) ||
	    getsockname(fds[1], (struct sockaddr *) &addr, &alen) ||
	    connect(fds[0], (struct sockaddr *) &addr, alen))
		t_fail("udp pair: %s", strerror(errno));
}

/*
 * recv with MSG_TRUNC reports the whole datagram in res, more than it
 * placed. The offset of the buffer moves on by res all the same, so that
 * the data of the next CQE is where adding up res says: the bytes in
 * between are skipped. A datagram longer than what is left retires the
 * buffer.
 */
/*
 * Send 'dlen' bytes of 'data' from 'pos' as one datagram and receive it
 * with MSG_TRUNC asking for 'len' bytes: res is the datagram's length,
 * the CQE names 'bid' and says IORING_CQE_F_BUF_MORE or not
 */
static void trunc_round(struct io_uring *ring, const int fds[2],
			const char *data, size_t pos, size_t dlen,
			unsigned int len, unsigned int bid, bool more)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;

	T_EXPECT(send(fds[0], data + pos, dlen, 0), (ssize_t) dlen);
	sqe = t_get_sqe(ring);
	io_uring_prep_recv(sqe, fds[1], NULL, len, MSG_TRUNC);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, (int) dlen);
	T_ASSERT(cqe.flags & IORING_CQE_F_BUFFER);
	T_EXPECT(cqe.flags >> IORING_CQE_BUFFER_SHIFT, bid);
	T_EXPECT(!!(cqe.flags & IORING_CQE_F_BUF_MORE), more);
}

static void test_msg_trunc(struct io_uring *ring)
{
	unsigned int page = (unsigned int) t_page_size();
	struct grp g;
	char *data;
	int fds[2];

	grp_setup(&g, ring, 2, page, 0, 47);
	udp_pair(fds);
	data = malloc(page + 1000);
	T_ASSERT(data);
	t_fill(data, page + 1000, g.seed, 0);

	/* 300 bytes, 100 asked for: res 300, 100 placed at offset 0 */
	trunc_round(ring, fds, data, 0, 300, 100, 0, true);
	t_check_data(g.bufs, 100, g.seed, 0);
	g.off[0] += 300;

	/* the next datagram goes where adding up res says: offset 300 */
	trunc_round(ring, fds, data, 300, 50, 0, 0, true);
	t_check_data(g.bufs + g.off[0], 50, g.seed, 300);
	g.off[0] += 50;

	/* longer than what is left: what fits, and the buffer is retired */
	trunc_round(ring, fds, data, 350, page, 0, 0, false);
	t_check_data(g.bufs + g.off[0], page - g.off[0], g.seed, 350);

	/* and the next one starts bid 1 */
	trunc_round(ring, fds, data, 350 + page, 20, 0, 1, true);
	t_check_data(g.bufs + page, 20, g.seed, 350 + page);

	free(data);
	close(fds[0]);
	close(fds[1]);
	grp_free(&g);
	printf("MSG_TRUNC: ok\n");
}

/*
 * Userspace rewrites the head entry. The kernel trusts only bids: the
 * entry's addr and len never matter; another bid, or one out of range,
 * while the head buffer is partly consumed fails the request with EFAULT
 * and consumes nothing; with the bid back the data goes on at the offset
 * where it stopped.
 */
static void test_bogus(struct io_uring *ring)
{
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring_buf *head;
	struct io_uring_cqe cqe;
	struct grp g;
	int fds[2];

	grp_setup(&g, ring, 2, page, 0, 51);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	send_msg(&g, fds[1], 0, 3000);
	submit(&g, IORING_OP_READ, fds[0], 100, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 100, 0, true);

	head = &g.br->bufs[0];
	/* addr and len are not read: garbage there changes nothing */
	head->addr = 0xdead000;
	head->len = 3;
	submit(&g, IORING_OP_READ, fds[0], 200, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 200, 0, true);
	T_EXPECT(head->addr, 0xdead000);
	T_EXPECT(head->len, 3);

	/* another valid bid while bid 0 is partly consumed */
	head->bid = 1;
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	expect_err(ring, -EFAULT);
	T_EXPECT(t_ring_head(ring, BGID), 0);
	/* out of range: the same */
	head->bid = 0xffff;
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	expect_err(ring, -EFAULT);
	head->bid = 2;
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	expect_err(ring, -EFAULT);
	T_EXPECT(t_ring_head(ring, BGID), 0);
	/* no byte left the pipe; back to bid 0, the data goes on at 300 */
	head->bid = 0;
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 2700, 0, true);
	T_EXPECT(g.off[0], 3000);

	/* a bid rewritten before any CQE named the buffer is just taken */
	send_msg(&g, fds[1], g.pos, (size_t) page);
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, (int) page - 3000, 0, false);
	T_EXPECT(t_ring_head(ring, BGID), 1);
	recycle(&g, 0);
	/* the ring holds 1, 0: make the head say 0 before it is used */
	g.br->bufs[1].bid = 0;
	g.br->bufs[0].bid = 1;
	submit(&g, IORING_OP_READ, fds[0], 0, 0);
	t_wait_cqe(ring, &cqe);
	check_cqe(&g, &cqe, 3000, 0, true);
	close(fds[0]);
	close(fds[1]);
	grp_free(&g);
	printf("bogus head entry while partly consumed: ok\n");
}

static void test_registration(struct io_uring *ring)
{
	unsigned int page = (unsigned int) t_page_size();

	/* IOU_PBUF_RING_MMAP and unknown bits stay refused */
	T_EXPECT(reg_inc(ring, 2, page, IOU_PBUF_RING_INC | 1, 0), -EINVAL);
	T_EXPECT(reg_inc(ring, 2, page, IOU_PBUF_RING_INC | 4, 0), -EINVAL);
	T_EXPECT(reg_inc(ring, 2, page, 1, 0), -EINVAL);
	/* min_left belongs to IOU_PBUF_RING_INC */
	T_EXPECT(reg_inc(ring, 2, page, 0, 1), -EINVAL);
	/* unregister still wants every other field zero */
	T_EXPECT(reg_inc(ring, 2, page, IOU_PBUF_RING_INC, 1), 0);
	T_EXPECT(reg_inc(ring, 2, page, IOU_PBUF_RING_INC, 0), -EEXIST);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, BGID), 0);
	T_EXPECT(reg_inc(ring, 2, page, IOU_PBUF_RING_INC, 0), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(ring, BGID), 0);
	printf("registration flags: ok\n");
}

int main(void)
{
	struct io_uring ring;

	t_init();
	t_require_kmbuf_kernel();
	t_ring_init(&ring, 16);
	test_registration(&ring);
	test_small(&ring, IORING_OP_RECV, false);
	test_small(&ring, IORING_OP_READ, false);
	test_small(&ring, IORING_OP_READ, true);
	test_multishot(&ring);
	test_exhaust_recycle_async(&ring);
	test_min_left(&ring);
	test_msg_trunc(&ring);
	test_bogus(&ring);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
