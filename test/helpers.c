/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the test programs: exit codes, ring and group setup
 * with skip reasons, data patterns, sockets and files.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "helpers.h"
#include "seccomp.h"

void t_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(T_EXIT_SKIP);
}

void t_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "FAIL: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(T_EXIT_FAIL);
}

size_t t_page_size(void)
{
	return (size_t) sysconf(_SC_PAGESIZE);
}

void t_init(void)
{
	unsetenv(IO_URING_KMBUF_ENV);
}

void t_ring_init(struct io_uring *ring, unsigned int entries)
{
	int ret = io_uring_queue_init(entries, ring, 0);

	if (ret == -ENOSYS || ret == -EPERM)
		t_skip("io_uring is not available here (%s)", strerror(-ret));
	if (ret)
		t_fail("io_uring_queue_init: %s", strerror(-ret));
}

const char *t_backend_name(int backend)
{
	return backend == T_BACKEND_ANY ? "auto" :
		io_uring_kmbuf_backend_name(backend);
}

const char *t_kernel_missing(void)
{
	struct io_uring ring;
	unsigned int size = (unsigned int) t_page_size();
	const char *why = NULL;
	void *bufs;
	int ret;
	static char why_buf[128];

	ret = io_uring_kmbuf_probe();
	if (!ret)
		return NULL;
	if (ret != -EOPNOTSUPP) {
		snprintf(why_buf, sizeof(why_buf),
			 "io_uring_kmbuf_probe() failed: %s%s", strerror(-ret),
			 ret == -EPERM || ret == -ENOSYS ?
			 " (io_uring is not available here)" : "");
		return why_buf;
	}
	/* tell "no kmbuf at all" from "kmbuf without recycling" */
	t_ring_init(&ring, 1);
	bufs = io_uring_setup_buf_ring_kernel_managed(&ring, size, 1, 0, 0,
						      &ret);
	if (bufs) {
		why = "kernel registers kmbuf rings but cannot map the ring "
		      "for recycling (series completion 2 missing)";
		io_uring_free_buf_ring_kernel_managed(&ring, bufs, size, 1, 0);
	} else {
		why = "kernel has no kmbuf rings (IORING_REGISTER_KMBUF_RING "
		      "is not supported by the running kernel)";
	}
	io_uring_queue_exit(&ring);
	return why;
}

void t_require_kmbuf_registration(void)
{
	unsigned int size = (unsigned int) t_page_size();
	struct io_uring ring;
	void *bufs;
	int ret;

	t_ring_init(&ring, 1);
	bufs = io_uring_setup_buf_ring_kernel_managed(&ring, size, 1, 0, 0,
						      &ret);
	if (bufs)
		io_uring_free_buf_ring_kernel_managed(&ring, bufs, size, 1, 0);
	io_uring_queue_exit(&ring);
	if (!bufs)
		t_skip("kernel has no kmbuf rings (IORING_REGISTER_KMBUF_RING "
		       "gave %s)", strerror(-ret));
}

void t_require_kmbuf_kernel(void)
{
	const char *why = t_kernel_missing();

	if (why)
		t_skip("%s", why);
}

struct io_uring_kmbuf *t_kb_setup(struct io_uring *ring, int backend,
				  unsigned int nentries, unsigned int buf_size,
				  int bgid)
{
	unsigned int flags = 0;
	struct io_uring_kmbuf *kb;
	int ret;

	if (backend == T_BACKEND_KERNEL)
		flags = IO_URING_KMBUF_NO_EMULATION;
	else if (backend == T_BACKEND_EMULATED)
		flags = IO_URING_KMBUF_FORCE_EMULATION;
	kb = io_uring_kmbuf_setup(ring, nentries, buf_size, bgid, flags, &ret);
	if (!kb) {
		if (ret == -EOPNOTSUPP && backend == T_BACKEND_KERNEL)
			t_skip("kernel backend: %s", t_kernel_missing());
		t_fail("io_uring_kmbuf_setup(%u, %u, %d, %s): %s", nentries,
		       buf_size, bgid, t_backend_name(backend), strerror(-ret));
	}
	T_EXPECT(ret, 0);
	if (backend != T_BACKEND_ANY)
		T_EXPECT(io_uring_kmbuf_backend(kb), backend);
	return kb;
}

struct io_uring_kmbuf *t_kb_setup_inc(struct io_uring *ring, int backend,
				      unsigned int nentries,
				      unsigned int buf_size, int bgid,
				      unsigned int flags)
{
	struct io_uring_kmbuf *kb;
	int ret;

	flags |= IO_URING_KMBUF_INCREMENTAL;
	flags |= backend == T_BACKEND_KERNEL ? IO_URING_KMBUF_NO_EMULATION :
					       IO_URING_KMBUF_FORCE_EMULATION;
	kb = io_uring_kmbuf_setup(ring, nentries, buf_size, bgid, flags, &ret);
	if (kb) {
		T_EXPECT(ret, 0);
		T_EXPECT(io_uring_kmbuf_backend(kb), backend);
		return kb;
	}
	T_EXPECT(ret, -EOPNOTSUPP);
	if (backend == T_BACKEND_EMULATED)
		t_skip("no IOU_PBUF_RING_INC (Linux 6.12) here");
	/* the project's kernel (kernel/run-tests.sh) must take it */
	if (getenv("KMBUF_UML"))
		t_fail("the kernel series refuses IOU_PBUF_RING_INC");
	printf("kernel backend: no incremental consumption for kmbuf rings "
	       "in this kernel, not checked\n");
	return NULL;
}

