/* SPDX-License-Identifier: MIT */
/*
 * Description: reads with buffer selection from a kmbuf group of a file on
 * a block-backed file system (ext4 on a UML ubd disk, mounted by
 * kernel/guest-init.sh at $KMBUF_EXT4_DIR), with and without O_DIRECT
 * (KMBUF-ABI.md section 3.6).
 *
 * O_DIRECT: each read either works -- result as long as asked (or up to
 * EOF), the CQE names a buffer the kernel took off the ring, and that
 * buffer holds the file's bytes -- or is refused with EINVAL before a
 * buffer is taken (no IORING_CQE_F_BUFFER, the kernel's head unchanged).
 * EFAULT, or any error after a buffer was taken, fails. Buffered reads
 * of the same file must simply work, also from a cold page cache (where
 * the inline attempt gets -EAGAIN and the read is retried). Several
 * buffer sizes (one compound page, compound chunks), request lengths and
 * offsets (aligned to the device's 512-byte sectors, not only to pages),
 * up to and across EOF, inline and from io-wq. With incremental
 * consumption, a read whose buffer offset the device cannot take is
 * refused before it takes the buffer. A kernel warning on the way
 * (runtests.sh and kernel/run-tests.sh scan the log) fails the run.
 *
 * Outside the guest of kernel/run-tests.sh (no KMBUF_EXT4_DIR) it skips.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "helpers.h"

#define BGID		6
#define SEED		77
#define EXT4_MAGIC	0xef53
/* not a multiple of the page size, so that reads run into EOF */
#define FILE_SIZE	((4U << 20) + 3 * 512 + 100)

struct stats {
	unsigned int done, refused;
};

static void write_file(const char *path)
{
	static char chunk[65536];
	size_t pos = 0;
	int fd;

	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		t_fail("create %s: %s", path, strerror(errno));
	while (pos < FILE_SIZE) {
		size_t n = FILE_SIZE - pos < sizeof(chunk) ?
			   FILE_SIZE - pos : sizeof(chunk);

		t_fill(chunk, n, SEED, pos);
		t_write_all(fd, chunk, n);
		pos += n;
	}
	if (fsync(fd))
		t_fail("fsync %s: %s", path, strerror(errno));
	close(fd);
}

/*
 * One read of 'len' bytes (0: the whole buffer) at 'off'. Returns the
 * bid it used, or -1 if it was refused.
 */
static int one_read(struct io_uring *ring, struct io_uring_kmbuf *kb, int fd,
		    bool direct, size_t len, off_t off, unsigned int sqe_flags,
		    struct stats *st)
{
	unsigned int head = t_ring_head(ring, BGID);
	size_t want = len ? len : kb->buf_size;
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;
	unsigned int bid = ~0U;
	void *buf;

	if ((size_t) off >= FILE_SIZE)
		want = 0;
	else if (want > FILE_SIZE - (size_t) off)
		want = FILE_SIZE - (size_t) off;
	io_uring_prep_read(sqe, fd, NULL, (unsigned int) len, (__u64) off);
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->flags |= sqe_flags;
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);

	if (direct && cqe.res == -EINVAL &&
	    !(cqe.flags & IORING_CQE_F_BUFFER) &&
	    t_ring_head(ring, BGID) == head) {
		st->refused++;
		return -1;
	}
	if (cqe.res < 0)
		t_fail("%s read of %zu at %lld, %u-byte buffers%s: %s (%d), "
		       "buffer %s, kernel head %u -> %u",
		       direct ? "O_DIRECT" : "buffered", len, (long long) off,
		       kb->buf_size, sqe_flags & IOSQE_ASYNC ? ", io-wq" : "",
		       strerror(-cqe.res), cqe.res,
		       cqe.flags & IORING_CQE_F_BUFFER ? "named" : "not named",
		       head, t_ring_head(ring, BGID));
	if ((size_t) cqe.res != want)
		t_fail("%s read of %zu at %lld: got %d bytes, want %zu",
		       direct ? "O_DIRECT" : "buffered", len, (long long) off,
		       cqe.res, want);
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	if (!buf)
		t_fail("%s read of %zu at %lld: no buffer in the CQE "
		       "(flags %#x)", direct ? "O_DIRECT" : "buffered", len,
		       (long long) off, cqe.flags);
	T_EXPECT(t_ring_head(ring, BGID), (head + 1) & 0xffff);
	t_check_data(buf, want, SEED, (size_t) off);
	st->done++;
	return (int) bid;
}

