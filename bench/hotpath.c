// SPDX-License-Identifier: MIT
/*
 * hotpath: instruction counts of the library's hot paths against the
 * equivalent raw liburing code, for callgrind.
 *
 * Each section runs ITERS times over a table of synthetic CQEs and is
 * bracketed by CALLGRIND_ZERO_STATS + CALLGRIND_TOGGLE_COLLECT and
 * CALLGRIND_TOGGLE_COLLECT + CALLGRIND_DUMP_STATS_AT(name), so each dump
 * holds one section; hotpath.sh reads the totals and prints the
 * ratios. An empty loop over the same table is measured too and
 * subtracted, leaving the cost of the path itself.
 *
 * Run: valgrind --tool=callgrind --collect-atstart=no ./hotpath
 * (through "make bench-hotpath"). Without valgrind it only checks that
 * both variants agree.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

#include <liburing.h>
#include "liburing/kmbuf.h"

#define ITERS		100000
#define NCQE		1024
#define NENTRIES	64
#define BUF_SIZE	65536
#define BGID		3

/* what an application using raw liburing keeps about its group */
struct app_pbuf {
	struct io_uring_buf_ring *br;
	char *bufs;
	unsigned int buf_size;
	unsigned int mask;
};

static struct io_uring_cqe cqes[NCQE];
static unsigned int bids[NCQE];

#define sink(x)	__asm__ __volatile__("" : : "r"(x) : "memory")

#define SECTION(name, body)						\
	do {								\
		unsigned int it_;					\
		CALLGRIND_ZERO_STATS;					\
		CALLGRIND_TOGGLE_COLLECT;				\
		for (it_ = 0; it_ < ITERS; it_++) {			\
			const unsigned int i = it_ & (NCQE - 1);	\
			body;						\
		}							\
		CALLGRIND_TOGGLE_COLLECT;				\
		CALLGRIND_DUMP_STATS_AT(name);				\
	} while (0)

/* the sections are noinline so the compiler cannot merge them */
static __attribute__((noinline)) void s_empty(void)
{
	SECTION("empty", sink(i));
}

static __attribute__((noinline)) void s_raw_decode(void)
{
	SECTION("raw-decode", {
		const struct io_uring_cqe *c = &cqes[i];
		int bid = (c->flags & IORING_CQE_F_BUFFER) ?
			  (int)(c->flags >> IORING_CQE_BUFFER_SHIFT) : -1;
		sink(bid);
	});
}

static __attribute__((noinline)) void s_lib_decode(void)
{
	SECTION("lib-decode", {
		int bid = io_uring_kmbuf_cqe_bid(&cqes[i]);
		sink(bid);
	});
}

static __attribute__((noinline)) void s_raw_addr(struct app_pbuf *p)
{
	SECTION("raw-addr", {
		char *b = p->bufs + (size_t)bids[i] * p->buf_size;
		sink(b);
	});
}

static __attribute__((noinline)) void s_lib_addr(struct io_uring_kmbuf *kb)
{
	SECTION("lib-addr", {
		void *b = io_uring_kmbuf_addr(kb, bids[i]);
		sink(b);
	});
}

static __attribute__((noinline)) void s_raw_recycle(struct app_pbuf *p)
{
	SECTION("raw-recycle", {
		unsigned int bid = bids[i];

		io_uring_buf_ring_add(p->br, p->bufs + (size_t)bid * p->buf_size,
				      p->buf_size, (unsigned short)bid, p->mask, 0);
		io_uring_buf_ring_advance(p->br, 1);
	});
}

static __attribute__((noinline)) void s_lib_recycle(struct io_uring_kmbuf *kb)
{
	SECTION("lib-recycle", {
		int r = io_uring_kmbuf_recycle(kb, bids[i]);
		sink(r);
	});
}

/* the whole completion: decode, address, recycle */
static __attribute__((noinline)) void s_raw_cqe(struct app_pbuf *p)
{
	SECTION("raw-completion", {
		const struct io_uring_cqe *c = &cqes[i];

		if (c->flags & IORING_CQE_F_BUFFER) {
			unsigned int bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
			char *b = p->bufs + (size_t)bid * p->buf_size;

			sink(b);
			io_uring_buf_ring_add(p->br, b, p->buf_size,
					      (unsigned short)bid, p->mask, 0);
			io_uring_buf_ring_advance(p->br, 1);
		}
	});
}

