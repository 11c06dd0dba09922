/* SPDX-License-Identifier: MIT */
#ifndef LIBURING_KMBUF_H
#define LIBURING_KMBUF_H

/*
 * liburing-kmbuf: kernel-managed buffer rings for liburing.
 *
 * A kernel-managed buffer ring (kmbuf ring) is a provided-buffer group
 * whose buffers are allocated by the kernel and mapped by the application.
 * Reads and receives submitted with IOSQE_BUFFER_SELECT land in the next
 * free buffer and the CQE carries its buffer id (bid). The application
 * hands a buffer back by its bid once it has consumed the data.
 *
 * Every function returns 0, a count, or -errno, and never sets errno.
 * Functions that return a pointer report failure through 'int *err'.
 */

/*
 * liburing.h declares things that strict ISO C hides (sigset_t, siginfo_t,
 * idtype_t, AT_FDCWD: POSIX.1-2008). liburing 2.3 asks for them itself,
 * 2.15 does not. So under -std=c99/-std=c11, when the program has not
 * chosen a feature set, ask for POSIX.1-2008 here; and include liburing.h
 * before any libc header, since feature macros only work ahead of the
 * first one. Then this header compiles on its own.
 */
#if defined(__STRICT_ANSI__) && !defined(__cplusplus) && \
	!defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && \
	!defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) && \
	!defined(_BSD_SOURCE) && !defined(_SVID_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <liburing.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Version of this header. IO_URING_KMBUF_CHECK_VERSION(major, minor) is
 * true when the header is that version or newer, so that code can be built
 * against older headers too:
 *	#if IO_URING_KMBUF_CHECK_VERSION(1, 1)
 * io_uring_kmbuf_check_version() asks the same of the library that is
 * loaded at run time.
 */
#define IO_URING_KMBUF_VERSION_MAJOR	1
#define IO_URING_KMBUF_VERSION_MINOR	1
#define IO_URING_KMBUF_CHECK_VERSION(major, minor)			\
	(IO_URING_KMBUF_VERSION_MAJOR > (major) ||			\
	 (IO_URING_KMBUF_VERSION_MAJOR == (major) &&			\
	  IO_URING_KMBUF_VERSION_MINOR >= (minor)))

/*
 * uapi values that older kernel/liburing headers lack.
 */
#ifndef IORING_REGISTER_KMBUF_RING
#define IORING_REGISTER_KMBUF_RING	38
#endif
#ifndef IORING_UNREGISTER_KMBUF_RING
#define IORING_UNREGISTER_KMBUF_RING	39
#endif
#ifndef IORING_OFF_KMBUF_RING
#define IORING_OFF_KMBUF_RING		0x88000000ULL
#endif
#ifndef IORING_OFF_KMBUF_SHIFT
#define IORING_OFF_KMBUF_SHIFT		16
#endif
#ifndef IORING_OFF_PBUF_SHIFT
#define IORING_OFF_PBUF_SHIFT		16
#endif
/*
 * IOU_PBUF_RING_MMAP is an enumerator in headers that have it, so it
 * cannot be tested with #ifndef itself. It arrived together with
 * IORING_OFF_PBUF_RING (Linux 6.4, liburing 2.4), which is a macro.
 */
/*
 * IORING_OP_READ_MULTISHOT (Linux 6.7) is an enumerator too; liburing has
 * it from 2.5 on, which is also the first release with version macros.
 */
#if !defined(IO_URING_VERSION_MAJOR) || \
    (IO_URING_VERSION_MAJOR == 2 && IO_URING_VERSION_MINOR < 5)
#ifndef IORING_OP_READ_MULTISHOT
#define IORING_OP_READ_MULTISHOT	49
#endif
#endif
/* Bundled send and receive (Linux 6.10, liburing 2.7) */
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE		(1U << 4)
#endif
/*
 * Incremental buffer consumption (Linux 6.12, liburing 2.8): the
 * IOU_PBUF_RING_INC enumerator came with the IORING_CQE_F_BUF_MORE macro.
 */
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE		(1U << 4)
#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC		2
#endif
#endif
#ifndef IORING_OFF_PBUF_RING
#define IORING_OFF_PBUF_RING		0x80000000ULL
#ifndef IOU_PBUF_RING_MMAP
#define IOU_PBUF_RING_MMAP		1
#endif
#endif

/* Limits of the kmbuf ABI */
#define IO_URING_KMBUF_MAX_ENTRIES	32768U
/* The mmap offset holds the bgid in bits 16..26 */
#define IO_URING_KMBUF_MAX_BGID		2047

/*
 * Argument of IORING_(UN)REGISTER_KMBUF_RING: io_uring_buf_reg with
 * ring_addr replaced by a union that carries the buffer size. Always set
 * buf_size through its own member: on big-endian machines it does not
 * share its bytes with the low half of ring_addr.
 */
struct io_uring_kmbuf_reg {
	/* __extension__: an unnamed union is C11, and this is the uapi layout */
	__extension__ union {
		__u64	ring_addr;
		__u32	buf_size;
	};
	__u32	ring_entries;
	__u16	bgid;
	__u16	flags;
	__u64	resv[3];
};

/* Which implementation backs a handle */
enum io_uring_kmbuf_backend {
	IO_URING_KMBUF_BACKEND_NONE	= 0,
	/* buffers allocated by the kernel (IORING_REGISTER_KMBUF_RING) */
	IO_URING_KMBUF_BACKEND_KERNEL	= 1,
	/* buffers allocated by the library, registered as a pbuf ring */
	IO_URING_KMBUF_BACKEND_EMULATED	= 2
};

/* io_uring_kmbuf_setup() flags */
enum {
	/* fail with -EOPNOTSUPP instead of emulating */
	IO_URING_KMBUF_NO_EMULATION	= 1U << 0,
	/* use the emulated backend even if the kernel supports kmbuf */
	IO_URING_KMBUF_FORCE_EMULATION	= 1U << 1,
	/* emulated backend: back the buffers with huge pages if possible */
	IO_URING_KMBUF_HUGE_PAGES	= 1U << 2,
	/* track which bids the application holds; refuse other recycles */
	IO_URING_KMBUF_CHECK_OWNER	= 1U << 3,
	/* let one buffer take the data of several completions */
	IO_URING_KMBUF_INCREMENTAL	= 1U << 4
};

/*
 * Environment variable read by io_uring_kmbuf_setup(): "kernel" acts as
 * IO_URING_KMBUF_NO_EMULATION, "emulated" as IO_URING_KMBUF_FORCE_EMULATION,
 * "auto" or unset leaves the choice to the flags.
 */
#define IO_URING_KMBUF_ENV		"LIBURING_KMBUF_BACKEND"

/*
 * A buffer group set up by io_uring_kmbuf_setup(). The fields are public
 * so the hot-path helpers below can be inlined; treat them as read-only.
 */
struct io_uring_kmbuf {
	struct io_uring_buf_ring *br;	/* ring entries, for recycling */
	void *base;			/* buffer 'bid' is at base + bid * buf_size */
	unsigned int buf_size;
	unsigned int nentries;
	unsigned int mask;		/* nentries - 1 */
	unsigned short bgid;
	unsigned char backend;		/* enum io_uring_kmbuf_backend */
	unsigned char flags;		/* library-internal */
	struct io_uring *ring;
	size_t area_size;		/* bytes mapped at 'base' */
	size_t ring_size;		/* bytes mapped at 'br' */
	/*
	 * Bids below fast_bids are recycled and decoded inline; any other bid
	 * goes through the library. It is nentries, or 0 with
	 * IO_URING_KMBUF_CHECK_OWNER or IO_URING_KMBUF_INCREMENTAL, which
	 * need the library for every bid.
	 */
	unsigned int fast_bids;
	/*
	 * Not 0 with IO_URING_KMBUF_INCREMENTAL: a request selecting from
	 * the group must ask for 0 bytes or at least this many (buf_size on
	 * the emulated backend, 1 on the kernel backend), and some requests
	 * are refused (see io_uring_kmbuf_prep_select(3)); 0: any request.
	 */
	unsigned int min_sel_len;
	void *track;			/* library-internal */
	unsigned long resv[2];
};

/*
 * Thin wrappers around the kernel ABI
 */
int io_uring_register_kmbuf_ring(struct io_uring *ring,
				 struct io_uring_kmbuf_reg *reg,
				 unsigned int flags);
int io_uring_unregister_kmbuf_ring(struct io_uring *ring, int bgid);
void *io_uring_mmap_kmbuf_bufs(struct io_uring *ring, int bgid, size_t len,
			       int prot, int *err);
struct io_uring_buf_ring *io_uring_mmap_kmbuf_ring(struct io_uring *ring,
						   int bgid,
						   unsigned int nentries,
						   int *err);
int io_uring_munmap_kmbuf(void *addr, size_t len);

/*
 * Compatibility with the kmbuf series' own userspace: register a group
 * with the kernel backend only and map its buffers.
 */
void *io_uring_setup_buf_ring_kernel_managed(struct io_uring *ring,
					     unsigned int buf_size,
					     unsigned int nentries, int bgid,
					     unsigned int flags, int *err);
int io_uring_free_buf_ring_kernel_managed(struct io_uring *ring, void *bufs,
					  unsigned int buf_size,
					  unsigned int nentries, int bgid);

/*
 * Handle API
 */
struct io_uring_kmbuf *io_uring_kmbuf_setup(struct io_uring *ring,
					    unsigned int nentries,
					    unsigned int buf_size, int bgid,
					    unsigned int flags, int *err);
int io_uring_kmbuf_free(struct io_uring_kmbuf *kb);
int io_uring_kmbuf_probe(void);
const char *io_uring_kmbuf_backend_name(int backend);

/* Version of the library loaded at run time */
int io_uring_kmbuf_major_version(void);
int io_uring_kmbuf_minor_version(void);
/* 1 if the loaded library is version major.minor or newer, else 0 */
int io_uring_kmbuf_check_version(int major, int minor);
int io_uring_kmbuf_available(const struct io_uring_kmbuf *kb);
int io_uring_kmbuf_held(const struct io_uring_kmbuf *kb, unsigned int *bids,
			unsigned int nr);
int io_uring_kmbuf_cq_advance(struct io_uring_kmbuf *kb, unsigned int nr);

/*
 * Out-of-line halves of the inline helpers below, for bids at or above
 * fast_bids (out of range, or a handle that checks ownership). Not for
 * direct use.
 */
void *__io_uring_kmbuf_claim(const struct io_uring_kmbuf *kb,
			     const __u32 *cqe_flags);
int __io_uring_kmbuf_add(struct io_uring_kmbuf *kb, unsigned int bid,
			 int offset);
int __io_uring_kmbuf_recycle_batch(struct io_uring_kmbuf *kb,
				   const unsigned int *bids, unsigned int nr);
int __io_uring_kmbuf_cqe_seen(struct io_uring_kmbuf *kb,
			      struct io_uring_cqe *cqe);

/* Address of buffer 'bid', or NULL if 'bid' is out of range */
static inline void *io_uring_kmbuf_addr(const struct io_uring_kmbuf *kb,
					unsigned int bid)
{
	if (bid >= kb->nentries)
		return NULL;
	return (char *) kb->base + (size_t) bid * kb->buf_size;
}

/* Buffer id a CQE reports, or -ENOBUFS if it carries no buffer */
static inline int io_uring_kmbuf_cqe_bid(const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return -ENOBUFS;
	return (int) (cqe->flags >> IORING_CQE_BUFFER_SHIFT);
}

/*
 * Buffer a CQE of this group points to, its bid in '*bid'; NULL if the CQE
 * carries no buffer (then '*bid' is left alone). 'kb' is const for the
 * fast path, but with IO_URING_KMBUF_CHECK_OWNER or
 * IO_URING_KMBUF_INCREMENTAL the call updates what the handle tracks: it
 * is not safe to run concurrently with other calls on the handle.
 */
static inline void *io_uring_kmbuf_cqe_buf(const struct io_uring_kmbuf *kb,
					   const struct io_uring_cqe *cqe,
					   unsigned int *bid)
{
	int ret = io_uring_kmbuf_cqe_bid(cqe);

	if (ret < 0)
		return NULL;
	if ((unsigned int) ret >= kb->fast_bids) {
		void *buf = __io_uring_kmbuf_claim(kb, &cqe->flags);

		if (buf)
			*bid = (unsigned int) ret;
		return buf;
	}
	*bid = (unsigned int) ret;
	return (char *) kb->base + (size_t) ret * kb->buf_size;
}

/* Write the ring entry of 'bid' in slot 'offset' past the tail, unchecked */
static inline void __io_uring_kmbuf_put(struct io_uring_kmbuf *kb,
					unsigned int bid, int offset)
{
	struct io_uring_buf *buf;

	buf = &kb->br->bufs[(kb->br->tail + (unsigned int) offset) & kb->mask];
	buf->addr = (__u64) (uintptr_t) kb->base +
		    (__u64) bid * kb->buf_size;
	buf->len = kb->buf_size;
	buf->bid = (__u16) bid;
}

/* Queue buffer 'bid' in slot 'offset' past the tail, without publishing */
static inline int io_uring_kmbuf_add(struct io_uring_kmbuf *kb,
				     unsigned int bid, int offset)
{
	if (bid >= kb->fast_bids)
		return __io_uring_kmbuf_add(kb, bid, offset);
	__io_uring_kmbuf_put(kb, bid, offset);
	return 0;
}

/* Publish 'count' buffers queued with io_uring_kmbuf_add() */
static inline void io_uring_kmbuf_advance(struct io_uring_kmbuf *kb,
					  unsigned int count)
{
	io_uring_buf_ring_advance(kb->br, (int) count);
}

/*
 * Give buffer 'bid' back to the group: 0, -EINVAL (out of range) or
 * -EALREADY (IO_URING_KMBUF_CHECK_OWNER, not held); nothing done on error.
 */
static inline int io_uring_kmbuf_recycle(struct io_uring_kmbuf *kb,
					 unsigned int bid)
{
	int ret = io_uring_kmbuf_add(kb, bid, 0);

	if (!ret)
		io_uring_kmbuf_advance(kb, 1);
	return ret;
}

/*
 * Give 'nr' buffers back with one tail update. Returns 'nr'; or, with
 * nothing recycled, -EINVAL if a bid is out of range or 'nr' exceeds the
 * ring, -EALREADY (IO_URING_KMBUF_CHECK_OWNER) if a bid is not held or
 * appears twice.
 */
static inline int io_uring_kmbuf_recycle_batch(struct io_uring_kmbuf *kb,
					       const unsigned int *bids,
					       unsigned int nr)
{
	unsigned int i;

	if (nr > kb->nentries)
		return -EINVAL;
	for (i = 0; i < nr; i++)
		if (bids[i] >= kb->fast_bids)
			return __io_uring_kmbuf_recycle_batch(kb, bids, nr);
	for (i = 0; i < nr; i++)
		__io_uring_kmbuf_put(kb, bids[i], (int) i);
	io_uring_kmbuf_advance(kb, nr);
	return (int) nr;
}

/*
 * Give back the buffer of 'cqe' (if it carries one) and mark the CQE seen.
 * The CQE must come from a request that selected from this group. Returns
 * 0, or -EINVAL (nothing done) if 'kb' is NULL or the bid is out of range.
 */
static inline int io_uring_kmbuf_cqe_seen(struct io_uring_kmbuf *kb,
					  struct io_uring_cqe *cqe)
{
	if (!kb)
		return -EINVAL;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		if (bid >= kb->fast_bids)
			return __io_uring_kmbuf_cqe_seen(kb, cqe);
		__io_uring_kmbuf_put(kb, bid, 0);
		io_uring_kmbuf_advance(kb, 1);
	}
	io_uring_cqe_seen(kb->ring, cqe);
	return 0;
}

