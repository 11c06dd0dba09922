/* SPDX-License-Identifier: MIT */
/*
 * Description: IORING_OP_READ_MULTISHOT of a procfs file with IOSQE_ASYNC.
 * io-wq runs a multishot read of a file that is neither O_NONBLOCK nor
 * FMODE_NOWAIT as a single read, and a selection from io-wq takes the
 * ring buffer out of the ring at once. The buffer must then come back
 * with a CQE:
 *  - a short read (procfs files are pollable regular files): the CQEs
 *    hold the file's bytes, in the buffers they name;
 *  - a read at the end of file: res 0, and if the buffer left the ring,
 *    the CQE names it.
 * Checked on a kmbuf ring, a kmbuf ring with IOU_PBUF_RING_INC and a plain
 * pbuf ring: data, bids, res, and that the kernel's ring head moved by
 * exactly the number of buffers the CQEs gave back (none went missing).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "helpers.h"

#define BGID		9
#define NBUFS		4
#define BUF_SIZE	16384U
#define PROC_FILE	"/proc/version"

enum kind { KMBUF, KMBUF_INC, PBUF, NR_KINDS };

static const char *const kind_name[NR_KINDS] = {
	"kmbuf", "kmbuf+INC", "pbuf"
};

struct grp {
	struct io_uring *ring;
	enum kind kind;
	char *bufs;
	struct io_uring_buf_ring *br;
	/* userspace's view: offset of the next data, per bid */
	unsigned int off[NBUFS];
	/* buffers given back by a CQE without IORING_CQE_F_BUF_MORE */
	unsigned int retired;
};

static char file_data[BUF_SIZE];
static size_t file_len;

