/* SPDX-License-Identifier: MIT */
/*
 * Description: requests that cannot use a kmbuf group are refused with
 * EINVAL before the ring is looked at (KMBUF-ABI.md section 3.4): on an
 * EMPTY ring too, where anything else would turn the refusal into ENOBUFS
 * and make a multishot request look merely out of buffers. Covered:
 * RECVMSG, multishot RECVMSG, RECV with IORING_RECVSEND_BUNDLE, and a READ
 * of a file without ->read_iter (an inotify descriptor). Each one, on an
 * empty and on a full ring, completes with -EINVAL, no buffer flag, no
 * IORING_CQE_F_MORE, the kernel's head where it was, and its data left
 * where it was (socket, inotify queue).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "helpers.h"

#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE	(1U << 4)
#endif

#define BGID		9
#define NR_BUFS		2

enum op { OP_RECVMSG, OP_RECVMSG_MSHOT, OP_RECV_BUNDLE, OP_READ_NO_ITER };

static const char *op_name(enum op op)
{
	switch (op) {
	case OP_RECVMSG:	return "RECVMSG";
	case OP_RECVMSG_MSHOT:	return "multishot RECVMSG";
	case OP_RECV_BUNDLE:	return "RECV with IORING_RECVSEND_BUNDLE";
	case OP_READ_NO_ITER:	return "READ of an inotify fd (no ->read_iter)";
	}
	return "?";
}

/* Take every buffer of the group with reads of a regular file */
static void drain(struct io_uring *ring, struct io_uring_kmbuf *kb)
{
	struct io_uring_cqe cqe;
	unsigned int i;
	int fd = t_create_file(64, 3);

	for (i = 0; i < kb->nentries; i++) {
		struct io_uring_sqe *sqe = t_get_sqe(ring);

		io_uring_prep_read(sqe, fd, NULL, 64, 0);
		io_uring_kmbuf_prep_select(sqe, kb);
		t_submit(ring, 1);
		t_wait_cqe(ring, &cqe);
		T_EXPECT(cqe.res, 64);
		T_EXPECT(io_uring_kmbuf_cqe_bid(&cqe), i);
	}
	close(fd);
}

struct target {
	int sv[2];		/* TCP pair; 8 bytes pending on sv[1] */
	int ifd;		/* inotify fd with one event pending */
	char dir[64];
	struct msghdr msg;
};

static void target_setup(struct target *t)
{
	char path[96];
	int fd;

	t_tcp_pair(t->sv);
	T_EXPECT(send(t->sv[0], "kmbuf-12", 8, 0), 8);
	snprintf(t->dir, sizeof(t->dir), "%s/kmbuf-inotify.%d",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int) getpid());
	if (mkdir(t->dir, 0700))
		t_fail("mkdir %s: %s", t->dir, strerror(errno));
	t->ifd = inotify_init1(IN_CLOEXEC);
	if (t->ifd < 0)
		t_fail("inotify_init1: %s", strerror(errno));
	if (inotify_add_watch(t->ifd, t->dir, IN_CREATE) < 0)
		t_fail("inotify_add_watch: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/f", t->dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		t_fail("open %s: %s", path, strerror(errno));
	close(fd);
	unlink(path);
	memset(&t->msg, 0, sizeof(t->msg));
}

/* The data the refused requests did not take is still there */
static void target_check_free(struct target *t)
{
	struct inotify_event *ev;
	char buf[512];
	ssize_t n;

	n = recv(t->sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	T_EXPECT(n, 8);
	T_ASSERT(!memcmp(buf, "kmbuf-12", 8));
	n = read(t->ifd, buf, sizeof(buf));
	T_ASSERT(n >= (ssize_t) sizeof(*ev));
	ev = (struct inotify_event *) buf;
	T_ASSERT(ev->mask & IN_CREATE);
	T_ASSERT(ev->len && !strcmp(ev->name, "f"));
	close(t->sv[0]);
	close(t->sv[1]);
	close(t->ifd);
	rmdir(t->dir);
}

static void prep(struct io_uring_sqe *sqe, enum op op, struct target *t)
{
	switch (op) {
	case OP_RECVMSG:
		io_uring_prep_recvmsg(sqe, t->sv[1], &t->msg, 0);
		break;
	case OP_RECVMSG_MSHOT:
		io_uring_prep_recvmsg_multishot(sqe, t->sv[1], &t->msg, 0);
		break;
	case OP_RECV_BUNDLE:
		io_uring_prep_recv(sqe, t->sv[1], NULL, 0, 0);
		sqe->ioprio |= IORING_RECVSEND_BUNDLE;
		break;
	case OP_READ_NO_ITER:
		io_uring_prep_read(sqe, t->ifd, NULL, 0, 0);
		break;
	}
}

static void check_refused(struct io_uring *ring, struct io_uring_kmbuf *kb,
			  enum op op, struct target *t, bool empty,
			  unsigned int sqe_flags)
{
	unsigned int head = t_ring_head(ring, BGID);
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;

	prep(sqe, op, t);
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->flags |= sqe_flags;
	sqe->user_data = 0x1234;
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.user_data, 0x1234);
	if (cqe.res != -EINVAL)
		t_fail("%s%s on %s kmbuf ring: got %d (%s), want -EINVAL",
		       op_name(op), sqe_flags & IOSQE_ASYNC ? " (async)" : "",
		       empty ? "an empty" : "a full", cqe.res,
		       cqe.res < 0 ? strerror(-cqe.res) : "data");
	T_EXPECT(cqe.flags & (IORING_CQE_F_BUFFER | IORING_CQE_F_MORE), 0);
	T_EXPECT(t_ring_head(ring, BGID), head);
}

int main(void)
{
	static const enum op ops[] = {
		OP_RECVMSG, OP_RECVMSG_MSHOT, OP_RECV_BUNDLE, OP_READ_NO_ITER,
	};
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	struct target t;
	unsigned int i, pass;

	t_init();
	t_require_kmbuf_kernel();
	t_ring_init(&ring, 8);
	for (pass = 0; pass < 4; pass++) {
		bool empty = pass & 1;
		unsigned int flags = pass & 2 ? IOSQE_ASYNC : 0;

		kb = t_kb_setup(&ring, T_BACKEND_KERNEL, NR_BUFS,
				t_page_size(), BGID);
		if (empty)
			drain(&ring, kb);
		target_setup(&t);
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			check_refused(&ring, kb, ops[i], &t, empty, flags);
		target_check_free(&t);
		/* nothing was taken: a full ring still has all its buffers */
		T_EXPECT(t_ring_head(&ring, BGID), empty ? NR_BUFS : 0);
		T_EXPECT(io_uring_kmbuf_free(kb), 0);
	}
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
