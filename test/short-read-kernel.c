/* SPDX-License-Identifier: MIT */
/*
 * Description: a short read from a pollable regular file (procfs) into a
 * kmbuf buffer. Such a read is retried for the rest (regular files are
 * read in full), and the retry goes through poll; the data of the first
 * part is in the buffer already, so the buffer must go with the request:
 *  - a read alone: its CQE names the buffer that holds the data, and
 *    reads after it (from a pipe) go to other buffers or, with
 *    IOU_PBUF_RING_INC, after what the CQEs said was consumed;
 *  - a read and a pipe read submitted together: the pipe read must not get
 *    the buffer the file read has filled (both CQEs' data checked);
 *  - IORING_OP_READ_MULTISHOT of the file: a CQE with the file's contents
 *    in its buffer, then the end of file.
 * Each case runs on a plain kmbuf ring and on one with IOU_PBUF_RING_INC;
 * data, bids, res, IORING_CQE_F_BUF_MORE and the offsets are checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "helpers.h"

#define BGID		7
#define NBUFS		4
#define BUF_SIZE	16384U
#define PROC_FILE	"/proc/version"

struct grp {
	struct io_uring *ring;
	char *bufs;
	struct io_uring_buf_ring *br;
	bool inc;
	/* what userspace tracks: the offset of the next data, per bid */
	unsigned int off[NBUFS];
	/* a CQE without BUF_MORE gave the bid back to us */
	bool ours[NBUFS];
};

static char file_data[BUF_SIZE];
static size_t file_len;

static void grp_setup(struct grp *g, struct io_uring *ring, bool inc)
{
	struct io_uring_kmbuf_reg r;
	int ret;

	memset(g, 0, sizeof(*g));
	g->ring = ring;
	g->inc = inc;
	memset(&r, 0, sizeof(r));
	r.buf_size = BUF_SIZE;
	r.ring_entries = NBUFS;
	r.bgid = BGID;
	r.flags = inc ? IOU_PBUF_RING_INC : 0;
	ret = io_uring_register_kmbuf_ring(ring, &r, 0);
	if (ret)
		t_fail("register (inc %d): %s", inc, strerror(-ret));
	g->bufs = io_uring_mmap_kmbuf_bufs(ring, BGID,
					   (size_t) NBUFS * BUF_SIZE,
					   PROT_READ, &ret);
	if (!g->bufs)
		t_fail("mmap bufs: %s", strerror(-ret));
	g->br = io_uring_mmap_kmbuf_ring(ring, BGID, NBUFS, &ret);
	if (!g->br)
		t_fail("mmap ring: %s", strerror(-ret));
}

static void grp_free(struct grp *g)
{
	size_t page = t_page_size();

	T_EXPECT(io_uring_unregister_kmbuf_ring(g->ring, BGID), 0);
	T_EXPECT(io_uring_munmap_kmbuf(g->bufs, (size_t) NBUFS * BUF_SIZE), 0);
	T_EXPECT(io_uring_munmap_kmbuf(g->br, (NBUFS *
				       sizeof(struct io_uring_buf) + page - 1) &
				       ~(page - 1)), 0);
}

static void prep_read(struct io_uring *ring, int op, int fd, __u64 ud)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);

	/* length 0: the rest of the buffer; READ_MULTISHOT wants 0 too */
	io_uring_prep_read(sqe, fd, NULL, 0, 0);
	sqe->opcode = (__u8) op;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	sqe->user_data = ud;
}

/*
 * A CQE of 'len' bytes that must be 'want': in the named buffer, at the
 * offset userspace tracks for it; the bid must still be the kernel's.
 */
static void check_cqe(struct grp *g, const struct io_uring_cqe *cqe,
		      const char *want, size_t len, const char *what)
{
	unsigned int bid;
	const char *p;

	if (cqe->res < 0)
		t_fail("%s: CQE res %s", what, strerror(-cqe->res));
	if ((size_t) cqe->res != len)
		t_fail("%s: CQE res %d, want %zu", what, cqe->res, len);
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		t_fail("%s: CQE without IORING_CQE_F_BUFFER", what);
	bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	if (bid >= NBUFS)
		t_fail("%s: bid %u out of range", what, bid);
	if (g->ours[bid])
		t_fail("%s: bid %u was given back by an earlier CQE", what,
		       bid);
	if (!g->inc && (cqe->flags & IORING_CQE_F_BUF_MORE))
		t_fail("%s: IORING_CQE_F_BUF_MORE without INC", what);
	T_ASSERT(g->off[bid] + len <= BUF_SIZE);
	p = g->bufs + (size_t) bid * BUF_SIZE + g->off[bid];
	if (memcmp(p, want, len))
		t_fail("%s: bid %u at offset %u does not hold the %zu bytes "
		       "read (starts with \"%.12s\", want \"%.12s\")", what,
		       bid, g->off[bid], len, p, want);
	g->off[bid] += (unsigned int) len;
	if (!(cqe->flags & IORING_CQE_F_BUF_MORE))
		g->ours[bid] = true;
}