/* Can an incremental group serve 'sqe'? Not for direct use. */
static inline int __io_uring_kmbuf_sel_check(const struct io_uring_sqe *sqe,
					     const struct io_uring_kmbuf *kb)
{
	bool recv = sqe->opcode == IORING_OP_RECV;

	/* its length is in the msghdr, and kmbuf rings refuse it anyway */
	if (sqe->opcode == IORING_OP_RECVMSG)
		return -EINVAL;
	if (sqe->len && sqe->len < kb->min_sel_len)
		return -EINVAL;
	/* a receive completed in parts: BUF_MORE and res don't match */
	if (recv && (sqe->msg_flags & MSG_WAITALL))
		return -EINVAL;
	/* one CQE for data spread over several buffers, from any offset */
	if ((sqe->opcode == IORING_OP_RECV || sqe->opcode == IORING_OP_SEND) &&
	    (sqe->ioprio & IORING_RECVSEND_BUNDLE))
		return -EINVAL;
	if (kb->backend != IO_URING_KMBUF_BACKEND_EMULATED)
		return 0;
	/* stock kernels count a truncated datagram's whole length */
	if (recv && (sqe->msg_flags & MSG_TRUNC))
		return -EINVAL;
	/* its length is in the iovec, where the length rule can't see it */
	if (sqe->opcode == IORING_OP_READV)
		return -EINVAL;
	return 0;
}

