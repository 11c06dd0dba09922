/* SPDX-License-Identifier: MIT */
/*
 * Description: a probe that fails for a passing shortage is not kept for
 * the process. With RLIMIT_MEMLOCK at 0 the kernel refuses the private
 * ring's kmbuf group with ENOMEM, so the probe says -EOPNOTSUPP; once the
 * limit is raised, the next probe must try again and find the kernel
 * backend, and a setup that insists on it must get it.
 *
 * Needs the project's kernel series and root (to become a user whose
 * locked-memory count starts at 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "helpers.h"

#define BGID	2

static void run_case(uid_t uid)
{
	struct rlimit rl = { 0, 1024 * 1024 };
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int ret;

	t_become(uid, rl.rlim_cur, rl.rlim_max);
	t_ring_init(&ring, 4);

	/* no locked memory at all: the private group cannot be registered */
	T_EXPECT(io_uring_kmbuf_probe(), -EOPNOTSUPP);
	kb = io_uring_kmbuf_setup(&ring, 2, (unsigned int) t_page_size(), BGID,
				  IO_URING_KMBUF_NO_EMULATION, &ret);
	T_ASSERT(kb == NULL);
	T_EXPECT(ret, -EOPNOTSUPP);

	/* room again: the shortage has passed, and so has its answer */
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		t_fail("setrlimit: %s", strerror(errno));
	T_EXPECT(io_uring_kmbuf_probe(), 0);
	kb = io_uring_kmbuf_setup(&ring, 2, (unsigned int) t_page_size(), BGID,
				  IO_URING_KMBUF_NO_EMULATION, &ret);
	if (!kb)
		t_fail("setup after the limit was raised: %s", strerror(-ret));
	T_EXPECT(io_uring_kmbuf_backend(kb), IO_URING_KMBUF_BACKEND_KERNEL);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	io_uring_queue_exit(&ring);
	exit(T_EXIT_PASS);
}

/* Run 'fn' in a child; its exit code */
static int in_child(void (*fn)(void))
{
	pid_t pid;

	pid = t_fork();
	if (!pid) {
		fn();
		exit(T_EXIT_PASS);
	}
	return t_wait_exit(pid);
}

static void check_kernel(void)
{
	t_require_kmbuf_kernel();
}

static void transient(void)
{
	run_case(50000 + (uid_t) (getpid() % 10000));
}

int main(void)
{
	int ret;

	t_init();
	/* the parent never probes: the test's child starts with no answer */
	ret = in_child(check_kernel);
	if (ret != T_EXIT_PASS)
		return ret;
	if (geteuid())
		t_fail("needs root to switch to a user of its own");
	ret = in_child(transient);
	if (ret == T_EXIT_PASS)
		printf("a probe refused for lack of locked memory was tried "
		       "again and found the kernel backend\n");
	return ret;
}
