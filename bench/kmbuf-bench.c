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
	/*
	 * memcpy of the same bytes: the bounds. Each copies over the same
	 * destination footprint as the modes it bounds: "memcpy" over a ring
	 * of N buffers (pbuf, kmbuf), "memcpy-1buf" into one reused buffer
	 * (read()), so that a ratio to a bound compares like with like.
	 */
	M_MEMCPY,
	M_MEMCPY1,
	M_NR,
};

static const char *const mode_name[M_NR] = {
	"read", "pbuf", "kmbuf-emul", "kmbuf-kern", "memcpy", "memcpy-1buf",
};

enum workload { W_PIPE, W_FILE, W_TCP, W_NR };

static const char *const wl_name[W_NR + 1] = {
	"pipe", "file", "tcp", "small",
};
/* bit W_SMALL of --workload: the small-message workload (run_small()) */
#define W_SMALL		W_NR
#define MAX_SMALL	8

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
	/* small-message workload */
	unsigned int small_conns;
	size_t small_msgs;	/* messages per run, all connections */
	unsigned int small_buf;
	unsigned int small_nbufs;
	size_t small_batch;	/* consume once this much is pending */
	unsigned int small_window;	/* waves sent and not yet reaped */
	unsigned int small_sizes[MAX_SMALL];
	unsigned int nsmall;
	unsigned int smode_mask;
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
	.wl_mask = (1U << (W_NR + 1)) - 1,
	.mode_mask = (1U << M_NR) - 1,
	.max_area = 1024 * MiB,
	.small_conns = 64,
	.small_msgs = 32768,
	.small_buf = 4 * KiB,
	.small_nbufs = 256,
	.small_batch = 64 * KiB,
	.small_window = 1,
	.small_sizes = { 64, 512, 1500 },
	.nsmall = 3,
	.smode_mask = (1U << 6) - 1,
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

/*
 * The copy the kernel makes into user memory: on x86-64 copy_to_user() is
 * "rep movsb" (FSRM/ERMS CPUs), which moves large blocks faster than
 * glibc's vector loop does here; elsewhere, memcpy().
 */
static inline void bound_copy(void *dst, const void *src, size_t len)
{
#if defined(__x86_64__)
	__asm__ __volatile__("rep movsb"
			     : "+D"(dst), "+S"(src), "+c"(len)
			     : : "memory");
#else
	memcpy(dst, src, len);
#endif
}

