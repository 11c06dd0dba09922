/* SPDX-License-Identifier: MIT */
/*
 * kmbuf-cat: copy files to stdout, reading them through a kernel-managed
 * buffer ring. Several reads are kept in flight; each completion names the
 * buffer its data landed in, which is written out in file order and then
 * given back to the ring.
 *
 * usage: kmbuf-cat [-b buf_kib] [-n nr_bufs] [-q depth] file...
 * LIBURING_KMBUF_BACKEND=kernel|emulated picks the backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <liburing/kmbuf.h>

#define BGID	0

struct slot {
	unsigned long long off;	/* next byte this slot reads */
	unsigned long long end;	/* end of its chunk */
	unsigned int bid;
	int len;		/* -1 while the read is in flight */
};

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t ret = write(fd, p, len);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		p += ret;
		len -= (size_t) ret;
	}
	return 0;
}

static void queue_read(struct io_uring *ring, struct io_uring_kmbuf *kb,
		       int fd, struct slot *s, unsigned int idx)
{
	/* the SQ ring has a place for every slot, so this cannot fail */
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	s->len = -1;
	io_uring_prep_read(sqe, fd, NULL, (unsigned int) (s->end - s->off),
			   s->off);
	io_uring_kmbuf_prep_select(sqe, kb);
	io_uring_sqe_set_data64(sqe, idx);
}

/* Reap every completion that is ready; returns 0 or -errno */
static int reap(struct io_uring *ring, struct io_uring_kmbuf *kb,
		struct slot *slots, const char *path)
{
	struct io_uring_cqe *cqe;
	int ret = 0;

	while (!io_uring_peek_cqe(ring, &cqe)) {
		struct slot *s = &slots[io_uring_cqe_get_data64(cqe)];
		unsigned int bid;

		/* a failed read holds no buffer; it ends its slot */
		s->bid = io_uring_kmbuf_cqe_buf(kb, cqe, &bid) ? bid : ~0U;
		s->len = cqe->res > 0 ? cqe->res : 0;
		if (cqe->res < 0 && !ret) {
			ret = cqe->res;
			fprintf(stderr, "kmbuf-cat: %s: read: %s\n", path,
				strerror(-ret));
		}
		io_uring_cqe_seen(ring, cqe);
	}
	return ret;
}

static int cat_file(struct io_uring *ring, struct io_uring_kmbuf *kb,
		    const char *path, unsigned int depth)
{
	unsigned int head = 0, inflight = 0;
	unsigned long long size, next = 0;
	struct slot *slots;
	struct stat st;
	int fd, ret = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		fprintf(stderr, "kmbuf-cat: %s: %s\n", path, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	size = (unsigned long long) st.st_size;
	slots = calloc(depth, sizeof(*slots));
	if (!slots) {
		close(fd);
		return -ENOMEM;
	}

	/* slots form a queue in file order; write out from its head */
	while (next < size || inflight) {
		struct slot *s;
		int err;

		while (!ret && next < size && inflight < depth) {
			unsigned int idx = (head + inflight) % depth;

			s = &slots[idx];
			s->off = next;
			s->end = next + kb->buf_size < size ?
				 next + kb->buf_size : size;
			queue_read(ring, kb, fd, s, idx);
			next = s->end;
			inflight++;
		}
		err = io_uring_submit_and_wait(ring, 1);
		if (err < 0) {
			fprintf(stderr, "kmbuf-cat: submit: %s\n",
				strerror(-err));
			ret = err;
			break;
		}
		err = reap(ring, kb, slots, path);
		if (!ret)
			ret = err;

		while (inflight && (s = &slots[head])->len >= 0) {
			if (!ret && s->len) {
				ret = write_all(STDOUT_FILENO,
						io_uring_kmbuf_addr(kb, s->bid),
						(size_t) s->len);
				if (ret)
					fprintf(stderr, "kmbuf-cat: write: "
						"%s\n", strerror(-ret));
			}
			if (s->bid != ~0U)
				io_uring_kmbuf_recycle(kb, s->bid);
			s->off += (unsigned int) s->len;
			if (!ret && s->len && s->off < s->end) {
				/* short read: fetch the rest of the chunk */
				queue_read(ring, kb, fd, s, head);
				break;
			}
			head = (head + 1) % depth;
			inflight--;
		}
		/* on error, only wait for what is still in flight */
		if (ret)
			next = size;
	}
	free(slots);
	close(fd);
	return ret;
}

static unsigned int parse(const char *arg, const char *what)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || !v || v > 1U << 20) {
		fprintf(stderr, "kmbuf-cat: bad %s '%s'\n", what, arg);
		exit(2);
	}
	return (unsigned int) v;
}

int main(int argc, char *argv[])
{
	unsigned int buf_kib = 64, nr_bufs = 16, depth = 8;
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int opt, ret, i;

	while ((opt = getopt(argc, argv, "b:n:q:h")) != -1) {
		switch (opt) {
		case 'b':
			buf_kib = parse(optarg, "buffer size");
			break;
		case 'n':
			nr_bufs = parse(optarg, "buffer count");
			break;
		case 'q':
			depth = parse(optarg, "queue depth");
			break;
		default:
			fprintf(stderr, "usage: %s [-b buf_kib] [-n nr_bufs] "
				"[-q depth] file...\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "kmbuf-cat: no file given\n");
		return 2;
	}
	if (depth > nr_bufs) {
		fprintf(stderr, "kmbuf-cat: queue depth %u exceeds the %u "
			"buffers\n", depth, nr_bufs);
		return 2;
	}

	ret = io_uring_queue_init(depth, &ring, 0);
	if (ret < 0) {
		fprintf(stderr, "kmbuf-cat: io_uring_queue_init: %s\n",
			strerror(-ret));
		return 1;
	}
	kb = io_uring_kmbuf_setup(&ring, nr_bufs, buf_kib * 1024, BGID, 0,
				  &ret);
	if (!kb) {
		fprintf(stderr, "kmbuf-cat: io_uring_kmbuf_setup(%u x %u KiB): "
			"%s\n", nr_bufs, buf_kib, strerror(-ret));
		io_uring_queue_exit(&ring);
		return 1;
	}
	fprintf(stderr, "kmbuf-cat: %s backend, %u buffers of %u KiB\n",
		io_uring_kmbuf_backend_name(io_uring_kmbuf_backend(kb)),
		nr_bufs, buf_kib);

	for (i = optind; i < argc && !ret; i++)
		ret = cat_file(&ring, kb, argv[i], depth);

	io_uring_kmbuf_free(kb);
	io_uring_queue_exit(&ring);
	return ret ? 1 : 0;
}
