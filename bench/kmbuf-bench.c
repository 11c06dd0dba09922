// SPDX-License-Identifier: MIT
/*
 * kmbuf-bench: kmbuf rings against liburing pbuf rings and plain reads,
 * side by side, in one process.
 *
 * Workloads: a pipe fed by a writer thread, a page-cached file, a loopback
 * TCP connection fed by a sender thread. Modes: read()/recv() into one
 * reused buffer, a pbuf ring whose buffers the application allocates (the
 * baseline), the kmbuf emulated backend, the kmbuf kernel backend (when the
 * running kernel has it) and an in-process memcpy of the same bytes (the
 * bound). Every mode runs several times, interleaved round by round, and
 * the table shows the median, min and max, and ratios against pbuf.
 *
 * Usage: kmbuf-bench [--full] [--csv] [options], see --help.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/utsname.h>

#include <liburing.h>
#include "liburing/kmbuf.h"

#define KiB		1024UL
#define MiB		(1024UL * KiB)
#define MAX_RUNS	64
#define MAX_SIZES	8
#define MAX_RINGS	16
#define BGID		1

#ifndef EXT4_SUPER_MAGIC
#define EXT4_SUPER_MAGIC	0xEF53
#endif
#define TMPFS_MAGIC_		0x01021994
#define HOSTFS_MAGIC_		0x00c0ffee

enum mode {
	M_READ,		/* read()/recv() into one reused buffer */
	M_PBUF,		/* liburing pbuf ring, application buffers: baseline */
	M_EMUL,		/* kmbuf, emulated backend */
	M_KERN,		/* kmbuf, kernel backend */
	M_MEMCPY,	/* memcpy of the same bytes: the bound */
	M_NR,
};

static const char *const mode_name[M_NR] = {
	"read", "pbuf", "kmbuf-emul", "kmbuf-kern", "memcpy",
};

enum workload { W_PIPE, W_FILE, W_TCP, W_NR };

static const char *const wl_name[W_NR] = { "pipe", "file", "tcp" };

struct opts {
	bool full;
	bool csv;
	bool ring_sweep;
	bool verify;
	unsigned int runs;
	unsigned int qd;
	size_t bytes;		/* per run */
	size_t file_size;
	const char *dir;
	unsigned int sizes[MAX_SIZES];
	unsigned int nsizes;
	unsigned int rings[MAX_RINGS];
	unsigned int nrings;
	unsigned int wl_mask;
	unsigned int mode_mask;
	size_t max_area;
};

static struct opts o = {
	.runs = 7,
	.qd = 16,
	.bytes = 64 * MiB,
	.file_size = 64 * MiB,
	.dir = "/var/tmp",
	.sizes = { 4 * KiB, 64 * KiB, 1 * MiB },
	.nsizes = 3,
	.rings = { 64 },
	.nrings = 1,
	.wl_mask = (1U << W_NR) - 1,
	.mode_mask = (1U << M_NR) - 1,
	.max_area = 1024 * MiB,
};

struct sample {
	double sec;
	double cpu;
	size_t bytes;
	size_t ops;
	size_t enobufs;
	bool iowq;
};

struct result {
	double gbs[MAX_RUNS];
	double ops[MAX_RUNS];
	double cpu_gb[MAX_RUNS];
	unsigned int n;
	size_t enobufs;
	bool iowq;
	bool skipped;
	char why[160];
};