/*
 * Copy o.bytes from the file's image in chunks of buf_size into a ring of
 * 'nentries' buffers taken in turn (nentries 1: one reused buffer).
 */
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
		bound_copy(ring + (size_t)bid * buf_size, memcpy_src + off,
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

/* ------------------------------------------------ small messages on TCP */

/*
 * N loopback TCP connections, one sender thread writing fixed-size
 * messages to them in turn (one send() per message, TCP_NODELAY), in
 * waves of one message per connection, at most o.small_window waves ahead
 * of what the receiver has reaped (so, with the default window of 1,
 * every completion carries one message, as on a server whose clients
 * each send a request and wait: TCP does not merge messages), and one
 * receiver with a multishot recv armed on every connection, all selecting
 * from ONE buffer group of o.small_nbufs buffers of o.small_buf bytes (the
 * same buffer memory in every mode).
 *
 * "Consumed": the receiver keeps every completion's payload pending (not
 * yet consumed) until a batch is due, then processes the whole batch (reads
 * every byte, checking it carries its connection's tag) and only then
 * gives back the buffers that the batch retired. A batch is due, after a
 * pass over the CQ, when the pending payload has reached o.small_batch
 * bytes, when the group ran dry (a recv ended with ENOBUFS), or when no
 * completion came for 100 ms. So the
 * application, not the kernel, decides when data stops being in flight,
 * and it decides the same way in every mode.
 *
 * The application reaps every completion the CQ holds before it consumes
 * any, so a completion waiting in the CQ counts as received and not yet
 * consumed, exactly as one already reaped.
 *
 * Memory held: bytes of buffer that no receive can use until the
 * application gives them back. Without incremental consumption that is a
 * whole buffer per completion, from the completion on. With it, a buffer
 * the kernel still fills (IORING_CQE_F_BUF_MORE) holds the bytes filled so
 * far (the rest is still in the ring, free for any connection), and the
 * whole buffer once a completion without BUF_MORE retires it. Both count
 * until the buffer is given back. The ratio reported is
 *	peak memory held / peak payload received and not yet consumed,
 * both sampled after every completion: 1.0 means no byte of buffer is held
 * beyond the data it carries.
 */
enum smode {
	S_PBUF,		/* pbuf ring, one buffer per completion */
	S_PBUF_INC,	/* pbuf ring with IOU_PBUF_RING_INC (Linux 6.12) */
	S_EMUL,		/* kmbuf emulated backend */
	S_EMUL_INC,	/* kmbuf emulated, IO_URING_KMBUF_INCREMENTAL */
	S_KERN,		/* kmbuf kernel backend */
	S_KERN_INC,	/* kmbuf kernel backend, IO_URING_KMBUF_INCREMENTAL */
	S_NR,
};

static const char *const smode_name[S_NR] = {
	"pbuf", "pbuf-inc", "kmbuf-emul", "kmbuf-emul-inc", "kmbuf-kern",
	"kmbuf-kern-inc",
};

static bool smode_inc(enum smode m)
{
	return m == S_PBUF_INC || m == S_EMUL_INC || m == S_KERN_INC;
}

static inline unsigned char small_tag(unsigned int conn)
{
	return (unsigned char)(conn * 37 + 1);
}

struct small_src {
	int *rfd;
	int *wfd;
	unsigned int nconns;
	unsigned int msg;
	size_t msgs;		/* messages over all connections */
	pthread_t thread;
	/* window: payload the receiver has reaped, and who waits for it */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t got;
	bool waiting;
};

/* Receiver: 'got' bytes reaped so far; wake the sender if it waits */
static void small_src_got(struct small_src *s, size_t got)
{
	pthread_mutex_lock(&s->lock);
	s->got = got;
	if (s->waiting)
		pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *small_sender(void *arg)
{
	struct small_src *s = arg;
	unsigned char *bufs;
	unsigned int c;
	size_t i;

	bufs = malloc((size_t)s->nconns * s->msg);
	if (!bufs)
		die("malloc", ENOMEM);
	for (c = 0; c < s->nconns; c++)
		memset(bufs + (size_t)c * s->msg, small_tag(c), s->msg);
	for (i = 0, c = 0; i < s->msgs; i++) {
		const unsigned char *p = bufs + (size_t)c * s->msg;
		size_t left = s->msg;

		if (!c && i >= (size_t)o.small_window * s->nconns) {
			/*
			 * A new wave (one message per connection): wait until
			 * the receiver has reaped all but the last
			 * window - 1 waves.
			 */
			size_t need = (i - (size_t)(o.small_window - 1) *
				       s->nconns) * s->msg;

			pthread_mutex_lock(&s->lock);
			while (s->got < need) {
				s->waiting = true;
				pthread_cond_wait(&s->cond, &s->lock);
			}
			s->waiting = false;
			pthread_mutex_unlock(&s->lock);
		}
		while (left) {
			ssize_t ret = send(s->wfd[c], p, left, MSG_NOSIGNAL);

			if (ret < 0) {
				if (errno == EINTR)
					continue;
				die("small sender", errno);
			}
			p += ret;
			left -= (size_t)ret;
		}
		if (++c == s->nconns)
			c = 0;
	}
	/* end of stream: every multishot recv ends with a 0 CQE */
	for (c = 0; c < s->nconns; c++)
		shutdown(s->wfd[c], SHUT_WR);
	free(bufs);
	return NULL;
}

struct small_ent {
	const unsigned char *p;
	unsigned int len;
	unsigned int bid;
	unsigned int conn;
	bool last;		/* this completion retired the buffer */
};

struct small_rx {
	enum smode m;
	bool inc;
	struct io_uring ring;
	struct group g;
	unsigned int buf_size;
	unsigned int *pb_off;	/* pbuf-inc: consumed offset per bid */
	size_t *held_of;	/* bytes of each bid counted as held */
	size_t held, held_peak;
	size_t flight, flight_peak;
	struct small_ent *q;	/* pending completions, in arrival order */
	size_t qn, qcap;
	unsigned int *bids;
	bool *armed, *done;
	int *rfd;
	unsigned int nconns, ndone;
	size_t enobufs, timeouts, bad;
};

static int small_group_setup(struct small_rx *rx, unsigned int nbufs)
{
	struct group *g = &rx->g;
	unsigned int flags;
	int err;

	g->mode = M_PBUF;
	if (rx->m == S_PBUF || rx->m == S_PBUF_INC) {
		struct pbuf *p = &g->pb;
		struct io_uring_kmbuf_reg reg = { };
		unsigned int i;

		/* pbuf_setup() with the flags word, which liburing 2.3 lacks */
		p->buf_size = rx->buf_size;
		p->nentries = nbufs;
		p->mask = nbufs - 1;
		p->ring_bytes = (nbufs * sizeof(struct io_uring_buf) + 4095) &
				~4095UL;
		p->br = mmap(NULL, p->ring_bytes, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p->br == MAP_FAILED)
			return -errno;
		p->bufs = aligned_alloc(4096, (size_t)nbufs * rx->buf_size);
		if (!p->bufs) {
			munmap(p->br, p->ring_bytes);
			return -ENOMEM;
		}
		io_uring_buf_ring_init(p->br);
		reg.ring_addr = (unsigned long)p->br;
		reg.ring_entries = nbufs;
		reg.bgid = BGID;
		reg.flags = rx->inc ? IOU_PBUF_RING_INC : 0;
		err = io_uring_register_buf_ring(&rx->ring,
				(struct io_uring_buf_reg *)&reg, 0);
		if (err) {
			free(p->bufs);
			munmap(p->br, p->ring_bytes);
			return err;
		}
		for (i = 0; i < nbufs; i++)
			io_uring_buf_ring_add(p->br,
					      p->bufs + (size_t)i * rx->buf_size,
					      rx->buf_size, i, p->mask, i);
		io_uring_buf_ring_advance(p->br, nbufs);
		return 0;
	}
	g->mode = rx->m == S_KERN || rx->m == S_KERN_INC ? M_KERN : M_EMUL;
	flags = g->mode == M_EMUL ? IO_URING_KMBUF_FORCE_EMULATION :
				    IO_URING_KMBUF_NO_EMULATION;
	if (rx->inc)
		flags |= IO_URING_KMBUF_INCREMENTAL;
	g->kb = io_uring_kmbuf_setup(&rx->ring, nbufs, rx->buf_size, BGID,
				     flags, &err);
	return g->kb ? 0 : err;
}

static void small_arm(struct small_rx *rx, unsigned int c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&rx->ring);

	if (!sqe) {
		io_uring_submit(&rx->ring);
		sqe = io_uring_get_sqe(&rx->ring);
		if (!sqe)
			die("io_uring_get_sqe", EBUSY);
	}
	if (rx->g.mode == M_PBUF) {
		/* raw liburing */
		io_uring_prep_recv(sqe, rx->rfd[c], NULL, 0, 0);
		sqe->ioprio |= IORING_RECV_MULTISHOT;
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
	} else {
		io_uring_kmbuf_prep_recv_multishot(sqe, rx->g.kb, rx->rfd[c], 0);
	}
	sqe->user_data = c;
	rx->armed[c] = true;
}

/* Process every pending completion, then give back what they retired */
static void small_consume(struct small_rx *rx)
{
	unsigned int nb = 0, i, c;
	size_t k;

	for (k = 0; k < rx->qn; k++) {
		const struct small_ent *e = &rx->q[k];
		unsigned char tag = small_tag(e->conn);
		unsigned int j, diff = 0;

		for (j = 0; j < e->len; j++)
			diff |= e->p[j] ^ tag;
		if (diff)
			rx->bad++;
		rx->flight -= e->len;
		if (e->last)
			rx->bids[nb++] = e->bid;
	}
	rx->qn = 0;
	for (i = 0; i < nb; i++) {
		rx->held -= rx->held_of[rx->bids[i]];
		rx->held_of[rx->bids[i]] = 0;
	}
	if (nb && rx->g.mode == M_PBUF) {
		struct pbuf *p = &rx->g.pb;

		for (i = 0; i < nb; i++)
			io_uring_buf_ring_add(p->br, p->bufs +
					      (size_t)rx->bids[i] * p->buf_size,
					      p->buf_size, rx->bids[i], p->mask,
					      i);
		io_uring_buf_ring_advance(p->br, nb);
	} else if (nb) {
		int ret = io_uring_kmbuf_recycle_batch(rx->g.kb, rx->bids, nb);

		if (ret != (int)nb)
			die("io_uring_kmbuf_recycle_batch", ret < 0 ? -ret : EIO);
	}
	/* recvs that ran dry take the buffers just given back */
	for (c = 0; c < rx->nconns; c++)
		if (!rx->armed[c] && !rx->done[c])
			small_arm(rx, c);
}

/* One CQE; returns payload bytes */
static size_t small_cqe(struct small_rx *rx, struct io_uring_cqe *cqe,
			bool *dry)
{
	unsigned int c = (unsigned int)cqe->user_data, bid;
	int res = cqe->res;
	struct small_ent *e;
	const unsigned char *p;
	bool last;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		rx->armed[c] = false;
	if (res == 0) {
		rx->done[c] = true;
		rx->ndone++;
		return 0;
	}
	if (res == -ENOBUFS) {
		rx->enobufs++;
		*dry = true;
		return 0;
	}
	if (res < 0)
		die("small recv CQE", -res);
	last = !(cqe->flags & IORING_CQE_F_BUF_MORE);
	if (rx->g.mode == M_PBUF) {
		if (!(cqe->flags & IORING_CQE_F_BUFFER))
			die("CQE without a buffer", EINVAL);
		bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		/* pbuf-inc: the application tracks where each piece starts */
		p = (unsigned char *)rx->g.pb.bufs + (size_t)bid * rx->buf_size +
		    rx->pb_off[bid];
		rx->pb_off[bid] = last ? 0 : rx->pb_off[bid] + (unsigned int)res;
	} else {
		p = io_uring_kmbuf_cqe_buf(rx->g.kb, cqe, &bid);
		if (!p)
			die("CQE without a buffer", EINVAL);
	}
	if (last) {
		rx->held += rx->buf_size - rx->held_of[bid];
		rx->held_of[bid] = rx->buf_size;
	} else {
		rx->held += (size_t)res;
		rx->held_of[bid] += (size_t)res;
	}
	rx->flight += (size_t)res;
	if (rx->held > rx->held_peak)
		rx->held_peak = rx->held;
	if (rx->flight > rx->flight_peak)
		rx->flight_peak = rx->flight;
	if (rx->qn == rx->qcap)
		die("small: pending queue full", EOVERFLOW);
	e = &rx->q[rx->qn++];
	e->p = p;
	e->len = (unsigned int)res;
	e->bid = bid;
	e->conn = c;
	e->last = last;
	return (size_t)res;
}

struct small_sample {
	struct sample s;
	size_t held_peak, flight_peak, timeouts;
};

static int run_small_one(enum smode m, unsigned int msg,
			 struct small_sample *out)
{
	unsigned int n = o.small_conns, nbufs = o.small_nbufs, c;
	struct io_uring_params p = { };
	struct small_rx rx;
	struct small_src src;
	size_t total, got = 0;
	int ret, one = 1;

	memset(&rx, 0, sizeof(rx));
	memset(out, 0, sizeof(*out));
	rx.m = m;
	rx.inc = smode_inc(m);
	rx.buf_size = o.small_buf;
	rx.nconns = n;
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 16384;
	ret = io_uring_queue_init_params(2 * n, &rx.ring, &p);
	if (ret)
		die("io_uring_queue_init_params", -ret);
	ret = small_group_setup(&rx, nbufs);
	if (ret) {
		io_uring_queue_exit(&rx.ring);
		return ret;
	}
	/* pending: under small_batch bytes, plus one CQ's worth */
	rx.qcap = o.small_batch + p.cq_entries + 1;
	rx.q = calloc(rx.qcap, sizeof(*rx.q));
	rx.bids = calloc(rx.qcap, sizeof(*rx.bids));
	rx.pb_off = calloc(nbufs, sizeof(*rx.pb_off));
	rx.held_of = calloc(nbufs, sizeof(*rx.held_of));
	rx.armed = calloc(n, sizeof(bool));
	rx.done = calloc(n, sizeof(bool));
	rx.rfd = calloc(n, sizeof(int));
	src.wfd = calloc(n, sizeof(int));
	if (!rx.q || !rx.bids || !rx.pb_off || !rx.held_of || !rx.armed ||
	    !rx.done || !rx.rfd || !src.wfd)
		die("calloc", ENOMEM);
	/* fault the buffers in, as the other workloads do */
	for (c = 0; c < nbufs; c++)
		memset(rx.g.mode == M_PBUF ?
		       rx.g.pb.bufs + (size_t)c * rx.buf_size :
		       (char *)io_uring_kmbuf_addr(rx.g.kb, c), 0, rx.buf_size);
	for (c = 0; c < n; c++) {
		tcp_pair(&rx.rfd[c], &src.wfd[c]);
		setsockopt(src.wfd[c], IPPROTO_TCP, TCP_NODELAY, &one,
			   sizeof(one));
		small_arm(&rx, c);
	}
	src.rfd = rx.rfd;
	pthread_mutex_init(&src.lock, NULL);
	pthread_cond_init(&src.cond, NULL);
	src.got = 0;
	src.waiting = false;
	src.nconns = n;
	src.msg = msg;
	src.msgs = o.small_msgs;
	total = src.msgs * msg;
	ret = io_uring_submit(&rx.ring);
	if (ret < 0)
		die("io_uring_submit", -ret);
	sample_begin(&out->s);
	ret = pthread_create(&src.thread, NULL, small_sender, &src);
	if (ret)
		die("pthread_create", ret);
	while (rx.ndone < n) {
		struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		bool dry = false;

		ret = io_uring_submit_and_wait_timeout(&rx.ring, &cqe, 1, &ts,
						       NULL);
		if (ret == -ETIME) {
			/* the latency bound: nothing came for 100 ms */
			rx.timeouts++;
			small_consume(&rx);
			continue;
		}
		if (ret < 0 && ret != -EINTR)
			die("io_uring_submit_and_wait_timeout", -ret);
		io_uring_for_each_cqe(&rx.ring, head, cqe) {
			size_t b = small_cqe(&rx, cqe, &dry);

			seen++;
			if (b) {
				got += b;
				out->s.ops++;
			}
		}
		io_uring_cq_advance(&rx.ring, seen);
		if (seen)
			small_src_got(&src, got);
		/*
		 * Everything reaped counts as received before any of it is
		 * consumed: a completion waiting in the CQ holds its buffer
		 * as much as one the application looked at.
		 */
		if (dry || rx.flight >= o.small_batch)
			small_consume(&rx);
		if (got >= total && !out->s.bytes) {
			small_consume(&rx);
			sample_end(&out->s);
			out->s.bytes = got;
		}
	}
	if (!out->s.bytes)
		die("small: stream ended early", EPIPE);
	pthread_join(src.thread, NULL);
	pthread_mutex_destroy(&src.lock);
	pthread_cond_destroy(&src.cond);
	small_consume(&rx);
	if (rx.bad)
		die("small: payload check failed", EIO);
	out->s.enobufs = rx.enobufs;
	out->s.iowq = iowq_threads() > 0;
	out->held_peak = rx.held_peak;
	out->flight_peak = rx.flight_peak;
	out->timeouts = rx.timeouts;
	if (rx.g.mode == M_PBUF)
		pbuf_free(&rx.ring, &rx.g.pb);
	else
		io_uring_kmbuf_free(rx.g.kb);
	io_uring_queue_exit(&rx.ring);
	for (c = 0; c < n; c++) {
		close(rx.rfd[c]);
		close(src.wfd[c]);
	}
	free(rx.q);
	free(rx.bids);
	free(rx.pb_off);
	free(rx.held_of);
	free(rx.armed);
	free(rx.done);
	free(rx.rfd);
	free(src.wfd);
	return 0;
}

static double paired_ratio(const struct result *a, const struct result *b);
static bool paired_ratio_ci(const struct result *a, const struct result *b,
			    double *lo, double *hi);

struct small_result {
	struct result r;
	double mem[MAX_RUNS];
	double bpc[MAX_RUNS];	/* payload bytes per completion */
	size_t held_peak, flight_peak, timeouts;
};

/*
 * Worst memory ratio and throughput ratio of the INC modes, for targets,
 * with the 95% interval of that throughput ratio (t_small_ci: 0 none).
 */
static double t_small_mem = -1, t_small_x = 1e9, t_small_xlo, t_small_xhi;
static bool t_small_ci;

static void run_small(void)
{
	static struct small_result res[MAX_SMALL][S_NR];
	unsigned int si, m, r, base;
	const char *why;

	if (o.csv)
		printf("kind,msg_size,conns,mode,mbs_median,mbs_min,mbs_max,"
		       "kmsgs,bytes_per_cqe,cpu_s_per_gb,ratio_vs_pbuf_inc,"
		       "ratio_ci95_lo,ratio_ci95_hi,"
		       "cpu_ratio_vs_pbuf_inc,mem_per_byte_median,mem_min,"
		       "mem_max,held_peak_kib,enobufs,note\n");
	else
		printf("small messages: %u TCP connections, window %u "
		       "message(s) each, one multishot recv each, one group of "
		       "%u x %u KiB buffers,\n%zu messages per run, consumed in "
		       "batches of %zu KiB (or when the group runs dry)\n"
		       "mem/B = peak buffer bytes held / peak payload bytes not "
		       "yet consumed (1.0 = no waste); x inc, cpu x: against "
		       "pbuf-inc; [95%% CI]: of the median x inc, "
		       "distribution-free\n"
		       "%-5s %-14s %7s %15s %7s %5s %6s %7s %13s %6s %6s %13s %8s %s\n",
		       o.small_conns, o.small_window, o.small_nbufs,
		       o.small_buf / 1024,
		       o.small_msgs, o.small_batch / 1024,
		       "msg", "mode", "MB/s", "[min-max]", "kmsg/s", "B/CQE",
		       "cpu/GB", "x inc", "[95% CI]", "cpu x", "mem/B",
		       "[min-max]",
		       "held KiB", "note");
	memset(res, 0, sizeof(res));
	/* rounds: every size and mode once per round, interleaved */
	for (r = 0; r < o.runs; r++) {
		for (si = 0; si < o.nsmall; si++) {
			for (m = 0; m < S_NR; m++) {
				struct small_result *sr = &res[si][m];
				struct result *rs = &sr->r;
				struct small_sample s;
				int ret;

				if (!(o.smode_mask & (1U << m)) || rs->skipped)
					continue;
				if ((m == S_KERN || m == S_KERN_INC) &&
				    !kern_ok) {
					rs->skipped = true;
					snprintf(rs->why, sizeof(rs->why),
						 "kernel backend unavailable: %s",
						 strerror(-kern_err));
					continue;
				}
				ret = run_small_one(m, o.small_sizes[si], &s);
				if (ret) {
					rs->skipped = true;
					if (m == S_PBUF_INC && ret == -EINVAL)
						why = "IOU_PBUF_RING_INC refused (Linux 6.12+)";
					else if (smode_inc(m) &&
						 (ret == -EOPNOTSUPP || ret == -EINVAL))
						why = "INC unsupported on this backend/kernel";
					else
						why = "setup";
					snprintf(rs->why, sizeof(rs->why), "%s: %.60s",
						 why, strerror(-ret));
					continue;
				}
				rs->gbs[rs->n] = s.s.bytes / s.s.sec / 1e9;
				rs->ops[rs->n] = s.s.bytes / (double)o.small_sizes[si] /
						 s.s.sec;
				rs->cpu_gb[rs->n] = s.s.cpu / (s.s.bytes / 1e9);
				sr->mem[rs->n] = s.flight_peak ?
					(double)s.held_peak / s.flight_peak : 0;
				sr->bpc[rs->n] = (double)s.s.bytes / s.s.ops;
				if (s.held_peak > sr->held_peak)
					sr->held_peak = s.held_peak;
				sr->timeouts += s.timeouts;
				rs->enobufs += s.s.enobufs;
				rs->iowq |= s.s.iowq;
				rs->n++;
			}
		}
	}
	for (si = 0; si < o.nsmall; si++) {
		unsigned int msg = o.small_sizes[si];
		double base_cpu, lo, hi;

		base = res[si][S_PBUF_INC].r.n ? S_PBUF_INC : S_PBUF;
		base_cpu = median(res[si][base].r.cpu_gb, res[si][base].r.n,
				  &lo, &hi);
		for (m = 0; m < S_NR; m++) {
			struct small_result *sr = &res[si][m];
			struct result *rs = &sr->r;
			double g, ops, cpu, bpc, mem, mlo, mhi, x, cx, a, b;
			double xlo = 0, xhi = 0;
			char note[200] = "", ci[32] = "-";
			bool has_ci;

			if (!(o.smode_mask & (1U << m)))
				continue;
			if (!rs->n) {
				if (o.csv)
					printf("small,%u,%u,%s,,,,,,,,,,,,,,,,\"%s\"\n",
					       msg, o.small_conns, smode_name[m],
					       rs->why);
				else
					printf("%-5u %-14s %7s %15s %7s %5s %6s %7s %13s %6s %6s %13s %8s %s\n",
					       msg, smode_name[m], "-", "", "", "",
					       "", "", "", "", "", "", "", rs->why);
				continue;
			}
			g = median(rs->gbs, rs->n, &lo, &hi);
			ops = median(rs->ops, rs->n, &a, &b);
			cpu = median(rs->cpu_gb, rs->n, &a, &b);
			bpc = median(sr->bpc, rs->n, &a, &b);
			mem = median(sr->mem, rs->n, &mlo, &mhi);
			x = paired_ratio(rs, &res[si][base].r);
			has_ci = m != base &&
				 paired_ratio_ci(rs, &res[si][base].r, &xlo, &xhi);
			if (has_ci)
				snprintf(ci, sizeof(ci), "[%5.3f-%5.3f]", xlo, xhi);
			cx = cpu > 0 ? base_cpu / cpu : 0;
			if (smode_inc(m) && m != S_PBUF_INC) {
				if (mhi > t_small_mem)
					t_small_mem = mhi;
				if (x > 0 && x < t_small_x) {
					t_small_x = x;
					t_small_ci = has_ci;
					t_small_xlo = xlo;
					t_small_xhi = xhi;
				}
			}
			if (rs->enobufs || sr->timeouts)
				snprintf(note, sizeof(note),
					 "%zu ENOBUFS, %zu batch timeouts",
					 rs->enobufs, sr->timeouts);
			if (rs->iowq)
				strncat(note, " io-wq threads seen",
					sizeof(note) - strlen(note) - 1);
			if (o.csv) {
				printf("small,%u,%u,%s,%.1f,%.1f,%.1f,%.1f,%.0f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%zu,%zu,\"%s\"\n",
				       msg, o.small_conns, smode_name[m],
				       g * 1e3, lo * 1e3, hi * 1e3, ops / 1e3,
				       bpc, cpu, x, xlo, xhi, cx, mem, mlo, mhi,
				       sr->held_peak / 1024, rs->enobufs, note);
				continue;
			}
			printf("%-5u %-14s %7.1f [%6.1f-%6.1f] %7.1f %5.0f %6.2f %6.3fx %13s %5.3fx %6.3f [%5.2f-%5.2f] %8zu %s\n",
			       msg, smode_name[m], g * 1e3, lo * 1e3, hi * 1e3,
			       ops / 1e3, bpc, cpu, x, ci, cx, mem, mlo, mhi,
			       sr->held_peak / 1024, note);
		}
		if (!o.csv)
			printf("\n");
		fflush(stdout);
	}
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
	       "  --workload W    pipe,file,tcp,small (default all)\n"
	       "  --mode M        read,pbuf,kmbuf-emul,kmbuf-kern,memcpy,memcpy-1buf\n"
	       "  --dir DIR       where the file lives (default /var/tmp)\n"
	       "  --max-area MIB  skip rings larger than this (default 1024)\n"
	       "  --verify        check file data in every completed buffer\n"
	       "small-message workload (--workload small):\n"
	       "  --conns N       TCP connections (default 64, at least 64)\n"
	       "  --msg B[,B..]   message sizes in bytes (default 64,512,1500)\n"
	       "  --small-mode M  pbuf,pbuf-inc,kmbuf-emul,kmbuf-emul-inc,\n"
	       "                  kmbuf-kern,kmbuf-kern-inc (default all)\n"
	       "  --small-msgs N  messages per run (default 32768)\n"
	       "  --small-buf KIB    buffer size (default 4)\n"
	       "  --small-nbufs N    buffers in the group (default 256)\n"
	       "  --batch KIB     consume once this much payload is pending "
	       "(default 64)\n"
	       "  --window N      messages per connection sent and not yet "
	       "received\n                  (default 1)\n",
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
		{ "conns", required_argument, NULL, 'C' },
		{ "msg", required_argument, NULL, 'M' },
		{ "small-mode", required_argument, NULL, 'x' },
		{ "small-msgs", required_argument, NULL, 'B' },
		{ "small-buf", required_argument, NULL, 'u' },
		{ "small-nbufs", required_argument, NULL, 'N' },
		{ "batch", required_argument, NULL, 'T' },
		{ "window", required_argument, NULL, 'W' },
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
			o.wl_mask = parse_names(optarg, wl_name, W_NR + 1);
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
		case 'C':
			o.small_conns = (unsigned int)atoi(optarg);
			break;
		case 'M':
			o.nsmall = parse_list(optarg, o.small_sizes, MAX_SMALL, 1);
			break;
		case 'x':
			o.smode_mask = parse_names(optarg, smode_name, S_NR);
			break;
		case 'B':
			o.small_msgs = strtoul(optarg, NULL, 0);
			break;
		case 'u':
			o.small_buf = (unsigned int)(strtoul(optarg, NULL, 0) * KiB);
			break;
		case 'N':
			o.small_nbufs = (unsigned int)atoi(optarg);
			break;
		case 'W':
			o.small_window = (unsigned int)atoi(optarg);
			break;
		case 'T':
			o.small_batch = strtoul(optarg, NULL, 0) * KiB;
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
	    !o.nrings || !o.wl_mask || !o.mode_mask || o.bytes < MiB ||
	    o.small_conns < 64 || !o.nsmall || !o.smode_mask ||
	    !o.small_window ||
	    o.small_msgs < o.small_conns || !o.small_batch || !o.small_buf ||
	    !o.small_nbufs || (o.small_nbufs & (o.small_nbufs - 1)) ||
	    o.small_nbufs > IO_URING_KMBUF_MAX_ENTRIES) {
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

/*
 * A 95% confidence interval of the median of the per-round ratios that
 * assumes nothing about their distribution: the k-th smallest and k-th
 * largest ratio, k the largest with P(Binomial(n, 1/2) < k) <= 2.5%. It
 * needs at least 6 rounds; returns false (no interval) with fewer.
 */
static bool paired_ratio_ci(const struct result *a, const struct result *b,
			    double *lo, double *hi)
{
	double r[MAX_RUNS], cdf = 0, term;
	unsigned int i, k = 0;

	if (!a->n || a->n != b->n)
		return false;
	/* P(X = 0) = 2^-n; P(X = i + 1) = P(X = i) * (n - i) / (i + 1) */
	term = ldexp(1.0, -(int)a->n);
	for (i = 0; i < a->n / 2; i++) {
		if (cdf + term > 0.025)
			break;
		cdf += term;
		k = i + 1;
		term = term * (a->n - i) / (i + 1);
	}
	if (!k)
		return false;
	for (i = 0; i < a->n; i++)
		r[i] = a->gbs[i] / b->gbs[i];
	qsort(r, a->n, sizeof(*r), cmp_double);
	*lo = r[k - 1];
	*hi = r[a->n - k];
	return true;
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
						if ((m == M_MEMCPY || m == M_MEMCPY1) &&
						    w != W_FILE) {
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
						else if (m == M_MEMCPY1)
							run_memcpy(bs, 1, &s);
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
					if ((m == M_MEMCPY || m == M_MEMCPY1) &&
					    w != W_FILE)
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
						double mc1 = median(res[w][M_MEMCPY1].gbs,
								    res[w][M_MEMCPY1].n,
								    &olo, &ohi);
						if (m == M_EMUL && mc > 0)
							t_file_memcpy = g / mc;
						if (m == M_READ && mc1 > 0)
							t_file_memcpy_read = g / mc1;
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
		       "(read() >= memcpy-1buf: %.3fx)\n", p, t_file_memcpy,
		       t_file_memcpy >= 0.8 ? "MET" : "MISSED",
		       t_file_memcpy_read);
	if (t_small_mem >= 0) {
		char ci[80] = "";

		/*
		 * A median below 1.0 whose interval holds 1.0 is no evidence
		 * of a slowdown; one whose interval is below 1.0 is.
		 */
		if (t_small_ci)
			snprintf(ci, sizeof(ci), " (95%% CI %.3f-%.3f%s)",
				 t_small_xlo, t_small_xhi,
				 t_small_x >= 1.0 ? "" :
				 t_small_xhi >= 1.0 ? ": 1.0 inside, no slowdown "
				 "shown" : ": all below 1.0, slower");
		printf("%ssmall messages, kmbuf INC: memory per payload byte "
		       "<= 1.1: worst %.3f %s; >= 1.0x pbuf-inc: worst %.3fx "
		       "%s%s\n", p, t_small_mem,
		       t_small_mem <= 1.1 ? "MET" : "MISSED", t_small_x,
		       t_small_x >= 1.0 ? "MET" : "MISSED", ci);
	}
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
	if (o.wl_mask & ((1U << W_NR) - 1))
		run_throughput();
	if (o.wl_mask & (1U << W_SMALL))
		run_small();
	run_setup_costs();
	print_targets();
	if (!o.csv)
		printf("total time %.1f s\n", now() - t0);
	close(file_fd);
	return o.verify && verify_fail ? 1 : 0;
}