/* a pipe read of a few bytes after the file: where does it land? */
static void pipe_after(struct grp *g)
{
	struct io_uring_cqe cqe;
	int fds[2];

	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	t_write_all(fds[1], "after-pipe", 10);
	prep_read(g->ring, IORING_OP_READ, fds[0], 9);
	t_submit(g->ring, 1);
	t_wait_cqe(g->ring, &cqe);
	check_cqe(g, &cqe, "after-pipe", 10, "pipe read after the file");
	close(fds[0]);
	close(fds[1]);
}

static int open_proc_file(void)
{
	int fd = open(PROC_FILE, O_RDONLY);

	if (fd < 0)
		t_fail("open %s: %s", PROC_FILE, strerror(errno));
	return fd;
}

/* Read the file with 'op' through the group, alone; check the first CQE */
static void file_read(struct grp *g, int op, int fd, const char *what,
		      struct io_uring_cqe *cqe)
{
	prep_read(g->ring, op, fd, 1);
	t_submit(g->ring, 1);
	t_wait_cqe(g->ring, cqe);
	check_cqe(g, cqe, file_data, file_len, what);
}

static void test_alone(struct io_uring *ring, bool inc)
{
	struct io_uring_cqe cqe;
	struct grp g;
	int fd = open_proc_file();

	grp_setup(&g, ring, inc);
	file_read(&g, IORING_OP_READ, fd, "file read alone", &cqe);
	pipe_after(&g);
	close(fd);
	grp_free(&g);
	printf("short file read alone (inc %d): ok\n", inc);
}

static void test_with_pipe(struct io_uring *ring, bool inc)
{
	struct io_uring_cqe cqe;
	struct grp g;
	int fds[2], i, fd = open_proc_file();

	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	grp_setup(&g, ring, inc);
	t_write_all(fds[1], "0123456789", 10);
	prep_read(ring, IORING_OP_READ, fd, 1);
	prep_read(ring, IORING_OP_READ, fds[0], 2);
	t_submit(ring, 2);
	for (i = 0; i < 2; i++) {
		t_wait_cqe(ring, &cqe);
		if (cqe.user_data == 1)
			check_cqe(&g, &cqe, file_data, file_len,
				  "file read with a pipe read");
		else
			check_cqe(&g, &cqe, "0123456789", 10,
				  "pipe read with a file read");
	}
	pipe_after(&g);
	close(fds[0]);
	close(fds[1]);
	close(fd);
	grp_free(&g);
	printf("short file read with a pipe read (inc %d): ok\n", inc);
}

static void test_multishot(struct io_uring *ring, bool inc)
{
	struct io_uring_cqe cqe;
	struct grp g;
	int fd = open_proc_file();

	grp_setup(&g, ring, inc);
	file_read(&g, IORING_OP_READ_MULTISHOT, fd, "multishot file read",
		  &cqe);
	if (!(cqe.flags & IORING_CQE_F_MORE))
		t_fail("multishot file read: first CQE ends it");
	/* end of file: the last CQE, no buffer */
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, 0);
	T_EXPECT(cqe.flags & (IORING_CQE_F_MORE | IORING_CQE_F_BUFFER), 0);
	pipe_after(&g);
	close(fd);
	grp_free(&g);
	printf("multishot short file read (inc %d): ok\n", inc);
}

int main(void)
{
	struct io_uring ring;
	int inc;

	t_init();
	t_require_kmbuf_kernel();
	file_len = t_read_short_file(PROC_FILE, file_data, sizeof(file_data));
	t_ring_init(&ring, 8);
	for (inc = 0; inc < 2; inc++) {
		test_alone(&ring, inc);
		test_with_pipe(&ring, inc);
		test_multishot(&ring, inc);
	}
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
