/* SPDX-License-Identifier: MIT */
/*
 * Description: an mmap() that "succeeds" at address 0. A seccomp filter
 * makes every shared mapping the library asks for (anonymous for the
 * emulated backend, of the ring fd for the wrappers) return 0 without
 * mapping anything, as an exotic kernel or a sandbox could. Setup must
 * fail with a negative *err and leave nothing behind, never hand out a
 * handle without buffers; io_uring_mmap_kmbuf_bufs() and
 * io_uring_mmap_kmbuf_ring() must return NULL with a negative *err.
 *
 * Each case runs in a child, since a seccomp filter cannot be removed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "helpers.h"
#include "seccomp.h"

#define BGID	3

#if defined(T_MMAP_ARGS_IN_REGS) && defined(__NR_mmap)

/* mmap() with exactly MAP_SHARED or MAP_SHARED | MAP_ANONYMOUS returns 0 */
static void install_filter(void)
{
	struct sock_filter insns[] = {
		T_SECCOMP_PROLOGUE,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, T_ARG_LO(3)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MAP_SHARED, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 MAP_SHARED | MAP_ANONYMOUS, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
	};

	t_seccomp_install(insns, sizeof(insns) / sizeof(insns[0]));
}

static void run_case(int backend_flag)
{
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	void *p;
	int err;

	t_init();
	t_ring_init(&ring, 4);
	if (backend_flag == IO_URING_KMBUF_NO_EMULATION &&
	    io_uring_kmbuf_probe())
		t_skip("kernel backend: %s", t_kernel_missing());
	/* the probe runs before the filter: it maps for real */
	install_filter();
	/*
	 * The filter must be what the library meets. Valgrind makes every
	 * mapping itself, at an address it picks (MAP_FIXED), so there the
	 * filter never matches and the case cannot be staged.
	 */
	p = mmap(NULL, page, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p != NULL) {
		if (p != MAP_FAILED)
			munmap(p, page);
		t_skip("mmap() cannot be faked here (under valgrind?): got %p",
		       p);
	}

	err = 777;
	kb = io_uring_kmbuf_setup(&ring, 4, page, BGID, backend_flag, &err);
	if (kb)
		t_fail("setup returned a handle (backend %d, base %p, br %p, "
		       "err %d) from mappings that do not exist",
		       kb->backend, kb->base, kb->br, err);
	T_ASSERT(err < 0);
	/* nothing was left registered: the bgid is free on a plain ring */
	T_ASSERT(t_pbuf_ring_setup(&ring, 4, BGID) != NULL);

	err = 777;
	p = io_uring_mmap_kmbuf_bufs(&ring, BGID, page, PROT_READ, &err);
	T_ASSERT(p == NULL);
	T_ASSERT(err < 0);
	err = 777;
	p = io_uring_mmap_kmbuf_ring(&ring, BGID, 4, &err);
	T_ASSERT(p == NULL);
	T_ASSERT(err < 0);
	exit(T_EXIT_PASS);
}

static int run_child(int backend_flag, const char *name)
{
	int status;
	pid_t pid;

	pid = t_fork();
	if (!pid)
		run_case(backend_flag);
	status = t_wait(pid);
	if (!WIFEXITED(status)) {
		fprintf(stderr, "FAIL: %s: child died with status %#x\n",
			name, status);
		return T_EXIT_FAIL;
	}
	status = WEXITSTATUS(status);
	if (status == T_EXIT_PASS)
		printf("%s: setup and the wrappers fail cleanly\n", name);
	else if (status != T_EXIT_SKIP)
		fprintf(stderr, "FAIL: %s\n", name);
	return status;
}

int main(void)
{
	int emu, kern;

	emu = run_child(IO_URING_KMBUF_FORCE_EMULATION, "emulated");
	kern = run_child(IO_URING_KMBUF_NO_EMULATION, "kernel");
	if (emu == T_EXIT_FAIL || kern == T_EXIT_FAIL)
		return T_EXIT_FAIL;
	if (emu == T_EXIT_SKIP && kern == T_EXIT_SKIP)
		t_skip("no case could run");
	return T_EXIT_PASS;
}
#else
int main(void)
{
	t_skip("no seccomp filter for mmap known for this architecture");
}
#endif
