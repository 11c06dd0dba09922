/* SPDX-License-Identifier: MIT */
#ifndef KMBUF_TEST_HELPERS_H
#define KMBUF_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <liburing.h>
#include "liburing/kmbuf.h"

enum t_exit {
	T_EXIT_PASS	= 0,
	T_EXIT_FAIL	= 1,
	T_EXIT_SKIP	= 77,
};

/* Backend a test program was built for: -DTEST_BACKEND=... */
#define T_BACKEND_ANY		0
#define T_BACKEND_KERNEL	IO_URING_KMBUF_BACKEND_KERNEL
#define T_BACKEND_EMULATED	IO_URING_KMBUF_BACKEND_EMULATED
#ifndef TEST_BACKEND
#define TEST_BACKEND		T_BACKEND_ANY
#endif

void t_skip(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
void t_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define t_fail(...)	t_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* Fail unless 'got' == 'want', naming the expression */
#define T_EXPECT(got, want) do {					\
	long long __g = (long long) (got);				\
	long long __w = (long long) (want);				\
	if (__g != __w)							\
		t_fail_at(__FILE__, __LINE__, "%s: got %lld, want %lld", \
			  #got, __g, __w);				\
} while (0)
#define T_ASSERT(cond) do {						\
	if (!(cond))							\
		t_fail_at(__FILE__, __LINE__, "%s", #cond);		\
} while (0)

/* Clear LIBURING_KMBUF_BACKEND so only the test chooses the backend */
void t_init(void);
/* io_uring_queue_init(), skipping if io_uring is not usable here */
void t_ring_init(struct io_uring *ring, unsigned int entries);
/*
 * Set up a group on 'backend' (T_BACKEND_*); skips, with the reason, when
 * the kernel backend is asked for and this kernel lacks it.
 */
struct io_uring_kmbuf *t_kb_setup(struct io_uring *ring, int backend,
				  unsigned int nentries, unsigned int buf_size,
				  int bgid);
/*
 * Set up a group with IO_URING_KMBUF_INCREMENTAL (and 'flags') on
 * 'backend': skips where the emulated backend lacks IOU_PBUF_RING_INC,
 * fails in the project's UML guest if the kernel backend lacks it, and
 * elsewhere returns NULL for a kernel backend without it, saying so.
 */
struct io_uring_kmbuf *t_kb_setup_inc(struct io_uring *ring, int backend,
				      unsigned int nentries,
				      unsigned int buf_size, int bgid,
				      unsigned int flags);
/*
 * io_uring_kmbuf_cqe_buf(), failing unless the CQE's data is at 'off' in
 * buffer 'bid'
 */
char *t_cqe_buf_at(struct io_uring_kmbuf *kb, const struct io_uring_cqe *cqe,
		   unsigned int bid, size_t off);
/*
 * run(ring, T_BACKEND_EMULATED), then run(ring, T_BACKEND_KERNEL) where
 * the kernel backend is available (else say why it is not checked)
 */
void t_each_backend(struct io_uring *ring,
		    void (*run)(struct io_uring *ring, int backend));
/* Why the kernel backend is unavailable, or NULL if it is available */
const char *t_kernel_missing(void);
/* Skip unless the kernel backend (register, map, recycle) works */
void t_require_kmbuf_kernel(void);
/* Skip unless the kernel registers kmbuf rings and maps their buffers */
void t_require_kmbuf_registration(void);
const char *t_backend_name(int backend);

/* Wait at most five seconds for one CQE, copy it out and mark it seen */
void t_wait_cqe(struct io_uring *ring, struct io_uring_cqe *out);
/* Submit, failing on error or short submit */
void t_submit(struct io_uring *ring, int nr);
struct io_uring_sqe *t_get_sqe(struct io_uring *ring);

/* IORING_REGISTER_KMBUF_RING of 'nr' buffers of 'buf_size': 0 or -errno */
int t_kmbuf_reg(struct io_uring *ring, unsigned int nr, size_t buf_size,
		int bgid);
/*
 * t_kmbuf_reg(), tried again for up to five seconds while it fails with
 * -ENOMEM: the kernel may give a freed group's charge back only after the
 * call that dropped the last reference (ring exit, munmap) returned
 */
int t_kmbuf_reg_eventually(struct io_uring *ring, unsigned int nr,
			   size_t buf_size, int bgid);
/* fork() after flushing stdio, failing if it fails: 0 in the child */
pid_t t_fork(void);
/* waitpid() for 'pid' (again after EINTR), failing on error: its status */
int t_wait(pid_t pid);
/* t_wait(), failing unless the child exited: its exit code */
int t_wait_exit(pid_t pid);

/* Deterministic data: byte at stream position 'pos' of stream 'seed' */
static inline unsigned char t_byte(unsigned int seed, size_t pos)
{
	return (unsigned char) ((pos * 131 + seed * 7 + (pos >> 8)) & 0xff);
}
void t_fill(void *buf, size_t len, unsigned int seed, size_t pos);
/* Fail unless 'buf' holds stream 'seed' from 'pos' on */
void t_check_data(const void *buf, size_t len, unsigned int seed, size_t pos);

void t_write_all(int fd, const void *buf, size_t len);
/*
 * Read the whole of 'path' (a small file, say in procfs) into 'buf',
 * skipping if it isn't there and failing unless it is shorter than 'size'
 */
size_t t_read_short_file(const char *path, char *buf, size_t size);
/* A temporary file holding 'len' bytes of stream 'seed'; unlinked */
int t_create_file(size_t len, unsigned int seed);
/* A connected TCP pair on 127.0.0.1 */
void t_tcp_pair(int fds[2]);
size_t t_page_size(void);

/* The unprivileged uid and gid the RLIMIT_MEMLOCK tests drop to */
#define T_NOBODY	65534

/*
 * Set RLIMIT_MEMLOCK to 'memlock_cur'/'memlock_max' and become 'uid' (gid
 * the same, no supplementary groups), for good; needs root. Fails on error.
 */
void t_become(uid_t uid, unsigned long memlock_cur, unsigned long memlock_max);
/*
 * Run fn in a child that has RLIMIT_MEMLOCK = memlock_bytes and uid/gid
 * T_NOBODY, and return the child's exit status (fn passes by returning).
 * Skips unless the caller is root.
 */
int t_run_unprivileged(unsigned long memlock_bytes, void (*fn)(void));
/*
 * IORING_REGISTER_PBUF_STATUS (6.8+) for group 'bgid': 0 with the kernel's
 * head in *head (may be NULL), or -errno
 */
int t_pbuf_status(struct io_uring *ring, int bgid, unsigned int *head);
/* The kernel's head of group 'bgid'; fails the test where it cannot */
unsigned int t_ring_head(struct io_uring *ring, int bgid);
/* An application-allocated pbuf ring, registered empty */
struct io_uring_buf_ring *t_pbuf_ring_setup(struct io_uring *ring,
					    unsigned int nentries, int bgid);
void t_pbuf_ring_free(struct io_uring *ring, struct io_uring_buf_ring *br,
		      unsigned int nentries, int bgid);

#endif