static __attribute__((noinline)) void s_lib_cqe(struct io_uring_kmbuf *kb)
{
	SECTION("lib-completion", {
		unsigned int bid;
		void *b = io_uring_kmbuf_cqe_buf(kb, &cqes[i], &bid);

		if (b) {
			sink(b);
			io_uring_kmbuf_recycle(kb, bid);
		}
	});
}

/*
 * Give a completion's buffer back and mark it seen. The CQ head written
 * is a stand-in (see main), so the real ring is never touched.
 */
static __attribute__((noinline)) void s_raw_seen(struct app_pbuf *p,
						 struct io_uring *ring)
{
	SECTION("raw-seen", {
		struct io_uring_cqe *c = &cqes[i];

		if (c->flags & IORING_CQE_F_BUFFER) {
			unsigned int bid = c->flags >> IORING_CQE_BUFFER_SHIFT;

			io_uring_buf_ring_add(p->br,
					      p->bufs + (size_t)bid * p->buf_size,
					      p->buf_size, (unsigned short)bid,
					      p->mask, 0);
			io_uring_buf_ring_advance(p->br, 1);
		}
		io_uring_cqe_seen(ring, c);
	});
}

static __attribute__((noinline)) void s_lib_seen(struct io_uring_kmbuf *kb)
{
	SECTION("lib-seen", {
		int r = io_uring_kmbuf_cqe_seen(kb, &cqes[i]);
		sink(r);
	});
}

int main(void)
{
	struct io_uring_buf_ring *br;
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	struct io_uring fake_ring;
	unsigned int fake_head = 0;
	struct app_pbuf p;
	unsigned int i;
	int err;

	err = io_uring_queue_init(8, &ring, 0);
	if (err) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-err));
		return 1;
	}
	kb = io_uring_kmbuf_setup(&ring, NENTRIES, BUF_SIZE, BGID, 0, &err);
	if (!kb) {
		fprintf(stderr, "io_uring_kmbuf_setup: %s\n", strerror(-err));
		return 1;
	}
	/*
	 * The raw side writes a ring of its own, not registered: only the
	 * userspace instructions are counted, and the kernel never looks.
	 */
	br = aligned_alloc(4096, 4096);
	p.bufs = aligned_alloc(4096, (size_t)NENTRIES * BUF_SIZE);
	if (!br || !p.bufs)
		return 1;
	io_uring_buf_ring_init(br);
	p.br = br;
	p.buf_size = BUF_SIZE;
	p.mask = NENTRIES - 1;
	srand(1);
	for (i = 0; i < NCQE; i++) {
		bids[i] = (unsigned int)rand() % NENTRIES;
		cqes[i].res = BUF_SIZE;
		cqes[i].flags = IORING_CQE_F_BUFFER |
				(bids[i] << IORING_CQE_BUFFER_SHIFT);
	}
	/* both variants must agree */
	for (i = 0; i < NCQE; i++) {
		unsigned int bid = 0;
		char *lib = io_uring_kmbuf_cqe_buf(kb, &cqes[i], &bid);

		if (bid != bids[i] ||
		    lib != (char *)kb->base + (size_t)bids[i] * BUF_SIZE) {
			fprintf(stderr, "mismatch at %u\n", i);
			return 1;
		}
	}
	s_empty();
	s_raw_decode();
	s_lib_decode();
	s_raw_addr(&p);
	s_lib_addr(kb);
	s_raw_recycle(&p);
	s_lib_recycle(kb);
	s_raw_cqe(&p);
	s_lib_cqe(kb);
	/* cqe_seen moves a CQ head: let both sides move one of their own */
	fake_ring = ring;
	fake_ring.cq.khead = &fake_head;
	kb->ring = &fake_ring;
	s_raw_seen(&p, &fake_ring);
	s_lib_seen(kb);
	kb->ring = &ring;
	printf("hotpath: %d iterations per section, backend %s\n", ITERS,
	       io_uring_kmbuf_backend_name(io_uring_kmbuf_backend(kb)));
	io_uring_kmbuf_free(kb);
	io_uring_queue_exit(&ring);
	free(p.bufs);
	free(br);
	return 0;
}
