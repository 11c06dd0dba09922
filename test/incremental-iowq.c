/* SPDX-License-Identifier: MIT */
/*
 * Description: IO_URING_KMBUF_INCREMENTAL with requests that take their
 * buffer at selection: reads served by io-wq (IOSQE_ASYNC) and reads of
 * regular files, which the kernel cannot poll. Such a request does not
 * know at selection how much it will read, so its CQE must not leave the
 * buffer in the ring at an offset userspace cannot know: on every backend
 * the data of every CQE is where io_uring_kmbuf_cqe_buf() says, and a
 * request that commits at selection retires its buffer. On the emulated
 * backend the stock kernel consumes the length a request asks for, not
 * what it read, so the library refuses a length other than 0 or at least
 * the buffer size there (io_uring_kmbuf_prep_select() gives -EINVAL and
 * leaves the SQE alone); the kernel backend takes any length.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NR_BUFS		2
#define BGID		6
#define PIPE_SEED	41
#define FILE_SEED	43
#define FILE_LEN	12

static int pipe_fds[2], file_fd;
static size_t stream_pos, write_pos;
static unsigned int buf_size;

static void pipe_put(size_t len)
{
	char *data = malloc(len);

	T_ASSERT(data);
	t_fill(data, len, PIPE_SEED, write_pos);
	t_write_all(pipe_fds[1], data, len);
	write_pos += len;
	free(data);
}

/*
 * Read from 'fd' through the group, asking for 'len' bytes. A length the
 * backend refuses must be refused by io_uring_kmbuf_prep_select() with
 * the SQE untouched; the read is then asked again for the rest of the
 * buffer (length 0), which every backend takes.
 */
static void sel_read(struct io_uring *ring, struct io_uring_kmbuf *kb,
		     int fd, unsigned int len, bool async,
		     struct io_uring_cqe *out)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	bool refuse = len && len < buf_size &&
		      io_uring_kmbuf_backend(kb) == T_BACKEND_EMULATED;
	int ret;

	io_uring_prep_read(sqe, fd, NULL, len, fd == file_fd ? 0 : -1);
	if (async)
		sqe->flags |= IOSQE_ASYNC;
	ret = io_uring_kmbuf_prep_select(sqe, kb);
	if (refuse) {
		T_EXPECT(ret, -EINVAL);
		T_EXPECT(sqe->flags & IOSQE_BUFFER_SELECT, 0);
		T_EXPECT(sqe->buf_group, 0);
		T_EXPECT(sqe->len, len);
		io_uring_prep_read(sqe, fd, NULL, 0, fd == file_fd ? 0 : -1);
		if (async)
			sqe->flags |= IOSQE_ASYNC;
		ret = io_uring_kmbuf_prep_select(sqe, kb);
	}
	T_EXPECT(ret, 0);
	t_submit(ring, 1);
	t_wait_cqe(ring, out);
}

/*
 * Check one CQE: its data first (where the library says it is), then its
 * bid, offset in the buffer and whether the buffer stays in the ring.
 */
static void check(struct io_uring_kmbuf *kb, const struct io_uring_cqe *cqe,
		  int res, bool from_file, unsigned int bid,
		  unsigned int off, bool more)
{
	unsigned int got = ~0U;
	char *buf;

	T_EXPECT(cqe->res, res);
	buf = io_uring_kmbuf_cqe_buf(kb, cqe, &got);
	T_ASSERT(buf != NULL);
	if (from_file) {
		t_check_data(buf, (size_t) res, FILE_SEED, 0);
	} else {
		t_check_data(buf, (size_t) res, PIPE_SEED, stream_pos);
		stream_pos += (size_t) res;
	}
	T_EXPECT(got, bid);
	T_EXPECT((size_t) (buf - (char *) io_uring_kmbuf_addr(kb, bid)), off);
	T_EXPECT(!!(cqe->flags & IORING_CQE_F_BUF_MORE), more);
}

static void give_back_both(struct io_uring_kmbuf *kb)
{
	T_EXPECT(io_uring_kmbuf_recycle(kb, 0), 0);
	T_EXPECT(io_uring_kmbuf_recycle(kb, 1), 0);
}

static void run(struct io_uring *ring, int backend)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;

	kb = t_kb_setup_inc(ring, backend, NR_BUFS, buf_size, BGID, 0);
	if (!kb)
		return;

	/* io-wq, a length asked for: each read retires its buffer */
	pipe_put(4);
	sel_read(ring, kb, pipe_fds[0], 1000, true, &cqe);
	check(kb, &cqe, 4, false, 0, 0, false);
	pipe_put(4);
	sel_read(ring, kb, pipe_fds[0], 1000, true, &cqe);
	check(kb, &cqe, 4, false, 1, 0, false);
	give_back_both(kb);

	/* a regular file, a length asked for beyond its end */
	sel_read(ring, kb, file_fd, 16, false, &cqe);
	check(kb, &cqe, FILE_LEN, true, 0, 0, false);
	sel_read(ring, kb, file_fd, 16, false, &cqe);
	check(kb, &cqe, FILE_LEN, true, 1, 0, false);
	give_back_both(kb);

	/*
	 * Inline, the buffer stays in the ring; a request from io-wq then
	 * starts where the inline one ended and takes the rest.
	 */
	pipe_put(100);
	sel_read(ring, kb, pipe_fds[0], 0, false, &cqe);
	check(kb, &cqe, 100, false, 0, 0, true);
	pipe_put(50);
	sel_read(ring, kb, pipe_fds[0], 0, true, &cqe);
	check(kb, &cqe, 50, false, 0, 100, false);
	/* the same with a file read asking for the whole buffer */
	pipe_put(200);
	sel_read(ring, kb, pipe_fds[0], 0, false, &cqe);
	check(kb, &cqe, 200, false, 1, 0, true);
	sel_read(ring, kb, file_fd, buf_size, false, &cqe);
	check(kb, &cqe, FILE_LEN, true, 1, 200, false);
	/* and an io-wq read asking for a small length, kernel backend */
	give_back_both(kb);
	pipe_put(300);
	sel_read(ring, kb, pipe_fds[0], 0, false, &cqe);
	check(kb, &cqe, 300, false, 0, 0, true);
	pipe_put(8);
	sel_read(ring, kb, pipe_fds[0], 64, true, &cqe);
	check(kb, &cqe, 8, false, 0, 300, false);

	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	printf("%s backend: ok\n", t_backend_name(backend));
}

int main(void)
{
	struct io_uring ring;

	t_init();
	buf_size = 16 * (unsigned int) t_page_size();
	t_ring_init(&ring, 8);
	if (pipe(pipe_fds))
		t_fail("pipe: %s", strerror(errno));
	file_fd = t_create_file(FILE_LEN, FILE_SEED);
	t_each_backend(&ring, run);
	close(file_fd);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