char *t_cqe_buf_at(struct io_uring_kmbuf *kb, const struct io_uring_cqe *cqe,
		   unsigned int bid, size_t off)
{
	unsigned int got = ~0U;
	char *buf = io_uring_kmbuf_cqe_buf(kb, cqe, &got);

	if (!buf)
		t_fail("CQE (res %d, flags 0x%x) carries no buffer", cqe->res,
		       cqe->flags);
	if (got != bid || buf != (char *) io_uring_kmbuf_addr(kb, bid) + off)
		t_fail("CQE data at bid %u offset %td, want bid %u offset %zu",
		       got, got < kb->nentries ?
		       buf - (char *) io_uring_kmbuf_addr(kb, got) : -1,
		       bid, off);
	return buf;
}

void t_each_backend(struct io_uring *ring,
		    void (*run)(struct io_uring *ring, int backend))
{
	const char *why;

	run(ring, T_BACKEND_EMULATED);
	why = t_kernel_missing();
	if (why)
		printf("kernel backend: not checked: %s\n", why);
	else
		run(ring, T_BACKEND_KERNEL);
}

size_t t_read_short_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		t_skip("no %s (%s)", path, strerror(errno));
	n = read(fd, buf, size);
	close(fd);
	/* the read must be short: less than asked for */
	if (n <= 0 || (size_t) n >= size)
		t_fail("read %s: %zd", path, n);
	return (size_t) n;
}

struct io_uring_sqe *t_get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		t_fail("SQ ring full");
	return sqe;
}

void t_submit(struct io_uring *ring, int nr)
{
	int ret = io_uring_submit(ring);

	if (ret != nr)
		t_fail("io_uring_submit: got %d, want %d", ret, nr);
}

void t_wait_cqe(struct io_uring *ring, struct io_uring_cqe *out)
{
	struct __kernel_timespec ts = { .tv_sec = 5 };
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret)
		t_fail("waiting for a CQE: %s", strerror(-ret));
	*out = *cqe;
	io_uring_cqe_seen(ring, cqe);
}

void t_fill(void *buf, size_t len, unsigned int seed, size_t pos)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = t_byte(seed, pos + i);
}

void t_check_data(const void *buf, size_t len, unsigned int seed, size_t pos)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != t_byte(seed, pos + i))
			t_fail("data mismatch at byte %zu of %zu (stream %u, "
			       "position %zu): got %#x, want %#x", i, len,
			       seed, pos + i, p[i], t_byte(seed, pos + i));
	}
}

void t_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t ret = write(fd, p, len);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			t_fail("write: %s", strerror(errno));
		p += ret;
		len -= (size_t) ret;
	}
}

int t_create_file(size_t len, unsigned int seed)
{
	char name[] = "kmbuf-test-file.XXXXXX";
	char chunk[4096];
	size_t pos = 0;
	int fd;

	fd = mkstemp(name);
	if (fd < 0) {
		/* the build tree may be read-only: fall back to TMPDIR */
		const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		char path[4096];

		snprintf(path, sizeof(path), "%s/kmbuf-test-file.XXXXXX", dir);
		fd = mkstemp(path);
		if (fd < 0)
			t_fail("mkstemp: %s", strerror(errno));
		unlink(path);
	} else {
		unlink(name);
	}
	while (pos < len) {
		size_t n = len - pos < sizeof(chunk) ? len - pos : sizeof(chunk);

		t_fill(chunk, n, seed, pos);
		t_write_all(fd, chunk, n);
		pos += n;
	}
	if (fsync(fd))
		t_fail("fsync: %s", strerror(errno));
	return fd;
}

void t_tcp_pair(int fds[2])
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	int lfd, one = 1;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		t_fail("socket: %s", strerror(errno));
	if (bind(lfd, (struct sockaddr *) &addr, sizeof(addr)) ||
	    listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *) &addr, &alen))
		t_skip("no TCP on 127.0.0.1 here: %s", strerror(errno));
	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0)
		t_fail("socket: %s", strerror(errno));
	if (connect(fds[0], (struct sockaddr *) &addr, sizeof(addr))) {
		/* a network namespace whose loopback is down (unshare -n) */
		if (errno == ENETUNREACH || errno == EADDRNOTAVAIL ||
		    errno == EHOSTUNREACH)
			t_skip("no TCP on 127.0.0.1 here (loopback down?): "
			       "connect: %s", strerror(errno));
		t_fail("connect: %s", strerror(errno));
	}
	fds[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fds[1] < 0)
		t_fail("accept: %s", strerror(errno));
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(lfd);
}