static void grp_setup(struct grp *g, struct io_uring *ring, enum kind kind)
{
	int ret, i;

	memset(g, 0, sizeof(*g));
	g->ring = ring;
	g->kind = kind;
	if (kind == PBUF) {
		g->bufs = mmap(NULL, (size_t) NBUFS * BUF_SIZE,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (g->bufs == MAP_FAILED)
			t_fail("mmap: %s", strerror(errno));
		g->br = t_pbuf_ring_setup(ring, NBUFS, BGID);
		for (i = 0; i < NBUFS; i++)
			io_uring_buf_ring_add(g->br, g->bufs + i * BUF_SIZE,
					      BUF_SIZE, (unsigned short) i,
					      io_uring_buf_ring_mask(NBUFS),
					      i);
		io_uring_buf_ring_advance(g->br, NBUFS);
	} else {
		struct io_uring_kmbuf_reg r;

		memset(&r, 0, sizeof(r));
		r.buf_size = BUF_SIZE;
		r.ring_entries = NBUFS;
		r.bgid = BGID;
		r.flags = kind == KMBUF_INC ? IOU_PBUF_RING_INC : 0;
		ret = io_uring_register_kmbuf_ring(ring, &r, 0);
		if (ret)
			t_fail("register %s: %s", kind_name[kind],
			       strerror(-ret));
		g->bufs = io_uring_mmap_kmbuf_bufs(ring, BGID,
						   (size_t) NBUFS * BUF_SIZE,
						   PROT_READ, &ret);
		if (!g->bufs)
			t_fail("mmap bufs: %s", strerror(-ret));
	}
	T_EXPECT(t_ring_head(ring, BGID), 0);
}

static void grp_free(struct grp *g)
{
	if (g->kind == PBUF) {
		t_pbuf_ring_free(g->ring, g->br, NBUFS, BGID);
		T_EXPECT(munmap(g->bufs, (size_t) NBUFS * BUF_SIZE), 0);
		return;
	}
	T_EXPECT(io_uring_unregister_kmbuf_ring(g->ring, BGID), 0);
	T_EXPECT(io_uring_munmap_kmbuf(g->bufs, (size_t) NBUFS * BUF_SIZE), 0);
}

/*
 * Submit the multishot read at 'pos' through io-wq and gather its CQEs up
 * to the one without IORING_CQE_F_MORE; the data must be the file's from
 * 'pos' on, in the buffers the CQEs name.
 */
static void run_case(struct grp *g, size_t pos, const char *what)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	size_t got = 0;
	int fd, ncqe = 0;

	fd = open(PROC_FILE, O_RDONLY);
	if (fd < 0)
		t_fail("open %s: %s", PROC_FILE, strerror(errno));
	sqe = t_get_sqe(g->ring);
	io_uring_prep_read(sqe, fd, NULL, 0, pos);
	sqe->opcode = IORING_OP_READ_MULTISHOT;
	sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_ASYNC;
	sqe->buf_group = BGID;
	sqe->user_data = 1;
	t_submit(g->ring, 1);
	do {
		unsigned int bid;
		const char *p;

		t_wait_cqe(g->ring, &cqe);
		if (++ncqe > 16)
			t_fail("%s, %s: more than 16 CQEs", kind_name[g->kind],
			       what);
		T_EXPECT(cqe.user_data, 1);
		if (cqe.res < 0)
			t_fail("%s, %s: CQE res %s", kind_name[g->kind], what,
			       strerror(-cqe.res));
		if (!(cqe.flags & IORING_CQE_F_BUFFER)) {
			if (cqe.res)
				t_fail("%s, %s: CQE res %d without a buffer",
				       kind_name[g->kind], what, cqe.res);
			continue;
		}
		bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
		if (bid >= NBUFS)
			t_fail("%s, %s: bid %u", kind_name[g->kind], what, bid);
		if (g->kind != KMBUF_INC &&
		    (cqe.flags & IORING_CQE_F_BUF_MORE))
			t_fail("%s, %s: IORING_CQE_F_BUF_MORE without INC",
			       kind_name[g->kind], what);
		if (got + (size_t) cqe.res > file_len - pos ||
		    g->off[bid] + (size_t) cqe.res > BUF_SIZE)
			t_fail("%s, %s: CQE res %d, %zu of %zu bytes seen",
			       kind_name[g->kind], what, cqe.res, got,
			       file_len - pos);
		p = g->bufs + (size_t) bid * BUF_SIZE + g->off[bid];
		if (memcmp(p, file_data + pos + got, (size_t) cqe.res))
			t_fail("%s, %s: bid %u at offset %u does not hold the "
			       "%d bytes read", kind_name[g->kind], what, bid,
			       g->off[bid], cqe.res);
		got += (size_t) cqe.res;
		g->off[bid] += (unsigned int) cqe.res;
		if (!(cqe.flags & IORING_CQE_F_BUF_MORE)) {
			g->retired++;
			g->off[bid] = 0;
		}
	} while (cqe.flags & IORING_CQE_F_MORE);
	if (got != file_len - pos)
		t_fail("%s, %s: the CQEs hold %zu bytes of the file, want %zu",
		       kind_name[g->kind], what, got, file_len - pos);
	/* every buffer out of the ring was given back by a CQE */
	if (t_ring_head(g->ring, BGID) != g->retired)
		t_fail("%s, %s: the ring head moved by %u, but CQEs gave back "
		       "%u buffers", kind_name[g->kind], what,
		       t_ring_head(g->ring, BGID), g->retired);
	close(fd);
	printf("%s, %s: ok (%d CQEs)\n", kind_name[g->kind], what, ncqe);
}

int main(void)
{
	struct io_uring ring;
	struct grp g;
	int k;

	t_init();
	t_require_kmbuf_kernel();
	file_len = t_read_short_file(PROC_FILE, file_data, sizeof(file_data));
	t_ring_init(&ring, 8);
	for (k = 0; k < NR_KINDS; k++) {
		grp_setup(&g, &ring, (enum kind) k);
		run_case(&g, 0, "short read");
		grp_free(&g);
		grp_setup(&g, &ring, (enum kind) k);
		run_case(&g, file_len, "read at end of file");
		grp_free(&g);
	}
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
