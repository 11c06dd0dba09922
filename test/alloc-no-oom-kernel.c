/* SPDX-License-Identifier: MIT */
/*
 * Description: a kmbuf registration larger than the machine's memory
 * fails with ENOMEM and never calls the OOM killer. The region is not in
 * any process's RSS while it is being allocated, so an OOM kill would pick
 * an innocent process, not the registering one.
 *
 * As root (no RLIMIT_MEMLOCK applies with CAP_IPC_LOCK), with a 64 MiB
 * "victim" process around, register 32768 x 32 KiB = 1 GiB, more than the
 * guest has (MemTotal is checked). Want -ENOMEM, the oom_kill counter of
 * /proc/vmstat unchanged, the victim alive.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "helpers.h"

#define BGID		9
#define NR_BUFS		32768
#define BUF_SIZE	(32U << 10)
#define VICTIM_BYTES	(64UL << 20)

/* A field of /proc/meminfo or /proc/vmstat, -1 if it is not there */
static long long proc_field(const char *file, const char *name)
{
	char line[256], key[128];
	long long val, ret = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127[^: ]%*[: ]%lld", key, &val) == 2 &&
		    !strcmp(key, name)) {
			ret = val;
			break;
		}
	}
	fclose(f);
	return ret;
}

int main(void)
{
	struct io_uring_kmbuf_reg r = { };
	long long total_kib, kills_before, kills_after;
	int go[2], status, ret;
	struct io_uring ring;
	char c;
	pid_t victim;

	t_init();
	t_require_kmbuf_kernel();
	if (geteuid() != 0)
		t_skip("needs root: no RLIMIT_MEMLOCK may stop the allocation");
	total_kib = proc_field("/proc/meminfo", "MemTotal");
	kills_before = proc_field("/proc/vmstat", "oom_kill");
	if (total_kib < 0 || kills_before < 0)
		t_fail("no MemTotal in /proc/meminfo or oom_kill in /proc/vmstat");
	if ((unsigned long long) total_kib * 1024 >=
	    (unsigned long long) NR_BUFS * BUF_SIZE)
		t_skip("%lld KiB of memory: 1 GiB would fit", total_kib);

	if (pipe(go))
		t_fail("pipe: %s", strerror(errno));
	victim = t_fork();
	if (!victim) {
		char *p = malloc(VICTIM_BYTES);

		if (!p)
			_exit(1);
		memset(p, 0x5a, VICTIM_BYTES);
		close(go[1]);
		/* until the parent closes its end */
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(p[VICTIM_BYTES - 1] == 0x5a ? 0 : 1);
	}
	close(go[0]);

	t_ring_init(&ring, 4);
	r.buf_size = BUF_SIZE;
	r.ring_entries = NR_BUFS;
	r.bgid = BGID;
	ret = io_uring_register_kmbuf_ring(&ring, &r, 0);
	kills_after = proc_field("/proc/vmstat", "oom_kill");

	close(go[1]);
	status = t_wait(victim);
	if (kills_after != kills_before)
		t_fail("register %u x %u KiB (%lld KiB of memory): %lld OOM "
		       "kill(s); the victim %s", NR_BUFS, BUF_SIZE >> 10,
		       total_kib, kills_after - kills_before,
		       WIFSIGNALED(status) ? "was killed" : "survived");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		t_fail("the victim died: status %#x", status);
	if (!ret)
		t_fail("register of 1 GiB succeeded with %lld KiB of memory",
		       total_kib);
	T_EXPECT(ret, -ENOMEM);
	printf("register %u x %u KiB with %lld KiB of memory: ENOMEM, no OOM "
	       "kill\n", NR_BUFS, BUF_SIZE >> 10, total_kib);

	/* and the machine is usable again: a small group registers */
	r.buf_size = (__u32) t_page_size();
	r.ring_entries = 4;
	T_EXPECT(io_uring_register_kmbuf_ring(&ring, &r, 0), 0);
	T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, BGID), 0);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