static size_t pbuf_ring_bytes(unsigned int nentries)
{
	size_t page = t_page_size();

	return (nentries * sizeof(struct io_uring_buf) + page - 1) &
	       ~(page - 1);
}

struct io_uring_buf_ring *t_pbuf_ring_setup(struct io_uring *ring,
					    unsigned int nentries, int bgid)
{
	struct io_uring_buf_reg reg = { };
	struct io_uring_buf_ring *br;
	int ret;

	br = mmap(NULL, pbuf_ring_bytes(nentries), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br == MAP_FAILED)
		t_fail("mmap: %s", strerror(errno));
	io_uring_buf_ring_init(br);
	reg.ring_addr = (unsigned long) br;
	reg.ring_entries = nentries;
	reg.bgid = (__u16) bgid;
	ret = io_uring_register_buf_ring(ring, &reg, 0);
	if (ret)
		t_fail("io_uring_register_buf_ring: %s", strerror(-ret));
	return br;
}

void t_pbuf_ring_free(struct io_uring *ring, struct io_uring_buf_ring *br,
		      unsigned int nentries, int bgid)
{
	T_EXPECT(io_uring_unregister_buf_ring(ring, bgid), 0);
	munmap(br, pbuf_ring_bytes(nentries));
}

/* IORING_REGISTER_PBUF_STATUS (Linux 6.8), missing from liburing 2.3 */
#define T_REGISTER_PBUF_STATUS	26
struct t_buf_status {
	__u32	buf_group;
	__u32	head;
	__u32	resv[8];
};

int t_pbuf_status(struct io_uring *ring, int bgid, unsigned int *head)
{
	struct t_buf_status st = { .buf_group = (__u32) bgid };

	if (syscall(__NR_io_uring_register, ring->ring_fd,
		    T_REGISTER_PBUF_STATUS, &st, 1))
		return -errno;
	if (head)
		*head = st.head & 0xffff;
	return 0;
}

unsigned int t_ring_head(struct io_uring *ring, int bgid)
{
	unsigned int head;
	int ret;

	ret = t_pbuf_status(ring, bgid, &head);
	if (ret)
		t_fail("IORING_REGISTER_PBUF_STATUS: %s", strerror(-ret));
	return head;
}

void t_seccomp_install(struct sock_filter *insns, unsigned short len)
{
	struct sock_fprog prog = {
		.len = len,
		.filter = insns,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		t_skip("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) {
		if (errno == EINVAL)
			t_skip("no seccomp filters in this kernel");
		t_fail("PR_SET_SECCOMP: %s", strerror(errno));
	}
}

int t_kmbuf_reg(struct io_uring *ring, unsigned int nr, size_t buf_size,
		int bgid)
{
	struct io_uring_kmbuf_reg r = { };

	r.buf_size = (__u32) buf_size;
	r.ring_entries = nr;
	r.bgid = (__u16) bgid;
	return io_uring_register_kmbuf_ring(ring, &r, 0);
}

int t_kmbuf_reg_eventually(struct io_uring *ring, unsigned int nr,
			   size_t buf_size, int bgid)
{
	int ret, i;

	for (i = 0; i < 500; i++) {
		ret = t_kmbuf_reg(ring, nr, buf_size, bgid);
		if (ret != -ENOMEM)
			break;
		usleep(10000);
	}
	return ret;
}

pid_t t_fork(void)
{
	pid_t pid;

	/* nothing buffered is written twice */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		t_fail("fork: %s", strerror(errno));
	return pid;
}

int t_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) != pid) {
		if (errno != EINTR)
			t_fail("waitpid: %s", strerror(errno));
	}
	return status;
}

int t_wait_exit(pid_t pid)
{
	int status = t_wait(pid);

	if (!WIFEXITED(status))
		t_fail("child died with status %#x", status);
	return WEXITSTATUS(status);
}

void t_become(uid_t uid, unsigned long memlock_cur, unsigned long memlock_max)
{
	struct rlimit rl;

	rl.rlim_cur = (rlim_t) memlock_cur;
	rl.rlim_max = (rlim_t) memlock_max;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		t_fail("setrlimit: %s", strerror(errno));
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		t_fail("dropping to uid/gid %u: %s", (unsigned int) uid,
		       strerror(errno));
	T_EXPECT(geteuid(), uid);
}

int t_run_unprivileged(unsigned long memlock_bytes, void (*fn)(void))
{
	pid_t pid;

	if (geteuid() != 0)
		t_skip("needs root to lower RLIMIT_MEMLOCK and drop to uid %d",
		       T_NOBODY);
	pid = t_fork();
	if (!pid) {
		t_become(T_NOBODY, memlock_bytes, memlock_bytes);
		fn();
		exit(T_EXIT_PASS);
	}
	return t_wait_exit(pid);
}
