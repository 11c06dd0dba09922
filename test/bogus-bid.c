/* SPDX-License-Identifier: MIT */
/*
 * Description: the kernel trusts only the bid of a kmbuf ring entry.
 * Entries naming a bid >= ring_entries, written straight into the mapped
 * ring (io_uring_kmbuf_recycle() refuses them), fail the request with
 * -EFAULT and are consumed, and the next valid entry works; the addr and
 * len that userspace writes are ignored (data lands at base + bid *
 * buf_size with the whole buffer available); the kernel never writes the
 * ring entries, so they can never show a kernel pointer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "helpers.h"

#define NR_BUFS		4
#define BGID		3

/* Queue an entry with whatever fields, bypassing the library's checks */
static void put_entry(struct io_uring_kmbuf *kb, __u64 addr, __u32 len,
		      unsigned int bid, int offset)
{
	io_uring_buf_ring_add(kb->br, (void *) (uintptr_t) addr, len,
			      (unsigned short) bid,
			      io_uring_buf_ring_mask(kb->nentries), offset);
}

static void submit_read(struct io_uring *ring, struct io_uring_kmbuf *kb,
			int fd, __u64 off, unsigned int sqe_flags)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);

	io_uring_prep_read(sqe, fd, NULL, 0, off);
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->flags |= sqe_flags;
	t_submit(ring, 1);
}

static void expect_efault(struct io_uring *ring)
{
	struct io_uring_cqe cqe;

	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, -EFAULT);
	T_EXPECT(cqe.flags & IORING_CQE_F_BUFFER, 0);
}

/* Returns the bid of a successful read of 'want' bytes */
static unsigned int expect_data(struct io_uring *ring,
				struct io_uring_kmbuf *kb, int want,
				unsigned int seed, size_t pos)
{
	struct io_uring_cqe cqe;
	unsigned int bid = ~0U;
	void *buf;

	t_wait_cqe(ring, &cqe);
	if (cqe.res < 0)
		t_fail("read: %s", strerror(-cqe.res));
	T_EXPECT(cqe.res, want);
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	T_ASSERT(buf != NULL);
	t_check_data(buf, (size_t) want, seed, pos);
	return bid;
}

static void expect_enobufs(struct io_uring *ring)
{
	struct io_uring_cqe cqe;

	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, -ENOBUFS);
	T_EXPECT(cqe.flags & IORING_CQE_F_BUFFER, 0);
}

/* Take every buffer of a fresh group, so that the ring is empty */
static void drain_group(struct io_uring *ring, struct io_uring_kmbuf *kb,
			int fds[2])
{
	char c = 'x';
	unsigned int i;

	for (i = 0; i < kb->nentries; i++) {
		struct io_uring_cqe cqe;

		t_write_all(fds[1], &c, 1);
		submit_read(ring, kb, fds[0], 0, 0);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.res, 1);
		T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), i);
	}
}

/* A fresh ring lists every buffer by its offset, never by an address */
static void test_fresh_ring(struct io_uring *ring)
{
	struct io_uring_kmbuf *kb;
	unsigned int i;

	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, 2 * t_page_size(),
			BGID);
	T_EXPECT(kb->br->tail, NR_BUFS);
	for (i = 0; i < NR_BUFS; i++) {
		T_EXPECT(kb->br->bufs[i].bid, i);
		T_EXPECT(kb->br->bufs[i].len, kb->buf_size);
		T_EXPECT(kb->br->bufs[i].addr, (__u64) i * kb->buf_size);
	}
	T_EXPECT(t_ring_head(ring, BGID), 0);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
}

/*
 * Bids ring_entries and 0xffff, then a valid one: two EFAULTs that each
 * consume their entry and leave the pipe's data alone, then the data in
 * the valid bid, then an empty ring.
 */
static void test_bogus_pipe(struct io_uring *ring, unsigned int sqe_flags)
{
	struct io_uring_kmbuf *kb;
	unsigned int head, bid;
	char data[100];
	int fds[2];

	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	drain_group(ring, kb, fds);
	head = t_ring_head(ring, BGID);
	T_EXPECT(head, NR_BUFS);

	/* io_uring_kmbuf_recycle() is the safe path: it refuses these */
	T_EXPECT(io_uring_kmbuf_recycle(kb, NR_BUFS), -EINVAL);
	T_EXPECT(io_uring_kmbuf_recycle(kb, 0xffff), -EINVAL);
	T_EXPECT(kb->br->tail, NR_BUFS);

	put_entry(kb, 0, kb->buf_size, NR_BUFS, 0);
	put_entry(kb, 0, kb->buf_size, 0xffff, 1);
	put_entry(kb, 0, kb->buf_size, NR_BUFS - 1, 2);
	io_uring_buf_ring_advance(kb->br, 3);

	t_fill(data, sizeof(data), 7, 0);
	t_write_all(fds[1], data, sizeof(data));
	submit_read(ring, kb, fds[0], 0, sqe_flags);
	expect_efault(ring);
	T_EXPECT(t_ring_head(ring, BGID), (head + 1) & 0xffff);
	submit_read(ring, kb, fds[0], 0, sqe_flags);
	expect_efault(ring);
	T_EXPECT(t_ring_head(ring, BGID), (head + 2) & 0xffff);

	/* nothing was read by the failed requests */
	submit_read(ring, kb, fds[0], 0, sqe_flags);
	bid = expect_data(ring, kb, sizeof(data), 7, 0);
	T_EXPECT(bid, NR_BUFS - 1);
	T_EXPECT(t_ring_head(ring, BGID), (head + 3) & 0xffff);

	/* the bogus entries are gone, not handed out again */
	t_write_all(fds[1], data, 1);
	submit_read(ring, kb, fds[0], 0, sqe_flags);
	expect_enobufs(ring);
	T_EXPECT(t_ring_head(ring, BGID), (head + 3) & 0xffff);

	close(fds[0]);
	close(fds[1]);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
}