/*
 * Make 'sqe' pick its buffer from this group. Returns 0, or -EINVAL with
 * the SQE left as it was if it is a request the group cannot serve (see
 * min_sel_len).
 */
static inline int io_uring_kmbuf_prep_select(struct io_uring_sqe *sqe,
					     const struct io_uring_kmbuf *kb)
{
	if (kb->min_sel_len && __io_uring_kmbuf_sel_check(sqe, kb))
		return -EINVAL;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = kb->bgid;
	return 0;
}

/*
 * A multishot receive on 'sockfd' that takes a buffer of the group for every
 * completion. It ends (a CQE without IORING_CQE_F_MORE) with -ENOBUFS when
 * the group runs dry; arm it again once buffers are back. Returns 0, or
 * -EINVAL if io_uring_kmbuf_prep_select() refuses 'flags' for the group
 * (then the SQE holds a receive without buffer selection: don't submit).
 */
static inline int io_uring_kmbuf_prep_recv_multishot(struct io_uring_sqe *sqe,
						     const struct io_uring_kmbuf *kb,
						     int sockfd, int flags)
{
	io_uring_prep_recv(sqe, sockfd, NULL, 0, flags);
	sqe->ioprio |= IORING_RECV_MULTISHOT;
	return io_uring_kmbuf_prep_select(sqe, kb);
}

/* The same for IORING_OP_READ_MULTISHOT (Linux 6.7) on a pollable file */
static inline void io_uring_kmbuf_prep_read_multishot(struct io_uring_sqe *sqe,
						      const struct io_uring_kmbuf *kb,
						      int fd, __u64 offset)
{
	io_uring_prep_rw(IORING_OP_READ_MULTISHOT, sqe, fd, NULL, 0, offset);
	(void) io_uring_kmbuf_prep_select(sqe, kb);
}

/* Backend of a handle: enum io_uring_kmbuf_backend */
static inline int io_uring_kmbuf_backend(const struct io_uring_kmbuf *kb)
{
	return kb->backend;
}

#ifdef __cplusplus
}
#endif

#endif