static int kern_err;		/* why the kernel backend is unavailable */
static bool kern_ok;
static char file_path[256];
static char file_fs[64];
static int file_fd = -1;
static char *memcpy_src;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "kmbuf-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned int n, double *min,
		     double *max)
{
	double s[MAX_RUNS];

	if (!n) {
		*min = *max = 0;
		return 0;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	*min = s[0];
	*max = s[n - 1];
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---------------------------------------------------------------- sources */

struct source {
	enum workload wl;
	int fd;			/* what the reader reads */
	int wfd;		/* writer end (pipe, tcp) */
	pthread_t thread;
	bool have_thread;
	size_t total;		/* bytes the writer sends */
	unsigned int chunk;
};

static void *writer_fn(void *arg)
{
	struct source *s = arg;
	size_t left = s->total;
	char *buf;

	buf = aligned_alloc(4096, s->chunk);
	if (!buf)
		die("aligned_alloc", ENOMEM);
	memset(buf, 0x5a, s->chunk);
	while (left) {
		size_t n = left < s->chunk ? left : s->chunk;
		ssize_t ret;

		if (s->wl == W_TCP)
			ret = send(s->wfd, buf, n, MSG_NOSIGNAL);
		else
			ret = write(s->wfd, buf, n);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			die("writer", errno);
		}
		left -= (size_t)ret;
	}
	close(s->wfd);
	s->wfd = -1;
	free(buf);
	return NULL;
}

static void tcp_pair(int *rfd, int *wfd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket", errno);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len))
		die("bind/listen", errno);
	*wfd = socket(AF_INET, SOCK_STREAM, 0);
	if (*wfd < 0 || connect(*wfd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect", errno);
	*rfd = accept(lfd, NULL, NULL);
	if (*rfd < 0)
		die("accept", errno);
	close(lfd);
}

static void source_start(struct source *s, enum workload wl,
			 unsigned int buf_size, size_t total)
{
	int fds[2], ret;

	memset(s, 0, sizeof(*s));
	s->wl = wl;
	s->total = total;
	s->chunk = buf_size < 64 * KiB ? 64 * KiB : buf_size;
	s->wfd = -1;
	switch (wl) {
	case W_FILE:
		s->fd = file_fd;
		return;
	case W_PIPE:
		if (pipe(fds))
			die("pipe", errno);
		/* as large as allowed: up to 1 MiB unprivileged by default */
		ret = fcntl(fds[1], F_SETPIPE_SZ, 1 * MiB);
		if (ret < 0)
			fcntl(fds[1], F_SETPIPE_SZ, 256 * KiB);
		s->fd = fds[0];
		s->wfd = fds[1];
		break;
	case W_TCP:
		tcp_pair(&s->fd, &s->wfd);
		break;
	default:
		abort();
	}
	ret = pthread_create(&s->thread, NULL, writer_fn, s);
	if (ret)
		die("pthread_create", ret);
	s->have_thread = true;
}

static void source_stop(struct source *s)
{
	if (s->wl == W_FILE)
		return;
	/* unblock a writer stuck on a full pipe or socket */
	close(s->fd);
	s->fd = -1;
	if (s->have_thread)
		pthread_join(s->thread, NULL);
	if (s->wfd >= 0)
		close(s->wfd);
}

/* -------------------------------------------------------- buffer groups */

/* The baseline: a pbuf ring the way a liburing 2.3 application sets it up */
struct pbuf {
	struct io_uring_buf_ring *br;
	char *bufs;
	unsigned int buf_size;
	unsigned int nentries;
	unsigned int mask;
	size_t ring_bytes;
};

static int pbuf_setup(struct io_uring *ring, struct pbuf *p,
		      unsigned int nentries, unsigned int buf_size)
{
	struct io_uring_buf_reg reg = { };
	unsigned int i;
	int ret;

	p->buf_size = buf_size;
	p->nentries = nentries;
	p->mask = nentries - 1;
	p->ring_bytes = (nentries * sizeof(struct io_uring_buf) + 4095) &
			~4095UL;
	p->br = mmap(NULL, p->ring_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->br == MAP_FAILED)
		return -errno;
	p->bufs = aligned_alloc(4096, (size_t)nentries * buf_size);
	if (!p->bufs) {
		munmap(p->br, p->ring_bytes);
		return -ENOMEM;
	}
	io_uring_buf_ring_init(p->br);
	reg.ring_addr = (unsigned long)p->br;
	reg.ring_entries = nentries;
	reg.bgid = BGID;
	ret = io_uring_register_buf_ring(ring, &reg, 0);
	if (ret) {
		free(p->bufs);
		munmap(p->br, p->ring_bytes);
		return ret;
	}
	for (i = 0; i < nentries; i++)
		io_uring_buf_ring_add(p->br, p->bufs + (size_t)i * buf_size,
				      buf_size, i, p->mask, i);
	io_uring_buf_ring_advance(p->br, nentries);
	return 0;
}

static void pbuf_free(struct io_uring *ring, struct pbuf *p)
{
	io_uring_unregister_buf_ring(ring, BGID);
	munmap(p->br, p->ring_bytes);
	free(p->bufs);
}

/* --------------------------------------------------------------- modes */

/* io-wq worker threads of this process ("iou-wrk-*"): reads were punted */
static int iowq_threads(void)
{
	char path[300], comm[32];
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir("/proc/self/task");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, "iou-wrk", 7))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

static void sample_begin(struct sample *s)
{
	memset(s, 0, sizeof(*s));
	s->cpu = cpu_now();
	s->sec = now();
}

static void sample_end(struct sample *s)
{
	s->sec = now() - s->sec;
	s->cpu = cpu_now() - s->cpu;
}

static unsigned long verify_fail;

static inline void check_buf(const char *buf, unsigned long off, int len)
{
	/* the file holds its own offsets as 64-bit words */
	if (o.verify && len >= 8 && *(const uint64_t *)buf != off)
		verify_fail++;
}

static void run_read(enum workload wl, unsigned int buf_size,
		     struct sample *sm)
{
	struct source src;
	size_t total = o.bytes, got = 0;
	unsigned long off = 0;
	char *buf;

	buf = aligned_alloc(4096, buf_size);
	if (!buf)
		die("aligned_alloc", ENOMEM);
	memset(buf, 0, buf_size);
	source_start(&src, wl, buf_size, total);
	sample_begin(sm);
	while (got < total) {
		ssize_t ret;

		if (wl == W_FILE) {
			ret = pread(src.fd, buf, buf_size, off);
			if (ret > 0)
				check_buf(buf, off, ret);
			off += buf_size;
			if (off >= o.file_size)
				off = 0;
		} else if (wl == W_TCP) {
			ret = recv(src.fd, buf, buf_size, 0);
		} else {
			ret = read(src.fd, buf, buf_size);
		}
		if (ret <= 0) {
			if (ret < 0 && errno == EINTR)
				continue;
			die("read", ret ? errno : EPIPE);
		}
		got += (size_t)ret;
		sm->ops++;
	}
	sample_end(sm);
	sm->bytes = got;
	source_stop(&src);
	free(buf);
}

static void run_memcpy(unsigned int buf_size, unsigned int nentries,
		       struct sample *sm)
{
	size_t total = o.bytes, done = 0, off = 0;
	unsigned int bid = 0;
	char *ring;

	ring = aligned_alloc(4096, (size_t)nentries * buf_size);
	if (!ring)
		die("aligned_alloc", ENOMEM);
	memset(ring, 0, (size_t)nentries * buf_size);
	sample_begin(sm);
	while (done < total) {
		memcpy(ring + (size_t)bid * buf_size, memcpy_src + off,
		       buf_size);
		__asm__ __volatile__("" : : "r"(ring) : "memory");
		bid = (bid + 1) & (nentries - 1);
		off += buf_size;
		if (off >= o.file_size)
			off = 0;
		done += buf_size;
		sm->ops++;
	}
	sample_end(sm);
	sm->bytes = done;
	free(ring);
}

struct group {
	enum mode mode;
	struct pbuf pb;
	struct io_uring_kmbuf *kb;
};

static int group_setup(struct io_uring *ring, struct group *g, enum mode m,
		       unsigned int nentries, unsigned int buf_size)
{
	unsigned int flags;
	int err;

	g->mode = m;
	if (m == M_PBUF)
		return pbuf_setup(ring, &g->pb, nentries, buf_size);
	flags = m == M_EMUL ? IO_URING_KMBUF_FORCE_EMULATION :
			      IO_URING_KMBUF_NO_EMULATION;
	g->kb = io_uring_kmbuf_setup(ring, nentries, buf_size, BGID, flags,
				     &err);
	return g->kb ? 0 : err;
}

static void group_free(struct io_uring *ring, struct group *g)
{
	if (g->mode == M_PBUF)
		pbuf_free(ring, &g->pb);
	else
		io_uring_kmbuf_free(g->kb);
}

static void prep_one(struct io_uring *ring, struct source *src,
		     struct group *g, unsigned int buf_size,
		     unsigned long off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (src->wl == W_TCP)
		io_uring_prep_recv(sqe, src->fd, NULL, buf_size, 0);
	else
		io_uring_prep_read(sqe, src->fd, NULL, buf_size,
				   src->wl == W_FILE ? off : (__u64)-1);
	if (g->mode == M_PBUF) {
		/* raw liburing */
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
	} else {
		io_uring_kmbuf_prep_select(sqe, g->kb);
	}
	sqe->user_data = off;
}

/*
 * The completion path under test: decode the bid, find the buffer, give it
 * back. Inlined per mode so each variant is what an application would write.
 */
static __attribute__((always_inline)) inline int
complete_one(struct group *g, struct io_uring_cqe *cqe)
{
	const char *buf;
	unsigned int bid;

	if (g->mode == M_PBUF) {
		struct pbuf *p = &g->pb;

		if (!(cqe->flags & IORING_CQE_F_BUFFER))
			return -ENOBUFS;
		bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		buf = p->bufs + (size_t)bid * p->buf_size;
		check_buf(buf, (unsigned long)cqe->user_data, cqe->res);
		io_uring_buf_ring_add(p->br, (void *)buf, p->buf_size, bid,
				      p->mask, 0);
		io_uring_buf_ring_advance(p->br, 1);
	} else {
		buf = io_uring_kmbuf_cqe_buf(g->kb, cqe, &bid);
		if (!buf)
			return -ENOBUFS;
		check_buf(buf, (unsigned long)cqe->user_data, cqe->res);
		io_uring_kmbuf_recycle(g->kb, bid);
	}
	return 0;
}

static int run_uring(enum workload wl, enum mode m, unsigned int buf_size,
		     unsigned int nentries, struct sample *sm)
{
	struct io_uring ring;
	struct source src;
	struct group g;
	size_t total = o.bytes, got = 0, issued = 0;
	unsigned int inflight = 0, qd = o.qd, i;
	unsigned long off = 0;
	int ret;

	if (qd > nentries)
		qd = nentries;
	ret = io_uring_queue_init(qd * 2, &ring, 0);
	if (ret)
		die("io_uring_queue_init", -ret);
	ret = group_setup(&ring, &g, m, nentries, buf_size);
	if (ret) {
		io_uring_queue_exit(&ring);
		return ret;
	}
	/*
	 * Fault every buffer in before timing, as read() and memcpy do with
	 * theirs: first-touch cost is in the setup table, not here (and a
	 * fault inside a non-blocking read can push it to io-wq).
	 */
	for (i = 0; i < nentries; i++)
		memset(g.mode == M_PBUF ? g.pb.bufs + (size_t)i * buf_size :
			io_uring_kmbuf_addr(g.kb, i), 0, buf_size);
	source_start(&src, wl, buf_size, total);
	sample_begin(sm);
	for (i = 0; i < qd && issued < total; i++) {
		prep_one(&ring, &src, &g, buf_size, off);
		issued += buf_size;
		inflight++;
		off += buf_size;
		if (off >= o.file_size)
			off = 0;
	}
	while (inflight && got < total) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			die("io_uring_submit_and_wait", -ret);
		io_uring_for_each_cqe(&ring, head, cqe) {
			unsigned long roff = (unsigned long)cqe->user_data;

			seen++;
			inflight--;
			if (cqe->res > 0) {
				if (complete_one(&g, cqe))
					die("CQE without a buffer", EINVAL);
				got += (size_t)cqe->res;
				sm->ops++;
				/* pipe and tcp keep QD reads parked until done */
				if (wl == W_FILE && issued >= total)
					continue;
				roff = off;
			} else if (cqe->res == -ENOBUFS) {
				/* ring ran dry: the same read again */
				sm->enobufs++;
			} else if (cqe->res == 0) {
				continue;
			} else {
				die("read CQE", -cqe->res);
			}
			prep_one(&ring, &src, &g, buf_size, roff);
			inflight++;
			if (roff == off && cqe->res > 0) {
				issued += buf_size;
				off += buf_size;
				if (off >= o.file_size)
					off = 0;
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	sample_end(sm);
	sm->bytes = got;
	sm->iowq = iowq_threads() > 0;
	/* pipe/tcp: close the writer, then reap the reads still parked */
	if (wl != W_FILE && src.have_thread) {
		pthread_join(src.thread, NULL);
		src.have_thread = false;
	}
	while (inflight) {
		struct io_uring_cqe *cqe;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			die("drain", -ret);
		while (!io_uring_peek_cqe(&ring, &cqe)) {
			if (cqe->res > 0)
				complete_one(&g, cqe);
			io_uring_cqe_seen(&ring, cqe);
			inflight--;
		}
	}
	source_stop(&src);
	group_free(&ring, &g);
	io_uring_queue_exit(&ring);
	return 0;
}

/* ------------------------------------------------------------- the file */

static const char *fs_name(long type)
{
	switch (type) {
	case EXT4_SUPER_MAGIC:
		return "ext2/3/4";
	case TMPFS_MAGIC_:
		return "tmpfs";
	case HOSTFS_MAGIC_:
		return "hostfs";
	case 0x58465342:
		return "xfs";
	case 0x9123683e:
		return "btrfs";
	case 0x65735546:
		return "fuse";
	default:
		return "other";
	}
}

static void file_prepare(void)
{
	struct statfs sfs;
	uint64_t *w;
	char *scratch;
	size_t i;
	int fd;

	snprintf(file_path, sizeof(file_path), "%s/kmbuf-bench.%d", o.dir,
		 (int)getpid());
	fd = open(file_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(file_path, errno);
	unlink(file_path);
	memcpy_src = mmap(NULL, o.file_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (memcpy_src == MAP_FAILED)
		die("mmap", errno);
	w = (uint64_t *)memcpy_src;
	for (i = 0; i < o.file_size / 8; i++)
		w[i] = i * 8;
	if (write(fd, memcpy_src, o.file_size) != (ssize_t)o.file_size)
		die("write file", errno ? errno : EIO);
	fsync(fd);
	if (fstatfs(fd, &sfs))
		die("fstatfs", errno);
	snprintf(file_fs, sizeof(file_fs), "%s (0x%lx)",
		 fs_name((long)sfs.f_type), (long)sfs.f_type);
	/* warm the page cache */
	scratch = malloc(MiB);
	if (!scratch)
		die("malloc", ENOMEM);
	for (i = 0; i < o.file_size; i += MiB)
		if (pread(fd, scratch, MiB, i) < 0)
			die("pread", errno);
	free(scratch);
	file_fd = fd;
}

/* ------------------------------------------------------------- setup cost */

struct setup_cost {
	double setup_us, free_us;
	long rss_setup, rss_touch;
	int err;
};

static void measure_setup(enum mode m, unsigned int nentries,
			  unsigned int buf_size, struct setup_cost *c)
{
	double su[MAX_RUNS], fr[MAX_RUNS], lo, hi;
	unsigned int r, i, runs = o.runs;
	struct io_uring ring;
	struct group g;
	long rss0;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret)
		die("io_uring_queue_init", -ret);
	for (r = 0; r < runs; r++) {
		double t;

		rss0 = rss_kib();
		t = now();
		ret = group_setup(&ring, &g, m, nentries, buf_size);
		su[r] = (now() - t) * 1e6;
		if (ret) {
			c->err = ret;
			break;
		}
		c->rss_setup = rss_kib() - rss0;
		for (i = 0; i < nentries; i++) {
			char *b = m == M_PBUF ?
				  g.pb.bufs + (size_t)i * buf_size :
				  io_uring_kmbuf_addr(g.kb, i);
			memset(b, 1, buf_size);
		}
		c->rss_touch = rss_kib() - rss0;
		t = now();
		group_free(&ring, &g);
		fr[r] = (now() - t) * 1e6;
	}
	io_uring_queue_exit(&ring);
	if (c->err)
		return;
	c->setup_us = median(su, runs, &lo, &hi);
	c->free_us = median(fr, runs, &lo, &hi);
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
	printf("usage: kmbuf-bench [options]\n"
	       "  --full          full run: 11 runs, 512 MiB per run, ring sweep 8..4096\n"
	       "  --csv           CSV instead of the table\n"
	       "  --runs N        runs per mode (default 7, max %d)\n"
	       "  --bytes MIB     MiB per run (default 64)\n"
	       "  --qd N          reads in flight (default 16, capped at ring size)\n"
	       "  --ring N[,N..]  ring sizes (default 64)\n"
	       "  --sweep         ring sizes 8,16,...,4096\n"
	       "  --size KIB[,..] buffer sizes in KiB (default 4,64,1024)\n"
	       "  --workload W    pipe,file,tcp (default all)\n"
	       "  --mode M        read,pbuf,kmbuf-emul,kmbuf-kern,memcpy\n"
	       "  --dir DIR       where the file lives (default /var/tmp)\n"
	       "  --max-area MIB  skip rings larger than this (default 1024)\n"
	       "  --verify        check file data in every completed buffer\n",
	       MAX_RUNS);
}

static unsigned int parse_list(const char *s, unsigned int *v,
			       unsigned int max, unsigned long mult)
{
	unsigned int n = 0;
	char *end;

	while (*s && n < max) {
		v[n++] = (unsigned int)(strtoul(s, &end, 0) * mult);
		s = *end == ',' ? end + 1 : end;
		if (end == s && *s)
			break;
	}
	return n;
}

static unsigned int parse_names(const char *s, const char *const *names,
				unsigned int nr)
{
	unsigned int mask = 0, i;
	char *dup = strdup(s), *tok, *save = NULL;

	for (tok = strtok_r(dup, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < nr; i++)
			if (!strcmp(tok, names[i]))
				mask |= 1U << i;
	}
	free(dup);
	return mask;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "full", no_argument, NULL, 'F' },
		{ "csv", no_argument, NULL, 'c' },
		{ "runs", required_argument, NULL, 'r' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' },
		{ "ring", required_argument, NULL, 'n' },
		{ "sweep", no_argument, NULL, 'S' },
		{ "size", required_argument, NULL, 's' },
		{ "workload", required_argument, NULL, 'w' },
		{ "mode", required_argument, NULL, 'm' },
		{ "dir", required_argument, NULL, 'd' },
		{ "max-area", required_argument, NULL, 'A' },
		{ "verify", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	bool runs_set = false, bytes_set = false;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'F':
			o.full = true;
			break;
		case 'c':
			o.csv = true;
			break;
		case 'r':
			o.runs = (unsigned int)atoi(optarg);
			runs_set = true;
			break;
		case 'b':
			o.bytes = strtoul(optarg, NULL, 0) * MiB;
			bytes_set = true;
			break;
		case 'q':
			o.qd = (unsigned int)atoi(optarg);
			break;
		case 'n':
			o.nrings = parse_list(optarg, o.rings, MAX_RINGS, 1);
			break;
		case 'S':
			o.ring_sweep = true;
			break;
		case 's':
			o.nsizes = parse_list(optarg, o.sizes, MAX_SIZES, KiB);
			break;
		case 'w':
			o.wl_mask = parse_names(optarg, wl_name, W_NR);
			break;
		case 'm':
			o.mode_mask = parse_names(optarg, mode_name, M_NR);
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 'A':
			o.max_area = strtoul(optarg, NULL, 0) * MiB;
			break;
		case 'V':
			o.verify = true;
			break;
		case 'h':
			usage();
			exit(0);
		default:
			usage();
			exit(2);
		}
	}
	if (o.full) {
		if (!runs_set)
			o.runs = 11;
		if (!bytes_set)
			o.bytes = 512 * MiB;
		o.ring_sweep = true;
	}
	if (o.ring_sweep) {
		unsigned int n;

		o.nrings = 0;
		for (n = 8; n <= 4096; n *= 2)
			o.rings[o.nrings++] = n;
	}
	if (!o.runs || o.runs > MAX_RUNS || !o.qd || !o.nsizes ||
	    !o.nrings || !o.wl_mask || !o.mode_mask || o.bytes < MiB) {
		usage();
		exit(2);
	}
}

static void print_header(void)
{
	struct utsname u;

	uname(&u);
	if (o.csv)
		return;
	printf("kmbuf-bench: kernel %s %s, %ld CPUs, %u runs per mode, "
	       "%zu MiB per run, QD %u\n", u.release, u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN), o.runs, o.bytes / MiB, o.qd);
	printf("file workload: %s on %s, %zu MiB, page-cached\n", o.dir,
	       file_fs, o.file_size / MiB);
	if (kern_ok)
		printf("kmbuf kernel backend: available\n");
	else
		printf("kmbuf kernel backend: unavailable on this kernel "
		       "(io_uring_kmbuf_probe: %s)\n", strerror(-kern_err));
	printf("GB/s = 1e9 bytes/s; cpu s/GB from getrusage (all threads "
	       "incl. the writer)\nx pbuf = median of per-round GB/s ratios to pbuf (runs interleaved); cpu x = pbuf's CPU s/GB / this "
	       "mode's (>1: cheaper than pbuf)\n\n");
}

static const char *fmt_size(unsigned int sz, char *buf, size_t len)
{
	if (sz >= MiB)
		snprintf(buf, len, "%uM", sz / (unsigned int)MiB);
	else
		snprintf(buf, len, "%uK", sz / (unsigned int)KiB);
	return buf;
}

/* targets, filled from the results */
static double t_emul_min = 1e9, t_kern_min = 1e9, t_file_memcpy = -1;
static double t_file_memcpy_read = -1;
static double t_emul_cpu = 1e9, t_kern_cpu = 1e9;
/* geometric means of the ratios over the table: log sums and counts */
static double g_emul, g_kern;
static unsigned int g_emul_n, g_kern_n;

static double paired_ratio(const struct result *a, const struct result *b)
{
	double r[MAX_RUNS], lo, hi;
	unsigned int i;

	if (!a->n || a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		r[i] = a->gbs[i] / b->gbs[i];
	return median(r, a->n, &lo, &hi);
}

static void run_throughput(void)
{
	static struct result res[W_NR][M_NR];
	unsigned int si, ri, w, m, r;
	char sz[16];

	if (o.csv)
		printf("kind,workload,buf_size,ring,mode,gbs_median,gbs_min,"
		       "gbs_max,mops_median,cpu_s_per_gb,ratio_vs_pbuf,"
		       "cpu_ratio_vs_pbuf,"
		       "enobufs,note\n");
	else
		printf("%-5s %5s %5s %-11s %7s %15s %9s %7s %7s %7s %s\n",
		       "load", "size", "ring", "mode", "GB/s", "[min-max]",
		       "kops/s", "cpu/GB", "x pbuf", "cpu x", "note");
	for (si = 0; si < o.nsizes; si++) {
		unsigned int bs = o.sizes[si];

		for (ri = 0; ri < o.nrings; ri++) {
			unsigned int n = o.rings[ri];

			if ((size_t)n * bs > o.max_area)
				continue;
			memset(res, 0, sizeof(res));
			/* rounds: every mode once per round, interleaved */
			for (r = 0; r < o.runs; r++) {
				for (w = 0; w < W_NR; w++) {
					if (!(o.wl_mask & (1U << w)))
						continue;
					for (m = 0; m < M_NR; m++) {
						struct result *rs = &res[w][m];
						struct sample s;
						int ret = 0;

						if (!(o.mode_mask & (1U << m)) ||
						    rs->skipped)
							continue;
						if (m == M_MEMCPY && w != W_FILE) {
							rs->skipped = true;
							continue;
						}
						if (m == M_KERN && !kern_ok) {
							rs->skipped = true;
							snprintf(rs->why, sizeof(rs->why),
								 "unavailable: %s",
								 strerror(-kern_err));
							continue;
						}
						if (m == M_READ)
							run_read(w, bs, &s);
						else if (m == M_MEMCPY)
							run_memcpy(bs, n, &s);
						else
							ret = run_uring(w, m, bs, n, &s);
						if (ret) {
							rs->skipped = true;
							snprintf(rs->why, sizeof(rs->why),
								 "setup: %s", strerror(-ret));
							continue;
						}
						rs->gbs[rs->n] = s.bytes / s.sec / 1e9;
						rs->ops[rs->n] = s.ops / s.sec;
						rs->cpu_gb[rs->n] = s.cpu / (s.bytes / 1e9);
						rs->enobufs += s.enobufs;
						rs->iowq |= s.iowq;
						rs->n++;
					}
				}
			}
			for (w = 0; w < W_NR; w++) {
				double base, base_cpu, lo, hi;

				if (!(o.wl_mask & (1U << w)))
					continue;
				base = median(res[w][M_PBUF].gbs,
					      res[w][M_PBUF].n, &lo, &hi);
				base_cpu = median(res[w][M_PBUF].cpu_gb,
						  res[w][M_PBUF].n, &lo, &hi);
				for (m = 0; m < M_NR; m++) {
					struct result *rs = &res[w][m];
					double g, olo, ohi, ops, cpu, ratio, cratio;
					char note[200] = "";

					if (!(o.mode_mask & (1U << m)))
						continue;
					if (m == M_MEMCPY && w != W_FILE)
						continue;
					g = median(rs->gbs, rs->n, &lo, &hi);
					ops = median(rs->ops, rs->n, &olo, &ohi);
					cpu = median(rs->cpu_gb, rs->n, &olo, &ohi);
					/*
					 * Paired: runs are interleaved round by
					 * round, so run r of this mode and of pbuf
					 * shared the machine's load; the median of
					 * the per-round ratios resists drift.
					 */
					ratio = paired_ratio(rs, &res[w][M_PBUF]);
					if (!ratio && base > 0)
						ratio = g / base;
					/* CPU efficiency: pbuf CPU per GB / this one's */
					cratio = cpu > 0 ? base_cpu / cpu : 0;
					if (rs->skipped && !rs->n)
						snprintf(note, sizeof(note), "%s",
							 rs->why);
					else if (rs->iowq)
						snprintf(note, sizeof(note),
							 "io-wq threads seen%s",
							 rs->enobufs ? ", ENOBUFS retries" : "");
					else if (rs->enobufs)
						snprintf(note, sizeof(note),
							 "%zu ENOBUFS retries",
							 rs->enobufs);
					if (rs->n && m == M_EMUL && ratio > 0) {
						g_emul += log(ratio);
						g_emul_n++;
					}
					if (rs->n && m == M_KERN && ratio > 0) {
						g_kern += log(ratio);
						g_kern_n++;
					}
					if (rs->n && m == M_EMUL && ratio < t_emul_min)
						t_emul_min = ratio;
					if (rs->n && m == M_EMUL && cratio < t_emul_cpu)
						t_emul_cpu = cratio;
					if (rs->n && m == M_KERN && ratio < t_kern_min)
						t_kern_min = ratio;
					if (rs->n && m == M_KERN && cratio < t_kern_cpu)
						t_kern_cpu = cratio;
					if (w == W_FILE && bs == 1 * MiB &&
					    n == 64 && rs->n) {
						double mc = median(res[w][M_MEMCPY].gbs,
								   res[w][M_MEMCPY].n,
								   &olo, &ohi);
						if (m == M_EMUL && mc > 0)
							t_file_memcpy = g / mc;
						if (m == M_READ && mc > 0)
							t_file_memcpy_read = g / mc;
					}
					fmt_size(bs, sz, sizeof(sz));
					if (o.csv) {
						printf("throughput,%s,%u,%u,%s,",
						       wl_name[w], bs, n, mode_name[m]);
						if (rs->n)
							printf("%.3f,%.3f,%.3f,%.4f,%.3f,%.3f,%.3f,",
							       g, lo, hi, ops / 1e6, cpu, ratio,
							       cratio);
						else
							printf(",,,,,,,");
						printf("%zu,\"%s\"\n", rs->enobufs, note);
						continue;
					}
					if (!rs->n) {
						printf("%-5s %5s %5u %-11s %7s %15s %9s %7s %7s %7s %s\n",
						       wl_name[w], sz, n, mode_name[m],
						       "-", "", "", "", "", "", note);
						continue;
					}
					printf("%-5s %5s %5u %-11s %7.2f [%6.2f-%6.2f] %9.1f %7.3f %6.3fx %6.3fx %s\n",
					       wl_name[w], sz, n, mode_name[m], g, lo, hi,
					       ops / 1e3, cpu, ratio, cratio, note);
				}
			}
			if (!o.csv)
				printf("\n");
			fflush(stdout);
		}
	}
}

static void run_setup_costs(void)
{
	static const enum mode ms[] = { M_PBUF, M_EMUL, M_KERN };
	unsigned int si, ri, i;
	char sz[16];

	if (o.csv)
		printf("kind,buf_size,ring,mode,setup_us,free_us,"
		       "rss_setup_kib,rss_touched_kib,note\n");
	else
		printf("setup and free of a ring of N buffers (median of %u; "
		       "RSS delta after setup, and after writing every buffer)\n"
		       "%5s %5s %-11s %10s %10s %12s %12s\n", o.runs,
		       "size", "ring", "mode", "setup us", "free us",
		       "RSS setup", "RSS touched");
	for (si = 0; si < o.nsizes; si++) {
		for (ri = 0; ri < o.nrings; ri++) {
			unsigned int bs = o.sizes[si], n = o.rings[ri];

			if ((size_t)n * bs > o.max_area)
				continue;
			for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
				struct setup_cost c;
				enum mode m = ms[i];

				if (!(o.mode_mask & (1U << m)))
					continue;
				fmt_size(bs, sz, sizeof(sz));
				if (m == M_KERN && !kern_ok) {
					if (o.csv)
						printf("setup,%u,%u,%s,,,,,\"unavailable\"\n",
						       bs, n, mode_name[m]);
					else
						printf("%5s %5u %-11s %10s (unavailable: %s)\n",
						       sz, n, mode_name[m], "-",
						       strerror(-kern_err));
					continue;
				}
				measure_setup(m, n, bs, &c);
				if (c.err) {
					if (o.csv)
						printf("setup,%u,%u,%s,,,,,\"%s\"\n",
						       bs, n, mode_name[m],
						       strerror(-c.err));
					else
						printf("%5s %5u %-11s %10s (%s)\n",
						       sz, n, mode_name[m], "-",
						       strerror(-c.err));
					continue;
				}
				if (o.csv)
					printf("setup,%u,%u,%s,%.1f,%.1f,%ld,%ld,\n",
					       bs, n, mode_name[m], c.setup_us,
					       c.free_us, c.rss_setup, c.rss_touch);
				else
					printf("%5s %5u %-11s %10.1f %10.1f %9ld KiB %9ld KiB\n",
					       sz, n, mode_name[m], c.setup_us,
					       c.free_us, c.rss_setup, c.rss_touch);
			}
		}
	}
	if (!o.csv)
		printf("\n");
}

static void print_targets(void)
{
	const char *p = o.csv ? "target," : "";

	if (!o.csv)
		printf("targets (worst case over the table)\n");
	if (t_emul_min < 1e9)
		printf("%semulated >= 0.98x pbuf: GB/s %.3fx %s, CPU/GB %.3fx %s\n",
		       p, t_emul_min, t_emul_min >= 0.98 ? "MET" : "MISSED",
		       t_emul_cpu, t_emul_cpu >= 0.98 ? "MET" : "MISSED");
	if (g_emul_n)
		printf("%semulated/pbuf geometric mean over %u cells: %.3fx\n",
		       p, g_emul_n, exp(g_emul / g_emul_n));
	if (g_kern_n)
		printf("%skernel/pbuf geometric mean over %u cells: %.3fx\n",
		       p, g_kern_n, exp(g_kern / g_kern_n));
	if (t_kern_min < 1e9)
		printf("%skernel >= 1.00x pbuf: GB/s %.3fx %s, CPU/GB %.3fx %s\n",
		       p, t_kern_min, t_kern_min >= 1.0 ? "MET" : "MISSED",
		       t_kern_cpu, t_kern_cpu >= 1.0 ? "MET" : "MISSED");
	else
		printf("%skernel >= 1.00x pbuf: not measured (backend %s)\n",
		       p, kern_ok ? "not run" : "unavailable");
	if (t_file_memcpy >= 0)
		printf("%sfile 1 MiB kmbuf-emul >= 0.8x memcpy: %.3fx %s "
		       "(read(): %.3fx)\n", p, t_file_memcpy,
		       t_file_memcpy >= 0.8 ? "MET" : "MISSED",
		       t_file_memcpy_read);
	if (o.verify)
		printf("%sverify: %lu bad buffers\n", p, verify_fail);
}

int main(int argc, char **argv)
{
	double t0 = now();

	parse_args(argc, argv);
	kern_err = io_uring_kmbuf_probe();
	kern_ok = !kern_err;
	file_prepare();
	print_header();
	run_throughput();
	run_setup_costs();
	print_targets();
	if (!o.csv)
		printf("total time %.1f s\n", now() - t0);
	close(file_fd);
	return o.verify && verify_fail ? 1 : 0;
}