static void drop_cache(int fd)
{
	int ret = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);

	if (ret)
		t_fail("posix_fadvise: %s", strerror(ret));
}

static void run_group(struct io_uring *ring, const char *path, bool direct,
		      unsigned int nr_bufs, unsigned int buf_size,
		      struct stats *st)
{
	const off_t offs[] = {
		0, 4096, 512, 3 * 512 + 8192, 1 << 20,
		/* the last page, partly past EOF, and past EOF */
		(off_t) (FILE_SIZE & ~4095U), (off_t) (FILE_SIZE & ~511U),
		(off_t) (FILE_SIZE - 100 - 512),
		(off_t) ((FILE_SIZE & ~511U) + 4096),
	};
	const size_t lens[] = { 0, 512, 4096, 4096 + 1024 };
	struct io_uring_kmbuf *kb;
	unsigned int o, l, a;
	int fd, bid;

	fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (fd < 0)
		t_fail("open %s%s: %s", path, direct ? " O_DIRECT" : "",
		       strerror(errno));
	kb = t_kb_setup(ring, T_BACKEND_KERNEL, nr_bufs, buf_size, BGID);
	for (a = 0; a < 2; a++) {
		for (o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
			for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
				if (lens[l] > buf_size)
					continue;
				/*
				 * Buffered: now and then from a cold page
				 * cache, where the inline attempt gets
				 * -EAGAIN and the read is retried.
				 */
				if (!direct && (o + l) % 2)
					drop_cache(fd);
				bid = one_read(ring, kb, fd, direct, lens[l],
					       offs[o], a ? IOSQE_ASYNC : 0,
					       st);
				if (bid >= 0)
					T_EXPECT(io_uring_kmbuf_recycle(kb,
						(unsigned int) bid), 0);
			}
		}
	}
	/* every buffer is back in the ring */
	T_EXPECT((kb->br->tail - t_ring_head(ring, BGID)) & 0xffff, nr_bufs);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	close(fd);
}

/* Read from 'pfd' through the group: 'len' bytes at 'off' of 'bid' */
static void inc_pipe_read(struct io_uring *ring, struct io_uring_kmbuf *kb,
			  int pfd[2], size_t len, size_t *pos,
			  unsigned int bid, size_t off)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;
	char data[512];

	T_ASSERT(len <= sizeof(data));
	t_fill(data, len, SEED + 1, *pos);
	t_write_all(pfd[1], data, len);
	io_uring_prep_read(sqe, pfd[0], NULL, 0, 0);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, (int) len);
	T_EXPECT(cqe.flags & IORING_CQE_F_BUF_MORE, IORING_CQE_F_BUF_MORE);
	t_check_data(t_cqe_buf_at(kb, &cqe, bid, off), len, SEED + 1, *pos);
	*pos += len;
}

/* An O_DIRECT read of 4096 bytes at file offset 0 */
static void inc_direct_read(struct io_uring *ring, struct io_uring_kmbuf *kb,
			    int fd, struct io_uring_cqe *cqe)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);

	io_uring_prep_read(sqe, fd, NULL, 4096, 0);
	T_EXPECT(io_uring_kmbuf_prep_select(sqe, kb), 0);
	t_submit(ring, 1);
	t_wait_cqe(ring, cqe);
}

/*
 * IO_URING_KMBUF_INCREMENTAL: an O_DIRECT read takes its buffer from the
 * consumed offset on. Where that offset is one the device cannot take (100
 * bytes into the buffer), the read is refused with EINVAL before it takes
 * the buffer: no IORING_CQE_F_BUFFER, the head and the offset as they
 * were. At a sector-aligned offset (512) it works and takes the rest of
 * the buffer; on a fresh buffer it works from 0.
 */