/* The same from a regular file, where the entry is committed at once */
static void test_bogus_file(struct io_uring *ring)
{
	const size_t bs = t_page_size();
	struct io_uring_kmbuf *kb;
	unsigned int bid, i;
	int fd;

	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, bs, BGID);
	fd = t_create_file(NR_BUFS * bs, 9);
	/* take bids 0..NR_BUFS-1 off the ring */
	for (i = 0; i < NR_BUFS; i++) {
		submit_read(ring, kb, fd, i * bs, 0);
		bid = expect_data(ring, kb, (int) bs, 9, i * bs);
		T_EXPECT(bid, i);
	}
	put_entry(kb, 0, 0, NR_BUFS, 0);
	put_entry(kb, 0, 0, 1, 1);
	io_uring_buf_ring_advance(kb->br, 2);
	submit_read(ring, kb, fd, 0, 0);
	expect_efault(ring);
	submit_read(ring, kb, fd, 2 * bs, IOSQE_ASYNC);
	bid = expect_data(ring, kb, (int) bs, 9, 2 * bs);
	T_EXPECT(bid, 1);
	submit_read(ring, kb, fd, 0, 0);
	expect_enobufs(ring);
	close(fd);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
}

/*
 * addr and len of an entry are ignored: an entry for bid 1 whose addr
 * points at bid 3 (or at nothing) and whose len is 1 (or 0) still gets
 * the whole of buffer 1. The kernel writes nothing into the entries.
 */
static void test_garbage_addr_len(struct io_uring *ring)
{
	static const struct {
		int addr_kind;	/* 0: junk, 1: bid 3's address, 2: NULL */
		__u32 len;
	} cases[] = {
		{ 0, 1 }, { 1, 1 }, { 2, 0 }, { 0, 0xffffffffU }, { 1, 7 },
	};
	const size_t bs = t_page_size();
	struct io_uring_buf snap[NR_BUFS];
	struct io_uring_kmbuf *kb;
	unsigned int i, bid;
	int fd;

	kb = t_kb_setup(ring, T_BACKEND_KERNEL, NR_BUFS, bs, BGID);
	fd = t_create_file(NR_BUFS * bs, 11);
	for (i = 0; i < NR_BUFS; i++) {
		submit_read(ring, kb, fd, 0, 0);
		T_EXPECT(expect_data(ring, kb, (int) bs, 11, 0), i);
	}
	memset(io_uring_kmbuf_addr(kb, 3), 0x5a, bs);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u64 addr;
		size_t j;
		unsigned char *b3;

		if (cases[i].addr_kind == 0)
			addr = 0xdead0000beef000ULL + i;
		else if (cases[i].addr_kind == 1)
			addr = (uintptr_t) io_uring_kmbuf_addr(kb, 3);
		else
			addr = 0;
		put_entry(kb, addr, cases[i].len, 1, 0);
		io_uring_buf_ring_advance(kb->br, 1);
		memcpy(snap, kb->br->bufs, sizeof(snap));

		/* a full buffer from the file, at a position of its own */
		submit_read(ring, kb, fd, (i % NR_BUFS) * bs,
			    i & 1 ? IOSQE_ASYNC : 0);
		bid = expect_data(ring, kb, (int) bs, 11, (i % NR_BUFS) * bs);
		T_EXPECT(bid, 1);

		/* the kernel wrote none of the entries (nor the tail) */
		if (memcmp(snap, kb->br->bufs, sizeof(snap)))
			t_fail("case %u: the kernel wrote into the ring", i);
		/* and nothing into bid 3, whatever addr said */
		b3 = io_uring_kmbuf_addr(kb, 3);
		for (j = 0; j < bs; j++)
			if (b3[j] != 0x5a)
				t_fail("case %u: bid 3 byte %zu changed", i, j);
	}

	close(fd);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	t_require_kmbuf_kernel();
	t_ring_init(&ring, 8);
	test_fresh_ring(&ring);
	test_bogus_pipe(&ring, 0);
	test_bogus_pipe(&ring, IOSQE_ASYNC);
	test_bogus_file(&ring);
	test_garbage_addr_len(&ring);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
