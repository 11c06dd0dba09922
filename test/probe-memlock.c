/* SPDX-License-Identifier: MIT */
/*
 * Description: the private ring of the library's probe must not eat the
 * caller's RLIMIT_MEMLOCK. Kernels that charge io_uring ring memory to the
 * user's locked-memory limit (6.18 does) release the charge of a ring only
 * when its teardown, which runs asynchronously after the ring fd is closed,
 * has finished. A probe that returned before that made the application's
 * first setup under a tight limit fail with -ENOMEM.
 *
 * As root, a child lowers RLIMIT_MEMLOCK, becomes a user of its own (the
 * limit is per user), creates a ring and sets up a small group in automatic
 * mode, which runs the probe first: the setup must succeed at once. A
 * control child sets up the same group without probing
 * (LIBURING_KMBUF_BACKEND=emulated) to show the limit fits it.
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

#define NR_BUFS		4
/* the group's 4 one-page buffers and its ring's page (4 KiB pages) */
#define LIMIT		20480
#define BGID		1

static void run_case(uid_t uid, bool probe)
{
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int ret;

	t_become(uid, LIMIT, LIMIT);
	/* automatic mode probes; "emulated" goes straight to emulation */
	if (setenv(IO_URING_KMBUF_ENV, probe ? "auto" : "emulated", 1))
		t_fail("setenv: %s", strerror(errno));
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret)
		t_skip("io_uring_queue_init under RLIMIT_MEMLOCK %d: %s",
		       LIMIT, strerror(-ret));
	kb = io_uring_kmbuf_setup(&ring, NR_BUFS, (unsigned int) t_page_size(),
				  BGID, 0, &ret);
	if (!kb) {
		if (!probe)
			t_skip("a group of %d pages does not fit RLIMIT_MEMLOCK "
			       "%d here", NR_BUFS, LIMIT);
		if (io_uring_kmbuf_probe() == 0)
			t_skip("the kernel backend is available: its group "
			       "needs memory the limit is not sized for");
		t_fail("first setup after the probe: %s", strerror(-ret));
	}
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	io_uring_queue_exit(&ring);
	exit(T_EXIT_PASS);
}

static int run_child(uid_t uid, bool probe)
{
	pid_t pid;

	pid = t_fork();
	if (!pid)
		run_case(uid, probe);
	return t_wait_exit(pid);
}

int main(void)
{
	uid_t base;
	int ret;

	t_init();
	if (geteuid())
		t_skip("needs root to switch to a user of its own");
	/* no probe here: each child must start without a cached answer */
	/* fresh users: their memlock counts start at 0 */
	base = 40000 + (uid_t) (getpid() % 10000) * 2;
	ret = run_child(base, false);
	if (ret != T_EXIT_PASS)
		return ret;
	ret = run_child(base + 1, true);
	if (ret == T_EXIT_PASS)
		printf("setup after the probe fits RLIMIT_MEMLOCK %d\n", LIMIT);
	return ret;
}