static void run_inc(struct io_uring *ring, const char *path,
		    struct stats *st)
{
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;
	size_t ppos = 0;
	unsigned int head;
	int fd, pfd[2];

	fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
	if (fd < 0)
		t_fail("open %s O_DIRECT: %s", path, strerror(errno));
	if (pipe(pfd))
		t_fail("pipe: %s", strerror(errno));
	kb = t_kb_setup_inc(ring, T_BACKEND_KERNEL, 2, 16384, BGID, 0);
	T_ASSERT(kb);
	inc_pipe_read(ring, kb, pfd, 100, &ppos, 0, 0);
	head = t_ring_head(ring, BGID);
	inc_direct_read(ring, kb, fd, &cqe);
	if (cqe.res != -EINVAL || (cqe.flags & IORING_CQE_F_BUFFER))
		t_fail("O_DIRECT read at buffer offset 100: res %d, flags "
		       "%#x, want EINVAL before a buffer is taken", cqe.res,
		       cqe.flags);
	T_EXPECT(t_ring_head(ring, BGID), head);
	st->refused++;
	/* the offset stayed: 412 more bytes make it 512 */
	inc_pipe_read(ring, kb, pfd, 412, &ppos, 0, 100);
	inc_direct_read(ring, kb, fd, &cqe);
	T_EXPECT(cqe.res, 4096);
	T_EXPECT(cqe.flags & IORING_CQE_F_BUF_MORE, 0);
	t_check_data(t_cqe_buf_at(kb, &cqe, 0, 512), 4096, SEED, 0);
	st->done++;
	/* bid 1 is fresh: from offset 0 */
	inc_direct_read(ring, kb, fd, &cqe);
	T_EXPECT(cqe.res, 4096);
	t_check_data(t_cqe_buf_at(kb, &cqe, 1, 0), 4096, SEED, 0);
	st->done++;
	T_EXPECT(io_uring_kmbuf_recycle(kb, 0), 0);
	T_EXPECT(io_uring_kmbuf_recycle(kb, 1), 0);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

int main(void)
{
	static const struct {
		unsigned int nr_bufs, buf_size;
	} groups[] = {
		{ 4, 4096 },		/* one compound page */
		{ 8, 64 << 10 },	/* one compound page of 512 KiB */
		{ 8, 1 << 20 },		/* 8 MiB: compound chunks */
	};
	const char *dir = getenv("KMBUF_EXT4_DIR");
	struct stats direct = { 0, 0 }, buffered = { 0, 0 };
	struct io_uring ring;
	struct statfs sfs;
	char path[4096];
	unsigned int g;

	t_init();
	if (!dir || !*dir)
		t_skip("no ext4 file system to read from (KMBUF_EXT4_DIR is "
		       "unset: kernel/run-tests.sh mounts one in the guest)");
	if (statfs(dir, &sfs))
		t_fail("statfs %s: %s", dir, strerror(errno));
	if (sfs.f_type != EXT4_MAGIC)
		t_fail("%s is not ext4 (f_type %#lx)", dir,
		       (unsigned long) sfs.f_type);
	t_require_kmbuf_kernel();
	t_ring_init(&ring, 8);

	snprintf(path, sizeof(path), "%s/odirect-kernel.%d", dir,
		 (int) getpid());
	write_file(path);
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		run_group(&ring, path, true, groups[g].nr_bufs,
			  groups[g].buf_size, &direct);
		run_group(&ring, path, false, groups[g].nr_bufs,
			  groups[g].buf_size, &buffered);
	}
	run_inc(&ring, path, &direct);
	unlink(path);
	io_uring_queue_exit(&ring);
	printf("O_DIRECT: %u reads done with data checked, %u refused with "
	       "EINVAL before taking a buffer; buffered: %u done\n",
	       direct.done, direct.refused, buffered.done);
	T_EXPECT(buffered.refused, 0);
	return T_EXIT_PASS;
}
